// An org run handed to workers: `keyloop org --enqueue` lists the repositories and queues one scan-repo job each;
// workers scan them (the same scanOneRepo as a local run), verify what each found, and once every repository is
// done, sync the issues of each. Every handler is idempotent: a job delivered twice changes nothing the second time.
import { existsSync } from 'node:fs';
import type { HostedRepo, RepoFilter, RepoHost } from '../core/ports.js';
import type { JobQueue, LeasedJob, DeadJob } from '../core/jobs.js';
import type { QueuedRunOptions, RunAdvance, RunJobInput, RunJobRow, Store } from '../core/store.js';
import { cloneUrlFor } from '../adapters/github/clone-url.js';
import { reverifySecrets, type LoopResult, type Reverify } from '../loop/run.js';
import { suppressedFingerprints } from '../loop/triage.js';
import { scanOneRepo, type RepoOutcome, type RepoScanOptions } from '../sources/github-org.js';
import { syncMirror } from '../sources/mirror.js';
import type { Logger } from '../util/logger.js';
import type { SecretRegistry } from '../util/redact.js';
import { IssueSyncPayload, ScanRepoPayload, VerifyPayload } from './payloads.js';
import { PermanentJobError, type JobHandler } from './runner.js';
import type { z } from 'zod';

/** The key of a run's job in the queue: the same job of the same run is queued once. */
export const runJobKey = (runId: number, subject: string) => `${runId}:${subject}`;

export async function sendRunJobs(queue: JobQueue, runId: number, jobs: Pick<RunJobInput, 'kind' | 'subject' | 'data'>[]): Promise<void> {
  for (const kind of ['scan-repo', 'verify', 'issue-sync'] as const) {
    const of = jobs.filter((j) => j.kind === kind);
    if (of.length) await queue.sendMany(kind, of.map((j) => ({ data: j.data, key: runJobKey(runId, j.subject) })));
  }
}

export interface EnqueueResult {
  runId: number;
  /** The unfinished run for this org was continued (its jobs not sent yet are sent now). */
  resumed: boolean;
  repos: number;
}

/** Lists the org, starts (or continues) its run for workers and queues one scan-repo job per repository. */
export async function enqueueOrgRun(
  deps: { store: Store; queue: JobQueue; host: RepoHost; logger: Logger },
  org: string,
  filter: RepoFilter,
  options: QueuedRunOptions,
): Promise<EnqueueResult> {
  const repos = await deps.host.listRepos(org, filter);
  const run = await deps.store.beginQueuedRun(org, options);
  await deps.store.setRunTotal(run.id, repos.length);
  await deps.store.addRunJobs(
    run.id,
    repos.map((r) => ({ kind: 'scan-repo', subject: r.fullName, data: scanRepoData(run.id, org, r) })),
  );
  // Everything still queued: on a continued run, what the first enqueue had not sent before it stopped.
  await sendRunJobs(
    deps.queue,
    run.id,
    (await deps.store.runJobs(run.id)).filter((j) => j.state === 'queued'),
  );
  if (repos.length === 0) await advanceRun(deps, run.id);
  return { runId: run.id, resumed: run.resumed, repos: repos.length };
}

function scanRepoData(runId: number, org: string, r: HostedRepo): ScanRepoPayload {
  return {
    runId,
    org,
    repo: { fullName: r.fullName, defaultBranch: r.defaultBranch, private: r.private, fork: r.fork, archived: r.archived, sizeKb: r.sizeKb, pushedAt: r.pushedAt ?? null },
  };
}

/** What comes after every job of a run has ended: the issues of each scanned repository, then the end. */
export function nextStep(runId: number, options: QueuedRunOptions | null, jobs: RunJobRow[]): RunAdvance {
  if (options?.issues && !jobs.some((j) => j.kind === 'issue-sync')) {
    const repos = jobs.filter((j) => j.kind === 'scan-repo' && j.state === 'done').map((j) => j.subject);
    if (repos.length) return { add: repos.map((repo) => ({ kind: 'issue-sync', subject: repo, data: { runId, repo } satisfies IssueSyncPayload })) };
  }
  const failedSync = jobs.filter((j) => j.kind === 'issue-sync' && j.state === 'failed');
  if (failedSync.length) return { finish: { status: 'failed', error: `after-scan: issue sync failed for ${failedSync.length} repo(s): ${failedSync[0]!.error ?? 'failed'}` } };
  return { finish: { status: 'completed' } };
}

/** Moves a run on once its jobs have ended (a no-op otherwise, and for all but one of several callers at once). */
export async function advanceRun(deps: { store: Store; queue: JobQueue; logger: Logger }, runId: number): Promise<void> {
  const options = await deps.store.runOptions(runId);
  if (!options) return;
  const next = await deps.store.advanceRun(runId, (_run, jobs) => nextStep(runId, options, jobs));
  if (!next) return;
  if ('add' in next) {
    await sendRunJobs(deps.queue, runId, next.add);
    deps.logger.info(`run ${runId}: every repository scanned; ${next.add.length} issue sync job(s) queued`);
  } else deps.logger.info(`run ${runId} ${next.finish.status}${next.finish.error ? `: ${next.finish.error}` : ''}`);
}

export interface OrgJobDeps {
  store: Store;
  queue: JobQueue;
  /** Git credentials (this worker's token); clone URLs come from githubUrl, never from a payload. */
  host: RepoHost;
  githubUrl: string;
  scan: Omit<RepoScanOptions, 'store' | 'host' | 'refetch' | 'rescan' | 'suppressFingerprints' | 'signal'>;
  registry: SecretRegistry;
  logger: Logger;
  /** This process, as `keyloop runs` names it. */
  worker: string;
  /** Re-checks a secret with its issuer (verify jobs); absent: this worker does not take verify jobs. */
  reverify?: Reverify;
  /** The issue loop over some repositories (issue-sync jobs); absent: this worker does not take them. */
  issueLoop?: (store: Store, extra: { runId: number; repos: string[]; verifiedSince: string; claimant: string }) => Promise<LoopResult>;
  /** Bytes and blobs each scan read (metrics). */
  onScanned?: (o: RepoOutcome) => void;
}

function parse<T extends z.ZodTypeAny>(schema: T, job: LeasedJob): z.infer<T> {
  const r = schema.safeParse(job.data);
  if (!r.success) throw new PermanentJobError(`${job.name} job ${job.id} does not parse: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

/** Handlers for the scan-repo, verify and issue-sync queues. */
export function orgJobHandlers(d: OrgJobDeps): { 'scan-repo': JobHandler; verify?: JobHandler; 'issue-sync'?: JobHandler } {
  const scanRepo: JobHandler = async (job, signal) => {
    const p = parse(ScanRepoPayload, job);
    const options = await d.store.runOptions(p.runId);
    if (!options) throw new PermanentJobError(`run ${p.runId} is not a run handed to workers`);
    // A repeated delivery of a job that finished: nothing to do but make sure its run moved on.
    if (!(await d.store.startRunJob(p.runId, 'scan-repo', p.repo.fullName, d.worker))) {
      await advanceRun(d, p.runId);
      return { skipped: 'finished before' };
    }
    const [owner, name] = p.repo.fullName.split('/') as [string, string];
    const repo: HostedRepo = { ...p.repo, owner, name, cloneUrl: cloneUrlFor(d.githubUrl, p.repo.fullName) };
    const fingerprints = new Set<string>();
    const outcome = await scanOneRepo(
      repo,
      p.runId,
      { ...d.scan, store: d.store, host: d.host, refetch: options.refetch, rescan: options.rescan, suppressFingerprints: await suppressedFingerprints(d.store), signal },
      fingerprints,
      d.logger,
    );
    // Interrupted (shutdown, or the lease was lost): nothing recorded; the job is given back or runs elsewhere.
    if (!outcome) throw signal.reason instanceof Error ? signal.reason : new Error('interrupted');
    d.onScanned?.(outcome);
    if (outcome.status === 'done' && options.verify && fingerprints.size) {
      // Queued before this job ends, so the run cannot move on to issues before the checks are in.
      const verify: RunJobInput = { kind: 'verify', subject: p.repo.fullName, data: { runId: p.runId, subject: p.repo.fullName, fingerprints: [...fingerprints].sort() } };
      await d.store.addRunJobs(p.runId, [verify]);
      await sendRunJobs(d.queue, p.runId, [verify]);
    }
    const { repo: _r, status, error, ...result } = outcome;
    await d.store.finishRunJob(p.runId, 'scan-repo', p.repo.fullName, { state: status === 'failed' ? 'failed' : 'done', result, ...(error ? { error } : {}) });
    await advanceRun(d, p.runId);
    return { status, findings: outcome.findings };
  };

  const verify: JobHandler = async (job) => {
    const p = parse(VerifyPayload, job);
    if (!(await d.store.startRunJob(p.runId, 'verify', p.subject, d.worker))) {
      await advanceRun(d, p.runId);
      return { skipped: 'finished before' };
    }
    const run = await d.store.getRun(p.runId);
    const secrets = (await Promise.all(p.fingerprints.map((fp) => d.store.getSecret(fp)))).filter((s) => s !== undefined);
    // Checked once per run: a secret another repository's job verified since the run began is not asked again.
    const r = await reverifySecrets(d.store, secrets, { reverify: d.reverify!, registry: d.registry, since: run?.startedAt ?? new Date(0).toISOString() });
    for (const w of r.warnings) d.logger.warn(`run ${p.runId}: ${w}`);
    await d.store.finishRunJob(p.runId, 'verify', p.subject, { state: 'done', result: { reverified: r.reverified, warnings: r.warnings.length } });
    await advanceRun(d, p.runId);
    return { reverified: r.reverified };
  };

  const issueSync: JobHandler = async (job, signal) => {
    const p = parse(IssueSyncPayload, job);
    if (!(await d.store.startRunJob(p.runId, 'issue-sync', p.repo, d.worker))) {
      await advanceRun(d, p.runId);
      return { skipped: 'finished before' };
    }
    await ensureLocalMirror(d, p.repo, signal);
    const run = await d.store.getRun(p.runId);
    const r = await d.issueLoop!(d.store, { runId: p.runId, repos: [p.repo], verifiedSince: run?.startedAt ?? new Date().toISOString(), claimant: `issue-sync:${p.runId}:${p.repo}` });
    const failed = r.executed.filter((e) => !e.ok).length;
    await d.store.finishRunJob(p.runId, 'issue-sync', p.repo, { state: 'done', result: { actions: r.actions.length, failed, reverified: r.reverified } });
    await advanceRun(d, p.runId);
    return { actions: r.actions.length, failed };
  };

  return { 'scan-repo': scanRepo, ...(d.reverify ? { verify } : {}), ...(d.issueLoop ? { 'issue-sync': issueSync } : {}) };
}

/**
 * The issue loop reads CODEOWNERS and the HEAD tree from the repository's mirror; the one recorded may be another
 * machine's. A worker without it mirrors the repository into its own cache first.
 */
async function ensureLocalMirror(d: OrgJobDeps, fullName: string, signal: AbortSignal): Promise<void> {
  const row = await d.store.getRepo(fullName);
  if (!row || (row.mirrorPath && existsSync(row.mirrorPath))) return;
  const [owner, name] = fullName.split('/') as [string, string];
  const hosted: HostedRepo = {
    fullName,
    owner,
    name,
    defaultBranch: row.defaultBranch,
    cloneUrl: cloneUrlFor(d.githubUrl, fullName),
    private: row.private,
    fork: row.fork,
    archived: row.archived,
    sizeKb: 0,
  };
  const credentials = await d.host.gitCredentials(fullName);
  const m = await syncMirror(hosted, { cacheDir: d.scan.cacheDir, credentials, ...(d.scan.gitBackend ? { backend: d.scan.gitBackend } : {}), signal });
  await d.store.upsertRepo({ fullName, mirrorPath: m.path });
}

/** A job of a run that failed for good (out of tries, or permanently): the run records it and moves on. */
export async function runJobFailed(d: { store: Store; queue: JobQueue; logger: Logger }, dead: DeadJob): Promise<boolean> {
  const data = dead.data as { runId?: unknown };
  if (typeof data?.runId !== 'number') return false;
  const runId = data.runId;
  const subject =
    dead.name === 'scan-repo'
      ? ScanRepoPayload.safeParse(dead.data).data?.repo.fullName
      : dead.name === 'verify'
        ? VerifyPayload.safeParse(dead.data).data?.subject
        : dead.name === 'issue-sync'
          ? IssueSyncPayload.safeParse(dead.data).data?.repo
          : undefined;
  if (!subject || dead.name === 'push') return false;
  const error = `gave up: ${dead.error}`;
  if (dead.name === 'scan-repo') await d.store.recordRepoFailure(runId, subject, error);
  await d.store.finishRunJob(runId, dead.name, subject, { state: 'failed', error });
  d.logger.warn(`run ${runId}: ${dead.name} ${subject} ${error}`);
  await advanceRun(d, runId);
  return true;
}

/**
 * Recovery for a process that died between two steps: jobs of running runs queued for a while are sent again
 * (the queue ignores those it has), and runs whose jobs have all ended are moved on. A run without any job yet is
 * being enqueued (enqueueOrgRun adds its jobs after it begins it, and moves an empty one on itself): it is moved on
 * only once it is `olderThanMs` old, when its enqueuer must have died. (A worker starting while `keyloop org
 * --enqueue` ran used to finish the new run as 'completed' before its jobs were in.)
 */
export async function reconcileRuns(d: { store: Store; queue: JobQueue; logger: Logger }, olderThanMs: number, now = Date.now()): Promise<void> {
  const stale = await d.store.queuedRunJobs(olderThanMs);
  for (const runId of new Set(stale.map((j) => j.runId))) {
    await sendRunJobs(
      d.queue,
      runId,
      stale.filter((j) => j.runId === runId),
    );
  }
  for (const run of await d.store.listRuns(20)) {
    if (run.status !== 'running') continue;
    if (now - Date.parse(run.startedAt) < olderThanMs && (await d.store.runJobs(run.id)).length === 0) continue;
    await advanceRun(d, run.id);
  }
}
