// Durable webhook queue: deliveries live in the store (written before the 2xx reply), p-queue workers run them,
// at most one per repository at a time, retried with backoff, then marked failed with their error.
import { setMaxListeners } from 'node:events';
import PQueue from 'p-queue';
import { ConfigError } from '../core/errors.js';
import { systemClock, type Clock } from '../core/ports.js';
import type { ClaimedDelivery, DeliveriesStore, DeliveryRecordInput, DeliveryRow, DeliveryStatus } from '../core/store.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { Job } from './events.js';

export interface DeliveryInput extends Omit<DeliveryRecordInput, 'job' | 'receivedAt'> {
  /** null: acknowledged and ignored (recorded for idempotency and audit, never run). */
  job: Job | null;
}

export interface Delivery {
  seq: number;
  guid: string;
  event: string;
  repo: string | null;
  job: Job;
  attempts: number;
}

export type { DeliveryRow, DeliveryStatus } from '../core/store.js';

/** Runs one delivery; the return value is stored as its result (JSON). Throw to retry. */
export type DeliveryHandler = (delivery: Delivery, signal: AbortSignal) => Promise<unknown>;

/** A failure that retrying cannot fix (bad payload, repo gone): the delivery is marked failed at once. */
export class PermanentError extends Error {
  override name = 'PermanentError';
}

export interface QueueOptions {
  store: DeliveriesStore;
  handler: DeliveryHandler;
  concurrency?: number;
  /** Attempts before a delivery is marked failed (default 5). */
  maxAttempts?: number;
  /** Delay before attempt n+1 after n failures, ms (default: 2s · 4^(n-1), capped at 10 min, ±20% jitter). */
  backoff?: (failures: number) => number;
  /** Safety-net poll for due retries, ms (default 1000). */
  pollMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** Scrubs error messages before they are stored (the secret registry). */
  scrub?: (text: string) => string;
}

/** What the server, the runtime and `receive` use: this in-process queue, or the shared one (shared-queue.ts). */
export interface DeliveryQueueLike {
  /** Durably records a delivery. 'duplicate': this GUID was seen before (GitHub redelivery) and is not run again. */
  enqueue(d: DeliveryInput): Promise<'queued' | 'ignored' | 'duplicate'>;
  start(): Promise<void>;
  /** Stops taking work; work in flight gets `graceMs` to finish, then goes back to the queue (its try not counted). */
  stop(graceMs?: number): Promise<{ finished: number; requeued: number }>;
  counts(): Promise<Record<DeliveryStatus, number>>;
  get(guid: string): Promise<DeliveryRow | undefined>;
  /** Resolves when nothing is queued-and-due or running (tests, `receive`). */
  drained(): Promise<void>;
}

/** Records a delivery in the store, keyed by its GUID; a job only for what is to be run. */
export async function recordDelivery(store: DeliveriesStore, d: DeliveryInput, clock: Clock): Promise<'queued' | 'ignored' | 'duplicate'> {
  const inserted = await store.insertDelivery({
    guid: d.guid,
    event: d.event,
    action: d.action,
    installationId: d.installationId,
    repo: d.job?.kind === 'push' || d.job?.kind === 'full-scan' ? d.job.repo.fullName : d.repo,
    job: d.job,
    receivedAt: clock.now().toISOString(),
  });
  if (!inserted) return 'duplicate';
  return d.job ? 'queued' : 'ignored';
}

export function defaultBackoff(failures: number): number {
  const base = Math.min(2000 * 4 ** Math.max(0, failures - 1), 10 * 60_000);
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

export class DeliveryQueue implements DeliveryQueueLike {
  private readonly store: DeliveriesStore;
  private readonly pq: PQueue;
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly backoff: (n: number) => number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly scrub: (t: string) => string;
  private readonly abort = new AbortController();
  private readonly running = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private starting: Promise<void> | null = null;
  private started = false;
  private stopping = false;

  constructor(private readonly opts: QueueOptions) {
    this.store = opts.store;
    this.concurrency = opts.concurrency ?? 2;
    this.maxAttempts = opts.maxAttempts ?? 5;
    this.backoff = opts.backoff ?? defaultBackoff;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.scrub = opts.scrub ?? ((t) => t);
    this.pq = new PQueue({ concurrency: this.concurrency });
    // Every running handler (and the git/HTTP calls under it) listens on the one shutdown signal.
    setMaxListeners(0, this.abort.signal);
  }

  async enqueue(d: DeliveryInput): Promise<'queued' | 'ignored' | 'duplicate'> {
    if (this.stopping) throw new ConfigError('queue is shutting down');
    const outcome = await recordDelivery(this.store, d, this.clock);
    if (outcome === 'queued') this.pump();
    return outcome;
  }

  /**
   * Starts the workers. Rows left 'running' by a process that died are requeued first: one `keyloop app` per
   * database is the deployment model, so a running row at start belongs to nobody.
   */
  start(): Promise<void> {
    return (this.starting ??= this.requeueThenRun());
  }

  private async requeueThenRun(): Promise<void> {
    // Nothing is claimed before the requeue is done, or a fresh claim would be requeued under its worker.
    const changes = await this.store.requeueDeliveries();
    if (changes > 0) this.log.info(`app: resumed ${changes} delivery(ies) interrupted by the previous process`);
    if (this.stopping) return;
    this.started = true;
    this.timer = setInterval(() => this.pump(), this.opts.pollMs ?? 1000);
    this.timer.unref();
    this.pump();
  }

  /** Fills free worker slots with tasks; each task claims its row only when it actually starts. */
  private pump(): void {
    if (!this.started || this.stopping) return;
    const free = this.concurrency - (this.pq.size + this.pq.pending);
    // A store error (database unreachable) must not crash the process: the poll tries again.
    for (let i = 0; i < free; i++) this.pq.add(() => this.runOne()).catch((err: unknown) => this.log.error(`app: delivery queue: ${this.scrub((err as Error).message)}`));
  }

  private async runOne(): Promise<void> {
    if (this.stopping) return;
    const row = await this.store.claimDelivery(this.clock.now());
    if (!row) {
      await this.scheduleRetryWake();
      return;
    }
    this.running.add(row.guid);
    try {
      let job: Job;
      try {
        job = Job.parse(row.job);
      } catch (e) {
        throw new PermanentError(`stored job does not parse: ${(e as Error).message}`);
      }
      const result = await this.opts.handler({ seq: row.seq, guid: row.guid, event: row.event, repo: row.repo, job, attempts: row.attempts }, this.abort.signal);
      await this.store.completeDelivery(row.seq, this.clock.now().toISOString(), result ?? null);
      this.log.debug(`app: delivery ${row.guid} (${row.event}) done`);
    } catch (err) {
      await this.settleFailure(row, err);
    } finally {
      this.running.delete(row.guid);
    }
    // The row just finished may have been holding back later deliveries for its repo.
    this.pump();
  }

  private async settleFailure(row: ClaimedDelivery, err: unknown): Promise<void> {
    const msg = this.scrub(err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 2000);
    if (this.abort.signal.aborted) {
      // Interrupted by shutdown, not a failure of the delivery: give the attempt back.
      await this.store.requeueDeliveries(row.seq);
      this.log.info(`app: delivery ${row.guid} interrupted by shutdown; requeued`);
      return;
    }
    const permanent = err instanceof PermanentError || err instanceof ConfigError;
    if (permanent || row.attempts >= this.maxAttempts) {
      await this.store.failDelivery(row.seq, this.clock.now().toISOString(), msg);
      this.log.error(`app: delivery ${row.guid} (${row.event}) failed after ${row.attempts} attempt(s): ${msg}`);
      return;
    }
    const delay = this.backoff(row.attempts);
    await this.store.retryDelivery(row.seq, this.clock.now().getTime() + delay, msg);
    this.log.warn(`app: delivery ${row.guid} (${row.event}) attempt ${row.attempts} failed, retrying in ${delay} ms: ${msg}`);
    await this.scheduleRetryWake();
  }

  /** Wakes the workers when the earliest backed-off delivery becomes due (the poll is only a safety net). */
  private async scheduleRetryWake(): Promise<void> {
    if (this.stopping) return;
    const at = await this.store.nextDeliveryDue();
    if (at === null) return;
    const delay = Math.max(0, at - this.clock.now().getTime());
    if (delay === 0) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.pump();
    }, delay + 5);
    this.retryTimer.unref();
  }

  counts(): Promise<Record<DeliveryStatus, number>> {
    return this.store.deliveryCounts();
  }

  get(guid: string): Promise<DeliveryRow | undefined> {
    return this.store.getDelivery(guid);
  }

  /** Resolves when nothing is queued-and-due or running (tests, `receive`). */
  async drained(): Promise<void> {
    for (;;) {
      await this.pq.onIdle();
      const c = await this.counts();
      const at = await this.store.nextDeliveryDue();
      if (c.running === 0 && (c.queued === 0 || (at !== null && at > this.clock.now().getTime() + 60_000))) return;
      this.pump();
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /**
   * Stops taking work and waits up to `graceMs` for deliveries in flight; after that their handlers are aborted
   * and the rows go back to 'queued' (without spending an attempt) for the next process.
   */
  async stop(graceMs = 20_000): Promise<{ finished: number; requeued: number }> {
    if (this.stopping) return { finished: 0, requeued: 0 };
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.pq.clear(); // tasks not yet started have claimed nothing
    const inFlight = this.running.size;
    let timeout: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.pq.onIdle().then(() => false),
      new Promise<boolean>((r) => (timeout = setTimeout(() => r(true), graceMs))),
    ]);
    clearTimeout(timeout);
    let requeued = 0;
    if (timedOut) {
      requeued = this.running.size;
      this.abort.abort(new Error('shutting down'));
      // Give handlers a moment to observe the abort; whatever still runs is requeued by the next start().
      await Promise.race([this.pq.onIdle(), new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    return { finished: inFlight - requeued, requeued };
  }
}
