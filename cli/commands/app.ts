// `keyloop app`: the GitHub App server. Webhooks in (signed, queued durably), push scans + check runs + issues out.
// Runs until SIGINT/SIGTERM, then finishes or requeues the work in flight. Exit 0 after a clean shutdown.
import { resolve } from 'node:path';
import { untilAborted, type CommandContext } from '../context.js';
import { ConfigError } from '../../src/core/errors.js';
import { appCredentialsFromEnv } from '../../src/adapters/github/app.js';
import { resolveGitHubUrl } from '../../src/adapters/github/client.js';
import { loadOperatorConfig, unusedCwdConfigHint } from '../../src/config/load.js';
import { issuerOverrides } from '../../src/config/normalize.js';
import { defaultCacheDir } from '../../src/sources/mirror.js';
import { startApp, type AppRuntimeOptions } from '../../src/app/runtime.js';
import { createLogger, type Level, type LogFormat } from '../../src/util/logger.js';
import { SecretRegistry } from '../../src/util/redact.js';
import { dbSpecOf } from './store.js';

export interface AppCommandOptions {
  port: number;
  host: string;
  db?: string;
  cacheDir?: string;
  githubUrl?: string;
  keyFile?: string;
  config?: string;
  /** false: --no-repo-config (repositories' own .keyloop.yaml are not read). */
  repoConfig: boolean;
  detectors?: string;
  concurrency: number;
  maxBody: number;
  maxBlobSize: number;
  verify: boolean;
  /** --allow-insecure-issuers: loopback http issuer URLs (test fakes). */
  allowInsecureIssuers?: boolean;
  issues: boolean;
  checkRuns: boolean;
  scanNewRepos: boolean;
  /** Seconds to let work in flight finish on shutdown before it is requeued. */
  shutdownGrace: number;
  logLevel?: Level;
  logFormat?: LogFormat;
  /** PostgreSQL store: seconds a dead replica's delivery stays leased before another replica takes it. */
  lease?: number;
  metricsPort?: number;
  metricsHost?: string;
}

/** The flags both `app` and `receive` take (runtimeOptions turns them into the runtime's options). */
export type AppRuntimeFlags = Pick<
  AppCommandOptions,
  | 'db'
  | 'cacheDir'
  | 'githubUrl'
  | 'keyFile'
  | 'config'
  | 'repoConfig'
  | 'detectors'
  | 'maxBlobSize'
  | 'verify'
  | 'allowInsecureIssuers'
  | 'issues'
  | 'checkRuns'
  | 'scanNewRepos'
  | 'logLevel'
  | 'logFormat'
>;

/** The part of the runtime options both `app` and `receive` derive from flags, env and the operator config. */
export async function runtimeOptions(
  opts: AppRuntimeFlags,
  ctx: CommandContext,
  registry: SecretRegistry,
): Promise<Omit<AppRuntimeOptions, 'app' | 'token'>> {
  const config = await loadOperatorConfig({ explicit: opts.config, cwd: ctx.cwd, env: ctx.env });
  const logger = createLogger({ registry, level: opts.logLevel ?? 'info', format: opts.logFormat ?? 'text', base: { name: 'keyloop-app' }, write: (l) => ctx.stderr.write(l + '\n') });
  const hint = unusedCwdConfigHint(ctx.cwd, config);
  if (hint) logger.warn(hint);
  const githubUrl = resolveGitHubUrl(opts.githubUrl, ctx.env);
  return {
    db: dbSpecOf(opts, ctx),
    cacheDir: resolve(ctx.cwd, opts.cacheDir ?? defaultCacheDir(ctx.env)),
    githubUrl,
    env: ctx.env,
    registry,
    logger,
    fingerprintKey: config.fingerprintKey,
    suppression: config.suppression,
    repoConfig: opts.repoConfig !== false,
    maxBlobSize: opts.maxBlobSize,
    ...(opts.detectors ? { detectorsDir: resolve(ctx.cwd, opts.detectors) } : {}),
    ...(opts.keyFile ? { keyFile: resolve(ctx.cwd, opts.keyFile) } : {}),
    verify: opts.verify,
    reach: config.verify.reach,
    allowInsecureIssuers: !!opts.allowInsecureIssuers,
    issuerUrls: issuerOverrides(config, { flag: opts.githubUrl, env: ctx.env }),
    checkRuns: opts.checkRuns,
    scanNewRepos: opts.scanNewRepos,
    ...(opts.issues ? { loopConfig: config.loop } : {}),
  };
}

export async function appCommand(opts: AppCommandOptions, ctx: CommandContext): Promise<number> {
  if (!Number.isInteger(opts.port) || opts.port > 65535) throw new ConfigError('must be a port number (0-65535)', '--port');
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new ConfigError('must be at least 1', '--concurrency');
  const registry = new SecretRegistry();
  const creds = appCredentialsFromEnv(ctx.env, ctx.cwd);
  registry.add(creds.webhookSecret);
  const base = await runtimeOptions(opts, ctx, registry);
  const app = await startApp({
    ...base,
    app: { appId: creds.appId, privateKey: creds.privateKey },
    secret: creds.webhookSecret,
    port: opts.port,
    host: opts.host,
    maxBody: opts.maxBody,
    concurrency: opts.concurrency,
    ...(opts.lease ? { leaseSeconds: opts.lease } : {}),
    ...(opts.metricsPort !== undefined ? { metrics: { port: opts.metricsPort, host: opts.metricsHost ?? '127.0.0.1' } } : {}),
  });
  const log = base.logger;
  const pending = await app.queue.counts();
  log.info(
    `keyloop app ${app.url} (App ${creds.appId}, GitHub ${base.githubUrl}); webhook path /api/github/webhooks` +
      (app.store.kind === 'postgres' ? `; deliveries shared with the other replicas on ${app.store.location}` : '') +
      (pending.queued ? `; ${pending.queued} queued delivery(ies) resumed` : '') +
      (app.metricsUrl ? `; /metrics and /healthz at ${app.metricsUrl}` : ''),
  );
  await untilAborted(ctx.signal);
  log.info('keyloop app: shutting down (finishing work in flight)');
  const r = await app.shutdown(opts.shutdownGrace * 1000);
  const left = r.requeued ? `; ${r.requeued} requeued for the next start` : '';
  log.info(`keyloop app: stopped${left}`);
  return 0;
}
