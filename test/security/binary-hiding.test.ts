// Binary detection cannot be used to hide text. Before, ONE NUL byte at the start of a `.env` made it "binary" and
// its secret was never scanned (exit 0). Now content is binary by the share of binary bytes in its first 8 KiB
// (and a lower share when a known binary format's magic number opens it), on every path that reads blobs: the
// pipeline, the pack fast path and its delta regions.
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BINARY_PROBE, hasBinaryMagic, isBinary } from '../../src/detection/binary.js';
import { buildRepo, git, tempDir } from '../../testkit/git-repo.js';
import { runCli } from '../helpers/run-cli.js';
import { scanReport } from '../helpers/scan-report.js';
import { rng } from '../../testkit/token-gen.js';

const DETECTORS = join(import.meta.dirname, '..', 'fixtures', 'detectors', 'basic');
const rand = rng(1607);
const token = () => 'acme_' + Array.from({ length: 32 }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(rand() * 62)]).join('');
const PNG = Buffer.from('89504e470d0a1a0a', 'hex');

async function scanEverywhere(dir: string): Promise<Map<string, { code: number; secrets: string[] }>> {
  const out = new Map<string, { code: number; secrets: string[] }>();
  for (const backend of ['native', 'isomorphic']) {
    for (const pack of ['1', '0']) {
      const r = await runCli(['scan', dir, '--detectors', DETECTORS, '--no-progress', '--format', 'json', '--reveal', '--git-backend', backend], {
        env: { ...process.env, KEYLOOP_PACK_READER: pack },
      });
      out.set(`${backend}/pack=${pack}`, { code: r.code, secrets: scanReport(r.stdout).findings.map((f) => f.secret!).sort() });
    }
  }
  return out;
}

describe('text with stray binary bytes is still scanned', () => {
  it('a NUL at the start of a .env does not hide its secret (git history, every reader, and a plain directory)', async () => {
    const secret = token();
    const env = Buffer.concat([Buffer.from([0]), Buffer.from(`API_KEY=${secret}\nDEBUG=false\n`)]);
    const repo = await buildRepo({ commits: [{ id: 'c1', files: { '.env': env } }] });
    await git(repo.dir, 'repack', '-adq');
    for (const [mode, r] of await scanEverywhere(repo.dir)) {
      expect(r.secrets, mode).toEqual([secret]);
      expect(r.code, mode).toBe(1);
    }
    const dir = await tempDir();
    writeFileSync(join(dir, '.env'), env);
    const plain = await runCli(['scan', dir, '--detectors', DETECTORS, '--no-progress', '--format', 'json', '--reveal']);
    expect(plain.code).toBe(1);
    expect(scanReport(plain.stdout).findings.map((f) => f.secret)).toEqual([secret]);
  });

  it('a magic number pasted in front, or a few control bytes sprinkled in, do not hide a secret either', async () => {
    const a = token();
    const b = token();
    const repo = await buildRepo({
      commits: [
        {
          id: 'c1',
          files: {
            'fake.png': Buffer.concat([PNG, Buffer.from(`\nAPI_KEY=${a}\n`)]),
            'noisy.env': Buffer.from(`# config\x01\x02\nAPI_KEY=${b}\x7f\nMODE=\x00prod\n`),
          },
        },
      ],
    });
    for (const [mode, r] of await scanEverywhere(repo.dir)) expect(r.secrets, mode).toEqual([a, b].sort());
  });

  it('a delta that inserts binary-looking bytes into a text file: its region is scanned as text (pack fast path)', async () => {
    // the file is text (its first 8 KiB are), so every slice of it is: a region starting with a PNG signature
    // and control bytes must not be skipped as binary when only that region is scanned
    const body = Array.from({ length: 400 }, (_, i) => `line ${i} of some configuration text, nothing secret here`).join('\n') + '\n';
    const secret = token();
    const cut = body.length - 2000;
    const edited = Buffer.concat([Buffer.from(body.slice(0, cut)), PNG, Buffer.alloc(400, 1), Buffer.from(`\nAPI_KEY=${secret}\n`), Buffer.from(body.slice(cut))]);
    expect(isBinary(edited)).toBe(false);
    // the older version is larger, so git keeps it whole as the base and stores the edited one as a delta of it
    const older = body + Array.from({ length: 100 }, (_, i) => `trailing line ${i}, also plain text`).join('\n') + '\n';
    const repo = await buildRepo({
      bare: true,
      commits: [
        { id: 'c1', files: { 'settings.txt': older } },
        { id: 'c2', files: { 'settings.txt': edited } },
      ],
    });
    await git(repo.dir, 'repack', '-adfq', '--depth=10');
    const idx = readdirSync(join(repo.dir, 'objects', 'pack')).find((f) => f.endsWith('.idx'))!;
    const editedOid = await git(repo.dir, 'rev-parse', `${repo.sha.c2}:settings.txt`);
    const entry = (await git(repo.dir, 'verify-pack', '-v', join(repo.dir, 'objects', 'pack', idx))).split('\n').find((l) => l.startsWith(editedOid))!;
    expect(entry.trim().split(/\s+/), 'the edited version is stored as a delta').toHaveLength(7);
    for (const [mode, r] of await scanEverywhere(repo.dir)) expect(r.secrets, mode).toEqual([secret]);
  });
});

describe('isBinary', () => {
  it('real binary formats stay binary', () => {
    const noise = randomBytes(4096);
    const cases: [string, Buffer][] = [
      ['PNG', Buffer.concat([PNG, Buffer.from('0000000d49484452', 'hex'), noise])],
      ['gzip of text', gzipSync(Buffer.from(`API_KEY=${token()}\n`.repeat(200)))],
      ['ELF', Buffer.concat([Buffer.from('7f454c46020101', 'hex'), Buffer.alloc(2000), noise.subarray(0, 500)])],
      ['SQLite', Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4000)])],
      ['wasm', Buffer.concat([Buffer.from('0061736d01000000', 'hex'), noise.subarray(0, 800)])],
      ['random', noise],
      ['UTF-16LE text', Buffer.from('\ufeffhello world, this is UTF-16 text\n'.repeat(20), 'utf16le')],
    ];
    for (const [what, buf] of cases) expect(isBinary(buf), what).toBe(true);
    expect(hasBinaryMagic(cases[0]![1])).toBe(true);
    expect(hasBinaryMagic(Buffer.from('MZ'))).toBe(true);
    expect(hasBinaryMagic(Buffer.from('plain'))).toBe(false);
  });

  it('text stays text: UTF-8 of any script, Latin-1, a multi-byte character cut by the probe, empty', () => {
    expect(isBinary(Buffer.alloc(0))).toBe(false);
    expect(isBinary(Buffer.from('Grüße, 世界, привет, 🔑 key\n'.repeat(50)))).toBe(false);
    expect(isBinary(Buffer.from('café crème brûlée\n'.repeat(50), 'latin1'))).toBe(false);
    // a 4-byte character straddling the 8 KiB probe's end
    const straddle = Buffer.concat([Buffer.alloc(BINARY_PROBE - 2, 'a'), Buffer.from('🔑 and more text')]);
    expect(isBinary(straddle)).toBe(false);
  });

  it('property: printable text with stray control or NUL bytes (up to 5 % of it) is text', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ=_-.:/0123456789\n\t'.split('')), minLength: 40, maxLength: 12_000 }),
        fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), byte: fc.constantFrom(0, 1, 2, 7, 8, 0x0e, 0x1f, 0x7f) }), { maxLength: 40 }),
        (text, strays) => {
          const buf = Buffer.from(text);
          const allowed = Math.floor(Math.min(buf.length, BINARY_PROBE) * 0.05);
          for (const s of strays.slice(0, allowed)) buf[Math.floor(s.at * buf.length)] = s.byte;
          return !isBinary(buf);
        },
      ),
      { numRuns: 300, seed: 16 },
    );
  });

  it('property: random bytes (compressed or encrypted content) are binary', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 256, maxLength: 9000 }), (b) => isBinary(Buffer.from(b))), { numRuns: 300, seed: 17 });
  });
});
