// Durable webhook queue: deliveries live in SQLite (written before the 2xx reply), p-queue workers run them,
// at most one per repository at a time, retried with backoff, then marked failed with their error.
import { setMaxListeners } from 'node:events';
import type Database from 'better-sqlite3';
import PQueue from 'p-queue';
import { ConfigError } from '../core/errors.js';
import { systemClock, type Clock } from '../core/ports.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { Job } from './events.js';

export interface DeliveryInput {
  guid: string;
  event: string;
  action: string | null;
  installationId: number | null;
  repo: string | null;
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

export type DeliveryStatus = 'queued' | 'running' | 'done' | 'failed' | 'ignored';

export interface DeliveryRow {
  seq: number;
  guid: string;
  event: string;
  action: string | null;
  repo: string | null;
  status: DeliveryStatus;
  attempts: number;
  error: string | null;
  result: unknown;
  receivedAt: string;
  finishedAt: string | null;
}

/** Runs one delivery; the return value is stored as its result (JSON). Throw to retry. */
export type DeliveryHandler = (delivery: Delivery, signal: AbortSignal) => Promise<unknown>;

/** A failure that retrying cannot fix (bad payload, repo gone): the delivery is marked failed at once. */
export class PermanentError extends Error {
  override name = 'PermanentError';
}

export interface QueueOptions {
  db: Database.Database;
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

export function defaultBackoff(failures: number): number {
  const base = Math.min(2000 * 4 ** Math.max(0, failures - 1), 10 * 60_000);
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

export class DeliveryQueue {
  private readonly db: Database.Database;
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
  private started = false;
  private stopping = false;

  private readonly stmts;

  constructor(private readonly opts: QueueOptions) {
    this.db = opts.db;
    this.concurrency = opts.concurrency ?? 2;
    this.maxAttempts = opts.maxAttempts ?? 5;
    this.backoff = opts.backoff ?? defaultBackoff;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.scrub = opts.scrub ?? ((t) => t);
    this.pq = new PQueue({ concurrency: this.concurrency });
    // Every running handler (and the git/HTTP calls under it) listens on the one shutdown signal.
    setMaxListeners(0, this.abort.signal);
    const db = this.db;
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO app_deliveries (guid, event, action, installation_id, repo, job, status, received_at, next_attempt_at)
         VALUES (@guid, @event, @action, @installationId, @repo, @job, @status, @receivedAt, 0)
         ON CONFLICT (guid) DO NOTHING`,
      ),
      // One statement picks and claims, so two workers can never take the same row; a repo with a running
      // delivery is skipped so its pushes are handled in arrival order against one mirror.
      claim: db.prepare(
        `UPDATE app_deliveries SET status = 'running', attempts = attempts + 1, started_at = @now
         WHERE seq = (
           SELECT d.seq FROM app_deliveries d
           WHERE d.status = 'queued' AND d.next_attempt_at <= @nowMs
             AND (d.repo IS NULL OR NOT EXISTS (
               SELECT 1 FROM app_deliveries r WHERE r.status = 'running' AND r.repo = d.repo))
             AND NOT EXISTS (
               SELECT 1 FROM app_deliveries e WHERE e.repo = d.repo AND e.status = 'queued' AND e.seq < d.seq
                 AND e.next_attempt_at > @nowMs)
           ORDER BY d.seq LIMIT 1)
         RETURNING seq, guid, event, repo, job, attempts`,
      ),
      done: db.prepare(`UPDATE app_deliveries SET status = 'done', finished_at = @now, result = @result, error = NULL WHERE seq = @seq`),
      retry: db.prepare(`UPDATE app_deliveries SET status = 'queued', next_attempt_at = @at, error = @error WHERE seq = @seq`),
      fail: db.prepare(`UPDATE app_deliveries SET status = 'failed', finished_at = @now, error = @error WHERE seq = @seq`),
      requeue: db.prepare(`UPDATE app_deliveries SET status = 'queued', attempts = max(attempts - 1, 0) WHERE seq = @seq AND status = 'running'`),
      requeueAll: db.prepare(`UPDATE app_deliveries SET status = 'queued', attempts = max(attempts - 1, 0) WHERE status = 'running'`),
      nextDue: db.prepare(`SELECT min(next_attempt_at) AS at FROM app_deliveries WHERE status = 'queued'`),
      counts: db.prepare(`SELECT status, count(*) AS n FROM app_deliveries GROUP BY status`),
      get: db.prepare(`SELECT * FROM app_deliveries WHERE guid = ?`),
    };
  }

  /** Durably records a delivery. 'duplicate': this GUID was seen before (GitHub redelivery) and is not run again. */
  enqueue(d: DeliveryInput): 'queued' | 'ignored' | 'duplicate' {
    if (this.stopping) throw new ConfigError('queue is shutting down');
    const status = d.job ? 'queued' : 'ignored';
    const r = this.stmts.insert.run({
      guid: d.guid,
      event: d.event,
      action: d.action,
      installationId: d.installationId,
      repo: d.job?.kind === 'push' || d.job?.kind === 'full-scan' ? d.job.repo.fullName : d.repo,
      job: d.job ? JSON.stringify(d.job) : null,
      status,
      receivedAt: this.clock.now().toISOString(),
    });
    if (r.changes === 0) return 'duplicate';
    if (status === 'queued') this.pump();
    return status;
  }

  /**
   * Starts the workers. Rows left 'running' by a process that died are requeued first: one `keyloop app` per
   * database is the deployment model, so a running row at start belongs to nobody.
   */
  start(): void {
    if (this.started) return;
    this.started = true;
    const { changes } = this.stmts.requeueAll.run();
    if (changes > 0) this.log.info(`app: resumed ${changes} delivery(ies) interrupted by the previous process`);
    this.timer = setInterval(() => this.pump(), this.opts.pollMs ?? 1000);
    this.timer.unref();
    this.pump();
  }

  /** Fills free worker slots with tasks; each task claims its row only when it actually starts. */
  private pump(): void {
    if (!this.started || this.stopping) return;
    const free = this.concurrency - (this.pq.size + this.pq.pending);
    for (let i = 0; i < free; i++) void this.pq.add(() => this.runOne());
  }

  private async runOne(): Promise<void> {
    if (this.stopping) return;
    const nowMs = this.clock.now().getTime();
    const row = this.stmts.claim.get({ now: new Date(nowMs).toISOString(), nowMs }) as
      | { seq: number; guid: string; event: string; repo: string | null; job: string; attempts: number }
      | undefined;
    if (!row) {
      this.scheduleRetryWake();
      return;
    }
    this.running.add(row.guid);
    try {
      let job: Job;
      try {
        job = Job.parse(JSON.parse(row.job));
      } catch (e) {
        throw new PermanentError(`stored job does not parse: ${(e as Error).message}`);
      }
      const result = await this.opts.handler({ seq: row.seq, guid: row.guid, event: row.event, repo: row.repo, job, attempts: row.attempts }, this.abort.signal);
      this.stmts.done.run({ seq: row.seq, now: this.clock.now().toISOString(), result: JSON.stringify(result ?? null) });
      this.log.debug(`app: delivery ${row.guid} (${row.event}) done`);
    } catch (err) {
      this.settleFailure(row, err);
    } finally {
      this.running.delete(row.guid);
    }
    // The row just finished may have been holding back later deliveries for its repo.
    this.pump();
  }

  private settleFailure(row: { seq: number; guid: string; event: string; attempts: number }, err: unknown): void {
    const msg = this.scrub(err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 2000);
    if (this.abort.signal.aborted) {
      // Interrupted by shutdown, not a failure of the delivery: give the attempt back.
      this.stmts.requeue.run({ seq: row.seq });
      this.log.info(`app: delivery ${row.guid} interrupted by shutdown; requeued`);
      return;
    }
    const permanent = err instanceof PermanentError || err instanceof ConfigError;
    if (permanent || row.attempts >= this.maxAttempts) {
      this.stmts.fail.run({ seq: row.seq, now: this.clock.now().toISOString(), error: msg });
      this.log.error(`app: delivery ${row.guid} (${row.event}) failed after ${row.attempts} attempt(s): ${msg}`);
      return;
    }
    const delay = this.backoff(row.attempts);
    this.stmts.retry.run({ seq: row.seq, at: this.clock.now().getTime() + delay, error: msg });
    this.log.warn(`app: delivery ${row.guid} (${row.event}) attempt ${row.attempts} failed, retrying in ${delay} ms: ${msg}`);
    this.scheduleRetryWake();
  }

  /** Wakes the workers when the earliest backed-off delivery becomes due (the poll is only a safety net). */
  private scheduleRetryWake(): void {
    if (this.stopping) return;
    const at = (this.stmts.nextDue.get() as { at: number | null }).at;
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

  counts(): Record<DeliveryStatus, number> {
    const out: Record<DeliveryStatus, number> = { queued: 0, running: 0, done: 0, failed: 0, ignored: 0 };
    for (const r of this.stmts.counts.all() as { status: DeliveryStatus; n: number }[]) out[r.status] = r.n;
    return out;
  }

  get(guid: string): DeliveryRow | undefined {
    const r = this.stmts.get.get(guid) as Record<string, unknown> | undefined;
    if (!r) return undefined;
    return {
      seq: r.seq as number,
      guid: r.guid as string,
      event: r.event as string,
      action: (r.action as string | null) ?? null,
      repo: (r.repo as string | null) ?? null,
      status: r.status as DeliveryStatus,
      attempts: r.attempts as number,
      error: (r.error as string | null) ?? null,
      result: r.result ? JSON.parse(r.result as string) : null,
      receivedAt: r.received_at as string,
      finishedAt: (r.finished_at as string | null) ?? null,
    };
  }

  /** Resolves when nothing is queued-and-due or running (tests, `receive`). */
  async drained(): Promise<void> {
    for (;;) {
      await this.pq.onIdle();
      const c = this.counts();
      const at = (this.stmts.nextDue.get() as { at: number | null }).at;
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
