// Composition root of `keyloop worker`: the shared PostgreSQL store and job queue, this machine's own mirror cache,
// its own GitHub credentials, the engine, verifier and issue loop → job handlers → runner, plus /healthz and
// /metrics. Jobs carry names and ids only; everything secret comes from this process's flags and the store.
import type { Server } from 'node:http';
import { createGitHubClient, GitHubRepoHost, type GitHubClientOptions } from '../adapters/github/index.js';
import { gitBaseUrl } from '../adapters/github/clone-url.js';
import { ConfigError } from '../core/errors.js';
import { JOB_NAMES, type DeadJob, type JobName, type JobQueue } from '../core/jobs.js';
import type { Store } from '../core/store.js';
import type { Suppression } from '../config/normalize.js';
import { createEngine } from '../detection/engine.js';
import { contentOpener } from '../scan/contents.js';
import { packReaderEnabled } from '../scan/pack-path.js';
import type { Catalog } from '../detection/types.js';
import { runLoopOnStore, verifierOnStore, type IssueLoopSetup } from '../loop/org-hook.js';
import { catalogReverify } from '../loop/run.js';
import { openPgBossQueue } from '../queue/pg-boss.js';
import { openStore } from '../store/open.js';
import { loadKey } from '../store/secret-key.js';
import type { Logger } from '../util/logger.js';
import type { SecretRegistry } from '../util/redact.js';
import { createVerifier } from '../verification/verify.js';
import { createMetrics, observabilityRoutes, serveObservability, type Metrics } from './metrics.js';
import { orgJobHandlers, reconcileRuns, runJobFailed } from './org-run.js';
import { JobRunner, workerName, type JobHandler } from './runner.js';

export interface WorkerOptions {
  /** postgres://… : the store and the queue. */
  db: string;
  env: Record<string, string | undefined>;
  keyFile?: string;
  cacheDir: string;
  githubUrl: string;
  token?: string;
  catalog: Catalog;
  fingerprintKey?: string;
  suppression?: Suppression;
  excludePath?: (path: string) => boolean;
  repoConfig: boolean;
  maxBlobSize: number;
  gitBackend?: 'auto' | 'native' | 'isomorphic';
  /** Issuer base URLs (operator overrides); verify jobs are taken only with these set up. */
  verify?: {
    issuerUrls: Record<string, string>;
    allowInsecure: boolean;
    timeoutMs?: number;
    /** Ask live keys' issuers what they can do (operator config verify.reach), as the local loop does. */
    reach?: boolean;
    /** A reach younger than this is kept, not asked again (operator config verify.cacheTtlHours). */
    cacheTtlHours?: number;
  };
  /** The issue loop for issue-sync jobs (from the operator config). */
  issueLoop?: IssueLoopSetup;
  /** Queues served (default: every one this worker has what it needs for). */
  queues?: JobName[];
  concurrency: number;
  leaseSeconds?: number;
  maxAttempts?: number;
  retryDelaySeconds?: number;
  pollMs?: number;
  metrics?: { port: number; host: string };
  registry: SecretRegistry;
  logger: Logger;
  client?: Omit<GitHubClientOptions, 'baseUrl' | 'token'>;
  /** Extra handlers (the App's push jobs), and what records their jobs that failed for good. */
  handlers?: Partial<Record<JobName, JobHandler>>;
  onDead?: (dead: DeadJob) => Promise<void>;
}

export interface RunningWorker {
  store: Store;
  queue: JobQueue;
  runner: JobRunner;
  metrics: Metrics;
  queues: JobName[];
  /** Where /healthz and /metrics are served, when asked for. */
  metricsUrl?: string;
  stop(graceMs: number): Promise<{ finished: number; released: number }>;
}

export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  // Fails at start, not per job, when the GitHub URL is no place to send a token to.
  gitBaseUrl(opts.githubUrl);
  const store = await openStore(opts.db, { key: () => loadKey({ env: opts.env, keyFile: opts.keyFile, create: true }) });
  if (store.kind !== 'postgres') {
    await store.close();
    throw new ConfigError('keyloop worker needs a PostgreSQL store (postgres://…): the job queue lives there', '--db');
  }
  let queue: JobQueue | undefined;
  let server: Server | undefined;
  try {
    queue = await openPgBossQueue(opts.db, {
      leaseSeconds: opts.leaseSeconds,
      maxAttempts: opts.maxAttempts,
      retryDelaySeconds: opts.retryDelaySeconds,
      maxConnections: opts.concurrency + 3,
      logger: opts.logger,
      scrub: (s) => opts.registry.scrub(s),
    });
    const metrics = createMetrics('worker', queue);
    const handlers = workerHandlers(opts, store, queue, metrics);
    const queues = (opts.queues ?? JOB_NAMES.filter((n) => handlers[n])).filter((n) => {
      if (handlers[n]) return true;
      throw new ConfigError(`this worker cannot take ${n} jobs (${n === 'push' ? 'no App credentials' : n === 'issue-sync' ? 'no issue loop' : 'verification is off'})`, '--queues');
    });
    const deps = { store, queue, logger: opts.logger };
    const runner = new JobRunner({
      queue,
      handlers: Object.fromEntries(queues.map((n) => [n, handlers[n]!])),
      concurrency: opts.concurrency,
      ...(opts.pollMs ? { pollMs: opts.pollMs } : {}),
      logger: opts.logger,
      scrub: (s) => opts.registry.scrub(s),
      onOutcome: (name, outcome, s) => metrics.jobOutcome(name, outcome, s),
      onFailed: async (dead) => {
        if (!(await runJobFailed(deps, dead))) await opts.onDead?.(dead);
      },
      // A process that died between two steps leaves jobs unsent or a run not moved on: picked up here.
      periodic: [{ everyMs: 5 * 60_000, run: () => reconcileRuns(deps, 5 * 60_000) }],
    });
    let metricsUrl: string | undefined;
    if (opts.metrics) {
      const routes = observabilityRoutes(metrics, async () => {
        const counts = await queue!.counts();
        return { ok: true, worker: runner.worker, queues, holding: runner.holding(), jobs: counts };
      });
      ({ url: metricsUrl, server } = await serveObservability(routes, opts.metrics.port, opts.metrics.host));
    }
    runner.start();
    // Catches up on what a worker that died left behind (unsent jobs, a run not moved on) right away.
    void reconcileRuns(deps, 60_000).catch((err: unknown) => opts.logger.warn(`worker: ${opts.registry.scrub((err as Error).message)}`));
    const q = queue;
    return {
      store,
      queue: q,
      runner,
      metrics,
      queues,
      ...(metricsUrl ? { metricsUrl } : {}),
      async stop(graceMs) {
        const r = await runner.stop(graceMs);
        server?.close();
        await q.close();
        await store.close();
        return r;
      },
    };
  } catch (err) {
    server?.close();
    await queue?.close();
    await store.close();
    throw err;
  }
}

function workerHandlers(opts: WorkerOptions, store: Store, queue: JobQueue, metrics: Metrics): Partial<Record<JobName, JobHandler>> {
  const engine = createEngine(opts.catalog);
  const host = new GitHubRepoHost(createGitHubClient({ baseUrl: opts.githubUrl, ...(opts.token ? { token: opts.token } : {}), logger: opts.logger, ...opts.client }), {
    ...(opts.token ? { token: opts.token } : {}),
  });
  const verifier = opts.verify
    ? createVerifier({
        baseUrls: opts.verify.issuerUrls,
        allowInsecure: opts.verify.allowInsecure,
        ...(opts.verify.timeoutMs ? { timeoutMs: opts.verify.timeoutMs } : {}),
        registry: opts.registry,
        logger: opts.logger,
        ...verifierOnStore(store, { reach: opts.verify.reach ?? true, cacheTtlHours: opts.verify.cacheTtlHours ?? 24 }),
      })
    : null;
  const loop = opts.issueLoop;
  const org = orgJobHandlers({
    store,
    queue,
    host,
    githubUrl: opts.githubUrl,
    scan: {
      engine,
      contents: contentOpener({ engine, jobs: 1, maxBlobSize: opts.maxBlobSize, packReader: packReaderEnabled(opts.env) }),
      cacheDir: opts.cacheDir,
      maxBlobSize: opts.maxBlobSize,
      repoConfig: opts.repoConfig,
      registry: opts.registry,
      ...(opts.fingerprintKey ? { fingerprintKey: opts.fingerprintKey } : {}),
      ...(opts.gitBackend ? { gitBackend: opts.gitBackend } : {}),
      ...(opts.excludePath ? { excludePath: opts.excludePath } : {}),
      ...(opts.suppression ? { suppression: opts.suppression } : {}),
    },
    registry: opts.registry,
    logger: opts.logger,
    worker: workerName(),
    ...(verifier ? { reverify: catalogReverify(verifier, opts.catalog) } : {}),
    ...(loop ? { issueLoop: (s, extra) => runLoopOnStore(s, { ...loop, logger: opts.logger }, extra) } : {}),
    onScanned: (o) => metrics.scanned(o.bytesScanned, o.blobsScanned),
  });
  return { ...org, ...opts.handlers };
}
