// What a delivery does. push: fetch the mirror, scan only the blobs the push introduced, store, verify, hand the
// findings to the issue loop, and put a `keyloop` check run on the pushed commit. installation events: register
// or forget repositories (optionally queueing a full scan of new ones).
import { NotARepositoryError } from '../core/errors.js';
import type { RawFinding } from '../core/model.js';
import type { BlobSelection } from '../core/ports.js';
import { recordScan, scanRepository, verifyFindings, type ScanPorts } from '../core/pipeline.js';
import { catalogVersion } from '../detection/catalog-version.js';
import type { Engine } from '../detection/types.js';
import type { GitHubClient } from '../adapters/github/client.js';
import { publishCheckRun, renderCheckRun, type CheckFinding } from '../adapters/github/check-runs.js';
import { GitHubRepoHost } from '../adapters/github/repo-host.js';
import type { Suppression } from '../config/normalize.js';
import { suppressedFingerprints } from '../loop/triage.js';
import { mirrorNarrowing } from '../sources/repo-config.js';
import type { Store } from '../core/store.js';
import { findingsVerifier } from '../verification/findings.js';
import type { Verifier } from '../verification/verify.js';
import type { Logger } from '../util/logger.js';
import type { SecretRegistry } from '../util/redact.js';
import { RepoInfo, type FullScanJob, type Job, type PushJob, type ReposJob } from './events.js';
import type { GitMirrors } from '../sources/push-mirror.js';
import { planPush } from '../sources/push-range.js';
import { PermanentError, type Delivery, type DeliveryHandler, type DeliveryInput } from './queue.js';

/** How the App reaches GitHub: an App installation, or a plain token for `keyloop receive` debugging. */
export interface GitHubAccess {
  /** Token for fetching the repo over HTTPS (undefined: anonymous). */
  gitToken(installationId: number | undefined): Promise<string | undefined>;
  client(installationId: number | undefined): Promise<GitHubClient>;
}

export interface LoopInput {
  repo: RepoInfo;
  /** Verified findings with plaintext (in-process only); the loop decides issues, owners, closes. */
  findings: RawFinding[];
  client: GitHubClient;
  runId: number;
  signal: AbortSignal;
  /** Checks at or after this instant were made for this delivery: the loop need not repeat them. */
  verifiedSince: string;
}
/** The issue loop (src/loop): returns the issues it opened or updated, for the check-run summary. */
export type FindingsLoop = (input: LoopInput) => Promise<{ issues: { ref: string; url: string | null }[] }>;

export interface AppDeps {
  store: Store;
  mirrors: GitMirrors;
  github: GitHubAccess;
  engine: Engine;
  /** The pipeline's `open` port: how a mirror's blobs are enumerated and matched (src/scan/contents.ts contentOpener). */
  contents: ScanPorts['open'];
  registry: SecretRegistry;
  logger: Logger;
  fingerprintKey: string;
  /** The operator config's allowlists and disabled detectors. */
  suppression?: Suppression;
  /** Paths never read (the operator config's excludes), as in org runs. */
  excludePath?: (path: string) => boolean;
  /** Apply each repository's own .keyloop.yaml (read from its default branch), counting what it drops. */
  repoConfig?: boolean;
  maxBlobSize: number;
  verifier?: Verifier;
  loop?: FindingsLoop;
  /** Post the `keyloop` check run on pushed commits (default true). */
  checkRuns?: boolean;
  /** Queue a full-history scan of repositories the App is newly installed on. */
  scanNewRepos?: boolean;
  /** How follow-up work (full scans) is queued; set by the composition root. */
  enqueue?: (d: DeliveryInput) => unknown;
  /**
   * Where to fetch `owner/name` from, derived from the configured GitHub (adapters/github/clone-url.ts). Never a
   * payload's clone_url: a delivery must not choose where the installation token is sent.
   */
  cloneUrl: (fullName: string) => string;
}

export interface ScanSummary {
  kind: string;
  repo: string;
  commits: number;
  blobs: number;
  findings: number;
  newSecrets: number;
  /** Findings the repository's own .keyloop.yaml dropped. */
  suppressedByRepoConfig?: number;
  conclusion?: 'success' | 'failure';
  checkRunId?: number;
  reason?: string;
  timings: Record<string, number>;
}

const withoutPlaintext = (f: RawFinding): CheckFinding => {
  const { secret: _s, parts: _p, ...rest } = f;
  return rest;
};

export function createHandler(deps: AppDeps): DeliveryHandler {
  return async (d: Delivery, signal: AbortSignal) => {
    const job: Job = d.job;
    switch (job.kind) {
      case 'push':
        return handlePush(deps, job, signal);
      case 'repos':
        return handleRepos(deps, job, d.guid);
      case 'full-scan':
        return handleFullScan(deps, job, signal);
    }
  };
}

interface ScanOutcome {
  findings: RawFinding[];
  commits: number;
  blobs: number;
  newSecrets: number;
  suppressedByRepoConfig: number;
  issues: { ref: string; url: string | null }[];
  runId: number;
}

/** scanRepository → recordScan → verify → loop, for one repo and one selection. */
async function scanAndRecord(
  deps: AppDeps,
  repo: RepoInfo,
  gitDir: string,
  selection: BlobSelection,
  installationId: number | undefined,
  target: string,
  kind: 'push' | 'app',
  signal: AbortSignal,
  timings: Record<string, number>,
  skipKnownBlobs: boolean,
): Promise<ScanOutcome> {
  const run = await deps.store.beginRun(kind, target);
  try {
    const known = skipKnownBlobs ? await deps.store.scannedBlobs(repo.fullName, catalogVersion(deps.engine.catalog)) : undefined;
    const narrow = mirrorNarrowing(gitDir, repo, {
      repoConfig: !!deps.repoConfig,
      detectorIds: new Set(deps.engine.catalog.byId.keys()),
      operator: deps.suppression ?? null,
      fingerprints: await suppressedFingerprints(deps.store),
      warn: (w) => deps.logger.warn(`app: ${w}`),
    });
    let t = Date.now();
    const result = await scanRepository({ kind: 'git', dir: gitDir }, selection, { open: deps.contents, narrow }, {
      maxBlobSize: deps.maxBlobSize,
      excludePath: deps.excludePath,
      fingerprintKey: deps.fingerprintKey,
      registry: deps.registry,
      signal,
      ...(known ? { known } : {}),
    });
    signal.throwIfAborted();
    timings.scanMs = Date.now() - t;

    t = Date.now();
    const rec = await recordScan(result, deps.store, { runId: run.id, repo: repo.fullName, elapsedMs: result.stats.elapsedMs });
    timings.storeMs = Date.now() - t;

    const verifiedSince = new Date().toISOString();
    if (deps.verifier && result.findings.length > 0) {
      t = Date.now();
      await verifyFindings(result.findings, findingsVerifier(deps.verifier, deps.engine.catalog));
      timings.verifyMs = Date.now() - t;
    }

    let issues: ScanOutcome['issues'] = [];
    if (deps.loop && result.findings.length > 0) {
      t = Date.now();
      const client = await deps.github.client(installationId);
      ({ issues } = await deps.loop({ repo, findings: result.findings, client, runId: run.id, signal, verifiedSince }));
      timings.loopMs = Date.now() - t;
    }
    await deps.store.finishRun(run.id, 'completed');
    return { findings: result.findings, commits: result.commits, blobs: result.blobs.size, newSecrets: rec.newSecrets, suppressedByRepoConfig: result.suppressedByRepository, issues, runId: run.id };
  } catch (err) {
    const msg = deps.registry.scrub((err as Error).message ?? String(err));
    await deps.store.recordRepoFailure(run.id, repo.fullName, msg);
    await deps.store.finishRun(run.id, signal.aborted ? 'interrupted' : 'failed', msg);
    throw err instanceof NotARepositoryError ? new PermanentError(`mirror ${err.message}`) : err;
  }
}

async function handlePush(deps: AppDeps, job: PushJob, signal: AbortSignal): Promise<ScanSummary> {
  const started = Date.now();
  const timings: Record<string, number> = {};
  const base = { repo: job.repo.fullName, commits: 0, blobs: 0, findings: 0, newSecrets: 0, timings };
  if (job.deleted) return { ...base, kind: 'skipped', reason: 'branch-deleted' };

  const cloneUrl = deps.cloneUrl(job.repo.fullName);
  const token = await deps.github.gitToken(job.installationId);
  await deps.store.upsertRepo({ fullName: job.repo.fullName, cloneUrl, defaultBranch: job.repo.defaultBranch ?? null, private: job.repo.private });
  const sync = await deps.mirrors.sync({ fullName: job.repo.fullName, cloneUrl, token }, signal);
  timings.fetchMs = sync.fetchMs;
  await deps.store.upsertRepo({ fullName: job.repo.fullName, mirrorPath: sync.gitDir });

  const plan = await planPush(sync.gitDir, job, sync.fresh ? sync.refsAfter : sync.refsBefore);
  if (!plan.scan) return { ...base, kind: 'skipped', reason: plan.reason };

  const scope = `${plan.kind} ${job.ref.replace(/^refs\/(heads|tags)\//, '')} ${plan.kind === 'new-ref' ? '' : job.before.slice(0, 7) + '..'}${job.after.slice(0, 7)}`;
  const out = await scanAndRecord(deps, job.repo, sync.gitDir, plan.selection, job.installationId, `${job.repo.fullName}@${job.after}`, 'push', signal, timings, false);

  let conclusion: ScanSummary['conclusion'];
  let checkRunId: number | undefined;
  if (deps.checkRuns ?? true) {
    const t = Date.now();
    const rendered = renderCheckRun({
      headSha: job.after,
      findings: out.findings.map(withoutPlaintext),
      scope: scope.trim(),
      commits: out.commits,
      blobs: out.blobs,
      issues: out.issues,
      suppressedByRepoConfig: out.suppressedByRepoConfig,
    });
    conclusion = rendered.conclusion;
    const client = await deps.github.client(job.installationId);
    checkRunId = await publishCheckRun(client, job.repo.fullName, rendered, (s) => deps.registry.scrub(s));
    timings.checkRunMs = Date.now() - t;
  }
  timings.totalMs = Date.now() - started;
  deps.logger.info(
    `app: push ${job.repo.fullName} ${scope.trim()}: ${out.blobs} blob(s), ${out.findings.length} finding(s)` +
      (conclusion ? `, check ${conclusion}` : '') + ` in ${timings.totalMs} ms`,
  );
  return {
    ...base,
    kind: plan.kind,
    commits: out.commits,
    blobs: out.blobs,
    findings: out.findings.length,
    newSecrets: out.newSecrets,
    ...(out.suppressedByRepoConfig ? { suppressedByRepoConfig: out.suppressedByRepoConfig } : {}),
    ...(conclusion ? { conclusion } : {}),
    ...(checkRunId !== undefined ? { checkRunId } : {}),
  };
}

/**
 * The repository of a full scan with its default branch, where its .keyloop.yaml is read: an installation event
 * does not carry it (and the App's mirror has no HEAD of its own), so it comes from the store, else from GitHub.
 */
async function withDefaultBranch(deps: AppDeps, job: FullScanJob): Promise<RepoInfo> {
  if (job.repo.defaultBranch) return job.repo;
  const stored = (await deps.store.getRepo(job.repo.fullName))?.defaultBranch;
  const branch = stored ?? (await new GitHubRepoHost(await deps.github.client(job.installationId)).getRepo(job.repo.fullName))?.defaultBranch;
  const repo = RepoInfo.safeParse({ ...job.repo, defaultBranch: branch ?? undefined });
  return repo.success ? repo.data : job.repo;
}

async function handleFullScan(deps: AppDeps, job: FullScanJob, signal: AbortSignal): Promise<ScanSummary> {
  const timings: Record<string, number> = {};
  const cloneUrl = deps.cloneUrl(job.repo.fullName);
  const token = await deps.github.gitToken(job.installationId);
  const repo = await withDefaultBranch(deps, job);
  await deps.store.upsertRepo({ fullName: job.repo.fullName, cloneUrl, defaultBranch: repo.defaultBranch ?? null, private: job.repo.private });
  const sync = await deps.mirrors.sync({ fullName: job.repo.fullName, cloneUrl, token }, signal);
  timings.fetchMs = sync.fetchMs;
  await deps.store.upsertRepo({ fullName: job.repo.fullName, mirrorPath: sync.gitDir });
  if (sync.refsAfter.size === 0) return { kind: 'full-scan', repo: job.repo.fullName, commits: 0, blobs: 0, findings: 0, newSecrets: 0, reason: 'empty-repository', timings };
  const out = await scanAndRecord(deps, repo, sync.gitDir, { kind: 'all' }, job.installationId, job.repo.fullName, 'app', signal, timings, true);
  deps.logger.info(`app: full scan ${job.repo.fullName}: ${out.blobs} blob(s), ${out.findings.length} finding(s)`);
  return {
    kind: 'full-scan',
    repo: job.repo.fullName,
    commits: out.commits,
    blobs: out.blobs,
    findings: out.findings.length,
    newSecrets: out.newSecrets,
    ...(out.suppressedByRepoConfig ? { suppressedByRepoConfig: out.suppressedByRepoConfig } : {}),
    timings,
  };
}

async function handleRepos(deps: AppDeps, job: ReposJob, guid: string): Promise<{ added: string[]; removed: string[]; scansQueued: number }> {
  const removed = await deps.store.recordInstallationRepos({
    installationId: job.installationId,
    added: job.added,
    removed: job.removed,
    forgetInstallation: job.forgetInstallation,
    at: new Date().toISOString(),
  });
  let scansQueued = 0;
  if (deps.scanNewRepos && deps.enqueue) {
    for (const r of job.added) {
      // Derived GUIDs keep the follow-up idempotent when GitHub redelivers the installation event.
      await deps.enqueue({
        guid: `${guid}:scan:${r.fullName}`,
        event: 'keyloop.full-scan',
        action: null,
        installationId: job.installationId,
        repo: r.fullName,
        job: { kind: 'full-scan', repo: r, installationId: job.installationId },
      });
      scansQueued++;
    }
  }
  deps.logger.info(`app: installation ${job.installationId} ${job.action}: +${job.added.length} -${removed.length} repo(s)`);
  return { added: job.added.map((r) => r.fullName), removed, scansQueued };
}
