// `keyloop app`: the GitHub App server. Webhooks in (signed, queued durably), push scans + check runs + issues out.
// Runs until SIGINT/SIGTERM, then finishes or requeues the work in flight. Exit 0 after a clean shutdown.
import { resolve } from 'node:path';
import type { CommandContext } from '../context.js';
import { ConfigError } from '../../src/core/errors.js';
import { appCredentialsFromEnv } from '../../src/adapters/github/app.js';
import { resolveGitHubUrl } from '../../src/adapters/github/client.js';
import { loadConfig } from '../../src/config/load.js';
import { defaultLoopConfig, parseLoopConfig } from '../../src/loop/config.js';
import { defaultCacheDir } from '../../src/sources/mirror.js';
import { startApp, type AppRuntimeOptions } from '../../src/app/runtime.js';
import { createLogger, type Level } from '../../src/util/logger.js';
import { SecretRegistry } from '../../src/util/redact.js';

export interface AppCommandOptions {
  port: number;
  host: string;
  db: string;
  cacheDir?: string;
  githubUrl?: string;
  keyFile?: string;
  config?: string;
  detectors?: string;
  concurrency: number;
  maxBody: number;
  maxBlobSize: number;
  verify: boolean;
  issues: boolean;
  checkRuns: boolean;
  scanNewRepos: boolean;
  /** Seconds to let work in flight finish on shutdown before it is requeued. */
  shutdownGrace: number;
  logLevel?: Level;
}

/** The part of the runtime options both `app` and `receive` derive from flags, env and .keyloop.yaml. */
export function runtimeOptions(
  opts: Pick<AppCommandOptions, 'db' | 'cacheDir' | 'githubUrl' | 'keyFile' | 'config' | 'detectors' | 'maxBlobSize' | 'verify' | 'issues' | 'checkRuns' | 'scanNewRepos' | 'logLevel'>,
  ctx: CommandContext,
  registry: SecretRegistry,
): Omit<AppRuntimeOptions, 'app' | 'token'> {
  const config = loadConfig({ root: ctx.cwd, explicit: opts.config ? resolve(ctx.cwd, opts.config) : undefined, env: ctx.env });
  const loopConfig = config.source ? parseLoopConfig({ owners: config.owners, issues: config.issues, policy: config.policy }, config.source) : defaultLoopConfig();
  const issuerUrls: Record<string, string> = {};
  for (const [id, o] of Object.entries(config.issuers ?? {})) issuerUrls[id] = o.baseUrl;
  return {
    dbPath: resolve(ctx.cwd, opts.db),
    cacheDir: resolve(ctx.cwd, opts.cacheDir ?? defaultCacheDir(ctx.env)),
    githubUrl: resolveGitHubUrl(opts.githubUrl, ctx.env),
    env: ctx.env,
    registry,
    logger: createLogger({ registry, level: opts.logLevel ?? 'info', write: (l) => ctx.stderr.write(l + '\n') }),
    fingerprintKey: config.fingerprintKey,
    maxBlobSize: opts.maxBlobSize,
    ...(opts.detectors ? { detectorsDir: resolve(ctx.cwd, opts.detectors) } : {}),
    ...(opts.keyFile ? { keyFile: resolve(ctx.cwd, opts.keyFile) } : {}),
    verify: opts.verify,
    issuerUrls,
    checkRuns: opts.checkRuns,
    scanNewRepos: opts.scanNewRepos,
    ...(opts.issues ? { loopConfig } : {}),
  };
}

export async function appCommand(opts: AppCommandOptions, ctx: CommandContext): Promise<number> {
  if (!Number.isInteger(opts.port) || opts.port > 65535) throw new ConfigError('must be a port number (0-65535)', '--port');
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new ConfigError('must be at least 1', '--concurrency');
  const registry = new SecretRegistry();
  const creds = appCredentialsFromEnv(ctx.env, ctx.cwd);
  registry.add(creds.webhookSecret);
  const base = runtimeOptions(opts, ctx, registry);
  const app = await startApp({
    ...base,
    app: { appId: creds.appId, privateKey: creds.privateKey },
    secret: creds.webhookSecret,
    port: opts.port,
    host: opts.host,
    maxBody: opts.maxBody,
    concurrency: opts.concurrency,
  });
  const log = base.logger;
  const pending = app.queue.counts();
  log.info(
    `keyloop app ${app.url} (App ${creds.appId}, GitHub ${base.githubUrl}); webhook path /api/github/webhooks` +
      (pending.queued ? `; ${pending.queued} queued delivery(ies) resumed` : ''),
  );
  await new Promise<void>((done) => {
    if (!ctx.signal) return; // no signal: run until the process is killed
    if (ctx.signal.aborted) return done();
    ctx.signal.addEventListener('abort', () => done(), { once: true });
  });
  log.info('keyloop app: shutting down (finishing work in flight)');
  const r = await app.shutdown(opts.shutdownGrace * 1000);
  const left = r.requeued ? `; ${r.requeued} requeued for the next start` : '';
  log.info(`keyloop app: stopped${left}`);
  return 0;
}
