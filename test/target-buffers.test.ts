// Reused memory for a pack walk's delta targets (src/objects/pack/target-buffers.ts): a buffer's memory is handed
// out again only when every holder released it, and the walk holds what its base cache keeps and the base it is
// applying, so a consumer that releases each blob at once still reads every blob as it is.
import { describe, expect, it } from 'vitest';
import { ObjectStore } from '../src/objects/pack/index.js';
import { TargetBuffers } from '../src/objects/pack/target-buffers.js';
import { buildRepo, git, type CommitSpec } from '../testkit/git-repo.js';
import { rng } from '../testkit/token-gen.js';

describe('TargetBuffers', () => {
  it('hands memory out again only once every holder released it, best fit, small buffers not pooled', () => {
    const t = new TargetBuffers({ minBytes: 1000 });
    const a = t.take(5000);
    expect(a.length).toBe(5000);
    t.hold(a);
    t.release(a);
    // still held once: fresh memory
    const b = t.take(4000);
    expect(b.buffer).not.toBe(a.buffer);
    t.release(a);
    // released by both holders: reused for a size it fits (less than twice)
    const c = t.take(4500);
    expect(c.buffer).toBe(a.buffer);
    expect(c.length).toBe(4500);
    expect(t.stats.reused).toBe(1);
    // too large for what is free, or what is free is over twice the size: fresh
    t.release(c);
    expect(t.take(7000).buffer).not.toBe(a.buffer);
    expect(t.take(2000).buffer).not.toBe(a.buffer);
    expect(t.take(3200).buffer).toBe(a.buffer);
    // below minBytes: Buffer.allocUnsafe, and hold/release leave it alone
    const small = t.take(10);
    small.fill(7);
    t.release(small);
    t.release(small);
    expect([...small]).toEqual(Array(10).fill(7));
  });

  it('pools targets from 16 KiB by default (a history of small files reuses their memory), not smaller ones', () => {
    const t = new TargetBuffers();
    const a = t.take(20_000);
    t.release(a);
    expect(t.take(18_000).buffer).toBe(a.buffer);
    const small = t.take(15_000);
    t.release(small);
    expect(t.take(15_000).buffer).not.toBe(small.buffer);
    expect(t.stats).toMatchObject({ taken: 2, reused: 1 });
  });

  it('takes the smallest released memory that fits, whatever order it was released in', () => {
    const t = new TargetBuffers({ minBytes: 0 });
    // capacities a quarter over the size: 5000, 10,000, 20,000, 2,500 bytes
    const [a, b, c, d] = [4000, 8000, 16_000, 2000].map((n) => t.take(n));
    for (const x of [c!, a!, d!, b!]) t.release(x);
    expect(t.take(9000).buffer).toBe(b!.buffer);
    expect(t.take(4100).buffer).toBe(a!.buffer);
    expect(t.take(2500).buffer).toBe(d!.buffer);
    expect(t.take(30_000).buffer).not.toBe(c!.buffer);
    expect(t.take(16_001).buffer).toBe(c!.buffer);
  });

  it('poisons released memory (tests), and keeps at most its budget of it', () => {
    const t = new TargetBuffers({ minBytes: 0, budget: 10_000, poison: true });
    const a = t.take(4000).fill(0x41);
    const b = t.take(4000).fill(0x41);
    const c = t.take(4000).fill(0x41);
    for (const x of [a, b, c]) t.release(x);
    expect(a.every((v) => v === 0)).toBe(true);
    // 3 × 5000 bytes of capacity over a 10,000-byte budget: one went to the GC
    const again = [t.take(4000), t.take(4000), t.take(4000)].map((x) => x.buffer);
    expect(new Set(again).size).toBe(3);
    expect(again.filter((x) => x === a.buffer || x === b.buffer || x === c.buffer)).toHaveLength(2);
  });
});

/** Four files of 8-40 KB, one line edited, inserted or deleted per commit: long delta chains of one another. */
function history(seed: number, commits: number): CommitSpec[] {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const files = Array.from({ length: 4 }, (_, i) => Array.from({ length: 300 + int(900) }, (_, k) => `line ${k} of ${i}: ${int(1e9)}`));
  return Array.from({ length: commits }, (_, c) => {
    const i = int(files.length);
    const f = files[i]!;
    const at = int(f.length);
    if (c % 3 === 0) f.splice(at, 1);
    else f.splice(at, c % 3 === 1 ? 0 : 1, `edit ${c}: ${int(1e9)}`);
    return { id: `c${c}`, files: { [`f${i}.txt`]: f.join('\n') + '\n' } };
  });
}

describe('a pack walk with reused target memory', () => {
  it('yields every blob as a walk with fresh buffers does, its consumer releasing each at once (released memory poisoned)', async () => {
    const repo = await buildRepo({ bare: true, commits: history(1, 160) });
    await git(repo.dir, 'repack', '-adf', '--depth=50', '--window=250');
    const store = ObjectStore.open(repo.dir);
    const fresh = new Map<string, string>();
    let deltas = 0;
    for (const b of store.blobs()) {
      if (!('data' in b)) throw new Error(b.detail);
      fresh.set(b.oid, b.data.toString('latin1'));
      if (b.delta) deltas++;
    }
    expect(deltas).toBeGreaterThan(100);
    // a small base cache too: evicted bases are read again, through the same memory
    for (const cacheBytes of [256 << 20, 64 << 10]) {
      const targets = new TargetBuffers({ minBytes: 0, poison: true });
      let n = 0;
      for (const b of store.blobs({ targets, cacheBytes })) {
        if (!('data' in b)) throw new Error(b.detail);
        expect(b.data.toString('latin1'), b.oid).toBe(fresh.get(b.oid));
        targets.release(b.data);
        n++;
      }
      expect(n).toBe(fresh.size);
      expect(targets.stats.reused).toBeGreaterThan(deltas / 2);
    }
    store.close();
  });
});
