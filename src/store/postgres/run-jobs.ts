// PostgreSQL RunJobsStore: runs handed to workers and their jobs; advancing a run locks its row, so of the workers
// that finish its last jobs at once, one moves it on.
import { hostname } from 'node:os';
import type { QueuedRunOptions, RunAdvance, RunJobInput, RunJobRow, RunJobsStore } from '../../core/store.js';
import { queuedAndRunning, refuseHeldRun, toRun, toRunJob, toRunOptions, type LastRun } from '../rows.js';
import type { Db, PgContext } from './context.js';
import { closeRun } from './runs.js';

const KEY = 'run_id = $1 AND kind = $2 AND subject = $3';

export function pgRunJobs(c: PgContext): RunJobsStore {
  return { ...queuedRuns(c), ...runJobRecords(c), ...runAdvance(c) };
}

/** Runs handed to workers: begun (or found unfinished) and their options. */
function queuedRuns(c: PgContext): Pick<RunJobsStore, 'beginQueuedRun' | 'runOptions'> {
  return {
    async beginQueuedRun(target, options) {
      return c.tx(async (db) => {
        await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`keyloop-run:org:${target}`]);
        const last = await c.one<LastRun>("SELECT id, status, pid, host, options FROM scan_runs WHERE kind = 'org' AND target = $1 ORDER BY id DESC LIMIT 1", [target], db);
        if (last && queuedAndRunning(last)) return { id: last.id, resumed: true };
        refuseHeldRun('org', target, last, hostname());
        const row = await c.one<{ id: number }>(
          "INSERT INTO scan_runs (kind, target, started_at, status, pid, host, options) VALUES ('org', $1, $2, 'running', NULL, NULL, $3) RETURNING id",
          [target, c.now(), JSON.stringify(options satisfies QueuedRunOptions)],
          db,
        );
        return { id: row!.id, resumed: false };
      });
    },

    async runOptions(runId) {
      return toRunOptions((await c.one<{ options: unknown }>('SELECT options FROM scan_runs WHERE id = $1', [runId]))?.options ?? null);
    },
  };
}

/** A run's jobs: added, started, finished, listed, and those queued too long. */
function runJobRecords(c: PgContext): Pick<RunJobsStore, 'addRunJobs' | 'startRunJob' | 'finishRunJob' | 'runJobs' | 'queuedRunJobs'> {
  return {
    async addRunJobs(runId, jobs) {
      return c.tx((db) => insertJobs(c, runId, jobs, db));
    },

    async startRunJob(runId, kind, subject, worker) {
      const r = await c.one(
        `UPDATE run_jobs SET state = 'running', worker = $4, attempts = attempts + 1, started_at = $5 WHERE ${KEY} AND state IN ('queued', 'running') RETURNING *`,
        [runId, kind, subject, worker, c.now()],
      );
      return r ? toRunJob(r) : null;
    },

    async finishRunJob(runId, kind, subject, end) {
      await c.q(`UPDATE run_jobs SET state = $4, finished_at = $5, result = $6, error = $7 WHERE ${KEY} AND state IN ('queued', 'running')`, [
        runId,
        kind,
        subject,
        end.state,
        c.now(),
        end.result ? JSON.stringify(end.result) : null,
        end.error ?? null,
      ]);
    },

    async runJobs(runId) {
      return jobsOf(c, runId);
    },

    async queuedRunJobs(olderThanMs) {
      const before = new Date(c.clock.now().getTime() - olderThanMs).toISOString();
      const rows = await c.q(
        `SELECT j.* FROM run_jobs j JOIN scan_runs r ON r.id = j.run_id WHERE j.state = 'queued' AND r.status = 'running' AND j.queued_at < $1 ORDER BY j.run_id, j.kind, j.subject`,
        [before],
      );
      return rows.map(toRunJob);
    },
  };
}

/** What comes after the last job of a run, decided once. */
function runAdvance(c: PgContext): Pick<RunJobsStore, 'advanceRun'> {
  return {
    async advanceRun(runId, decide) {
      return c.tx(async (db): Promise<RunAdvance | null> => {
        const run = await c.one('SELECT * FROM scan_runs WHERE id = $1 FOR UPDATE', [runId], db);
        if (!run || run.status !== 'running') return null;
        const jobs = await jobsOf(c, runId, db);
        if (jobs.some((j) => j.state === 'queued' || j.state === 'running')) return null;
        const next = decide(toRun(run), jobs);
        if ('add' in next) await insertJobs(c, runId, next.add, db);
        else await closeRun(c, db, runId, next.finish.status, next.finish.error);
        return next;
      });
    },
  };
}

/** A run's jobs, ordered by kind, then subject. */
async function jobsOf(c: PgContext, runId: number, db?: Db): Promise<RunJobRow[]> {
  return (await c.q('SELECT * FROM run_jobs WHERE run_id = $1 ORDER BY kind, subject', [runId], db)).map(toRunJob);
}

/** Queues the jobs the run does not have yet; returns those added. */
async function insertJobs(c: PgContext, runId: number, jobs: RunJobInput[], db: Db): Promise<RunJobInput[]> {
  if (jobs.length === 0) return [];
  const rows = await c.q<{ kind: string; subject: string }>(
    `INSERT INTO run_jobs (run_id, kind, subject, data, state, queued_at)
     SELECT $1, u.kind, u.subject, u.data, 'queued', $5 FROM unnest($2::text[], $3::text[], $4::jsonb[]) AS u(kind, subject, data)
     ON CONFLICT DO NOTHING RETURNING kind, subject`,
    [runId, jobs.map((j) => j.kind), jobs.map((j) => j.subject), jobs.map((j) => JSON.stringify(j.data)), c.now()],
    db,
  );
  const added = new Set(rows.map((r) => `${r.kind}\0${r.subject}`));
  return jobs.filter((j) => added.has(`${j.kind}\0${j.subject}`));
}
