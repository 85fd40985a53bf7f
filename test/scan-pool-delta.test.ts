// The scan pool routing pack blobs by their deltas (DeltaPlanner) on real worker threads (a tsc build of src/scan,
// as workers cannot load TS):
// targets planned by regions (speculatively while their base is out), scanned on either worker, results equal a full scan of every blob.
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Match } from '../src/core/model.js';
import { createEngine } from '../src/detection/engine.js';
import { loadCatalog } from '../src/detection/load.js';
import { ObjectStore } from '../src/objects/pack/index.js';
import { TargetBuffers } from '../src/objects/pack/target-buffers.js';
import { deltaPlanner } from '../src/scan/delta-plan.js';
import { scanPackDeltaAware } from '../src/scan/delta-scan.js';
import { startPrescan } from '../src/scan/pack-path.js';
import { createScanPool } from '../src/scan/pool.js';
import type * as ScanPoolModule from '../src/scan/pool.js';
import type { ScanJob } from '../src/scan/task.js';
import { buildScanPool } from './helpers/built-product.js';
import { buildRepo, git, type CommitSpec } from '../testkit/git-repo.js';
import { generateSample, rng } from '../testkit/token-gen.js';

const DETECTORS = join(import.meta.dirname, '..', 'detectors');
const catalog = loadCatalog(DETECTORS);

function history(seed: number, commits: number): CommitSpec[] {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const files = Array.from({ length: 10 }, (_, i) => ({
    path: `lib/f${i}.${['js', 'py', 'env'][i % 3]}`,
    lines: Array.from({ length: 200 + int(900) }, (_, k) => `  row ${k} value ${int(1e6)} of ${i}`),
  }));
  const defs = catalog.detectors.map((d) => d.def);
  const out: CommitSpec[] = [];
  for (let c = 0; c < commits; c++) {
    const f = files[int(files.length)]!;
    const at = int(f.lines.length);
    const op = r();
    if (op < 0.1) f.lines.splice(at, 0, ...generateSample(defs[int(defs.length)]!, r).text.split('\n'));
    else if (op < 0.2) {
      const i = f.lines.findIndex((l, k) => k >= at && /[A-Za-z0-9]{20,}|-----/.test(l));
      const l = f.lines[i >= 0 ? i : at] ?? '';
      f.lines[i >= 0 ? i : at] = l.slice(0, 7) + 'Z' + l.slice(8);
    } else f.lines.splice(at, int(2), `  edit ${c} ${int(1e9)}`);
    out.push({ id: `c${c}`, files: { [f.path]: f.lines.join('\n') + '\n' } });
  }
  return out;
}

/** A packed history (history(seed, 260), deltas up to 50 deep), each blob's path, and a full scan of every blob. */
async function packedHistory(seed: number) {
  const repo = await buildRepo({ bare: true, commits: history(seed, 260) });
  await git(repo.dir, 'repack', '-adf', '--depth=50', '--window=250');
  const paths = new Map<string, string>();
  for (const l of (await git(repo.dir, 'rev-list', '--objects', '--all')).split('\n')) {
    const sp = l.indexOf(' ');
    if (sp > 0 && !paths.has(l.slice(0, sp))) paths.set(l.slice(0, sp), l.slice(sp + 1));
  }
  const engine = createEngine(catalog);
  const store = ObjectStore.open(repo.dir);
  const reference = new Map<string, Match[]>();
  for (const r of scanPackDeltaAware(store, engine, { deltaAware: false, pathOf: (o) => paths.get(o) })) if ('matches' in r) reference.set(r.oid, r.matches);
  return { paths, engine, store, reference };
}

describe('batch buffers', () => {
  it('are sized by what a batch ships: powers of two from 64 KiB', async () => {
    const { bufferSize } = await import('../src/scan/protocol.js');
    expect(bufferSize(0)).toBe(64 << 10);
    expect(bufferSize(1)).toBe(64 << 10);
    expect(bufferSize(64 << 10)).toBe(64 << 10);
    expect(bufferSize((64 << 10) + 1)).toBe(128 << 10);
    expect(bufferSize(300 << 10)).toBe(512 << 10);
    expect(bufferSize(2 << 20)).toBe(2 << 20);
    expect(bufferSize((2 << 20) + 5)).toBe(4 << 20);
  });
});

describe('scan pool with delta routing (compiled build, 2 workers)', () => {
  const out = resolve(`node_modules/.cache/keyloop-pack-pool-test-${process.pid}`);
  let built: typeof ScanPoolModule;

  beforeAll(async () => {
    built = await buildScanPool(out);
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('equals a full scan of every blob, scans by regions on the workers, keeps bytes in flight bounded', async () => {
    const { paths, engine, store, reference } = await packedHistory(3);

    // the same delta-aware scan in one thread: how many blobs it could scan by regions
    const inThread = { blobs: 0, bytes: 0, scannedBytes: 0, full: 0, regions: 0, binary: 0, problems: 0 };
    for (const _ of scanPackDeltaAware(store, engine, { pathOf: (o) => paths.get(o) }, inThread));
    // small batches and high-water mark: delta regions are only the changed lines, so the queue must fill quickly
    // with this thread's engine, as `keyloop scan` does: the workers get its catalog instead of loading the YAML
    const pool = built.createScanPool({ detectorsDir: DETECTORS, engine, jobs: 2, batchBytes: 8 * 1024, highWaterBytes: 16 * 1024, keptHighBytes: 32 * 1024 });
    expect(pool.mode).toBe('workers');
    function* jobs(): Generator<ScanJob> {
      for (const b of store.blobs()) if ('data' in b) yield { oid: b.oid, path: paths.get(b.oid) ?? '', data: b.data, delta: b.delta, report: true };
    }
    for (let round = 0; round < 2; round++) {
      const got = new Map<string, Match[]>();
      for await (const r of pool.scan(jobs(), deltaPlanner(pool.multiline))) {
        expect(r.error).toBeUndefined();
        got.set(r.oid, r.matches);
      }
      expect([...got.keys()].sort()).toEqual([...reference.keys()].sort());
      for (const [oid, ms] of reference) expect(got.get(oid), oid).toEqual(ms);
    }
    expect([...reference.values()].filter((m) => m.length > 0).length).toBeGreaterThan(20);
    // speculative planning ends with the same modes as the single thread (per round)
    expect(inThread.regions).toBeGreaterThan(30);
    expect(pool.stats.regions).toBe(2 * inThread.regions);
    // jobs 2 = one worker plus this (reading) thread, which scans whenever the worker's queue is full
    expect(pool.stats.helped).toBeGreaterThan(0);
    expect(pool.stats.helped).toBeLessThan(pool.stats.full + pool.stats.regions + pool.stats.binary);
    // one batch per worker can be dispatched past the high-water mark before the producer waits
    expect(pool.stats.peakInFlightBytes).toBeLessThanOrEqual(16 * 1024 + 2 * (8 * 1024 + 200_000));
    // in flight counts what a batch keeps alive: a region task ships only its regions but keeps its whole blob
    // for a rescan, and the reading thread stops helping while keptHighBytes are kept; so the blobs kept stay
    // bounded (counting shipped bytes let them pile up)
    const largest = Math.max(...[...store.blobs()].map((b) => ('data' in b ? b.data.length : 0)));
    expect(pool.stats.peakKeptBytes).toBeGreaterThan(0);
    expect(pool.stats.peakKeptBytes).toBeLessThanOrEqual(32 * 1024 + 2 * (8 * 1024 + largest));
    await pool.close();

    // two workers and a reader that only reads: the same results
    const plain = built.createScanPool({ detectorsDir: DETECTORS, jobs: 2, readerHelps: false, batchBytes: 64 * 1024, highWaterBytes: 256 * 1024 });
    const got = new Map<string, Match[]>();
    for await (const r of plain.scan(jobs(), deltaPlanner(plain.multiline))) got.set(r.oid, r.matches);
    for (const [oid, ms] of reference) expect(got.get(oid), oid).toEqual(ms);
    expect(plain.stats.helped).toBe(0);
    expect(plain.stats.regions).toBe(inThread.regions);
    await plain.close();
    store.close();
  });

  it('a blob released only once its final result is out: with the walk reusing released memory (poisoned), results still equal a full scan', async () => {
    const { paths, engine, store, reference } = await packedHistory(4);
    expect([...reference.values()].filter((m) => m.length > 0).length).toBeGreaterThan(20);
    // workers (speculative plans held for their base, rescans of kept blobs), then one thread
    const pools = [
      built.createScanPool({ detectorsDir: DETECTORS, engine, jobs: 2, batchBytes: 8 * 1024, highWaterBytes: 16 * 1024, keptHighBytes: 32 * 1024 }),
      createScanPool({ detectorsDir: DETECTORS, engine, jobs: 1 }),
    ];
    for (const pool of pools) {
      // every blob pooled (these are small), released memory zeroed: a blob read after its release reads as binary
      const targets = new TargetBuffers({ minBytes: 0, poison: true });
      function* jobs(): Generator<ScanJob> {
        for (const b of store.blobs({ targets })) {
          if (!('data' in b)) continue;
          const data = b.data;
          yield { oid: b.oid, path: paths.get(b.oid) ?? '', data, delta: b.delta, report: true, release: () => targets.release(data) };
        }
      }
      const got = new Map<string, Match[]>();
      for await (const r of pool.scan(jobs(), deltaPlanner(pool.multiline))) {
        expect(r.error).toBeUndefined();
        expect(r.mode).not.toBe('binary');
        got.set(r.oid, r.matches);
      }
      for (const [oid, ms] of reference) expect(got.get(oid), oid).toEqual(ms);
      expect(pool.stats.regions).toBeGreaterThan(30);
      expect(targets.stats.reused).toBeGreaterThan(100);
      await pool.close();
    }
    expect(pools[0]!.stats.speculative).toBeGreaterThan(0);
    store.close();
  });

  it('a prescan (started before the history walk) scans every blob on the workers, and this thread helps only after the walk', async () => {
    const repo = await buildRepo({ bare: true, commits: history(5, 200) });
    await git(repo.dir, 'repack', '-adf', '--depth=50', '--window=250');
    const pool = built.createScanPool({ detectorsDir: DETECTORS, jobs: 2, batchBytes: 8 * 1024, highWaterBytes: 16 * 1024 });
    const prescan = startPrescan(repo.dir, pool, { maxBlobSize: 64 << 20 })!;
    expect(prescan).not.toBeNull();
    expect(pool.helping).toBe(false);
    // the walk never ends here: the worker scans everything, this thread only reads
    const found = await prescan.findings;
    const blobs = (await git(repo.dir, 'cat-file', '--batch-all-objects', '--batch-check=%(objecttype)')).split('\n').filter((t) => t === 'blob').length;
    expect(found.size.size).toBe(blobs);
    expect(found.matches.size).toBeGreaterThan(10);
    // matches carry the path classes they hold in
    expect([...found.matches.values()].flat().every((m) => typeof m.pathClasses === 'number' && m.pathClasses > 0)).toBe(true);
    expect(pool.stats.helped).toBe(0);
    expect(pool.stats.regions).toBeGreaterThan(30);
    prescan.walkDone();
    expect(pool.helping).toBe(true);
    await prescan.cancel();
    await pool.close();
  });
});
