// The scan pool on whole blobs (the default router): in-thread under vitest (TS source), and real worker threads
// against a tsc build of src/scan (what `dist/` runs), compared item by item with a plain engine.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createEngine } from '../src/detection/engine.js';
import { loadCatalog } from '../src/detection/load.js';
import { createScanPool, type ScanPool } from '../src/scan/pool.js';
import type * as PoolModule from '../src/scan/pool.js';
import type { JobResult, ScanJob } from '../src/scan/task.js';
import { packBatch, type WorkerInit, type WorkerResult } from '../src/scan/protocol.js';
import { buildScanPool } from './helpers/built-product.js';

const FIXTURE = resolve('test/fixtures/detectors/basic');
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const rand = (n: number) => Array.from(randomBytes(n), (b) => ALNUM[b % ALNUM.length]).join('');

/** ~`count` source-like files of ~`size` bytes; every 7th holds a token, every 11th is binary. */
function items(count: number, size: number): ScanJob[] {
  const line = 'const value = compute(key, options); // token handling\n';
  return Array.from({ length: count }, (_, i) => {
    let text = line.repeat(Math.ceil(size / line.length));
    if (i % 7 === 0) text += `API=acme_${rand(32)}\n`;
    const data = Buffer.from(text);
    // binary by share (over half the bytes NUL), not by one NUL byte: see src/detection/binary.ts
    if (i % 11 === 0) data.fill(0, 0, Math.ceil(data.length * 0.6));
    return { oid: `item-${i}`, path: `src/file-${i}.js`, data };
  });
}

async function collect(pool: ScanPool, input: ScanJob[]): Promise<Map<string, JobResult>> {
  async function* gen() {
    for (const it of input) yield it;
  }
  const out = new Map<string, JobResult>();
  for await (const r of pool.scan(gen())) out.set(r.oid, r);
  return out;
}

describe('in-thread pool', () => {
  test('jobs=1 (and TS source) scans in this thread, same results as the engine', async () => {
    const pool = createScanPool({ detectorsDir: FIXTURE, jobs: 1 });
    expect(pool.mode).toBe('in-thread');
    const input = items(30, 2000);
    const got = await collect(pool, input);
    const engine = createEngine(loadCatalog(FIXTURE));
    for (const it of input) expect(got.get(it.oid)?.matches).toEqual(engine.scan(it.data, { path: it.path }));
    expect([...got.values()].filter((r) => r.matches.length > 0)).toHaveLength(input.filter((_, i) => i % 7 === 0 && i % 11 !== 0).length);
    await pool.close();
  });
});

describe('worker pool (compiled build)', () => {
  const out = resolve(`node_modules/.cache/keyloop-pool-test-${process.pid}`);
  let built: typeof PoolModule;

  beforeAll(async () => {
    built = await buildScanPool(out);
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test('jobs=2 uses worker threads, matches the in-thread engine item by item, bounded in-flight bytes', async () => {
    const pool = built.createScanPool({ detectorsDir: FIXTURE, jobs: 2, batchBytes: 256 * 1024, highWaterBytes: 1024 * 1024 });
    expect(pool.mode).toBe('workers');
    const input = items(300, 40_000); // ~12 MB
    const got = await collect(pool, input);
    expect(got.size).toBe(input.length);
    const engine = createEngine(loadCatalog(FIXTURE));
    let withMatches = 0;
    for (const it of input) {
      const expected = engine.scan(it.data, { path: it.path });
      expect(got.get(it.oid)?.matches).toEqual(expected);
      if (expected.length) withMatches++;
    }
    expect(withMatches).toBeGreaterThan(30);
    // jobs 2 = one worker plus this thread, which scans whenever the worker's queue is full
    expect(pool.stats.helped).toBeGreaterThan(0);
    expect(pool.stats.helped).toBeLessThan(input.length);
    // One batch may be dispatched past the high-water mark before the producer waits.
    expect(pool.stats.peakInFlightBytes).toBeLessThanOrEqual(1024 * 1024 + 256 * 1024 + 40_100);
    // two workers and a feeding thread that only feeds: the same results
    const plain = built.createScanPool({ detectorsDir: FIXTURE, jobs: 2, readerHelps: false, batchBytes: 256 * 1024, highWaterBytes: 1024 * 1024 });
    const same = await collect(plain, input);
    for (const it of input) expect(same.get(it.oid)?.matches).toEqual(got.get(it.oid)?.matches);
    expect(plain.stats.helped).toBe(0);
    await plain.close();
    // The pool is reusable, and an early stop drains without hanging.
    let n = 0;
    for await (const _ of pool.scan(input)) if (++n === 3) break;
    expect((await collect(pool, input.slice(0, 10))).size).toBe(10);
    await pool.close();
  });

  test('large blobs (a batch each) travel in reused buffers: creations bounded by what is in flight, not by the blob count', async () => {
    // 40 blobs of 3 MB, each over the batch size: each is a batch of its own in a 4 MiB buffer. Without reuse
    // every one is a new SharedArrayBuffer (freed only when both threads collect it: the cause of 727 MB peak RSS
    // on TypeScript's history).
    const pool = built.createScanPool({ detectorsDir: FIXTURE, jobs: 2, readerHelps: false, batchBytes: 256 * 1024, highWaterBytes: 8 << 20 });
    const input = items(40, 3_000_000);
    const got = await collect(pool, input);
    expect(got.size).toBe(input.length);
    const engine = createEngine(loadCatalog(FIXTURE));
    for (const it of input.slice(0, 8)) expect(got.get(it.oid)?.matches).toEqual(engine.scan(it.data, { path: it.path }));
    // in flight at most: the high-water mark (8 MiB) plus one batch per worker before the producer waits
    const inFlightMax = Math.ceil((8 << 20) / 3_000_000) + 2;
    expect(pool.stats.buffersCreated).toBeGreaterThan(0);
    expect(pool.stats.buffersCreated).toBeLessThanOrEqual(inFlightMax + 2);
    await pool.close();
  });

  test('a worker scans batches posted while its engine is still being built, after it, in order (the pool does not wait)', async () => {
    // the fixture's catalog is not the compiled one: the worker imports the YAML loader, so its init yields before
    // the engine exists, and both batches below arrive in that gap
    const worker = new Worker(join(out, 'src/scan/worker.js'));
    try {
      const input = items(14, 2000);
      const halves = [input.slice(0, 7), input.slice(7)];
      const messages: (WorkerResult | { type: string })[] = [];
      const done = new Promise<void>((res, rej) => {
        worker.on('message', (m: WorkerResult | { type: string }) => {
          messages.push(m);
          if (messages.filter((x) => x.type === 'result').length === 2) res();
        });
        worker.on('error', rej);
      });
      worker.postMessage({ type: 'init', detectorsDir: FIXTURE } satisfies WorkerInit);
      halves.forEach((half, batchId) => {
        const buffer = new SharedArrayBuffer(half.reduce((n, j) => n + j.data.length, 0));
        const tasks = half.map((j) => ({ oid: j.oid, path: j.path, data: j.data, report: true }));
        worker.postMessage({ type: 'batch', batchId, ...packBatch(tasks, Buffer.from(buffer)), buffer });
      });
      await done;
      // ready first, then the batches' results in the order they were posted, scanned by the engine
      expect(messages.map((m) => m.type)).toEqual(['ready', 'result', 'result']);
      const results = messages.filter((m): m is WorkerResult => m.type === 'result');
      expect(results.map((r) => r.batchId)).toEqual([0, 1]);
      const engine = createEngine(loadCatalog(FIXTURE));
      const got = results.flatMap((r) => r.results);
      expect(got.map((r) => r.oid)).toEqual(input.map((j) => j.oid));
      for (const [i, r] of got.entries()) {
        expect(r.error).toBeUndefined();
        if (r.mode !== 'binary') expect(r.matches).toEqual(engine.scan(input[i]!.data, { path: input[i]!.path }));
      }
      expect(got.filter((r) => r.matches.length > 0).length).toBeGreaterThan(0);
    } finally {
      // never terminated: node-re2 aborts the process when a thread loads it after another that had loaded it
      // exited (see pool.ts); unref'd, it dies with the test process
      worker.removeAllListeners();
      worker.unref();
    }
  });

  test('a bad detectors dir fails the scan with a message instead of hanging', async () => {
    const pool = built.createScanPool({ detectorsDir: resolve('test/fixtures/detectors/does-not-exist'), jobs: 2 });
    await expect(collect(pool, items(3, 100))).rejects.toThrow(/detection worker failed to start: .*not found/);
    await pool.close();
  });
});
