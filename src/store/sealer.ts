// At-rest sealing shared by every store adapter: the key (checked against the key id the database was written
// with), and AES-256-GCM sealing of a finding's {secret, parts} with the fingerprint as AAD.
import { ConfigError } from '../core/errors.js';
import type { FindingInput } from '../core/store.js';
import { keyId, open as unseal, seal } from './secret-key.js';

/** Where an adapter keeps the key id (the meta table): insert-if-absent, then read what won. */
export interface KeyIdSlot {
  claim(id: string): Promise<string>;
}

export class Sealer {
  private cached: Buffer | null = null;

  constructor(
    private readonly source: Buffer | (() => Buffer) | undefined,
    private readonly slot: KeyIdSlot,
  ) {}

  /** The key, loaded on first use (it may create the key file), and checked against the database's key id. */
  async key(): Promise<Buffer> {
    if (this.cached) return this.cached;
    const k = typeof this.source === 'function' ? this.source() : this.source;
    if (!k) throw new ConfigError('this command needs the store key: set KEYLOOP_KEY or --key-file');
    const id = keyId(k);
    const stored = await this.slot.claim(id);
    if (stored !== id) {
      throw new ConfigError(`the store key does not match the one this database was written with (key id ${stored}, got ${id})`, '--key-file');
    }
    this.cached = k;
    return k;
  }

  /** Seals every finding of a batch; `keyId` is '' when there is nothing to seal (no key needed then). */
  async sealFindings(findings: FindingInput[]): Promise<{ keyId: string; sealed: { f: FindingInput; enc: Buffer }[] }> {
    if (findings.length === 0) return { keyId: '', sealed: [] };
    const key = await this.key();
    return { keyId: keyId(key), sealed: findings.map((f) => ({ f, enc: sealFinding(key, f) })) };
  }

  async reveal(fingerprint: string, enc: Buffer): Promise<{ secret: string; parts: Record<string, string> }> {
    const plain = unseal(await this.key(), enc, fingerprint);
    try {
      const v = JSON.parse(plain.toString('utf8')) as { secret: string; parts: Record<string, string> };
      return { secret: v.secret, parts: v.parts ?? {} };
    } finally {
      plain.fill(0);
    }
  }
}

function sealFinding(key: Buffer, f: FindingInput): Buffer {
  const plaintext = Buffer.from(JSON.stringify({ secret: f.secret, parts: f.parts ?? {} }), 'utf8');
  try {
    return seal(key, plaintext, f.fingerprint);
  } finally {
    plaintext.fill(0);
  }
}
