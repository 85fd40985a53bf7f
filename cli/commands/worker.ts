// `keyloop worker --db postgres://…`: take jobs from the shared queue (scan-repo, verify, issue-sync, and push when
// App credentials are set) until SIGINT/SIGTERM, then finish or give back what it holds within --shutdown-grace.
// Each worker has its own mirror cache and its own GitHub credentials; jobs carry names and ids only.
import { resolve } from 'node:path';
import { untilAborted, type CommandContext } from '../context.js';
import { ConfigError } from '../../src/core/errors.js';
import { JOB_NAMES, type JobName } from '../../src/core/jobs.js';
import { resolveGitHubUrl, resolveToken } from '../../src/adapters/github/client.js';
import { globMatcher } from '../../src/config/glob.js';
import { loadOperatorConfig, unusedCwdConfigHint } from '../../src/config/load.js';
import { checkDetectorIds, issuerOverrides } from '../../src/config/normalize.js';
import { defaultDetectorsDir, loadCatalog } from '../../src/detection/load.js';
import { issueLoopFromFlags } from '../../src/loop/org-hook.js';
import { appCredentialsFromEnv } from '../../src/adapters/github/app.js';
import { createAppRuntime, type AppRuntime } from '../../src/app/runtime.js';
import { startWorker } from '../../src/scale/worker.js';
import { runtimeOptions } from './app.js';
import { defaultCacheDir } from '../../src/sources/mirror.js';
import { createLogger, type Level, type LogFormat } from '../../src/util/logger.js';
import { SecretRegistry } from '../../src/util/redact.js';
import { dbSpecOf } from './store.js';

export interface WorkerCommandOptions {
  db?: string;
  concurrency: number;
  cacheDir?: string;
  /** Comma-separated queue names (default: all this worker can take). */
  queues?: string[];
  githubUrl?: string;
  token?: string;
  keyFile?: string;
  config?: string;
  detectors?: string;
  /** false: --no-repo-config. */
  repoConfig: boolean;
  maxBlobSize: number;
  gitBackend: 'auto' | 'native' | 'isomorphic';
  /** false: --no-verify (no verify jobs; the issue loop plans on stored checks). */
  verify: boolean;
  /** false: --no-issues (no issue-sync jobs). */
  issues: boolean;
  allowInsecureIssuers?: boolean;
  lease: number;
  shutdownGrace: number;
  metricsPort?: number;
  metricsHost: string;
  logFormat: LogFormat;
  logLevel: Level;
}

export async function workerCommand(opts: WorkerCommandOptions, ctx: CommandContext): Promise<number> {
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new ConfigError('must be at least 1', '--concurrency');
  if (!Number.isInteger(opts.lease) || opts.lease < 5) throw new ConfigError('must be at least 5 (seconds)', '--lease');
  const queues = opts.queues?.map((q) => {
    if (q === 'push' && !ctx.env.APP_ID) throw new ConfigError('push jobs need the App credentials (APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH)', '--queues');
    if (!(JOB_NAMES as readonly string[]).includes(q)) throw new ConfigError(`unknown queue "${q}" (${JOB_NAMES.join(', ')})`, '--queues');
    return q as JobName;
  });
  const registry = new SecretRegistry();
  const token = resolveToken(opts.token, ctx.env);
  if (token) registry.add(token);
  const logger = createLogger({ registry, level: opts.logLevel, format: opts.logFormat, base: { name: 'keyloop-worker' }, write: (l) => ctx.stderr.write(l + '\n') });
  const githubUrl = resolveGitHubUrl(opts.githubUrl, ctx.env);
  const config = await loadOperatorConfig({ explicit: opts.config, cwd: ctx.cwd, env: ctx.env });
  const hint = unusedCwdConfigHint(ctx.cwd, config);
  if (hint) logger.warn(hint);
  const catalog = loadCatalog(opts.detectors ? resolve(ctx.cwd, opts.detectors) : defaultDetectorsDir());
  checkDetectorIds(config, new Set(catalog.byId.keys()));
  const loop = opts.issues
    ? (await issueLoopFromFlags({ config: opts.config, detectors: opts.detectors, githubUrl: opts.githubUrl, token: opts.token, allowInsecureIssuers: opts.allowInsecureIssuers, issues: true, verify: opts.verify }, ctx, { logger, registry })).setup
    : undefined;
  const worker = await startWorker({
    db: dbSpecOf(opts, ctx),
    env: ctx.env,
    ...(opts.keyFile ? { keyFile: resolve(ctx.cwd, opts.keyFile) } : {}),
    cacheDir: resolve(ctx.cwd, opts.cacheDir ?? defaultCacheDir(ctx.env)),
    githubUrl,
    ...(token ? { token } : {}),
    catalog,
    fingerprintKey: config.fingerprintKey,
    suppression: config.suppression,
    ...(globMatcher(config.suppression.excludePaths) ? { excludePath: globMatcher(config.suppression.excludePaths)! } : {}),
    repoConfig: opts.repoConfig !== false,
    maxBlobSize: opts.maxBlobSize,
    gitBackend: opts.gitBackend,
    ...(opts.verify
      ? {
          verify: {
            issuerUrls: issuerOverrides(config, { flag: opts.githubUrl, env: ctx.env }),
            allowInsecure: !!opts.allowInsecureIssuers,
            timeoutMs: config.verify.timeoutMs,
            reach: config.verify.reach,
            cacheTtlHours: config.verify.cacheTtlHours,
          },
        }
      : {}),
    ...(loop ? { issueLoop: loop } : {}),
    ...(queues ? { queues: queues.filter((q) => q !== 'push') } : {}),
    concurrency: opts.concurrency,
    leaseSeconds: opts.lease,
    ...(opts.metricsPort !== undefined ? { metrics: { port: opts.metricsPort, host: opts.metricsHost } } : {}),
    registry,
    logger,
  });
  // App credentials in the environment: this worker also takes the App's push jobs, like a replica without a server.
  const pushes = ctx.env.APP_ID && (!queues || queues.includes('push')) ? await pushWorker(opts, ctx, registry) : null;
  logger.info(
    `keyloop worker ${worker.runner.worker}: ${[...worker.queues, ...(pushes ? ['push'] : [])].join(', ')} × ${opts.concurrency} on ${worker.store.location}` +
      (worker.metricsUrl ? `; /metrics and /healthz at ${worker.metricsUrl}` : ''),
  );
  await untilAborted(ctx.signal);
  logger.info(`keyloop worker: shutting down (finishing work in flight, at most ${opts.shutdownGrace} s)`);
  const [r] = await Promise.all([worker.stop(opts.shutdownGrace * 1000), pushes?.close(opts.shutdownGrace * 1000)]);
  logger.info(`keyloop worker: stopped; ${r.finished} job(s) finished, ${r.released} given back to the queue`);
  return 0;
}

/** The App's push jobs in this worker: the App runtime without its webhook server, on the shared queue. */
async function pushWorker(opts: WorkerCommandOptions, ctx: CommandContext, registry: SecretRegistry): Promise<AppRuntime> {
  const creds = appCredentialsFromEnv(ctx.env, ctx.cwd, { webhook: false });
  const rt = await createAppRuntime({
    ...(await runtimeOptions({ ...opts, checkRuns: true, scanNewRepos: false }, ctx, registry)),
    app: { appId: creds.appId, privateKey: creds.privateKey },
    concurrency: opts.concurrency,
    leaseSeconds: opts.lease,
  });
  if (rt.store.kind !== 'postgres') {
    await rt.close(0);
    throw new ConfigError('keyloop worker needs a PostgreSQL store (postgres://…): the job queue lives there', '--db');
  }
  await rt.queue.start();
  return rt;
}
