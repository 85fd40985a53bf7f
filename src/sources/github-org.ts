// `keyloop org` as a library: list an org's repos, mirror each, scan only blobs not scanned before, record it
// all in the store (one transaction per repo), repos in parallel. A killed run resumes where it stopped.
import { existsSync } from 'node:fs';
import PQueue from 'p-queue';
import { asError, ConfigError, InternalError, NotARepositoryError, StoreUnavailableError } from '../core/errors.js';
import { recordScan, scanRepository, type RepositoryScan, type ScanPorts } from '../core/pipeline.js';
import type { HostedRepo, RepoFilter, RepoHost } from '../core/ports.js';
import { catalogVersion } from '../detection/catalog-version.js';
import type { Engine } from '../detection/types.js';
import type { RepoRow, RunRow, ScanCounts, Store } from '../core/store.js';
import { silentLogger, type Logger } from '../util/logger.js';
import type { SecretRegistry } from '../util/redact.js';
import type { Suppression } from '../config/normalize.js';
import { syncMirror, MirrorError } from './mirror.js';
import { mirrorNarrowing } from './repo-config.js';

/** One repository of a run; suppressedByRepoConfig: what its own .keyloop.yaml dropped (allowlists, paths, detectors). */
export interface RepoOutcome extends ScanCounts {
  repo: string;
  /** 'resumed': finished by the interrupted run this one continues, not touched again. */
  status: 'done' | 'failed' | 'resumed';
  /** 'unchanged': the host reports no push since the last successful scan, so nothing was fetched. */
  mirror?: 'cloned' | 'fetched' | 'unchanged';
  newSecrets: number;
  elapsedMs: number;
  error?: string;
}

/** What a run reports as it goes, for a progress display. */
export interface OrgScanProgress {
  /** The org is listed: `total` repositories, `alreadyDone` of them finished by the interrupted run this one resumes. */
  listed(total: number, alreadyDone: number): void;
  started(repo: string): void;
  /** Bytes scanned so far in `repo` (grows while it is scanned). */
  bytes(repo: string, bytes: number): void;
  /** Every outcome, `resumed` ones included (those right after listed()). */
  finished(outcome: RepoOutcome): void;
}

/** What the end-of-run hook receives: verification and issues plug in here (src/loop). */
export interface AfterScanContext {
  runId: number;
  org: string;
  store: Store;
  host: RepoHost;
  /** Every repo listed for this run (filters applied). */
  repos: HostedRepo[];
  outcomes: RepoOutcome[];
  /** Fingerprints of every finding seen in this process's part of the run (new or not). */
  fingerprints: Set<string>;
  signal?: AbortSignal;
  logger: Logger;
}

export interface OrgScanOptions {
  org: string;
  host: RepoHost;
  store: Store;
  engine: Engine;
  /** The pipeline's `open` port: how a mirror's blobs are enumerated and matched (src/scan/contents.ts contentOpener). */
  contents: ScanPorts['open'];
  cacheDir: string;
  filter?: RepoFilter;
  /** Repos processed at once (default 4). */
  concurrency?: number;
  maxBlobSize: number;
  /** Fetch every repo even when its pushed_at is unchanged since the last successful scan. */
  refetch?: boolean;
  /**
   * Scan every blob again; rows already stored are not duplicated. Not needed after a catalog change: blobs are
   * skipped only by the catalog version that scanned them.
   */
  rescan?: boolean;
  fingerprintKey?: string;
  gitBackend?: 'auto' | 'native' | 'isomorphic';
  excludePath?: (path: string) => boolean;
  /** The operator config's allowlists and disabled detectors: findings dropped before they are stored. */
  suppression?: Suppression;
  /** Fingerprints never recorded (triaged false positives). */
  suppressFingerprints?: ReadonlySet<string>;
  /** Read each repository's .keyloop.yaml from its default branch as a narrowing-only config (--no-repo-config: false). */
  repoConfig?: boolean;
  registry?: SecretRegistry;
  logger?: Logger;
  signal?: AbortSignal;
  onRepo?: (o: RepoOutcome) => void;
  /** Progress display (src/notify/org-progress.ts): the total once listed, each repo's start, bytes and end. */
  progress?: OrgScanProgress;
  /** Runs after every repo is recorded; a throw marks the run failed (its message is kept on the run). */
  afterScan?: (ctx: AfterScanContext) => Promise<void>;
}

export interface OrgScanSummary {
  runId: number;
  org: string;
  resumed: boolean;
  status: RunRow['status'];
  repos: RepoOutcome[];
  /** Counters over the whole run (including the part done before a resume). */
  run: RunRow;
  failed: number;
  elapsedMs: number;
}

export async function scanOrg(opts: OrgScanOptions): Promise<OrgScanSummary> {
  const started = Date.now();
  const log = opts.logger ?? silentLogger;
  const { store } = opts;
  const handle = await store.beginRun('org', opts.org);
  if (handle.resumed) log.info(`resuming run ${handle.id} (${handle.finishedRepos.size} repos already done)`);

  let repos: HostedRepo[];
  try {
    repos = await opts.host.listRepos(opts.org, opts.filter);
  } catch (err) {
    await store.finishRun(handle.id, 'failed', (err as Error).message);
    throw err;
  }
  await store.setRunTotal(handle.id, repos.length);
  log.info(`${opts.org}: ${repos.length} repositories`);
  opts.progress?.listed(repos.length, repos.filter((r) => handle.finishedRepos.has(r.fullName)).length);

  const outcomes: RepoOutcome[] = [];
  let fatal: Error | undefined;
  const fingerprints = new Set<string>();
  const queue = new PQueue({ concurrency: Math.max(1, opts.concurrency ?? 4) });

  const push = (o: RepoOutcome) => {
    outcomes.push(o);
    opts.onRepo?.(o);
    opts.progress?.finished(o);
  };

  for (const repo of repos) {
    if (handle.finishedRepos.has(repo.fullName)) {
      push({ repo: repo.fullName, status: 'resumed', blobsScanned: 0, blobsSkipped: 0, bytesScanned: 0, findings: 0, newSecrets: 0, suppressedByRepoConfig: 0, elapsedMs: 0 });
      continue;
    }
    queue
      .add(async () => {
        if (opts.signal?.aborted || fatal) return;
        opts.progress?.started(repo.fullName);
        const o = await scanOneRepo(repo, handle.id, opts, fingerprints, log);
        if (o) push(o);
      })
      .catch((err: unknown) => {
        // Not a repo's fault (bad key, unwritable database, a bug): stop the whole run.
        fatal ??= asError(err);
        queue.clear();
      });
  }
  await queue.onIdle();
  if (fatal) {
    await store.finishRun(handle.id, 'failed', fatal.message);
    throw fatal;
  }

  let status: 'completed' | 'failed' | 'interrupted' = opts.signal?.aborted ? 'interrupted' : 'completed';
  let error: string | undefined;
  if (status === 'completed' && opts.afterScan) {
    try {
      await opts.afterScan({ runId: handle.id, org: opts.org, store, host: opts.host, repos, outcomes, fingerprints, signal: opts.signal, logger: log });
    } catch (err) {
      status = opts.signal?.aborted ? 'interrupted' : 'failed';
      error = `after-scan: ${(err as Error).message}`;
      log.error(error);
    }
  }
  const run = await store.finishRun(handle.id, status, error);
  outcomes.sort((a, b) => a.repo.localeCompare(b.repo));
  return {
    runId: handle.id,
    org: opts.org,
    resumed: handle.resumed,
    status,
    repos: outcomes,
    run,
    failed: outcomes.filter((o) => o.status === 'failed').length,
    elapsedMs: Date.now() - started,
  };
}

/** What scanning one repository of a run needs (an org run in this process, or a `scan-repo` job in a worker). */
export type RepoScanOptions = Pick<
  OrgScanOptions,
  | 'host'
  | 'store'
  | 'engine'
  | 'contents'
  | 'cacheDir'
  | 'maxBlobSize'
  | 'refetch'
  | 'rescan'
  | 'fingerprintKey'
  | 'gitBackend'
  | 'excludePath'
  | 'suppression'
  | 'suppressFingerprints'
  | 'repoConfig'
  | 'registry'
  | 'signal'
  | 'progress'
>;

/**
 * The host reports no push since the last successful scan, of the same default branch, into a mirror still there,
 * and that scan's catalog is this one.
 */
function unchanged(prev: RepoRow | undefined, repo: HostedRepo, catalog: string): boolean {
  if (!repo.pushedAt || prev?.pushedAt !== repo.pushedAt || !prev.lastScannedAt || prev.lastError !== null || prev.catalog !== catalog) return false;
  return prev.defaultBranch === repo.defaultBranch && !!prev.mirrorPath && existsSync(prev.mirrorPath);
}

/** Scans a mirror's whole history, blobs `known` to this catalog left out, narrowed by the repo's own and the operator's suppressions. */
function scanMirror(path: string, repo: HostedRepo, known: Set<string> | undefined, opts: RepoScanOptions, log: Logger): Promise<RepositoryScan> {
  const narrow = mirrorNarrowing(path, repo, {
    repoConfig: !!opts.repoConfig,
    detectorIds: new Set(opts.engine.catalog.byId.keys()),
    operator: opts.suppression ?? null,
    fingerprints: opts.suppressFingerprints ?? null,
    warn: (w) => log.warn(w),
  });
  return scanRepository({ kind: 'git', dir: path, backend: opts.gitBackend ?? 'auto' }, { kind: 'all' }, { open: opts.contents, narrow }, {
    maxBlobSize: opts.maxBlobSize,
    ...(known ? { known } : {}),
    excludePath: opts.excludePath,
    fingerprintKey: opts.fingerprintKey,
    registry: opts.registry,
    signal: opts.signal,
    onProgress: opts.progress ? (st) => opts.progress!.bytes(repo.fullName, st.bytes) : undefined,
  });
}

/**
 * Mirrors and scans one repository of run `runId` and records it (one transaction), or records why it failed.
 * null: interrupted (nothing recorded; the repo is scanned again). Throws what is not the repo's fault.
 */
export async function scanOneRepo(
  repo: HostedRepo,
  runId: number,
  opts: RepoScanOptions,
  fingerprints: Set<string>,
  log: Logger,
): Promise<RepoOutcome | null> {
  const t0 = Date.now();
  const { store } = opts;
  const base = { repo: repo.fullName, blobsScanned: 0, blobsSkipped: 0, bytesScanned: 0, findings: 0, newSecrets: 0, suppressedByRepoConfig: 0 };
  let mirror: RepoOutcome['mirror'];
  const fail = async (message: string): Promise<RepoOutcome> => {
    const elapsedMs = Date.now() - t0;
    await store.recordRepoFailure(runId, repo.fullName, message, elapsedMs);
    log.warn(`${repo.fullName}: ${message}`);
    return { ...base, status: 'failed', mirror, elapsedMs, error: message };
  };
  const catalog = catalogVersion(opts.engine.catalog);
  try {
    if (!opts.refetch && !opts.rescan && unchanged(await store.getRepo(repo.fullName), repo, catalog)) {
      await store.recordRepoScan(runId, repo.fullName, { findings: [], blobs: [], elapsedMs: Date.now() - t0 });
      return { ...base, status: 'done', mirror: 'unchanged', elapsedMs: Date.now() - t0 };
    }
    const credentials = await opts.host.gitCredentials(repo.fullName);
    const m = await syncMirror(repo, { cacheDir: opts.cacheDir, credentials, backend: opts.gitBackend, signal: opts.signal });
    mirror = m.action;
    await store.upsertRepo({
      fullName: repo.fullName,
      defaultBranch: repo.defaultBranch,
      cloneUrl: repo.cloneUrl,
      fork: repo.fork,
      archived: repo.archived,
      private: repo.private,
      mirrorPath: m.path,
    });
    if (opts.signal?.aborted) return null;
    const known = opts.rescan ? undefined : await store.scannedBlobs(repo.fullName, catalog);
    const result = await scanMirror(m.path, repo, known, opts, log);
    // An interrupted scan is not recorded: the resumed run rescans this repo from its last committed state.
    if (opts.signal?.aborted) return null;
    const rec = await recordScan(result, store, { runId, repo: repo.fullName, pushedAt: repo.pushedAt ?? null, elapsedMs: Date.now() - t0 });
    for (const f of result.findings) fingerprints.add(f.fingerprint);
    if (rec.unreadable.length) return await fail(`${rec.unreadable.length} problem(s) reading objects (corrupt or missing): ${rec.unreadable.slice(0, 3).join('; ')}`);
    const o: RepoOutcome = {
      ...base,
      status: 'done',
      mirror,
      blobsScanned: rec.blobsScanned,
      blobsSkipped: rec.blobsSkipped,
      bytesScanned: result.stats.bytes,
      findings: result.findings.length,
      newSecrets: rec.newSecrets,
      suppressedByRepoConfig: result.suppressedByRepository,
      elapsedMs: Date.now() - t0,
    };
    log.debug(`${repo.fullName}: ${mirror}, ${o.blobsScanned} blobs scanned, ${o.findings} findings in ${o.elapsedMs} ms`);
    return o;
  } catch (err) {
    if (opts.signal?.aborted) return null;
    // Not this repo's fault (bad key, database gone, a bug): the whole run stops.
    if (err instanceof ConfigError || err instanceof InternalError || err instanceof StoreUnavailableError) throw err;
    if (err instanceof MirrorError) return fail(`${err.kind}: ${err.message}`);
    if (err instanceof NotARepositoryError) return fail(`mirror at ${err.message}`);
    return fail(opts.registry ? opts.registry.scrub((err as Error).message) : (err as Error).message);
  }
}
