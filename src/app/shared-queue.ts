// The App's delivery queue when the store is PostgreSQL: App replicas (and workers with App credentials) share
// one `push` queue. A delivery is recorded (idempotent by GUID) before the 2xx reply, then one push job carrying
// only its GUID is queued; whoever takes the job claims the delivery row, so a delivery is processed once even
// when GitHub redelivers it to another replica, and a replica that dies mid-delivery leaves it to another.
import { ConfigError } from '../core/errors.js';
import type { DeadJob, JobQueue } from '../core/jobs.js';
import { systemClock, type Clock } from '../core/ports.js';
import type { DeliveriesStore, DeliveryRow, DeliveryStatus } from '../core/store.js';
import { PushPayload } from '../scale/payloads.js';
import { DeferJob, JobRunner, PermanentJobError, type JobHandler, type RunnerHooks } from '../scale/runner.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { Job } from './events.js';
import { PermanentError, recordDelivery, type DeliveryHandler, type DeliveryInput, type DeliveryQueueLike } from './queue.js';

export interface SharedQueueOptions {
  store: DeliveriesStore;
  jobs: JobQueue;
  handler: DeliveryHandler;
  concurrency?: number;
  /** Wait between empty polls of the shared queue (default 1000 ms). */
  pollMs?: number;
  clock?: Clock;
  logger?: Logger;
  scrub?: (text: string) => string;
  onOutcome?: RunnerHooks['onOutcome'];
}

/** The push job: claim the delivery by GUID, run it, record how it ended. Also taken by `keyloop worker` with App credentials. */
export function pushJobHandler(o: Pick<SharedQueueOptions, 'store' | 'handler' | 'clock' | 'logger' | 'scrub'>): JobHandler {
  const clock = o.clock ?? systemClock;
  const scrub = o.scrub ?? ((t: string) => t);
  const now = () => clock.now().toISOString();
  return async (job, signal) => {
    const p = PushPayload.safeParse(job.data);
    if (!p.success) throw new PermanentJobError(`push job ${job.id} does not parse`);
    const row = await o.store.startDelivery(p.data.guid, clock.now());
    if (row === undefined) throw new PermanentJobError(`no delivery ${p.data.guid} in the store`);
    if (row === 'finished') return { skipped: 'finished before' };
    // One delivery per repository at a time (its mirror, its ref order): this one waits, uncounted.
    if (row === 'busy') throw new DeferJob('another delivery of the same repository runs', 2000);
    let parsed: Job;
    try {
      parsed = Job.parse(row.job);
    } catch (e) {
      const msg = `stored job does not parse: ${(e as Error).message}`;
      await o.store.failDelivery(row.seq, now(), msg);
      return { failed: msg };
    }
    try {
      const result = await o.handler({ seq: row.seq, guid: row.guid, event: row.event, repo: row.repo, job: parsed, attempts: row.attempts }, signal);
      await o.store.completeDelivery(row.seq, now(), result ?? null);
      o.logger?.debug(`app: delivery ${row.guid} (${row.event}) done`);
      return { done: true };
    } catch (err) {
      const msg = scrub(err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 2000);
      if (signal.aborted) {
        // Shutdown or a lost lease: the try is given back with the job.
        await o.store.requeueDeliveries(row.seq);
        throw err;
      }
      if (err instanceof PermanentError || err instanceof ConfigError) {
        await o.store.failDelivery(row.seq, now(), msg);
        o.logger?.error(`app: delivery ${row.guid} (${row.event}) failed: ${msg}`);
        return { failed: msg };
      }
      // The queue retries it with backoff; the row says why this try failed meanwhile.
      await o.store.retryDelivery(row.seq, clock.now().getTime(), msg);
      throw err;
    }
  };
}

/** A push job out of tries: its delivery ends failed with the last error. */
export async function pushJobDead(store: DeliveriesStore, dead: DeadJob, clock: Clock = systemClock): Promise<void> {
  const p = PushPayload.safeParse(dead.data);
  const row = p.success ? await store.getDelivery(p.data.guid) : undefined;
  if (row && row.status !== 'done' && row.status !== 'ignored') await store.failDelivery(row.seq, clock.now().toISOString(), `gave up: ${row.error ?? dead.error}`);
}

export class SharedDeliveryQueue implements DeliveryQueueLike {
  private readonly runner: JobRunner;
  private readonly clock: Clock;
  private readonly log: Logger;
  private stopping = false;

  constructor(private readonly opts: SharedQueueOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    const scrub = opts.scrub ?? ((t: string) => t);
    this.runner = new JobRunner({
      queue: opts.jobs,
      handlers: { push: pushJobHandler(opts) },
      concurrency: opts.concurrency ?? 2,
      ...(opts.pollMs ? { pollMs: opts.pollMs } : {}),
      logger: this.log,
      scrub,
      ...(opts.onOutcome ? { onOutcome: opts.onOutcome } : {}),
      onFailed: (dead) => pushJobDead(opts.store, dead, this.clock),
      // A replica that died between recording a delivery and queueing its job: the job is queued again here.
      periodic: [{ everyMs: 5 * 60_000, run: () => this.resendQueued(5 * 60_000) }],
    });
  }

  async enqueue(d: DeliveryInput): Promise<'queued' | 'ignored' | 'duplicate'> {
    if (this.stopping) throw new ConfigError('queue is shutting down');
    const outcome = await recordDelivery(this.opts.store, d, this.clock);
    if (outcome === 'queued') await this.opts.jobs.send('push', { guid: d.guid }, { key: d.guid });
    return outcome;
  }

  private async resendQueued(olderThanMs: number): Promise<void> {
    const guids = await this.opts.store.queuedDeliveries(new Date(this.clock.now().getTime() - olderThanMs).toISOString());
    if (guids.length) await this.opts.jobs.sendMany('push', guids.map((guid) => ({ data: { guid }, key: guid })));
  }

  /** Other replicas may be running deliveries: nothing is requeued at start (a dead replica's leases run out instead). */
  async start(): Promise<void> {
    this.runner.start();
    await this.resendQueued(60_000);
  }

  counts(): Promise<Record<DeliveryStatus, number>> {
    return this.opts.store.deliveryCounts();
  }

  get(guid: string): Promise<DeliveryRow | undefined> {
    return this.opts.store.getDelivery(guid);
  }

  /** Resolves when no delivery is queued or running (in any replica). */
  async drained(): Promise<void> {
    for (;;) {
      const c = await this.counts();
      if (c.queued === 0 && c.running === 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(graceMs = 20_000): Promise<{ finished: number; requeued: number }> {
    if (this.stopping) return { finished: 0, requeued: 0 };
    this.stopping = true;
    const r = await this.runner.stop(graceMs);
    return { finished: r.finished, requeued: r.released };
  }
}
