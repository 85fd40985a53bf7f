// The pure-JS pack reader on hostile or damaged packs: fast-check flips random bytes and truncates the .pack and
// the .idx, and every read must either give exactly the bytes git gives for that object or report the object as
// unreadable — never wrong bytes under a right name, never an exception out of the reader, never a hang. Plus
// the error branches of delta.ts and idx.ts, one by one.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyDelta, deltaSizes, ObjectStore, parsePackIndex, PackFormatError } from '../../src/objects/pack/index.js';
import { findOid } from '../../src/objects/pack/idx.js';
import { crc32, crc32Js } from '../../src/objects/pack/crc32.js';
import { buildRepo, git, gitRaw, tempDir, type CommitSpec } from '../../testkit/git-repo.js';
import { rng } from '../../testkit/token-gen.js';

/** Text files edited a little per commit, so repack stores long delta chains. */
function history(commits: number, seed: number): CommitSpec[] {
  const r = rng(seed);
  const words = ['alpha', 'beta', 'gamma', 'delta', 'config', 'value', 'token', 'user', 'return', 'export'];
  const line = () => Array.from({ length: 3 + Math.floor(r() * 8) }, () => words[Math.floor(r() * words.length)]).join(' ');
  const files = [0, 1, 2].map(() => Array.from({ length: 30 + Math.floor(r() * 60) }, line));
  return Array.from({ length: commits }, (_, c) => {
    const f = Math.floor(r() * files.length);
    const lines = files[f]!;
    for (let e = 0; e < 1 + Math.floor(r() * 3); e++) lines.splice(Math.floor(r() * lines.length), r() < 0.5 ? 1 : 0, line());
    return { id: `c${c}`, files: { [`f${f}.txt`]: lines.join('\n') + '\n' } };
  });
}

interface Fixture {
  /** A bare repository whose objects/pack holds the (mutated) pack and index. */
  dir: string;
  pack: Buffer;
  idx: Buffer;
  packName: string;
  blobs: Map<string, Buffer>;
}

async function gitBlobs(dir: string): Promise<Map<string, Buffer>> {
  const out = await gitRaw(dir, ['cat-file', '--batch-all-objects', '--batch', '--unordered']);
  const blobs = new Map<string, Buffer>();
  for (let p = 0; p < out.length; ) {
    const nl = out.indexOf(10, p);
    const [oid, type, size] = out.toString('latin1', p, nl).split(' ');
    const end = nl + 1 + Number(size);
    if (type === 'blob') blobs.set(oid!, Buffer.from(out.subarray(nl + 1, end)));
    p = end + 1;
  }
  return blobs;
}

/** One repacked repository (OFS or REF deltas) copied to a scratch repo the property rewrites each run. */
async function fixture(refDeltas: boolean): Promise<Fixture> {
  const repo = await buildRepo({ bare: true, commits: history(40, refDeltas ? 11 : 12) });
  await git(repo.dir, ...(refDeltas ? ['-c', 'repack.useDeltaBaseOffset=false'] : []), 'repack', '-adfq', '--depth=30');
  const packDir = path.join(repo.dir, 'objects', 'pack');
  const packName = readdirSync(packDir).find((f) => f.endsWith('.pack'))!;
  const dir = await tempDir('keyloop-fuzz-');
  mkdirSync(path.join(dir, 'objects', 'pack'), { recursive: true });
  copyFileSync(path.join(repo.dir, 'HEAD'), path.join(dir, 'HEAD'));
  return {
    dir,
    pack: readFileSync(path.join(packDir, packName)),
    idx: readFileSync(path.join(packDir, packName.replace(/\.pack$/, '.idx'))),
    packName,
    blobs: await gitBlobs(repo.dir),
  };
}

type Mutation = { file: 'pack' | 'idx'; flips: { at: number; xor: number }[]; truncate: number | null };

const mutation = (fx: () => Fixture) =>
  fc.record({
    file: fc.constantFrom<'pack' | 'idx'>('pack', 'pack', 'idx'),
    flips: fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), xor: fc.integer({ min: 1, max: 255 }) }), { maxLength: 6 }),
    truncate: fc.option(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { freq: 3 }),
  }).map((m): Mutation => {
    const len = (m.file === 'pack' ? fx().pack : fx().idx).length;
    return { file: m.file, flips: m.flips.map((f) => ({ at: Math.floor(f.at * len), xor: f.xor })), truncate: m.truncate === null ? null : Math.floor(m.truncate * len) };
  });

function write(fx: Fixture, m: Mutation): void {
  const pack = Buffer.from(fx.pack);
  const idx = Buffer.from(fx.idx);
  const target = m.file === 'pack' ? pack : idx;
  for (const f of m.flips) target[f.at]! ^= f.xor;
  const dir = path.join(fx.dir, 'objects', 'pack');
  writeFileSync(path.join(dir, fx.packName), m.file === 'pack' && m.truncate !== null ? pack.subarray(0, m.truncate) : pack);
  writeFileSync(path.join(dir, fx.packName.replace(/\.pack$/, '.idx')), m.file === 'idx' && m.truncate !== null ? idx.subarray(0, m.truncate) : idx);
}

/**
 * Reads everything the store offers and checks each answer against git's bytes. Every blob git has must end up
 * read right, reported unreadable, or (left out of the stream: a flipped type bit can make it look like a tree)
 * unreadable by random access too, so the fast path's read-back through git sees it.
 */
function checkStore(fx: Fixture): { read: number; unreadable: number } {
  const store = ObjectStore.open(fx.dir); // only a missing objects/ dir throws here
  const delivered = new Set<string>();
  const reported = new Set<string>();
  try {
    let steps = 0;
    for (const b of store.blobs()) {
      if (++steps > fx.blobs.size * 4 + 10) throw new Error('the iteration does not end');
      if ('data' in b) {
        const want = fx.blobs.get(b.oid);
        expect(want, `a blob named ${b.oid} that git does not have`).toBeDefined();
        expect(b.data.equals(want!), `wrong bytes for ${b.oid}`).toBe(true);
        expect(delivered.has(b.oid), `${b.oid} delivered twice`).toBe(false);
        delivered.add(b.oid);
      } else {
        expect(b.error).toBe('corrupt-object');
        reported.add(b.oid);
      }
    }
    // random access: the right bytes, null (not there) or a PackFormatError, for every blob git knows
    for (const [oid, want] of fx.blobs) {
      let got: ReturnType<ObjectStore['read']> = null;
      try {
        got = store.read(oid);
      } catch (e) {
        expect(e, String(e)).toBeInstanceOf(PackFormatError);
        continue;
      }
      if (got) {
        expect(got.type).toBe('blob');
        expect(got.data.equals(want), `wrong bytes for ${oid} (random access)`).toBe(true);
        expect(delivered.has(oid) || reported.has(oid), `${oid} is readable but the blob stream left it out silently`).toBe(true);
      }
    }
  } finally {
    store.close();
  }
  return { read: delivered.size, unreadable: [...fx.blobs.keys()].filter((o) => !delivered.has(o)).length };
}

describe('pack reader on mutated packs (fast-check)', () => {
  let ofs: Fixture;
  let ref: Fixture;
  beforeAll(async () => {
    [ofs, ref] = await Promise.all([fixture(false), fixture(true)]);
  });

  it('the pristine fixtures read completely (so the property is not vacuous)', () => {
    for (const fx of [ofs, ref]) {
      write(fx, { file: 'pack', flips: [], truncate: null });
      expect(checkStore(fx)).toEqual({ read: fx.blobs.size, unreadable: 0 });
    }
  });

  for (const [name, get] of [
    ['OFS_DELTA pack', () => ofs],
    ['REF_DELTA pack', () => ref],
  ] as const) {
    it(`${name}: random byte flips and truncations give right bytes or an unreadable object, never a crash`, () => {
      let damaged = 0;
      fc.assert(
        fc.property(mutation(get), (m) => {
          write(get(), m);
          const r = checkStore(get());
          if (r.read < get().blobs.size) damaged++;
        }),
        { numRuns: 250, seed: name.length * 7919 },
      );
      // most mutations must actually damage something, or the property tested little
      expect(damaged).toBeGreaterThan(100);
    });
  }

  it('a single flipped byte anywhere in the objects: every blob reads right or is unreadable, never silently dropped', () => {
    const fx = ofs;
    // each position in the middle of the pack, one at a time: every blob either reads right or is reported
    const step = Math.max(1, Math.floor(fx.pack.length / 120));
    for (let at = 12; at < fx.pack.length - 20; at += step) {
      write(fx, { file: 'pack', flips: [{ at, xor: 0x20 }], truncate: null });
      const r = checkStore(fx);
      expect(r.read + r.unreadable).toBe(fx.blobs.size);
    }
  });
});

describe('delta.ts error branches', () => {
  const base = Buffer.from('0123456789abcdef');
  const hdr = (baseSize: number, targetSize: number) => Buffer.from([baseSize, targetSize]); // both < 128
  const cases: [string, Buffer, Buffer, RegExp][] = [
    ['a size header cut short', base, Buffer.from([0x90]), /truncated size header/],
    ['a base of another size', base, Buffer.concat([hdr(15, 4), Buffer.from([4, 0x61, 0x62, 0x63, 0x64])]), /base size 15 ≠ actual 16/],
    ['a copy instruction cut short', base, Buffer.concat([hdr(16, 4), Buffer.from([0x91, 0x00])]), /truncated copy instruction/],
    ['a copy reaching past the base', base, Buffer.concat([hdr(16, 8), Buffer.from([0x91, 0x0c, 0x08])]), /copy out of bounds/],
    ['a copy reaching past the target', base, Buffer.concat([hdr(16, 2), Buffer.from([0x91, 0x00, 0x04])]), /copy out of bounds/],
    ['an insert past the end of the delta', base, Buffer.concat([hdr(16, 4), Buffer.from([0x04, 0x61])]), /insert out of bounds/],
    ['an insert past the target', base, Buffer.concat([hdr(16, 1), Buffer.from([0x02, 0x61, 0x62])]), /insert out of bounds/],
    ['the reserved opcode 0', base, Buffer.concat([hdr(16, 4), Buffer.from([0x00])]), /reserved opcode 0/],
    ['fewer bytes than the header says', base, Buffer.concat([hdr(16, 9), Buffer.from([0x91, 0x00, 0x04])]), /produced 4 bytes, header says 9/],
    ['a target size no delta this short can produce', base, Buffer.concat([Buffer.from([16, 0xff, 0xff, 0xff, 0xff, 0x7f]), Buffer.from([0x80])]), /impossible/],
  ];
  for (const [what, b, d, msg] of cases) {
    it(`refuses ${what} with a PackFormatError`, () => {
      expect(() => applyDelta(b, d)).toThrow(PackFormatError);
      expect(() => applyDelta(b, d)).toThrow(msg);
    });
  }

  it('applies copies (with the 64 KiB default size) and inserts, reporting merged copy ranges', () => {
    const big = Buffer.alloc(0x10000 + 3, 7);
    // target: 0x10000 bytes copied from offset 0 (size byte omitted = 0x10000), then "ab" inserted
    const size = 0x10000 + 2;
    const d = Buffer.from([0x83, 0x80, 0x04, size & 0x7f | 0x80, (size >> 7) & 0x7f | 0x80, size >> 14, 0x80, 0x02, 0x61, 0x62]);
    const r = applyDelta(big, d, true);
    expect(r.data.length).toBe(size);
    expect(r.data.subarray(-2).toString()).toBe('ab');
    expect([...r.copies]).toEqual([0, 0x10000, 0]);
    expect(deltaSizes(d)).toEqual({ baseSize: 0x10003, targetSize: size });
  });
});

describe('idx.ts error branches', () => {
  let idx: Buffer;
  let packName: string;
  beforeAll(async () => {
    const fx = await fixture(false);
    idx = fx.idx;
    packName = fx.packName;
  });
  const rehash = (b: Buffer) => {
    const out = Buffer.from(b);
    createHash('sha1').update(out.subarray(0, out.length - 20)).digest().copy(out, out.length - 20);
    return out;
  };

  it('parses the pristine index and finds each oid', () => {
    const p = parsePackIndex(idx);
    expect(p.count).toBeGreaterThan(40);
    for (let i = 0; i < p.count; i++) expect(findOid(p, p.oids.subarray(i * 20, i * 20 + 20))).toBe(i);
    expect(findOid(p, Buffer.alloc(20, 0xff))).toBe(-1);
    expect(() => findOid(p, Buffer.alloc(32))).toThrow(/oid of 32 bytes/);
    expect(packName).toMatch(/\.pack$/);
  });

  const bad: [string, () => Buffer, RegExp][] = [
    ['too short to hold a fanout', () => idx.subarray(0, 500), /truncated \(500 bytes\)/],
    ['a version 1 index (no magic)', () => Buffer.concat([Buffer.alloc(4), idx.subarray(4)]), /not a version 2 pack index/],
    ['an unknown version', () => { const b = Buffer.from(idx); b.writeUInt32BE(3, 4); return b; }, /unsupported index version 3/],
    ['too short for its object count', () => { const b = Buffer.from(idx); b.writeUInt32BE(1_000_000, 8 + 255 * 4); return b; }, /truncated for 1000000 objects/],
    ['a size that is not whole 64-bit offsets', () => Buffer.concat([idx, Buffer.alloc(3)]), /bad size/],
    ['a checksum that does not match', () => { const b = Buffer.from(idx); b[8 + 1024 + 5]! ^= 1; return b; }, /checksum mismatch/],
    ['a fanout that goes down', () => { const b = Buffer.from(idx); b.writeUInt32BE(0xffff, 8 + 10 * 4); return rehash(b); }, /not monotonic/],
    [
      'a 64-bit offset index out of range',
      () => {
        const b = Buffer.from(idx);
        const count = b.readUInt32BE(8 + 255 * 4);
        b.writeUInt32BE(0x80000005, 8 + 1024 + count * 24); // first 32-bit offset → 64-bit entry 5 (there is none)
        return rehash(b);
      },
      /64-bit offset index 5 out of range/,
    ],
    [
      'a 64-bit offset beyond 2^53',
      () => {
        const count = idx.readUInt32BE(8 + 255 * 4);
        const body = Buffer.from(idx.subarray(0, idx.length - 40));
        body.writeUInt32BE(0x80000000, 8 + 1024 + count * 24);
        const large = Buffer.alloc(8);
        large.writeUInt32BE(0x00300000, 0);
        return rehash(Buffer.concat([body, large, idx.subarray(idx.length - 40)]));
      },
      /offset beyond 2\^53/,
    ],
  ];
  for (const [what, make, msg] of bad) {
    it(`refuses ${what}`, () => {
      expect(() => parsePackIndex(make())).toThrow(PackFormatError);
      expect(() => parsePackIndex(make())).toThrow(msg);
    });
  }
});

describe('crc32', () => {
  it('the JS fallback agrees with zlib', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (d) => crc32Js(d) === crc32(d)), { seed: 42 });
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
});
