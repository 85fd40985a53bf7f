// What `keyloop runs` and `keyloop org --enqueue --wait` read about a run: its repositories queued / running /
// done / failed, who holds what, what failed and why, and the same per-repo summary a local org run prints.
import type { RunJobRow, RunRow, Store } from '../core/store.js';
import type { OrgScanSummary, RepoOutcome } from '../sources/github-org.js';

export interface RunStatusView {
  run: RunRow;
  /** Handed to workers (org --enqueue). */
  queued: boolean;
  repos: { total: number; queued: number; running: number; done: number; failed: number };
  /** Verify and issue-sync jobs, once the run has some. */
  followUps: { kind: string; queued: number; running: number; done: number; failed: number }[];
  holding: { worker: string; kind: string; subject: string; since: string | null; attempt: number }[];
  failures: { kind: string; subject: string; attempts: number; error: string }[];
}

const count = (jobs: RunJobRow[], state: RunJobRow['state']) => jobs.filter((j) => j.state === state).length;

export async function runStatus(store: Store, run: RunRow): Promise<RunStatusView> {
  const options = await store.runOptions(run.id);
  if (!options) {
    // A local run: its per-repo rows are all there is (a repo is in them once it is finished).
    const rows = await store.runRepos(run.id);
    const done = rows.filter((r) => r.status === 'done').length;
    const failed = rows.length - done;
    return {
      run,
      queued: false,
      repos: { total: run.reposTotal, queued: 0, running: run.status === 'running' ? Math.max(0, run.reposTotal - rows.length) : 0, done, failed },
      followUps: [],
      holding: [],
      failures: rows.filter((r) => r.status === 'failed').map((r) => ({ kind: 'scan-repo', subject: r.repo, attempts: 1, error: r.error ?? 'failed' })),
    };
  }
  const jobs = await store.runJobs(run.id);
  const scans = jobs.filter((j) => j.kind === 'scan-repo');
  const followUps = (['verify', 'issue-sync'] as const)
    .map((kind) => jobs.filter((j) => j.kind === kind))
    .filter((of) => of.length > 0)
    .map((of) => ({ kind: of[0]!.kind, queued: count(of, 'queued'), running: count(of, 'running'), done: count(of, 'done'), failed: count(of, 'failed') }));
  return {
    run,
    queued: true,
    repos: { total: Math.max(run.reposTotal, scans.length), queued: count(scans, 'queued'), running: count(scans, 'running'), done: count(scans, 'done'), failed: count(scans, 'failed') },
    followUps,
    holding: jobs.filter((j) => j.state === 'running').map((j) => ({ worker: j.worker ?? '?', kind: j.kind, subject: j.subject, since: j.startedAt, attempt: j.attempts })),
    failures: jobs.filter((j) => j.state === 'failed').map((j) => ({ kind: j.kind, subject: j.subject, attempts: j.attempts, error: j.error ?? 'failed' })),
  };
}

/** A finished (or still running) run handed to workers, as the summary a local `keyloop org` prints. */
export async function queuedRunSummary(store: Store, runId: number, resumed: boolean, elapsedMs: number): Promise<OrgScanSummary> {
  const run = (await store.getRun(runId))!;
  const repos: RepoOutcome[] = (await store.runJobs(runId))
    .filter((j) => j.kind === 'scan-repo')
    .map((j) => {
      const r = (j.result ?? {}) as Partial<RepoOutcome>;
      return {
        repo: j.subject,
        status: j.state === 'done' ? 'done' : 'failed',
        ...(r.mirror ? { mirror: r.mirror } : {}),
        blobsScanned: r.blobsScanned ?? 0,
        blobsSkipped: r.blobsSkipped ?? 0,
        bytesScanned: r.bytesScanned ?? 0,
        findings: r.findings ?? 0,
        newSecrets: r.newSecrets ?? 0,
        suppressedByRepoConfig: r.suppressedByRepoConfig ?? 0,
        elapsedMs: r.elapsedMs ?? 0,
        ...(j.state === 'done' ? {} : { error: j.error ?? `not finished (${j.state})` }),
      };
    });
  return { runId, org: run.target, resumed, status: run.status, repos, run, failed: repos.filter((r) => r.status === 'failed').length, elapsedMs };
}
