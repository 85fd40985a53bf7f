// The JobQueue port: named queues of small JSON jobs shared by every process on one database, delivered at least
// once. A fetched job is leased to its worker, which renews the lease while it works; a lease that ends (the
// worker died) hands the job to another worker. src/queue/pg-boss.ts implements it (pg-boss on PostgreSQL).

/** scan-repo: one repository of an enqueued org run; push: one App delivery; verify: re-verify a batch of
 * secrets; issue-sync: open/close/reopen the issues of one repository's secrets. */
export const JOB_NAMES = ['scan-repo', 'push', 'verify', 'issue-sync'] as const;
export type JobName = (typeof JOB_NAMES)[number];

export interface LeasedJob {
  id: string;
  name: JobName;
  /** As sent (parsed JSON); the handler validates it. */
  data: unknown;
  /** 1 for the first try. */
  attempt: number;
  /** Tries in all before the job fails for good. */
  maxAttempts: number;
}

export interface JobStateCounts {
  /** Waiting to run, including retries not yet due. */
  queued: number;
  /** Leased to a worker. */
  active: number;
  completed: number;
  /** Out of attempts. */
  failed: number;
}

export interface DeadJob {
  name: JobName;
  data: unknown;
  /** The last try's error, or why the lease ran out. */
  error: string;
}

export interface SendOptions {
  /** Same key, same job: sending it again while it exists adds nothing (a rerun of the enqueuer, a redelivery). */
  key?: string;
  /** Not before this many ms from now. */
  delayMs?: number;
}

export interface JobQueue {
  /** The job's id, or null when a job with that key exists already. */
  send(name: JobName, data: Record<string, unknown>, opts?: SendOptions): Promise<string | null>;
  /** send() for many jobs of one queue in one statement; each needs a key. */
  sendMany(name: JobName, jobs: { data: Record<string, unknown>; key: string }[]): Promise<void>;
  /** The next due job of `name`, leased to the caller, or null when none is due. */
  fetch(name: JobName): Promise<LeasedJob | null>;
  /** Extends the lease; false when it was lost (it ran out and the job went back to the queue). */
  renew(job: LeasedJob): Promise<boolean>;
  complete(job: LeasedJob, output?: Record<string, unknown>): Promise<void>;
  /** Counts a try; the queue retries later (with backoff) or, out of attempts, fails it for good. `error` is stored: no secret in it. */
  fail(job: LeasedJob, error: string): Promise<void>;
  /** Gives the job back without counting the try (shutdown, or work that must wait), due after `delayMs`. */
  release(job: LeasedJob, delayMs?: number): Promise<void>;
  counts(): Promise<Record<JobName, JobStateCounts>>;
  /**
   * Hands jobs that ran out of attempts (each once, to one caller) to `fn`, so what they belong to learns it;
   * one that `fn` does not finish (it throws, or the process dies) is handed out again later. Returns how many.
   */
  handleDeadLetters(fn: (dead: DeadJob) => Promise<void>, max?: number): Promise<number>;
  readonly leaseSeconds: number;
  close(): Promise<void>;
}
