// The scan stage's one worker pool: every caller's blobs are scanned here, in this thread (jobs ≤ 1, or under
// vitest where there is no compiled worker) or on worker threads. The calling thread reads and routes each job
// (router.ts: whole blobs by default; the pack path's DeltaPlanner scans a delta only around what it changed
// when its base is clean, holding region results until the base settles); threads scan whatever task they are
// sent (task.ts runTask), so every task goes to the least loaded worker. Tasks travel in ~1 MiB batches of
// reused shared memory under a high/low-water mark on bytes in flight, which keeps RSS bounded (without it a
// full-history scan of a large repo reached 1.7 GB). By default the calling thread also scans a task itself
// whenever the workers' queues are full, instead of waiting.
//
// node-re2 1.23 aborts the process when a thread loads it after another thread that had loaded it has exited
// (uhop/node-re2#235, reproduced here): workers are therefore never terminated. close() parks them, unref'd,
// in a process-wide list that the next pool reuses; they die with the process.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { asError, HostError, InternalError } from '../core/errors.js';
import { createEngine, type EngineOptions } from '../detection/engine.js';
import { openCatalog } from '../detection/compiled-catalog.js';
import { DECODE_DEPTH } from '../detection/decoders.js';
import { multilineGate, type MultilineGate } from '../detection/multiline-gate.js';
import type { Catalog, Engine } from '../detection/types.js';
import { BufferShelf } from './buffer-shelf.js';
import { isSettled, WholeBlobs, type Router, type Settled } from './router.js';
import { bufferSize, packBatch, type WorkerBatch, type WorkerInit, type WorkerResult } from './protocol.js';
import { runTask, taskBytes, type JobResult, type ScanJob, type ScanTask, type TaskResult } from './task.js';

export interface ScanPoolStats {
  /** Bytes handed to the engine (rescans included). */
  scannedBytes: number;
  /** Settled results by how they were scanned. */
  full: number;
  regions: number;
  binary: number;
  peakInFlightBytes: number;
  /**
   * Plans made before their base's verdict was back, those rescanned whole (dirty base), and those planned again by
   * wider regions (a clean base whose reach was longer than planned for).
   */
  speculative: number;
  rescanned: number;
  widened: number;
  /** Tasks the reading thread scanned itself while the workers were busy. */
  helped: number;
  /** Peak bytes of region-planned blobs kept for a possible rescan until their results were final. */
  peakKeptBytes: number;
  /** Shared batch buffers created (not reused) and their bytes. */
  buffersCreated: number;
  bufferBytesCreated: number;
}

export interface ScanPoolOptions {
  detectorsDir: string;
  /** This thread's engine over the same catalog (in-thread scanning, helping); workers get its catalog. */
  engine?: Engine;
  /**
   * Threads that scan; ≤ 1 scans in the calling thread. By default (`readerHelps`) that is jobs − 1 workers plus
   * the calling thread, which reads and scans whenever the workers' queues are full.
   */
  jobs: number;
  /** false: `jobs` workers, and the calling thread only reads. Default true. */
  readerHelps?: boolean;
  engineOptions?: EngineOptions;
  /** Target batch size in bytes. Default 1 MiB. */
  batchBytes?: number;
  /**
   * The workers' queues are full when they have this many bytes to scan: the reading thread then scans tasks itself
   * (with `readerHelps`) or stops reading. Batches in flight keep at most about this many bytes alive (whole blobs,
   * also those of region tasks, kept for a rescan): past it, the reading thread waits. Default 4 batches per worker.
   */
  highWaterBytes?: number;
  /** Resume reading when in-flight bytes fall to this. Default half the high-water mark. */
  lowWaterBytes?: number;
  /**
   * Blobs kept for their base's verdict (region tasks in flight, region results held) past which the reading
   * thread stops scanning tasks itself and waits for the workers' verdicts. Default 4 × highWaterBytes.
   */
  keptHighBytes?: number;
  /** Bytes of spare batch buffers kept for large blobs beyond what the water marks need. Default 64 MiB. */
  largeSpareBytes?: number;
}

/** Spare buffers for large blobs: one of the class the default 50 MiB blob limit needs (64 MiB), or more smaller ones. */
const LARGE_SPARE_BYTES = 64 << 20;

export interface ScanPool {
  readonly mode: 'in-thread' | 'workers';
  readonly jobs: number;
  readonly stats: ScanPoolStats;
  /**
   * Whether the calling thread scans tasks itself when the workers' queues are full (with `readerHelps`); off
   * while it has other work (a prescan during the history walk), when it waits instead.
   */
  helping: boolean;
  /**
   * Results of reported jobs, in completion order (input order in one thread). One scan at a time; `router`
   * (default: whole blobs) lives for this scan only.
   */
  scan(jobs: Iterable<ScanJob> | AsyncIterable<ScanJob>, router?: Router): AsyncIterable<JobResult>;
  /**
   * The catalog's multiline gate, for a DeltaPlanner routing this pool's scans. The pool loads its catalog before
   * it routes the first job; asked earlier, the gate answers true (scan whole), which is always safe.
   */
  readonly multiline: MultilineGate;
  close(): Promise<void>;
}

export function workerEntry(): string | null {
  const js = fileURLToPath(new URL('./worker.js', import.meta.url));
  return existsSync(js) ? js : null;
}

export function createScanPool(opts: ScanPoolOptions): ScanPool {
  const entry = workerEntry();
  let catalog: Promise<Catalog> | null = opts.engine ? Promise.resolve(opts.engine.catalog) : null;
  const catalogOnce = () => (catalog ??= settledLater(openCatalog(opts.detectorsDir)));
  const build = async () => opts.engine ?? createEngine(await catalogOnce(), opts.engineOptions);
  if (opts.jobs <= 1 || entry === null) return new InThreadPool(opts.engine ?? settledLater(build()));
  const helps = opts.readerHelps ?? true;
  // without an engine, this thread's is built on first help (its catalog loaded before the first job is routed,
  // for the multiline gate), after the workers started: a bad catalog fails the scan at worker init, with the
  // workers' message
  return new WorkerPool(entry, { ...opts, jobs: helps ? opts.jobs - 1 : opts.jobs }, helps ? build : null, catalogOnce);
}

/**
 * The multiline gate of a catalog that is being loaded: true (scan whole) until `load` is given the catalog. Its
 * RE2.Set is compiled on the first check (~10 ms), so scans that never plan a delta (plain files, --staged) skip it.
 */
class PendingGate {
  private catalog: Catalog | null = null;
  private decodeDepth = DECODE_DEPTH;
  private gate: MultilineGate | null = null;
  readonly check: MultilineGate = (data, changed) => {
    if (!this.catalog) return true;
    return (this.gate ??= multilineGate(this.catalog, this.decodeDepth))(data, changed);
  };
  /** `decodeDepth`: the scanning engines' (EngineOptions.decodeDepth). */
  load(catalog: Catalog, decodeDepth: number): void {
    if (this.catalog) return;
    this.catalog = catalog;
    this.decodeDepth = decodeDepth;
  }
}

/** `p`, with its rejection handled until someone awaits it (no unhandled rejection if no one ever does). */
function settledLater<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

const newStats = (): ScanPoolStats => ({
  scannedBytes: 0,
  full: 0,
  regions: 0,
  binary: 0,
  peakInFlightBytes: 0,
  speculative: 0,
  rescanned: 0,
  widened: 0,
  helped: 0,
  peakKeptBytes: 0,
  buffersCreated: 0,
  bufferBytesCreated: 0,
});

const toJob = (r: TaskResult): JobResult => {
  const { report: _report, dirty: _dirty, known: _known, ...job } = r;
  return job;
};

/**
 * Jobs' `release` by oid, called when their final result is out: nothing reads a job's data after it (the router has
 * closed it, and a blob has one task at a time: a rescan is planned only after the result that called for it).
 */
type Releases = Map<string, () => void>;

/** Keeps `job.release` for when its final result is out (settleAll). */
function track(releases: Releases, job: ScanJob): void {
  if (job.release) releases.set(job.oid, job.release);
}

/** Settles finished tasks: counts them, returns the reported final results; rescans go to `redo`. */
function settleAll(router: Router, stats: ScanPoolStats, results: TaskResult[], redo: (t: ScanTask) => void, releases: Releases): JobResult[] {
  const settled: Settled = { done: [], redo: [] };
  for (const r of results) {
    stats.scannedBytes += r.scanned;
    router.settle(r, settled);
  }
  const out: JobResult[] = [];
  for (const d of settled.done) {
    stats[d.mode]++;
    if (d.report) out.push(toJob(d));
    const release = releases.get(d.oid);
    if (release) {
      releases.delete(d.oid);
      release();
    }
  }
  for (const j of settled.redo) redo(router.planAgain(j));
  return out;
}

function endScan(router: Router, stats: ScanPoolStats): void {
  stats.speculative += router.speculative;
  stats.rescanned += router.rescanned;
  stats.widened += router.widened;
  stats.peakKeptBytes = Math.max(stats.peakKeptBytes, router.peakOpenBytes);
}

class InThreadPool implements ScanPool {
  readonly mode = 'in-thread' as const;
  readonly jobs = 1;
  readonly stats = newStats();
  helping = true;
  private readonly gate = new PendingGate();
  readonly multiline = this.gate.check;
  /** Without an engine, the catalog's (detectorsDir) is being built: a bad catalog fails the first scan. */
  constructor(private readonly engine: Engine | Promise<Engine>) {}

  async *scan(jobs: Iterable<ScanJob> | AsyncIterable<ScanJob>, router: Router = new WholeBlobs()): AsyncIterable<JobResult> {
    const engine = await this.engine;
    this.gate.load(engine.catalog, engine.decodeDepth);
    const tasks: ScanTask[] = [];
    const redo = (t: ScanTask) => tasks.push(t);
    const releases: Releases = new Map();
    try {
      for await (const job of jobs) {
        this.stats.peakInFlightBytes = Math.max(this.stats.peakInFlightBytes, job.data.length);
        track(releases, job);
        const plan = router.plan(job);
        if (isSettled(plan)) yield* settleAll(router, this.stats, [plan], redo, releases);
        else tasks.push(plan);
        for (let t = tasks.pop(); t; t = tasks.pop()) yield* settleAll(router, this.stats, [runTask(engine, t)], redo, releases);
      }
    } finally {
      endScan(router, this.stats);
    }
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

class WorkerPool implements ScanPool {
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
  /** Bytes the workers have to scan (shipped, not yet answered): region tasks weigh their regions only. */
  private scanInFlight = 0;
  private nextBatch = 0;
  private readonly batches = new Map<number, { bytes: number; scan: number; slot: Slot; buffer: SharedArrayBuffer }>();
  private results: JobResult[] = [];
  private failure: Error | null = null;
  private waiters: (() => void)[] = [];
  private scanning = false;
  private readonly crashed = new Set<Worker>();
  /** Reusable batch buffers (buffer-shelf.ts). */
  private readonly shelf: BufferShelf;
  /** The current scan's router (verdicts live here, not in the workers). */
  private router: Router | null = null;
  /** The current scan's jobs' `release` (settleAll). */
  private releases: Releases = new Map();
  /** This thread's engine when it scans too (while the workers' queues are full), built on first use. */
  private helper: Engine | null = null;
  private readonly gate = new PendingGate();
  readonly multiline = this.gate.check;
  /** The workers' engines' decoding levels (the gate reads as deep). */
  private readonly decodeDepth: number;

  constructor(
    entry: string,
    opts: ScanPoolOptions,
    private readonly makeHelper: (() => Promise<Engine>) | null,
    private readonly catalog: () => Promise<Catalog>,
  ) {
    this.jobs = opts.jobs;
    this.decodeDepth = opts.engine?.decodeDepth ?? opts.engineOptions?.decodeDepth ?? DECODE_DEPTH;
    this.batchBytes = opts.batchBytes ?? 1 << 20;
    this.high = opts.highWaterBytes ?? 4 * this.batchBytes * opts.jobs;
    this.low = opts.lowWaterBytes ?? Math.floor(this.high / 2);
    this.keptHigh = opts.keptHighBytes ?? 4 * this.high;
    // enough reusable batch buffers for what can be in flight, plus a few for large blobs (a batch of one blob)
    this.shelf = new BufferShelf(this.high + 2 * opts.jobs * this.batchBytes + (opts.largeSpareBytes ?? LARGE_SPARE_BYTES));
    const init: WorkerInit = {
      type: 'init',
      detectorsDir: opts.detectorsDir,
      ...(opts.engine ? { catalog: opts.engine.catalog } : {}),
      ...(opts.engineOptions ? { engineOptions: opts.engineOptions } : {}),
    };
    this.slots = Array.from({ length: opts.jobs }, () => this.startSlot(entry, init));
  }

  private startSlot(entry: string, init: WorkerInit): Slot {
    // a scan worker allocates little but short-lived results: a 2 MB young generation is plenty (see util/heap.ts)
    const worker = parked.pop() ?? new Worker(entry, { resourceLimits: { maxYoungGenerationSizeMb: 2 } });
    worker.ref();
    const slot: Slot = { worker, pendingBytes: 0, ready: Promise.resolve(), batch: [], batchBytes: 0, batchCopy: 0 };
    slot.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (msg: WorkerResult | { type: 'ready' } | { type: 'fatal'; message: string }) => {
        if (msg.type === 'ready') resolve();
        else if (msg.type === 'fatal') {
          const err = new HostError(`detection worker failed to start: ${msg.message}`);
          reject(err);
          this.fail(err);
        } else this.onResult(msg);
      });
      worker.on('error', (err) => {
        this.crashed.add(worker);
        reject(err);
        this.fail(new InternalError(`detection worker crashed: ${err.message}`));
      });
      worker.on('exit', (code) => {
        this.crashed.add(worker);
        this.fail(new InternalError(`detection worker exited with code ${code}`));
      });
    });
    worker.postMessage(init);
    slot.ready.catch(() => undefined);
    return slot;
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

  private onResult(msg: WorkerResult): void {
    const b = this.batches.get(msg.batchId);
    if (b) {
      this.batches.delete(msg.batchId);
      this.inFlight -= b.bytes;
      this.scanInFlight -= b.scan;
      b.slot.pendingBytes -= b.bytes;
      this.shelf.give(b.buffer);
    }
    this.absorb(msg.results);
    this.wake();
  }

  /** Settles finished tasks (from a worker or this thread): final results out, rescans dispatched. */
  private absorb(results: TaskResult[]): void {
    const router = this.router;
    if (!router) return;
    let redone = false;
    const out = settleAll(
      router,
      this.stats,
      results,
      (t) => {
        redone = true;
        this.enqueue(t);
      },
      this.releases,
    );
    for (const r of out) this.results.push(r);
    if (redone) for (const s of this.slots) this.dispatch(s);
  }

  /** Queues a task on the least loaded worker (bytes in flight and queued); returns that slot when its batch is full. */
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
    const kept = slot.batchBytes;
    const bytes = slot.batchCopy;
    slot.batch = [];
    slot.batchBytes = 0;
    slot.batchCopy = 0;
    if (batch.length === 0) return;
    // Batches travel in reused buffers, one per power of two from 64 KiB (a batch of region tasks ships far fewer
    // bytes than it weighs; a large blob is a batch of its own)
    const buffer = this.shelf.take(bufferSize(bytes));
    this.stats.buffersCreated = this.shelf.stats.allocated;
    this.stats.bufferBytesCreated = this.shelf.stats.allocatedBytes;
    const { tasks, offsets } = packBatch(batch, Buffer.from(buffer));
    const batchId = this.nextBatch++;
    // in flight: what the batch keeps alive (at least one byte, so empty blobs keep the scan alive until their
    // results arrive)
    const weight = Math.max(1, kept);
    this.batches.set(batchId, { bytes: weight, scan: bytes, slot, buffer });
    this.inFlight += weight;
    this.scanInFlight += bytes;
    slot.pendingBytes += weight;
    this.stats.peakInFlightBytes = Math.max(this.stats.peakInFlightBytes, this.inFlight);
    slot.worker.postMessage({ type: 'batch', batchId, tasks, offsets, buffer } satisfies WorkerBatch);
  }

  async *scan(jobs: Iterable<ScanJob> | AsyncIterable<ScanJob>, router: Router = new WholeBlobs()): AsyncIterable<JobResult> {
    if (this.scanning) throw new InternalError('scan pool: one scan at a time');
    this.scanning = true;
    this.router = router;
    this.releases = new Map();
    let produced = false;
    let abandoned = false;
    const stop = () => this.failure !== null || abandoned;
    const producer = this.produce(jobs, router, stop).then(
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
      if (router.openCount > 0) throw new InternalError(`scan pool: ${router.openCount} delta targets never settled`);
      completed = true;
    } finally {
      if (!completed) {
        // The consumer stopped early or a worker failed: stop reading input and let in-flight batches drain.
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
      endScan(router, this.stats);
      this.router = null;
      this.releases = new Map();
      this.scanning = false;
    }
  }

  /** Reads and routes the jobs: batches to the workers under the water marks, or scanned here when they are full. */
  private async produce(jobs: Iterable<ScanJob> | AsyncIterable<ScanJob>, router: Router, stop: () => boolean): Promise<void> {
    // Reading starts at once: a worker boots (its thread, modules and engine: ~0.15 s on two cores, which this
    // thread used to wait out) while this thread routes, and the batches posted meanwhile wait in its queue (the
    // worker takes them in order once its engine is built); this thread scans itself once that queue is full. A
    // catalog that does not load fails the scan with the workers' message, as they load it too.
    let catalog: Catalog;
    try {
      catalog = await this.catalog();
    } catch (err) {
      await Promise.all(this.slots.map((s) => s.ready));
      throw err;
    }
    this.gate.load(catalog, this.decodeDepth);
    for await (const job of jobs) {
      if (stop()) break;
      track(this.releases, job);
      const plan = router.plan(job);
      if (isSettled(plan)) {
        this.absorb([plan]);
        this.wake();
        continue;
      }
      // The workers have a full queue when they have `high` bytes to scan, or when their batches keep `high` bytes
      // alive (region tasks keep their whole blob, for a rescan) and they have at least this task's bytes to scan,
      // so that they do not run dry while this thread scans it. Else, past `high` kept alive, this thread waits
      // (below). Counting a region task's blob as work to do left the workers idle while this thread scanned:
      // a delta of a 10 MB file ships a few KB of regions (TypeScript's history: the worker was 74 % idle).
      const kept = this.inFlight >= this.high;
      if (this.makeHelper && this.helping && (this.scanInFlight >= this.high || (kept && this.scanInFlight >= taskBytes(plan)))) {
        if (router.openBytes >= this.keptHigh) {
          // blobs kept for their base's verdict (region results held, tasks in flight) pile up: scanning here
          // would only add to them, so let the workers' verdicts in first
          for (const s of this.slots) this.dispatch(s);
          while (router.openBytes >= this.keptHigh && this.inFlight > 0 && !stop()) await this.wait();
        }
        // the workers have a full queue: scan this one here instead of waiting, then let their results in
        this.helper ??= await this.makeHelper();
        this.absorb([runTask(this.helper, plan)]);
        this.stats.helped++;
        this.wake();
        await yieldToLoop();
        continue;
      }
      if (kept) {
        // batches keep `high` bytes alive (region tasks' whole blobs): let results in first (a limit of 4 × high was
        // 3 % faster on TypeScript's history and peaked at 419 MB RSS)
        for (const s of this.slots) this.dispatch(s);
        while (this.inFlight >= this.high && !stop()) await this.wait();
      }
      const full = this.enqueue(plan);
      if (full) {
        this.dispatch(full);
        // (a helping reader scans instead of waiting: see above)
        if (this.inFlight >= this.high && !(this.makeHelper && this.helping)) {
          while (this.inFlight > this.low && !stop()) await this.wait();
        }
      }
    }
    if (!stop()) for (const s of this.slots) this.dispatch(s);
  }

  private closed = false;

  /** Parks the workers for the next pool (see the file comment: terminating them would crash it). Idempotent. */
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
