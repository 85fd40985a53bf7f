// The JobQueue port on pg-boss 10 (PostgreSQL): queues, at-least-once delivery, retries with backoff, expiry of
// jobs whose worker died, dead-letter queues. pg-boss 10 has no lease renewal and no "give back": the two
// statements below (renew, release) touch one row of its job table, guarded by the start time of the lease (to the
// millisecond: PostgreSQL keeps microseconds, a JS Date milliseconds).
import { createHash } from 'node:crypto';
import type pg from 'pg';
import PgBoss from 'pg-boss';
import { JOB_NAMES, type JobName, type JobQueue, type JobStateCounts, type LeasedJob } from '../core/jobs.js';
import { createPool, isConnectionError, unavailable } from '../store/postgres/connect.js';
import { silentLogger, type Logger } from '../util/logger.js';

export interface PgBossQueueOptions {
  /** How long a fetched job stays leased without a renewal (a dead worker's job runs again after about this). */
  leaseSeconds?: number;
  /** Tries before a job fails for good (default 5). */
  maxAttempts?: number;
  /** First retry delay, doubled each try with jitter (default 5 s). */
  retryDelaySeconds?: number;
  /** Run pg-boss maintenance (expiring lost leases) in this process (default true). */
  supervise?: boolean;
  /** Connections for the queue (default 4). */
  maxConnections?: number;
  logger?: Logger;
  /** Scrubs error text before it is logged. */
  scrub?: (s: string) => string;
}

/** pg-boss's tables live in their own schema, next to the store's. */
export const JOBS_SCHEMA = 'keyloop_jobs';
const deadQueue = (name: JobName) => `${name}-dead`;

/** A stable job id (pg-boss ids are UUIDs) for a key: the same key, the same id, so a resend adds nothing. */
export function jobIdFor(name: string, key: string): string {
  const h = createHash('sha256').update(`${name}\0${key}`).digest('hex');
  // RFC 9562 version 8 (custom) with the RFC variant bits.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

interface MetaJob {
  id: string;
  name: string;
  data: unknown;
  retryCount: number;
  retryLimit: number;
  startedOn: Date;
  output?: unknown;
}

interface Held extends LeasedJob {
  startedOn: Date;
}

/**
 * Runs `fn` (pg-boss's queue creation) holding a session advisory lock on a connection of its own: processes that
 * open the queue on a fresh database at the same time (workers, `org --enqueue`, App replicas starting together)
 * create the queues one after the other instead of deadlocking in PostgreSQL (test/queue-pg-boss.test.ts).
 */
async function withQueueLock(pool: pg.Pool, fn: () => Promise<void>): Promise<void> {
  const lock = await pool.connect();
  // a connection that failed here is closed, not pooled: closing it also drops the lock it may hold
  let failed = false;
  try {
    await lock.query("SELECT pg_advisory_lock(hashtext('keyloop.job-queues'))");
    try {
      await fn();
    } finally {
      await lock.query("SELECT pg_advisory_unlock(hashtext('keyloop.job-queues'))").catch(() => (failed = true));
    }
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    lock.release(failed);
  }
}

export async function openPgBossQueue(url: string, opts: PgBossQueueOptions = {}): Promise<JobQueue> {
  const leaseSeconds = Math.max(2, Math.round(opts.leaseSeconds ?? 60));
  const scrub = opts.scrub ?? ((s: string) => s);
  const pool = createPool(url, opts.maxConnections ?? 4);
  const boss = await startBoss(url, pool, leaseSeconds, opts);
  return {
    leaseSeconds,

    async send(name, data, o = {}) {
      return boss.send(name, data, {
        ...(o.key ? { id: jobIdFor(name, o.key) } : {}),
        ...(o.delayMs ? { startAfter: Math.ceil(o.delayMs / 1000) } : {}),
      });
    },

    async sendMany(name, jobs) {
      for (let i = 0; i < jobs.length; i += 1000) {
        await boss.insert(jobs.slice(i, i + 1000).map((j) => ({ id: jobIdFor(name, j.key), name, data: j.data })));
      }
    },

    async fetch(name) {
      const jobs = (await boss.fetch(name, { batchSize: 1, includeMetadata: true })) as unknown as MetaJob[];
      const j = jobs[0];
      if (!j) return null;
      const job: Held = { id: j.id, name, data: j.data, attempt: j.retryCount + 1, maxAttempts: j.retryLimit + 1, startedOn: j.startedOn };
      return job;
    },

    renew: (job) => renewLease(pool, job as Held, leaseSeconds),

    async complete(job, output) {
      await boss.complete(job.name, job.id, output ?? {});
    },

    async fail(job, error) {
      await boss.fail(job.name, job.id, { message: error });
    },

    release: (job, delayMs = 0) => releaseLease(pool, job as Held, delayMs),
    counts: () => countJobs(pool),
    handleDeadLetters: (fn, max = 20) => handleDeadLetters(boss, fn, max, scrub),

    async close() {
      await boss.stop({ graceful: false, close: false, wait: true }).catch(() => {});
      await pool.end().catch(() => {});
    },
  };
}

/** pg-boss on the pool, started, with every queue and its dead-letter queue created; the pool is closed on failure. */
async function startBoss(url: string, pool: pg.Pool, leaseSeconds: number, opts: PgBossQueueOptions): Promise<PgBoss> {
  const log = opts.logger ?? silentLogger;
  const scrub = opts.scrub ?? ((s: string) => s);
  const db = { executeSql: (text: string, values?: unknown[]) => pool.query(text, values) };
  const boss = new PgBoss({
    db,
    schema: JOBS_SCHEMA,
    supervise: opts.supervise ?? true,
    // Lost leases are noticed within a quarter of a lease (at least every second, at most every 30 s).
    maintenanceIntervalSeconds: Math.max(1, Math.min(30, Math.floor(leaseSeconds / 4))),
    monitorStateIntervalSeconds: 60,
    schedule: false,
    archiveCompletedAfterSeconds: 24 * 3600,
    deleteAfterDays: 7,
  });
  // A lost connection surfaces here (and again on the next query); it must not end the process.
  let lastError = '';
  boss.on('error', (err: Error) => {
    const msg = scrub(err.message ?? String(err));
    if (msg !== lastError) log.warn(`job queue: ${msg}`);
    lastError = msg;
  });
  try {
    await boss.start();
    await withQueueLock(pool, () => createQueues(boss, leaseSeconds, opts));
  } catch (err) {
    await boss.stop({ graceful: false, close: false }).catch(() => {});
    await pool.end().catch(() => {});
    throw isConnectionError(err) ? unavailable(url, err) : err;
  }
  return boss;
}

async function createQueues(boss: PgBoss, leaseSeconds: number, opts: PgBossQueueOptions): Promise<void> {
  const configures = opts.leaseSeconds !== undefined || opts.maxAttempts !== undefined || opts.retryDelaySeconds !== undefined;
  const maxAttempts = Math.max(1, opts.maxAttempts ?? 5);
  for (const name of JOB_NAMES) {
    const settings = { retryLimit: maxAttempts - 1, retryDelay: opts.retryDelaySeconds ?? 5, retryBackoff: true, expireInSeconds: leaseSeconds };
    // A dead letter whose handling fails (database down) is handed out again, many times.
    await boss.createQueue(deadQueue(name), { name: deadQueue(name), retryLimit: 50, retryDelay: 5, expireInSeconds: 300 });
    await boss.createQueue(name, { name, ...settings, deadLetter: deadQueue(name) });
    // Only a process that says how jobs are retried (a worker, an App replica) sets it for everyone: a sender
    // that leaves it out (`org --enqueue`) keeps what they set.
    if (configures) await boss.updateQueue(name, { name, ...settings, deadLetter: deadQueue(name) });
  }
}

async function renewLease(pool: pg.Pool, job: Held, leaseSeconds: number): Promise<boolean> {
  const res = await pool.query(
    `UPDATE ${JOBS_SCHEMA}.job SET expire_in = (now() - started_on) + make_interval(secs => $4)
     WHERE name = $1 AND id = $2 AND state = 'active' AND abs(extract(epoch FROM started_on - $3::timestamptz)) < 0.001`,
    [job.name, job.id, job.startedOn, leaseSeconds],
  );
  return (res.rowCount ?? 0) === 1;
}

async function releaseLease(pool: pg.Pool, job: Held, delayMs: number): Promise<void> {
  // Back to 'retry' without counting the try: fetch counts one when started_on is set, so a first try gets
  // started_on cleared and a later one gets its count lowered first.
  await pool.query(
    `UPDATE ${JOBS_SCHEMA}.job SET state = 'retry', start_after = now() + make_interval(secs => $4),
       retry_count = CASE WHEN retry_count > 0 THEN retry_count - 1 ELSE 0 END,
       started_on = CASE WHEN retry_count > 0 THEN started_on ELSE NULL END
     WHERE name = $1 AND id = $2 AND state = 'active' AND abs(extract(epoch FROM started_on - $3::timestamptz)) < 0.001`,
    [job.name, job.id, job.startedOn, delayMs / 1000],
  );
}

async function countJobs(pool: pg.Pool): Promise<Record<JobName, JobStateCounts>> {
  const out = Object.fromEntries(JOB_NAMES.map((n) => [n, { queued: 0, active: 0, completed: 0, failed: 0 }])) as Record<JobName, JobStateCounts>;
  const rows = await pool.query<{ name: string; state: string; n: number }>(
    `SELECT name, state::text AS state, count(*) AS n FROM ${JOBS_SCHEMA}.job WHERE name = ANY($1) GROUP BY 1, 2
     UNION ALL SELECT name, state::text, count(*) FROM ${JOBS_SCHEMA}.archive WHERE name = ANY($1) GROUP BY 1, 2`,
    [JOB_NAMES as readonly string[]],
  );
  for (const r of rows.rows) {
    const c = out[r.name as JobName];
    if (r.state === 'created' || r.state === 'retry') c.queued += r.n;
    else if (r.state === 'active') c.active += r.n;
    else if (r.state === 'completed') c.completed += r.n;
    else if (r.state === 'failed') c.failed += r.n;
  }
  return out;
}

async function handleDeadLetters(boss: PgBoss, fn: Parameters<JobQueue['handleDeadLetters']>[0], max: number, scrub: (s: string) => string): Promise<number> {
  let n = 0;
  for (const name of JOB_NAMES) {
    const jobs = (await boss.fetch(deadQueue(name), { batchSize: max, includeMetadata: true })) as unknown as MetaJob[];
    for (const j of jobs) {
      try {
        await fn({ name, data: j.data, error: errorOf(j.output) });
        await boss.complete(deadQueue(name), j.id);
        n++;
      } catch (err) {
        await boss.fail(deadQueue(name), j.id, { message: scrub((err as Error).message) }).catch(() => {});
      }
    }
  }
  return n;
}

/** The message a failed job carries (pg-boss keeps what `fail` got, or its own words for an expired lease). */
function errorOf(output: unknown): string {
  const o = output as { message?: unknown; value?: { message?: unknown } } | null | undefined;
  const m = o?.message ?? o?.value?.message;
  if (typeof m !== 'string') return 'failed';
  return /failed by timeout in active state/.test(m) ? 'its worker stopped renewing the lease (killed or unreachable) on every try' : m;
}
