// `keyloop org ORG`: crawl every repository of a GitHub org into the store. All work happens in src/sources/github-org.ts.
// Exit codes: 0 every repo scanned; 1 at least one repo failed (or the after-scan hook failed); 2 bad
// arguments/config or the org could not be listed; 130 interrupted (SIGINT/SIGTERM; rerun to resume).
import { resolve } from 'node:path';
import type { CommandContext } from '../context.js';
import { ConfigError, StoreUnavailableError } from '../../src/core/errors.js';
import { createGitHubClient, GitHubRepoHost, resolveGitHubUrl, resolveToken } from '../../src/adapters/github/index.js';
import { globMatcher } from '../../src/config/glob.js';
import { loadOperatorConfig, unusedCwdConfigHint } from '../../src/config/load.js';
import { checkDetectorIds } from '../../src/config/normalize.js';
import { createEngine } from '../../src/detection/engine.js';
import { defaultDetectorsDir, loadCatalog } from '../../src/detection/load.js';
import { suppressedFingerprints } from '../../src/loop/triage.js';
import { scanOrg, type AfterScanContext, type OrgScanSummary } from '../../src/sources/github-org.js';
import { defaultCacheDir } from '../../src/sources/mirror.js';
import { contentOpener } from '../../src/scan/contents.js';
import { packReaderEnabled } from '../../src/scan/pack-path.js';
import { enqueueOrgRun, type EnqueueResult } from '../../src/scale/org-run.js';
import { queuedRunSummary } from '../../src/scale/run-status.js';
import { openPgBossQueue } from '../../src/queue/pg-boss.js';
import type { Store } from '../../src/core/store.js';
import { createOrgProgress } from '../../src/notify/org-progress.js';
import { createLogger, type Logger, type LogFormat } from '../../src/util/logger.js';
import { SecretRegistry } from '../../src/util/redact.js';
import { renderTable } from './secrets.js';
import { dbSpecOf, openCommandStore } from './store.js';

export interface OrgCommandOptions {
  org: string;
  includeForks: boolean;
  includeArchived: boolean;
  repos?: string[];
  exclude?: string[];
  cacheDir?: string;
  db?: string;
  keyFile?: string;
  githubUrl?: string;
  token?: string;
  format: 'table' | 'json';
  concurrency: number;
  gitBackend: 'auto' | 'native' | 'isomorphic';
  maxBlobSize: number;
  config?: string;
  /** false: --no-repo-config (each repository's .keyloop.yaml is not read). */
  repoConfig?: boolean;
  detectors?: string;
  progress: boolean;
  refetch: boolean;
  rescan: boolean;
  /** Hand the run to `keyloop worker` processes (PostgreSQL store): one scan-repo job per repository. */
  enqueue?: boolean;
  /** With --enqueue: block until the run ends, then print the same summary as a local run. */
  wait?: boolean;
  /** With --enqueue: re-verify what each repository's scan found (verify jobs). */
  verify?: boolean;
  dryRun?: boolean;
  logFormat?: LogFormat;
}

/** What later features plug in without touching argument parsing (verification + issues at the end of the run). */
export interface OrgCommandDeps {
  afterScan?: (ctx: AfterScanContext) => Promise<void>;
  /** Test knobs for the GitHub client (shorter rate-limit waits). */
  client?: { retryAfterBaseValue?: number; throttle?: boolean };
  /** How often the plain (not a TTY) progress prints a line at least (default 15 s). */
  progressIntervalMs?: number;
}

export async function orgCommand(opts: OrgCommandOptions, ctx: CommandContext, deps: OrgCommandDeps = {}): Promise<number> {
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(opts.org)) throw new ConfigError(`not a GitHub organization name: "${opts.org}"`, 'ORG');
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new ConfigError('must be at least 1', '--concurrency');
  if (!opts.enqueue && (opts.wait || opts.verify)) throw new ConfigError(`${opts.wait ? '--wait' : '--verify'} goes with --enqueue`, opts.wait ? '--wait' : '--verify');
  const registry = new SecretRegistry();
  const token = resolveToken(opts.token, ctx.env);
  if (token) registry.add(token);
  // a bar on a TTY, plain periodic lines otherwise; log lines go through it so the bar is not torn (JSON logs: none)
  const progress = opts.progress && opts.logFormat !== 'json' && !opts.enqueue ? createOrgProgress({ org: opts.org, stream: ctx.stderr, intervalMs: deps.progressIntervalMs }) : undefined;
  const logger = createLogger({ registry, format: opts.logFormat ?? 'text', write: (l) => (progress ? progress.log(l) : ctx.stderr.write(l + '\n')) });
  const baseUrl = resolveGitHubUrl(opts.githubUrl, ctx.env);
  if (!token) logger.warn('no token (--token / GITHUB_TOKEN): only public repositories, and a low API rate limit');
  if (opts.enqueue) return enqueueCommand(opts, ctx, { token, baseUrl, logger, issues: !!deps.afterScan, client: deps.client });

  const config = await loadOperatorConfig({ explicit: opts.config, cwd: ctx.cwd, env: ctx.env });
  const hint = unusedCwdConfigHint(ctx.cwd, config);
  if (hint) logger.warn(hint);
  const catalog = loadCatalog(opts.detectors ? resolve(ctx.cwd, opts.detectors) : defaultDetectorsDir());
  checkDetectorIds(config, new Set(catalog.byId.keys()));
  const engine = createEngine(catalog);
  const excluded = globMatcher(config.suppression.excludePaths);

  const octokit = createGitHubClient({ baseUrl, token, logger, ...deps.client });
  const host = new GitHubRepoHost(octokit, { token });
  const store = await openCommandStore(opts, ctx, { key: 'create' });
  // Secrets triaged as false positives are not recorded again (triage feeds later scans).
  let triaged: Set<string>;
  let summary: OrgScanSummary;
  try {
    triaged = await suppressedFingerprints(store);
    summary = await scanOrg({
      org: opts.org,
      host,
      store,
      engine,
      contents: contentOpener({ engine, jobs: 1, maxBlobSize: opts.maxBlobSize, packReader: packReaderEnabled(ctx.env) }),
      cacheDir: opts.cacheDir ? resolve(ctx.cwd, opts.cacheDir) : defaultCacheDir(ctx.env),
      filter: filterOf(opts),
      concurrency: opts.concurrency,
      maxBlobSize: opts.maxBlobSize,
      refetch: opts.refetch,
      rescan: opts.rescan,
      fingerprintKey: config.fingerprintKey,
      gitBackend: opts.gitBackend,
      excludePath: excluded ?? undefined,
      suppression: config.suppression,
      suppressFingerprints: triaged,
      repoConfig: opts.repoConfig !== false,
      registry,
      logger,
      signal: ctx.signal,
      progress,
      afterScan: deps.afterScan,
    });
  } finally {
    progress?.stop();
    await store.close();
  }

  ctx.stdout.write(opts.format === 'json' ? JSON.stringify(summaryJson(summary), null, 2) + '\n' : summaryTable(summary));
  if (summary.status === 'interrupted') return 130;
  return summary.failed > 0 || summary.status === 'failed' ? 1 : 0;
}

/** --enqueue: list the org, queue one job per repository for the workers, and (with --wait) print the run's end. */
async function enqueueCommand(
  opts: OrgCommandOptions,
  ctx: CommandContext,
  o: { token?: string; baseUrl: string; logger: Logger; issues: boolean; client?: OrgCommandDeps['client'] },
): Promise<number> {
  if (opts.dryRun) throw new ConfigError('--dry-run runs the issue loop here: not with --enqueue', '--dry-run');
  const started = Date.now();
  const host = new GitHubRepoHost(createGitHubClient({ baseUrl: o.baseUrl, token: o.token, logger: o.logger, ...o.client }), { token: o.token });
  const store = await openCommandStore(opts, ctx, {});
  try {
    if (store.kind !== 'postgres') throw new ConfigError('--enqueue needs a PostgreSQL store (postgres://…): the job queue lives there', '--db');
    const queue = await openPgBossQueue(dbSpecOf(opts, ctx), { supervise: false, maxConnections: 2, logger: o.logger });
    let r: EnqueueResult;
    try {
      r = await enqueueOrgRun({ store, queue, host, logger: o.logger }, opts.org, filterOf(opts), {
        issues: o.issues,
        verify: !!opts.verify,
        rescan: opts.rescan,
        refetch: opts.refetch,
      });
    } finally {
      await queue.close();
    }
    if (!opts.wait) {
      ctx.stdout.write(
        opts.format === 'json'
          ? JSON.stringify({ runId: r.runId, org: opts.org, status: 'queued', resumed: r.resumed, repos: r.repos }, null, 2) + '\n'
          : `run ${r.runId} queued for workers: ${r.repos} repositories${r.resumed ? ' (the unfinished run was continued)' : ''}; see \`keyloop runs\`\n`,
      );
      return 0;
    }
    o.logger.info(`run ${r.runId}: ${r.repos} repositories queued for workers; waiting for it to end`);
    if (!(await runEnded(store, r.runId, o.logger, ctx.signal))) {
      o.logger.info(`stopped waiting; run ${r.runId} goes on in the workers (\`keyloop runs\`)`);
      return 130;
    }
    const summary = await queuedRunSummary(store, r.runId, r.resumed, Date.now() - started);
    ctx.stdout.write(opts.format === 'json' ? JSON.stringify(summaryJson(summary), null, 2) + '\n' : summaryTable(summary));
    return summary.failed > 0 || summary.status === 'failed' ? 1 : 0;
  } finally {
    await store.close();
  }
}

/** Polls the run until it is no longer running (true) or the signal aborts (false); a database restart is waited out. */
async function runEnded(store: Store, runId: number, log: Logger, signal?: AbortSignal): Promise<boolean> {
  let down = false;
  for (;;) {
    if (signal?.aborted) return false;
    try {
      if ((await store.getRun(runId))?.status !== 'running') return true;
      down = false;
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      if (!down) log.warn(`${err.message}; still waiting`);
      down = true;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

const filterOf = (opts: OrgCommandOptions) => ({ includeForks: opts.includeForks, includeArchived: opts.includeArchived, include: opts.repos, exclude: opts.exclude });

function summaryJson(s: OrgScanSummary) {
  return { runId: s.runId, org: s.org, status: s.status, resumed: s.resumed, elapsedMs: s.elapsedMs, run: s.run, repos: s.repos };
}

/** One line naming the repositories whose own .keyloop.yaml hid findings, or ''. */
function suppressionLine(s: OrgScanSummary): string {
  const by = s.repos.filter((r) => r.suppressedByRepoConfig > 0);
  if (by.length === 0) return '';
  const list = by.map((r) => `${r.repo} ${r.suppressedByRepoConfig}`).join(', ');
  return `suppressed by repository .keyloop.yaml: ${list} (--no-repo-config reports them)\n`;
}

function summaryTable(s: OrgScanSummary): string {
  const rows = s.repos
    .filter((r) => r.status !== 'resumed')
    .map((r) => [r.repo, r.status, r.mirror ?? '-', String(r.blobsScanned), String(r.findings), String(r.newSecrets), String(r.suppressedByRepoConfig), `${r.elapsedMs} ms`, r.error ?? '']);
  const run = s.run;
  const resumed = s.repos.filter((r) => r.status === 'resumed').length;
  return (
    renderTable(['REPO', 'STATUS', 'MIRROR', 'BLOBS', 'FINDINGS', 'NEW', 'REPO-SUPPRESSED', 'TIME', 'ERROR'], rows, { maxWidth: { 0: 40, 8: 80 } }) +
    '\n' +
    `run ${run.id} ${run.status}${s.resumed ? ` (resumed; ${resumed} repos done before)` : ''}: ${run.reposTotal} repos, ` +
    `${run.reposDone} done, ${run.reposFailed} failed; ${run.blobsScanned} blobs scanned (${(run.bytesScanned / 1e6).toFixed(1)} MB), ` +
    `${run.findings} findings, ${run.newSecrets} new secrets, ${run.suppressedByRepoConfig} suppressed by repository configs; ` +
    `${(s.elapsedMs / 1000).toFixed(2)} s\n` +
    suppressionLine(s)
  );
}
