// Detection across worker threads when one core cannot keep up. Items are packed into ~1 MiB transferable
// batches; a high/low-water mark on bytes in flight keeps RSS bounded (without it a full-history scan of a
// large repo reached 1.7 GB). jobs ≤ 1 scans in this thread with no copying.
//
// Workers run the compiled pool-worker.js next to this file. Under vitest (TypeScript source, no .js sibling)
// there is nothing a worker could load without a TS loader, so the pool falls back to in-thread scanning
// (`mode` says which); the worker path is tested against a tsc build of src/detection.
//
// node-re2 1.23 aborts the process when a thread loads it after another thread that had loaded it has exited
// (uhop/node-re2#235, reproduced here): workers are therefore never terminated. close() parks them, unref'd,
// in a process-wide list that the next pool reuses; they die with the process.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { Match } from '../core/model.js';
import { asError, HostError, InternalError } from '../core/errors.js';
import { createEngine, type EngineOptions } from './engine.js';
import { loadCatalog } from './load.js';
import type { Engine } from './types.js';

export interface PoolItem {
  id: string;
  data: Buffer;
  path: string;
}

export interface PoolResult {
  id: string;
  matches: Match[];
  /** Set when scanning this item threw (a bug); the other items go on. */
  error?: string;
}

export interface WorkerInit {
  type: 'init';
  detectorsDir: string;
  engineOptions?: EngineOptions;
}

export interface BatchRequest {
  type: 'batch';
  batchId: number;
  ids: string[];
  paths: string[];
  /** ids.length + 1 offsets into buffer. */
  offsets: number[];
  buffer: ArrayBuffer;
}

export interface BatchResult {
  type: 'result';
  batchId: number;
  results: PoolResult[];
}

export interface ScanPoolOptions {
  detectorsDir: string;
  /**
   * Threads that scan; ≤ 1 scans in the calling thread. By default (`readerHelps`) jobs − 1 workers plus the
   * calling thread, which scans an item itself whenever the workers' queues are full instead of waiting.
   */
  jobs: number;
  /** false: `jobs` workers, and the calling thread only feeds them. Default true. */
  readerHelps?: boolean;
  engineOptions?: EngineOptions;
  /** Target batch size in bytes. Default 1 MiB. */
  batchBytes?: number;
  /** Stop reading items when this many bytes are in flight. Default 4 MiB per worker. */
  highWaterBytes?: number;
  /** Resume reading when in-flight bytes fall to this. Default half the high-water mark. */
  lowWaterBytes?: number;
}

export interface ScanPool {
  readonly mode: 'in-thread' | 'workers';
  readonly jobs: number;
  /** Results in completion order (not input order) when jobs > 1. One scan at a time per pool. */
  scan(items: AsyncIterable<PoolItem> | Iterable<PoolItem>): AsyncIterable<PoolResult>;
  /** Highest in-flight byte count seen (for tests and the benchmark). */
  readonly peakInFlightBytes: number;
  /** Items the calling thread scanned itself while the workers' queues were full (readerHelps). */
  readonly helped: number;
  close(): Promise<void>;
}

export function workerEntry(): string | null {
  const js = fileURLToPath(new URL('./pool-worker.js', import.meta.url));
  return existsSync(js) ? js : null;
}

export function createScanPool(opts: ScanPoolOptions): ScanPool {
  const entry = workerEntry();
  if (opts.jobs <= 1 || entry === null) return new InThreadPool(createEngine(loadCatalog(opts.detectorsDir), opts.engineOptions));
  const helps = opts.readerHelps ?? true;
  if (!helps) return new WorkerPool(entry, opts, null);
  // built on first use, after the workers started: a bad catalog fails the way it always did (worker init)
  return new WorkerPool(entry, { ...opts, jobs: opts.jobs - 1 }, () => createEngine(loadCatalog(opts.detectorsDir), opts.engineOptions));
}

class InThreadPool implements ScanPool {
  readonly mode = 'in-thread' as const;
  readonly jobs = 1;
  peakInFlightBytes = 0;
  readonly helped = 0;
  constructor(private readonly engine: Engine) {}

  async *scan(items: AsyncIterable<PoolItem> | Iterable<PoolItem>): AsyncIterable<PoolResult> {
    for await (const item of items) {
      this.peakInFlightBytes = Math.max(this.peakInFlightBytes, item.data.length);
      yield { id: item.id, matches: this.engine.scan(item.data, { path: item.path }) };
    }
  }

  async close(): Promise<void> {}
}

function scanHere(engine: Engine, item: PoolItem): PoolResult {
  try {
    return { id: item.id, matches: engine.scan(item.data, { path: item.path }) };
  } catch (err) {
    return { id: item.id, matches: [], error: (err as Error).message };
  }
}

const parked: Worker[] = [];

function acquireWorker(entry: string): Worker {
  const w = parked.pop() ?? new Worker(entry);
  w.ref();
  return w;
}

function parkWorker(w: Worker): void {
  w.removeAllListeners('message');
  w.removeAllListeners('error');
  w.removeAllListeners('exit');
  w.unref();
  parked.push(w);
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  pendingBytes: number;
}

class WorkerPool implements ScanPool {
  readonly mode = 'workers' as const;
  readonly jobs: number;
  peakInFlightBytes = 0;
  private readonly slots: Slot[];
  private readonly batchBytes: number;
  private readonly high: number;
  private readonly low: number;
  private inFlight = 0;
  private nextBatch = 0;
  private readonly batchSizes = new Map<number, { bytes: number; slot: Slot }>();
  private results: PoolResult[] = [];
  private failure: Error | null = null;
  private waiters: (() => void)[] = [];
  private scanning = false;
  private crashed = new Set<Worker>();

  /** Items the calling thread scanned itself while the workers were busy. */
  helped = 0;
  private helper: Engine | null = null;

  constructor(
    entry: string,
    opts: ScanPoolOptions,
    /** Builds this thread's engine when it scans too. */
    private readonly makeHelper: (() => Engine) | null,
  ) {
    this.jobs = opts.jobs;
    this.batchBytes = opts.batchBytes ?? 1 << 20;
    this.high = opts.highWaterBytes ?? 4 * this.batchBytes * opts.jobs;
    this.low = opts.lowWaterBytes ?? Math.floor(this.high / 2);
    this.slots = Array.from({ length: opts.jobs }, () => {
      const worker = acquireWorker(entry);
      const slot: Slot = { worker, pendingBytes: 0, ready: Promise.resolve() };
      slot.ready = new Promise<void>((resolve, reject) => {
        worker.on('message', (msg: BatchResult | { type: 'ready' } | { type: 'fatal'; message: string }) => {
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
      worker.postMessage({ type: 'init', detectorsDir: opts.detectorsDir, engineOptions: opts.engineOptions } satisfies WorkerInit);
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

  private onResult(msg: BatchResult): void {
    const b = this.batchSizes.get(msg.batchId);
    if (b) {
      this.batchSizes.delete(msg.batchId);
      this.inFlight -= b.bytes;
      b.slot.pendingBytes -= b.bytes;
    }
    for (const r of msg.results) this.results.push(r);
    this.wake();
  }

  private dispatch(batch: PoolItem[], bytes: number): void {
    const buffer = new ArrayBuffer(bytes);
    const view = Buffer.from(buffer);
    const offsets = [0];
    let at = 0;
    for (const item of batch) {
      item.data.copy(view, at);
      at += item.data.length;
      offsets.push(at);
    }
    const slot = this.slots.reduce((a, b) => (b.pendingBytes < a.pendingBytes ? b : a));
    const batchId = this.nextBatch++;
    const req: BatchRequest = { type: 'batch', batchId, ids: batch.map((i) => i.id), paths: batch.map((i) => i.path), offsets, buffer };
    // Count at least one byte per batch so empty items still keep the scan alive until their results arrive.
    const weight = Math.max(1, bytes);
    this.batchSizes.set(batchId, { bytes: weight, slot });
    this.inFlight += weight;
    slot.pendingBytes += weight;
    this.peakInFlightBytes = Math.max(this.peakInFlightBytes, this.inFlight);
    slot.worker.postMessage(req, [buffer]);
  }

  async *scan(items: AsyncIterable<PoolItem> | Iterable<PoolItem>): AsyncIterable<PoolResult> {
    if (this.scanning) throw new InternalError('scan pool: one scan at a time');
    this.scanning = true;
    let produced = false;
    let abandoned = false;
    const producer = (async () => {
      await Promise.all(this.slots.map((s) => s.ready));
      let batch: PoolItem[] = [];
      let bytes = 0;
      for await (const item of items) {
        if (this.failure || abandoned) break;
        if (this.makeHelper && this.inFlight >= this.high) {
          // the workers have a full queue: scan this one here, then let their results in
          this.results.push(scanHere((this.helper ??= this.makeHelper()), item));
          this.helped++;
          this.wake();
          await yieldToLoop();
          continue;
        }
        batch.push(item);
        bytes += item.data.length;
        if (bytes >= this.batchBytes) {
          this.dispatch(batch, bytes);
          batch = [];
          bytes = 0;
          if (this.inFlight >= this.high && !this.makeHelper) {
            while (this.inFlight > this.low && !this.failure && !abandoned) await this.wait();
          }
        }
      }
      if (batch.length && !this.failure && !abandoned) this.dispatch(batch, bytes);
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
      this.scanning = false;
    }
  }

  /** Parks the workers for reuse (see the file comment: terminating them would crash the next pool). */
  async close(): Promise<void> {
    for (const s of this.slots) if (!this.crashed.has(s.worker)) parkWorker(s.worker);
  }
}
