// The at-rest key for stored secrets: KEYLOOP_KEY, or a key file created 0600 on first use; AES-256-GCM sealing.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { userConfigDir } from '../util/dirs.js';

export const KEY_BYTES = 32;
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Accepts 64 hex characters or base64/base64url of exactly 32 bytes. */
export function parseKey(text: string, source: string): Buffer {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) {
    const b = Buffer.from(t, t.includes('-') || t.includes('_') ? 'base64url' : 'base64');
    if (b.length === KEY_BYTES) return b;
  }
  throw new ConfigError(`must be ${KEY_BYTES} bytes as 64 hex characters or base64 (e.g. \`openssl rand -hex 32\`)`, source);
}

export function defaultKeyFile(env: Record<string, string | undefined>): string {
  return join(userConfigDir(env), 'keyloop', 'store.key');
}

export interface KeySource {
  env: Record<string, string | undefined>;
  /** --key-file; default defaultKeyFile(env). */
  keyFile?: string;
  /** Create the key file when missing (writers do; read-only commands don't need a key at all). */
  create?: boolean;
}

/** KEYLOOP_KEY wins over the key file. A new key file gets 32 random bytes, mode 0600, in a 0700 directory. */
export function loadKey(src: KeySource): Buffer {
  const fromEnv = src.env.KEYLOOP_KEY;
  if (fromEnv !== undefined && fromEnv !== '') return parseKey(fromEnv, 'KEYLOOP_KEY');
  const file = src.keyFile ?? defaultKeyFile(src.env);
  if (existsSync(file)) {
    const mode = statSync(file).mode & 0o777;
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      throw new ConfigError(`key file ${file} is readable by others (mode ${mode.toString(8)}); run chmod 600 on it`, '--key-file');
    }
    return parseKey(readFileSync(file, 'utf8'), `key file ${file}`);
  }
  if (!src.create) throw new ConfigError(`no store key: set KEYLOOP_KEY or create ${file}`, '--key-file');
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  try {
    // 'wx': two processes starting at once must not each write a different key.
    writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadKey({ ...src, create: false });
    throw new ConfigError(`cannot create key file ${file}: ${(err as Error).message}`, '--key-file');
  }
  return key;
}

/** Public id of a key (keyed hash), stored with the data so a wrong key is reported instead of failing to decrypt. */
export function keyId(key: Buffer): string {
  return createHmac('sha256', key).update('keyloop-store-key-id').digest('hex').slice(0, 16);
}

export function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), ct]);
}

export function open(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) throw new ConfigError('stored secret has an unknown format');
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new ConfigError('stored secret does not decrypt with this key (wrong KEYLOOP_KEY / --key-file?)');
  }
}
