// Runs jobs from a JobQueue in this process: N slots that fetch from the served queues in turn, a lease renewed
// while a handler works, complete / fail / give back, dead letters handed to their owner, and a drain on stop
// that finishes or gives back what is held within a bound.
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { DeadJob, JobName, JobQueue, LeasedJob } from '../core/jobs.js';
import { silentLogger, type Logger } from '../util/logger.js';

/** A handler's way to say "not now" (e.g. the repo's earlier delivery runs elsewhere): the job goes back, uncounted. */
export class DeferJob extends Error {
  override name = 'DeferJob';
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
  }
}

/** Retrying cannot fix it (a payload that does not parse): the job ends failed at once. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}

export type JobHandler = (job: LeasedJob, signal: AbortSignal) => Promise<Record<string, unknown> | void>;

export type JobOutcome = 'done' | 'failed' | 'retried' | 'released' | 'deferred' | 'lost';

export interface RunnerHooks {
  /** Every finished try, for metrics. */
  onOutcome?: (name: JobName, outcome: JobOutcome, seconds: number) => void;
  /** A job that failed for good (out of attempts, or permanently): its owner records it. */
  onFailed?: (dead: DeadJob) => Promise<void>;
  /** Extra periodic work (e.g. resending jobs whose sender died), every `everyMs`. */
  periodic?: { everyMs: number; run: () => Promise<void> }[];
}

export interface RunnerOptions extends RunnerHooks {
  queue: JobQueue;
  handlers: Partial<Record<JobName, JobHandler>>;
  concurrency: number;
  /** Wait between empty polls (default 1000 ms). */
  pollMs?: number;
  logger?: Logger;
  scrub?: (s: string) => string;
  /** This process, as `keyloop runs` names it (default host:pid). */
  worker?: string;
}

interface Held {
  job: LeasedJob;
  since: number;
  ac: AbortController;
  done: Promise<void>;
}

export const workerName = () => `${hostname()}:${process.pid}`;

export class JobRunner {
  readonly worker: string;
  private readonly names: JobName[];
  private readonly held = new Set<Held>();
  private readonly stopAc = new AbortController();
  private slots: Promise<void>[] = [];
  private timers: NodeJS.Timeout[] = [];
  private readonly log: Logger;
  private readonly scrub: (s: string) => string;
  private stopping = false;

  constructor(private readonly opts: RunnerOptions) {
    this.names = Object.keys(opts.handlers) as JobName[];
    this.worker = opts.worker ?? workerName();
    this.log = opts.logger ?? silentLogger;
    this.scrub = opts.scrub ?? ((s) => s);
    setMaxListeners(0, this.stopAc.signal);
  }

  /** What this process holds now. */
  holding(): { name: JobName; id: string; attempt: number; sinceMs: number }[] {
    return [...this.held].map((h) => ({ name: h.job.name, id: h.job.id, attempt: h.job.attempt, sinceMs: h.since }));
  }

  start(): void {
    if (this.slots.length) return;
    this.slots = Array.from({ length: Math.max(1, this.opts.concurrency) }, (_, i) => this.slot(i));
    const every = (ms: number, fn: () => Promise<unknown>) => {
      let busy = false;
      const t = setInterval(() => {
        if (busy || this.stopping) return;
        busy = true;
        fn()
          .catch((err: unknown) => this.log.warn(`worker: ${this.scrub((err as Error).message)}`))
          .finally(() => (busy = false));
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    if (this.opts.onFailed) {
      const onFailed = this.opts.onFailed;
      every(Math.max(500, this.opts.pollMs ?? 1000), () => this.opts.queue.handleDeadLetters(onFailed));
    }
    for (const p of this.opts.periodic ?? []) every(p.everyMs, p.run);
  }

  private async slot(i: number): Promise<void> {
    while (!this.stopping) {
      let job: LeasedJob | null = null;
      for (let k = 0; k < this.names.length && !job && !this.stopping; k++) {
        const name = this.names[(i + k) % this.names.length]!;
        try {
          job = await this.opts.queue.fetch(name);
        } catch (err) {
          this.log.warn(`worker: fetching ${name}: ${this.scrub((err as Error).message)}`);
        }
      }
      if (this.stopping) {
        if (job) await this.opts.queue.release(job).catch(() => {});
        return;
      }
      if (!job) {
        await sleep(this.opts.pollMs ?? 1000, this.stopAc.signal);
        continue;
      }
      await this.run(job);
    }
  }

  private run(job: LeasedJob): Promise<void> {
    const ac = new AbortController();
    setMaxListeners(0, ac.signal);
    const h: Held = { job, since: Date.now(), ac, done: Promise.resolve() };
    this.held.add(h);
    h.done = this.execute(h).finally(() => this.held.delete(h));
    return h.done;
  }

  private async execute(h: Held): Promise<void> {
    const { job, ac } = h;
    const { queue } = this.opts;
    const handler = this.opts.handlers[job.name]!;
    let lost = false;
    // Renewed three times per lease: one late renewal (a busy event loop, a slow database) does not lose it.
    const renew = setInterval(
      () => {
        queue
          .renew(job)
          .then((ok) => {
            if (ok || lost) return;
            lost = true;
            this.log.warn(`worker: lost the lease on ${job.name} ${job.id}; stopping it (another worker runs it)`);
            ac.abort(new Error('lease lost'));
          })
          .catch((err: unknown) => this.log.warn(`worker: renewing ${job.name} ${job.id}: ${this.scrub((err as Error).message)}`));
      },
      Math.max(500, (queue.leaseSeconds * 1000) / 3),
    );
    const t0 = Date.now();
    const outcome = (o: JobOutcome) => this.opts.onOutcome?.(job.name, o, (Date.now() - t0) / 1000);
    try {
      const out = await handler(job, ac.signal);
      if (lost) return outcome('lost');
      await queue.complete(job, out ?? {});
      outcome('done');
    } catch (err) {
      if (lost) return outcome('lost');
      const msg = this.scrub((err as Error)?.message ?? String(err));
      try {
        if (ac.signal.aborted && this.stopping) {
          await queue.release(job);
          outcome('released');
        } else if (err instanceof DeferJob) {
          await queue.release(job, err.delayMs);
          outcome('deferred');
        } else if (err instanceof PermanentJobError) {
          await this.opts.onFailed?.({ name: job.name, data: job.data, error: msg });
          await queue.complete(job, { failed: msg });
          this.log.warn(`worker: ${job.name} ${job.id} failed: ${msg}`);
          outcome('failed');
        } else {
          await queue.fail(job, msg);
          const last = job.attempt >= job.maxAttempts;
          this.log.warn(`worker: ${job.name} ${job.id} try ${job.attempt}/${job.maxAttempts} failed${last ? '' : ', will retry'}: ${msg}`);
          outcome(last ? 'failed' : 'retried');
        }
      } catch (inner) {
        // The queue is unreachable: the lease runs out and the job comes back; nothing is lost.
        this.log.warn(`worker: settling ${job.name} ${job.id}: ${this.scrub((inner as Error).message)}`);
      }
    } finally {
      clearInterval(renew);
    }
  }

  /**
   * Stops fetching; lets held jobs finish for `graceMs`, then aborts them and gives back those still held (their
   * tries do not count). Resolves when every slot has ended.
   */
  async stop(graceMs: number): Promise<{ finished: number; released: number }> {
    const before = this.held.size;
    this.stopping = true;
    this.stopAc.abort();
    for (const t of this.timers) clearInterval(t);
    const all = () => Promise.allSettled([...this.held].map((h) => h.done));
    const inTime = await Promise.race([all().then(() => true), sleep(graceMs).then(() => false)]);
    let released = 0;
    if (!inTime) {
      const left = [...this.held];
      released = left.length;
      for (const h of left) h.ac.abort(new Error('worker shutting down'));
      // An aborted handler settles quickly (git and HTTP calls listen to the signal); one that does not is given back here.
      const settled = await Promise.race([all().then(() => true), sleep(5000).then(() => false)]);
      if (!settled) for (const h of this.held) await this.opts.queue.release(h.job).catch(() => {});
    }
    await Promise.allSettled(this.slots);
    return { finished: before - released, released };
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
