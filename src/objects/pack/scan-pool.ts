// Delta-aware detection across worker threads. The calling thread reads and inflates the pack and plans each
// blob (scan-core.ts DeltaPlanner: whole, or by regions when its base is clean or still being scanned); workers
// scan whatever they are sent, so every task goes to the least loaded worker. Region results of a target whose
// base is still out are held here until the base settles (and the target is rescanned whole if the base is
// dirty). Items travel in ~1 MiB transferable batches under a high/low-water mark on bytes in flight, as in
// src/detection/pool.ts.
//
// Workers run the compiled scan-worker.js next to this file; under vitest (TypeScript source) the pool scans
// in this thread. Workers are never terminated (node-re2 #235, see src/detection/pool.ts): close() parks
// them for the next pool.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { asError, HostError, InternalError } from '../../core/errors.js';
import { createEngine, type EngineOptions } from '../../detection/engine.js';
import { loadCatalog } from '../../detection/load.js';
import type { Catalog, Engine } from '../../detection/types.js';
import { DeltaPlanner, defaultMargin, runTask, taskBytes, type CoreOptions, type JobResult, type ScanJob, type ScanTask, type Settled, type TaskResult } from './scan-core.js';

export interface PoolJob extends ScanJob {
  /** false: scanned only to vouch for its deltas (not selected, or excluded); no result is yielded. */
  report: boolean;
}

export interface PackScanStats {
  scannedBytes: number;
  full: number;
  regions: number;
  binary: number;
  peakInFlightBytes: number;
  /** Targets planned by regions before their base's verdict was back, and those rescanned whole (dirty base). */
  speculative: number;
  rescanned: number;
  /** Tasks the reading thread scanned itself while the workers were busy. */
  helped: number;
  /** Peak bytes of region-planned blobs kept for a possible rescan until their results were final. */
  peakKeptBytes: number;
}

export interface PackPoolInit {
  type: 'init';
  /** Identifies the catalog (a worker reused by the next pool keeps its engine when this is unchanged). */
  detectorsDir: string;
  /**
   * The catalog as this thread loaded it (structured clone): workers compile it without loading the YAML and
   * schema modules themselves (~20 MB less per worker).
   */
  catalog: Catalog;
  engineOptions?: EngineOptions;
}
export interface PackPoolBatch {
  type: 'batch';
  batchId: number;
  jobs: { oid: string; path: string; report: boolean; regions?: number[]; regionsOnly?: boolean; size?: number; anyPath?: boolean }[];
  offsets: number[];
  /**
   * Shared memory, reused for later batches once this one's result is back. Transferring an ArrayBuffer there
   * and back costs ~0.6 ms per message here (most of a worker's time on small blobs); sharing costs nothing.
   */
  buffer: SharedArrayBuffer;
}
export interface PackPoolResult {
  type: 'result';
  batchId: number;
  /** One per task (reported or not: the planner needs every verdict). */
  results: TaskResult[];
}

export interface PackScanPoolOptions {
  detectorsDir: string;
  /** This thread's engine over the same catalog (in-thread scanning, margin); built from detectorsDir if absent. */
  engine?: Engine;
  /**
   * Threads that scan; ≤ 1 scans in the calling thread. By default (`readerHelps`) that is jobs − 1 workers plus
   * the calling thread, which reads the pack and scans whenever the workers' queues are full.
   */
  jobs: number;
  /** false: `jobs` workers, and the calling thread only reads. Default true. */
  readerHelps?: boolean;
  engineOptions?: EngineOptions;
  /** Default true. */
  deltaAware?: boolean;
  margin?: number;
  maxRegionBlob?: number;
  batchBytes?: number;
  highWaterBytes?: number;
  lowWaterBytes?: number;
  /**
   * Blobs kept for their base's verdict (region tasks in flight, region results held) past which the reading
   * thread stops scanning tasks itself and waits for the workers' verdicts. Default 4 × highWaterBytes.
   */
  keptHighBytes?: number;
}

export interface PackScanPool {
  readonly mode: 'in-thread' | 'workers';
  readonly jobs: number;
  readonly stats: PackScanStats;
  /**
   * Whether the calling thread scans tasks itself when the workers' queues are full (with `readerHelps`); off
   * while it has other work (a prescan during the history walk), when it waits instead.
   */
  helping: boolean;
  /** Results of reported jobs, in completion order. One scan at a time; verdicts do not carry over between scans. */
  scan(jobs: Iterable<PoolJob> | AsyncIterable<PoolJob>): AsyncIterable<JobResult>;
  close(): Promise<void>;
}

export function packWorkerEntry(): string | null {
  const js = fileURLToPath(new URL('./scan-worker.js', import.meta.url));
  return existsSync(js) ? js : null;
}

function coreOptions(engine: Engine, opts: PackScanPoolOptions): CoreOptions {
  return {
    deltaAware: opts.deltaAware ?? true,
    margin: opts.margin ?? defaultMargin(engine),
    maxRegionBlob: opts.maxRegionBlob ?? 512 * 1024,
  };
}

export function createPackScanPool(opts: PackScanPoolOptions): PackScanPool {
  const entry = packWorkerEntry();
  const engine = opts.engine ?? createEngine(loadCatalog(opts.detectorsDir), opts.engineOptions);
  if (opts.jobs <= 1 || entry === null) return new InThreadPackPool(engine, coreOptions(engine, opts));
  const helps = opts.readerHelps ?? true;
  return new WorkerPackPool(entry, { ...opts, jobs: helps ? opts.jobs - 1 : opts.jobs }, coreOptions(engine, opts), engine.catalog, helps ? engine : null);
}

const newStats = (): PackScanStats => ({ scannedBytes: 0, full: 0, regions: 0, binary: 0, peakInFlightBytes: 0, speculative: 0, rescanned: 0, helped: 0, peakKeptBytes: 0 });

/** Settled results count by their final mode; `scannedBytes` (counted per task) includes rescans. */
function count(stats: PackScanStats, done: TaskResult[]): void {
  for (const r of done) stats[r.mode]++;
}

const toJob = (r: TaskResult): JobResult => {
  const { report: _report, dirty: _dirty, ...job } = r;
  return job;
};

class InThreadPackPool implements PackScanPool {
  readonly mode = 'in-thread' as const;
  readonly jobs = 1;
  readonly stats = newStats();
  helping = true;
  constructor(
    private readonly engine: Engine,
    private readonly core: CoreOptions,
  ) {}

  async *scan(jobs: Iterable<PoolJob> | AsyncIterable<PoolJob>): AsyncIterable<JobResult> {
    const planner = new DeltaPlanner(this.core);
    for await (const job of jobs) {
      this.stats.peakInFlightBytes = Math.max(this.stats.peakInFlightBytes, job.data.length);
      const tasks: ScanTask[] = [planner.plan(job)];
      for (let t = tasks.pop(); t; t = tasks.pop()) {
        const r = runTask(this.engine, t);
        this.stats.scannedBytes += r.scanned;
        const settled = planner.settle(r);
        count(this.stats, settled.done);
        for (const j of settled.redo) tasks.push(planner.planFull(j));
        for (const d of settled.done) if (d.report) yield toJob(d);
      }
    }
    this.stats.speculative += planner.speculative;
    this.stats.rescanned += planner.rescanned;
  }

  async close(): Promise<void> {}
}

const parked: Worker[] = [];

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  pendingBytes: number;
  batch: ScanTask[];
  /** Bytes the queued batch keeps alive (whole blobs, also of region tasks: kept for a rescan). */
  batchBytes: number;
  /** Bytes the queued batch will copy to the worker (only the regions of region tasks). */
  batchCopy: number;
}

class WorkerPackPool implements PackScanPool {
  readonly mode = 'workers' as const;
  readonly jobs: number;
  readonly stats = newStats();
  helping = true;
  private readonly slots: Slot[];
  private readonly batchBytes: number;
  private readonly high: number;
  private readonly low: number;
  private readonly keptHigh: number;
  private inFlight = 0;
  private nextBatch = 0;
  private readonly batches = new Map<number, { bytes: number; slot: Slot; buffer: SharedArrayBuffer }>();
  private results: JobResult[] = [];
  private failure: Error | null = null;
  private waiters: (() => void)[] = [];
  private scanning = false;
  private readonly crashed = new Set<Worker>();
  /** Reusable batch buffers by size (powers of two up to twice the batch size), within a byte budget. */
  private readonly spare = new Map<number, SharedArrayBuffer[]>();
  private spareBytes = 0;
  private readonly maxSpareBytes: number;
  /** The current scan's planner (verdicts live here, not in the workers). */
  private planner: DeltaPlanner | null = null;
  /** This thread's engine when it scans too (while the workers' queues are full). */
  private readonly helper: Engine | null;

  constructor(
    entry: string,
    opts: PackScanPoolOptions,
    private readonly core: CoreOptions,
    catalog: Catalog,
    helper: Engine | null,
  ) {
    this.helper = helper;
    this.jobs = opts.jobs;
    this.batchBytes = opts.batchBytes ?? 1 << 20;
    this.high = opts.highWaterBytes ?? 4 * this.batchBytes * opts.jobs;
    this.low = opts.lowWaterBytes ?? Math.floor(this.high / 2);
    this.keptHigh = opts.keptHighBytes ?? 4 * this.high;
    // enough reusable batch buffers for what can be in flight, no more
    this.maxSpareBytes = this.high + 2 * opts.jobs * this.batchBytes;
    this.slots = Array.from({ length: opts.jobs }, () => {
      // a scan worker allocates little but short-lived results: a 2 MB young generation is plenty (see util/heap.ts)
      const worker = parked.pop() ?? new Worker(entry, { resourceLimits: { maxYoungGenerationSizeMb: 2 } });
      worker.ref();
      const slot: Slot = { worker, pendingBytes: 0, ready: Promise.resolve(), batch: [], batchBytes: 0, batchCopy: 0 };
      slot.ready = new Promise<void>((resolve, reject) => {
        worker.on('message', (msg: PackPoolResult | { type: 'ready' } | { type: 'fatal'; message: string }) => {
          if (msg.type === 'ready') resolve();
          else if (msg.type === 'fatal') {
            const err = new HostError(`pack scan worker failed to start: ${msg.message}`);
            reject(err);
            this.fail(err);
          } else this.onResult(msg);
        });
        worker.on('error', (err) => {
          this.crashed.add(worker);
          reject(err);
          this.fail(new InternalError(`pack scan worker crashed: ${err.message}`));
        });
        worker.on('exit', (code) => {
          this.crashed.add(worker);
          this.fail(new InternalError(`pack scan worker exited with code ${code}`));
        });
      });
      worker.postMessage({ type: 'init', detectorsDir: opts.detectorsDir, catalog, engineOptions: opts.engineOptions } satisfies PackPoolInit);
      slot.ready.catch(() => undefined);
      return slot;
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.wake();
  }

  /** A method, not an inline check: `failure` is set by callbacks, which TypeScript's narrowing cannot see. */
  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  private onResult(msg: PackPoolResult): void {
    const b = this.batches.get(msg.batchId);
    if (b) {
      this.batches.delete(msg.batchId);
      this.inFlight -= b.bytes;
      b.slot.pendingBytes -= b.bytes;
      const size = b.buffer.byteLength;
      if (size <= this.batchBytes * 2 && this.spareBytes + size <= this.maxSpareBytes) {
        let list = this.spare.get(size);
        if (!list) this.spare.set(size, (list = []));
        list.push(b.buffer);
        this.spareBytes += size;
      }
    }
    this.absorb(msg.results);
    this.wake();
  }

  /** Settles finished tasks (from a worker or this thread): final results out, rescans dispatched. */
  private absorb(results: TaskResult[]): void {
    const planner = this.planner;
    if (!planner) return;
    const settled: Settled = { done: [], redo: [] };
    for (const r of results) {
      this.stats.scannedBytes += r.scanned;
      planner.settle(r, settled);
    }
    count(this.stats, settled.done);
    for (const d of settled.done) if (d.report) this.results.push(toJob(d));
    if (settled.redo.length) {
      for (const j of settled.redo) this.enqueue(planner.planFull(j));
      for (const s of this.slots) this.dispatch(s);
    }
  }

  /** Queues a task on the least loaded worker (bytes in flight and queued); true when that batch is full. */
  private enqueue(task: ScanTask): Slot | null {
    const slot = this.slots.reduce((a, b) => (b.pendingBytes + b.batchBytes < a.pendingBytes + a.batchBytes ? b : a));
    slot.batch.push(task);
    // weighed by what it keeps alive: a region task ships a few hundred bytes but keeps its whole blob (for a
    // rescan) until its result is in, so counting shipped bytes would let thousands of blobs pile up per batch
    slot.batchBytes += Math.max(task.data.length, taskBytes(task));
    slot.batchCopy += taskBytes(task);
    return slot.batchBytes >= this.batchBytes ? slot : null;
  }

  private dispatch(slot: Slot): void {
    const batch = slot.batch;
    const bytes = slot.batchCopy;
    const kept = slot.batchBytes;
    slot.batch = [];
    slot.batchBytes = 0;
    slot.batchCopy = 0;
    if (batch.length === 0) return;
    // Batches travel in reused buffers, one per power of two from 64 KiB to twice the batch size (a batch of
    // region tasks ships far fewer bytes than it weighs); a bigger one (a large blob) gets its own.
    const size = bufferSize(bytes);
    let buffer: SharedArrayBuffer;
    const reused = size <= this.batchBytes * 2 ? this.spare.get(size)?.pop() : undefined;
    if (reused) {
      buffer = reused;
      this.spareBytes -= size;
    } else buffer = new SharedArrayBuffer(size);
    const view = Buffer.from(buffer);
    const offsets = [0];
    const jobs: PackPoolBatch['jobs'] = [];
    let at = 0;
    for (const task of batch) {
      const start = at;
      if (task.regions) {
        // only the regions travel, back to back; a dirty one comes back as a rescan (the planner kept the blob)
        const rebased: number[] = [];
        for (let k = 0; k < task.regions.length; k += 2) {
          at += task.data.copy(view, at, task.regions[k], task.regions[k + 1]);
          rebased.push(rebased.length ? rebased[rebased.length - 1]! : 0, at - start);
        }
        jobs.push({ oid: task.oid, path: task.path, report: task.report, regions: rebased, regionsOnly: true, size: task.data.length, ...(task.anyPath ? { anyPath: true } : {}) });
      } else {
        at += task.data.copy(view, at);
        jobs.push({ oid: task.oid, path: task.path, report: task.report, ...(task.anyPath ? { anyPath: true } : {}) });
      }
      offsets.push(at);
    }
    const batchId = this.nextBatch++;
    // in flight: what the batch keeps alive (at least one byte, so empty blobs keep the scan alive until their
    // results arrive)
    const weight = Math.max(1, kept);
    this.batches.set(batchId, { bytes: weight, slot, buffer });
    this.inFlight += weight;
    slot.pendingBytes += weight;
    this.stats.peakInFlightBytes = Math.max(this.stats.peakInFlightBytes, this.inFlight);
    slot.worker.postMessage({ type: 'batch', batchId, jobs, offsets, buffer } satisfies PackPoolBatch);
  }

  async *scan(jobs: Iterable<PoolJob> | AsyncIterable<PoolJob>): AsyncIterable<JobResult> {
    if (this.scanning) throw new InternalError('pack scan pool: one scan at a time');
    this.scanning = true;
    const planner = (this.planner = new DeltaPlanner(this.core));
    let produced = false;
    let abandoned = false;
    const producer = (async () => {
      await Promise.all(this.slots.map((s) => s.ready));
      for await (const job of jobs) {
        if (this.failure || abandoned) break;
        const task = planner.plan(job);
        if (this.helper && this.helping && this.inFlight >= this.high) {
          if (planner.openBytes >= this.keptHigh) {
            // blobs kept for their base's verdict (region results held, tasks in flight) pile up: scanning here
            // would only add to them, so let the workers' verdicts in first
            for (const s of this.slots) this.dispatch(s);
            while (planner.openBytes >= this.keptHigh && this.inFlight > 0 && !this.failure && !abandoned) await this.wait();
          }
          // the workers have a full queue: scan this one here instead of waiting, then let their results in
          this.absorb([runTask(this.helper, task)]);
          this.stats.helped++;
          await yieldToLoop();
          continue;
        }
        const full = this.enqueue(task);
        if (full) {
          this.dispatch(full);
          // (a helping reader scans instead of waiting: see above)
          if (this.inFlight >= this.high && !(this.helper && this.helping)) {
            while (this.inFlight > this.low && !this.failure && !abandoned) await this.wait();
          }
        }
      }
      if (!this.failure && !abandoned) for (const s of this.slots) this.dispatch(s);
    })().then(
      () => {
        produced = true;
        this.wake();
      },
      (err: unknown) => this.fail(asError(err)),
    );
    let completed = false;
    try {
      for (;;) {
        this.throwIfFailed();
        if (this.results.length) {
          const out = this.results;
          this.results = [];
          yield* out;
          continue;
        }
        if (produced && this.inFlight === 0) break;
        await this.wait();
      }
      await producer;
      this.throwIfFailed();
      if (planner.openCount > 0) throw new InternalError(`pack scan pool: ${planner.openCount} delta targets never settled`);
      completed = true;
    } finally {
      if (!completed) {
        abandoned = true;
        this.wake();
        await producer;
        while (this.inFlight > 0 && !this.failure) await this.wait();
        this.results = [];
      }
      for (const s of this.slots) {
        s.batch = [];
        s.batchBytes = 0;
        s.batchCopy = 0;
      }
      this.stats.speculative += planner.speculative;
      this.stats.rescanned += planner.rescanned;
      this.stats.peakKeptBytes = Math.max(this.stats.peakKeptBytes, planner.peakOpenBytes);
      this.planner = null;
      this.scanning = false;
    }
  }

  private closed = false;

  /** Parks the workers for the next pool. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.slots) {
      if (this.crashed.has(s.worker)) continue;
      s.worker.removeAllListeners('message');
      s.worker.removeAllListeners('error');
      s.worker.removeAllListeners('exit');
      s.worker.unref();
      parked.push(s.worker);
    }
  }
}

/** A batch buffer's size for `bytes`: the next power of two from 64 KiB. */
export function bufferSize(bytes: number): number {
  let size = 64 << 10;
  while (size < bytes) size *= 2;
  return size;
}
