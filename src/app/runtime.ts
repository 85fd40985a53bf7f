// Composition root of the App: store + mirrors + engine + verifier + GitHub access → handler → durable queue → server.
// `keyloop app` starts all of it; `keyloop receive` uses the same runtime without the server.
import type { Server } from 'node:http';
import { createEngine } from '../detection/engine.js';
import { contentOpener } from '../scan/contents.js';
import { packReaderEnabled } from '../scan/pack-path.js';
import { defaultDetectorsDir, loadCatalog } from '../detection/load.js';
import { GitHubApp } from '../adapters/github/app.js';
import { createGitHubClient, type GitHubClientOptions } from '../adapters/github/client.js';
import { cloneUrlFor, gitBaseUrl } from '../adapters/github/clone-url.js';
import { GitHubIssueTracker } from '../adapters/github/issue-tracker.js';
import { systemClock } from '../core/ports.js';
import type { Catalog } from '../detection/types.js';
import { globMatcher } from '../config/glob.js';
import { checkDetectorIds, type Suppression } from '../config/normalize.js';
import type { LoopConfig } from '../core/loop-config.js';
import { catalogReverify, runIssueLoop } from '../loop/run.js';
import type { Store } from '../core/store.js';
import { openStore } from '../store/open.js';
import { loadKey } from '../store/secret-key.js';
import { joinUrl } from '../verification/http.js';
import { createVerifier, type Verifier } from '../verification/verify.js';
import type { Logger } from '../util/logger.js';
import type { SecretRegistry } from '../util/redact.js';
import { GitMirrors } from '../sources/push-mirror.js';
import { createHandler, type AppDeps, type FindingsLoop, type GitHubAccess } from './handlers.js';
import type { JobQueue } from '../core/jobs.js';
import { openPgBossQueue } from '../queue/pg-boss.js';
import { createMetrics, observabilityRoutes, serveObservability, type Metrics } from '../scale/metrics.js';
import { DeliveryQueue, PermanentError, type DeliveryHandler, type DeliveryQueueLike } from './queue.js';
import { SharedDeliveryQueue } from './shared-queue.js';
import { closeServer, createAppServer, listen } from './server.js';

export interface AppRuntimeOptions {
  /** The store: a SQLite file path or a postgres:// URL. */
  db: string;
  cacheDir: string;
  githubUrl: string;
  env: Record<string, string | undefined>;
  logger: Logger;
  registry: SecretRegistry;
  /** App credentials; without them `token` (or anonymous) access is used (receive/debugging). */
  app?: { appId: number; privateKey: string };
  token?: string;
  fingerprintKey: string;
  /** The operator config's allowlists and disabled detectors. */
  suppression?: Suppression;
  /** Read each repository's .keyloop.yaml (default branch) as a narrowing-only config (default true). */
  repoConfig?: boolean;
  maxBlobSize?: number;
  detectorsDir?: string;
  /** Verify findings with their issuers (default true). */
  verify?: boolean;
  /** Also ask a live key's issuer what it can do (operator config verify.reach; default true). */
  reach?: boolean;
  /** Issuer base URL overrides (`github` defaults to githubUrl). */
  issuerUrls?: Record<string, string>;
  /** --allow-insecure-issuers: loopback http issuer URLs, including a loopback githubUrl (tests). */
  allowInsecureIssuers?: boolean;
  checkRuns?: boolean;
  scanNewRepos?: boolean;
  concurrency?: number;
  maxAttempts?: number;
  backoff?: (failures: number) => number;
  /** Octokit knobs for installation clients (tests: throttle off). */
  client?: Omit<GitHubClientOptions, 'baseUrl' | 'token'>;
  /** Run the issue loop (src/loop) on each push's findings with this config; omit for check runs only. */
  loopConfig?: LoopConfig;
  /** Store key file (default: KEYLOOP_KEY or ~/.config/keyloop/store.key). */
  keyFile?: string;
  /** PostgreSQL store: how long a replica that stopped renewing (it died) holds a delivery (default 60 s). */
  leaseSeconds?: number;
  /** Wait between empty polls of the shared queue (PostgreSQL store; default 1000 ms). */
  pollMs?: number;
  /** Serve /healthz and /metrics on their own port. */
  metrics?: { port: number; host: string };
}

export interface AppRuntime {
  store: Store;
  /** In-process (SQLite), or the push queue shared with other replicas and workers (PostgreSQL). */
  queue: DeliveryQueueLike;
  metrics: Metrics;
  deps: AppDeps;
  githubApp: GitHubApp | null;
  close(graceMs?: number): Promise<{ finished: number; requeued: number }>;
}

export function appAccess(app: GitHubApp): GitHubAccess {
  const need = (id: number | undefined): number => {
    if (id === undefined) throw new PermanentError('the delivery names no installation: is it from this GitHub App?');
    return id;
  };
  return {
    gitToken: async (id) => (await app.installationToken(need(id))).token,
    client: (id) => app.installationClient(need(id)),
  };
}

export function tokenAccess(baseUrl: string, token: string | undefined, opts: AppRuntimeOptions['client'] = {}): GitHubAccess {
  const client = createGitHubClient({ ...opts, baseUrl, ...(token ? { token } : {}) });
  return { gitToken: async () => token, client: async () => client };
}

/** The issue loop for one leaking repo, as the App runs it after each scan (issues in the repo or triage repo). */
export function issueLoop(opts: { store: Store; config: LoopConfig; catalog: Catalog; verifier?: Verifier; baseUrl: string; registry: SecretRegistry; logger: Logger }): FindingsLoop {
  return async ({ repo, findings, client, runId, verifiedSince }) => {
    const tracker = new GitHubIssueTracker({ octokit: client, baseUrl: opts.baseUrl });
    const r = await runIssueLoop({
      store: opts.store,
      tracker,
      config: opts.config,
      clock: systemClock,
      registry: opts.registry,
      logger: opts.logger,
      ...(opts.verifier ? { reverify: catalogReverify(opts.verifier, opts.catalog) } : {}),
      verifiedSince,
      catalog: opts.catalog,
      runId,
      repos: [repo.fullName],
      audit: opts.store.auditSink(),
      revokeUrl: joinUrl(opts.baseUrl, '/credentials/revoke'),
    });
    for (const w of r.warnings) opts.logger.warn(`app: ${repo.fullName}: ${w}`);
    const seen = new Set<string>();
    const issues: { ref: string; url: string | null }[] = [];
    for (const f of findings) {
      for (const i of await opts.store.issuesFor(f.fingerprint, repo.fullName)) {
        const ref = `${i.repo}#${i.number}`;
        if (i.state !== 'open' || seen.has(ref)) continue;
        seen.add(ref);
        issues.push({ ref, url: i.url });
      }
    }
    return { issues };
  };
}

export async function createAppRuntime(opts: AppRuntimeOptions): Promise<AppRuntime> {
  const store = await openStore(opts.db, { key: () => loadKey({ env: opts.env, keyFile: opts.keyFile, create: true }) });
  try {
    const catalog = loadCatalog(opts.detectorsDir ?? defaultDetectorsDir());
    if (opts.suppression) checkDetectorIds({ kind: 'operator', suppression: opts.suppression }, new Set(catalog.byId.keys()));
    const engine = createEngine(catalog);
    const maxBlobSize = opts.maxBlobSize ?? 50 * 1024 * 1024;
    const excluded = opts.suppression ? globMatcher(opts.suppression.excludePaths) : null;
    const githubApp = opts.app
      ? new GitHubApp({ appId: opts.app.appId, privateKey: opts.app.privateKey, baseUrl: opts.githubUrl, logger: opts.logger, client: opts.client })
      : null;
    const github = githubApp ? appAccess(githubApp) : tokenAccess(opts.githubUrl, opts.token, { ...opts.client, logger: opts.logger });
    const verifier =
      opts.verify === false
        ? undefined
        : createVerifier({
            baseUrls: { github: opts.githubUrl, ...opts.issuerUrls },
            allowInsecure: !!opts.allowInsecureIssuers,
            registry: opts.registry,
            logger: opts.logger,
            cache: store.verificationCache(),
            reach: opts.reach ?? true,
            audit: store.auditSink(),
          });
    // Fails at start (not per delivery) when the GitHub URL is no place to send a token to.
    gitBaseUrl(opts.githubUrl);
    const deps: AppDeps = {
      store,
      mirrors: new GitMirrors(opts.cacheDir),
      cloneUrl: (fullName) => cloneUrlFor(opts.githubUrl, fullName),
      github,
      engine,
      contents: contentOpener({ engine, jobs: 1, maxBlobSize, packReader: packReaderEnabled(opts.env) }),
      registry: opts.registry,
      logger: opts.logger,
      fingerprintKey: opts.fingerprintKey,
      ...(opts.suppression ? { suppression: opts.suppression } : {}),
      ...(excluded ? { excludePath: excluded } : {}),
      repoConfig: opts.repoConfig ?? true,
      maxBlobSize,
      ...(verifier ? { verifier } : {}),
      ...(opts.loopConfig
        ? { loop: issueLoop({ store, config: opts.loopConfig, catalog, ...(verifier ? { verifier } : {}), baseUrl: opts.githubUrl, registry: opts.registry, logger: opts.logger }) }
        : {}),
      checkRuns: opts.checkRuns ?? true,
      scanNewRepos: opts.scanNewRepos ?? false,
    };
    const { queue, jobs, metrics } = await deliveryQueue(opts, store, createHandler(deps));
    deps.enqueue = (d) => queue.enqueue(d);
    return {
      store,
      queue,
      metrics,
      deps,
      githubApp,
      async close(graceMs = 20_000) {
        const r = await queue.stop(graceMs);
        await jobs?.close();
        await store.close();
        return r;
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** SQLite: the in-process queue over the deliveries table. PostgreSQL: the push queue every replica shares. */
async function deliveryQueue(opts: AppRuntimeOptions, store: Store, handler: DeliveryHandler): Promise<{ queue: DeliveryQueueLike; jobs?: JobQueue; metrics: Metrics }> {
  const common = { store, handler, concurrency: opts.concurrency ?? 2, logger: opts.logger, scrub: (t: string) => opts.registry.scrub(t) };
  if (store.kind !== 'postgres') {
    const queue = new DeliveryQueue({ ...common, maxAttempts: opts.maxAttempts ?? 5, ...(opts.backoff ? { backoff: opts.backoff } : {}) });
    return { queue, metrics: createMetrics('app') };
  }
  const jobs = await openPgBossQueue(opts.db, {
    leaseSeconds: opts.leaseSeconds ?? 60,
    maxAttempts: opts.maxAttempts ?? 5,
    retryDelaySeconds: 2,
    maxConnections: common.concurrency + 3,
    logger: opts.logger,
    scrub: common.scrub,
  });
  const metrics = createMetrics('app', jobs);
  const queue = new SharedDeliveryQueue({ ...common, jobs, ...(opts.pollMs ? { pollMs: opts.pollMs } : {}), onOutcome: (n, o, s) => metrics.jobOutcome(n, o, s) });
  return { queue, jobs, metrics };
}

export interface RunningApp extends AppRuntime {
  server: Server;
  url: string;
  /** Where /healthz and /metrics are served (with `metrics`). */
  metricsUrl?: string;
  /** Stop accepting webhooks, finish or requeue work in flight, close the database. */
  shutdown(graceMs?: number): Promise<{ finished: number; requeued: number }>;
}

export async function startApp(
  opts: AppRuntimeOptions & { secret: string; port: number; host: string; maxBody?: number },
): Promise<RunningApp> {
  const rt = await createAppRuntime(opts);
  const server = createAppServer({
    secret: opts.secret,
    queue: rt.queue,
    logger: opts.logger,
    onDelivery: (o) => rt.metrics.delivery(o),
    ...(opts.maxBody ? { maxBody: opts.maxBody } : {}),
  });
  let url: string;
  let observability: Server | undefined;
  let metricsUrl: string | undefined;
  try {
    url = await listen(server, opts.port, opts.host);
    if (opts.metrics) {
      const routes = observabilityRoutes(rt.metrics, async () => ({ ok: true, store: rt.store.kind, deliveries: await rt.queue.counts() }));
      ({ url: metricsUrl, server: observability } = await serveObservability(routes, opts.metrics.port, opts.metrics.host));
    }
  } catch (err) {
    await closeServer(server).catch(() => {});
    await rt.close(0);
    throw err;
  }
  await rt.queue.start();
  let stopping: Promise<{ finished: number; requeued: number }> | null = null;
  return {
    ...rt,
    server,
    url,
    ...(metricsUrl ? { metricsUrl } : {}),
    shutdown(graceMs) {
      stopping ??= (async () => {
        await closeServer(server);
        observability?.close();
        return rt.close(graceMs);
      })();
      return stopping;
    },
  };
}
