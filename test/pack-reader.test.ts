import { readdirSync, readFileSync, writeFileSync, unlinkSync, renameSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ObjectStore, PackFile, parsePackIndex, type PackedBlob } from '../src/objects/pack/index.js';
import { sortByOffset } from '../src/objects/pack/pack-file.js';
import { buildRepo, git, gitRaw, type CommitSpec } from '../testkit/git-repo.js';
import { rng } from '../testkit/token-gen.js';

/** Evolving text files: each commit edits a few lines of a few files, so repack finds long delta chains. */
function evolvingHistory(commits: number, files: number, seed: number): CommitSpec[] {
  const r = rng(seed);
  const words = ['const', 'return', 'value', 'function', 'import', 'export', 'let', 'if', 'else', 'await', 'config', 'user', 'data', 'index'];
  const line = () => Array.from({ length: 3 + Math.floor(r() * 9) }, () => words[Math.floor(r() * words.length)]).join(' ');
  const state: string[][] = Array.from({ length: files }, () => Array.from({ length: 40 + Math.floor(r() * 400) }, line));
  const out: CommitSpec[] = [];
  for (let c = 0; c < commits; c++) {
    const changed: Record<string, string | null> = {};
    for (let k = 0; k < 1 + Math.floor(r() * 3); k++) {
      const f = Math.floor(r() * files);
      const lines = state[f]!;
      for (let e = 0; e < 1 + Math.floor(r() * 4); e++) {
        const at = Math.floor(r() * lines.length);
        const op = r();
        if (op < 0.4) lines.splice(at, 0, line());
        else if (op < 0.7 && lines.length > 5) lines.splice(at, 1);
        else lines[at] = line();
      }
      changed[`src/d${f % 4}/f${f}.txt`] = lines.join('\n') + '\n';
    }
    out.push({ id: `c${c}`, branch: c % 17 === 5 ? 'side' : 'main', files: changed });
  }
  return out;
}

/** oid → bytes for every blob, straight from git. */
async function gitBlobs(dir: string): Promise<Map<string, Buffer>> {
  const out = await gitRaw(dir, ['cat-file', '--batch-all-objects', '--batch', '--unordered']);
  const blobs = new Map<string, Buffer>();
  let p = 0;
  while (p < out.length) {
    const nl = out.indexOf(10, p);
    const [oid, type, size] = out.toString('latin1', p, nl).split(' ');
    const start = nl + 1;
    const end = start + Number(size);
    if (type === 'blob') blobs.set(oid!, out.subarray(start, end));
    p = end + 1;
  }
  return blobs;
}

function collect(store: ObjectStore, opts = {}) {
  const ok = new Map<string, PackedBlob>();
  const problems: { oid: string; error: string; detail: string }[] = [];
  for (const b of store.blobs(opts)) {
    if ('data' in b) {
      expect(ok.has(b.oid)).toBe(false);
      ok.set(b.oid, { ...b, data: Buffer.from(b.data) });
    } else problems.push(b);
  }
  return { ok, problems };
}

function expectSame(got: Map<string, PackedBlob>, want: Map<string, Buffer>) {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [oid, b] of got) expect(b.data.equals(want.get(oid)!), oid).toBe(true);
}

describe('pack reader', () => {
  it('reads every blob of a deep-delta repack byte for byte, with correct copy ranges', async () => {
    const r = await buildRepo({ bare: true, commits: evolvingHistory(300, 12, 7) });
    await git(r.dir, 'repack', '-adf', '--depth=50', '--window=250');
    const want = await gitBlobs(r.dir);
    const store = ObjectStore.open(r.dir);
    expect(store.packs).toHaveLength(1);
    const { ok, problems } = collect(store);
    expect(problems).toEqual([]);
    expectSame(ok, want);
    const deltas = [...ok.values()].filter((b) => b.delta);
    expect(deltas.length).toBeGreaterThan(ok.size / 2);
    let copied = 0;
    for (const b of deltas) {
      const base = want.get(b.delta!.baseOid)!;
      const c = b.delta!.copies;
      for (let k = 0; k < c.length; k += 3) {
        const [ts, te, bs] = [c[k]!, c[k + 1]!, c[k + 2]!];
        expect(te).toBeGreaterThan(ts);
        expect(b.data.subarray(ts, te).equals(base.subarray(bs, bs + te - ts))).toBe(true);
        copied += te - ts;
        if (k > 0) expect(ts).toBeGreaterThanOrEqual(c[k - 2]!);
      }
    }
    // the history is small edits: most target bytes are copies
    expect(copied).toBeGreaterThan(0.8 * deltas.reduce((s, b) => s + b.data.length, 0));
    // random access agrees too, chains and all
    for (const oid of [...want.keys()].slice(0, 40)) expect(store.read(oid)!.data.equals(want.get(oid)!)).toBe(true);
    store.close();
  });

  it('reads REF_DELTA packs, several packs, loose objects, and a tiny base cache', async () => {
    const r = await buildRepo({ bare: true, commits: evolvingHistory(120, 6, 11) });
    await git(r.dir, '-c', 'repack.useDeltaBaseOffset=false', 'repack', '-adf', '--depth=30', '--window=50');
    // a second pack on top (fast-import) and loose objects
    const more = evolvingHistory(40, 3, 12).map((c) => ({ ...c, id: `m${c.id}` }));
    const r2 = await buildRepo({ bare: true, commits: more });
    await git(r2.dir, 'repack', '-ad');
    for (const f of readdirSync(path.join(r2.dir, 'objects/pack'))) {
      const src = path.join(r2.dir, 'objects/pack', f);
      writeFileSync(path.join(r.dir, 'objects/pack', f), readFileSync(src));
    }
    for (let i = 0; i < 5; i++) await gitRaw(r.dir, ['hash-object', '-w', '--stdin'], { input: `loose blob ${i}\n` });
    const want = await gitBlobs(r.dir);
    const store = ObjectStore.open(r.dir);
    expect(store.packs.length).toBe(2);
    const kinds = store.packs.map((p) => [...p.order().offsets].filter((o) => p.header(o).type === 7).length);
    expect(Math.max(...kinds)).toBeGreaterThan(10); // REF_DELTA entries really are there
    const { ok, problems } = collect(store, { cacheBytes: 4096 });
    expect(problems).toEqual([]);
    expectSame(ok, want);
    store.close();
  });

  it('puts objects in pack order by one sort of packed keys, or by indices where those would not be exact, ties by index', () => {
    const r = rng(7);
    for (let t = 0; t < 300; t++) {
      const n = 1 + Math.floor(r() * 200);
      // offsets up to 2^40 (packs over 4 GiB), sometimes with duplicates (a malformed index)
      const span = [50, 1e6, 2 ** 40][t % 3]!;
      const offs = Float64Array.from({ length: n + 3 }, () => 12 + Math.floor(r() * span));
      const ref = Array.from({ length: n }, (_, i) => i).sort((a, b) => offs[a]! - offs[b]! || a - b);
      for (const exact of [Number.MAX_SAFE_INTEGER, 0]) {
        const { offsets, idx } = sortByOffset(offs, n, exact);
        expect([...idx], `${t} ${exact}`).toEqual(ref);
        expect([...offsets]).toEqual(ref.map((i) => offs[i]!));
      }
    }
  });

  it('reads an index with 64-bit offsets', async () => {
    const r = await buildRepo({ bare: true, commits: evolvingHistory(60, 4, 3) });
    await git(r.dir, 'repack', '-adf');
    const packDir = path.join(r.dir, 'objects/pack');
    const pack = readdirSync(packDir).find((f) => f.endsWith('.pack'))!;
    const idxPath = path.join(packDir, pack.replace(/\.pack$/, '.idx'));
    unlinkSync(idxPath);
    // every object past offset 0x100 goes through the 64-bit table
    await git(packDir, 'index-pack', '--index-version=2,0x100', '-o', idxPath, pack);
    const idx = parsePackIndex(readFileSync(idxPath));
    expect(Math.max(...idx.offsets)).toBeGreaterThan(0x100);
    const want = await gitBlobs(r.dir);
    const store = ObjectStore.open(r.dir);
    expectSame(collect(store).ok, want);
    store.close();
  });

  it('honours want and maxBlobSize', async () => {
    const r = await buildRepo({ bare: true, commits: evolvingHistory(80, 4, 5) });
    await git(r.dir, 'repack', '-adf', '--depth=50');
    const want = await gitBlobs(r.dir);
    const pick = new Set([...want.keys()].filter((_, i) => i % 3 === 0));
    const store = ObjectStore.open(r.dir);
    const { ok, problems } = collect(store, { want: (o: string) => pick.has(o), maxBlobSize: 8000 });
    for (const [oid, b] of ok) {
      expect(pick.has(oid)).toBe(true);
      expect(b.data.equals(want.get(oid)!)).toBe(true);
      expect(b.data.length).toBeLessThanOrEqual(8000);
    }
    for (const p of problems) {
      expect(p.error).toBe('too-large');
      expect(want.get(p.oid)!.length).toBeGreaterThan(8000);
    }
    expect(ok.size + problems.length).toBe(pick.size);
    store.close();
  });

  it('reports corruption per object and bad indexes per pack, without crashing', async () => {
    const r = await buildRepo({ bare: true, commits: evolvingHistory(60, 4, 9) });
    await git(r.dir, 'repack', '-adf', '--depth=50');
    const want = await gitBlobs(r.dir);
    const packDir = path.join(r.dir, 'objects/pack');
    const packFile = path.join(
      packDir,
      readdirSync(packDir).find((f) => f.endsWith('.pack'))!,
    );
    const bytes = readFileSync(packFile);
    // scribble over the middle of the pack (trailer intact, so the index still matches)
    for (let i = 0, at = Math.floor(bytes.length / 2); i < 400; i++) bytes.writeUInt8(bytes.readUInt8(at + i) ^ 0x5a, at + i);
    writeFileSync(packFile, bytes);
    const store = ObjectStore.open(r.dir);
    const { ok, problems } = collect(store);
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) {
      expect(p.error).toBe('corrupt-object');
      expect(p.detail).toMatch(/pack/);
    }
    for (const [oid, b] of ok) expect(b.data.equals(want.get(oid)!)).toBe(true);
    store.close();

    const idx = packFile.replace(/\.pack$/, '.idx');
    truncateSync(idx, 100);
    const s2 = ObjectStore.open(r.dir);
    expect(s2.packs).toHaveLength(0);
    expect(s2.problems[0]!.detail).toMatch(/truncated/);
    s2.close();
    renameSync(packFile, packFile + '.x');
    expect(() => new PackFile(packFile)).toThrow();
  });
});
