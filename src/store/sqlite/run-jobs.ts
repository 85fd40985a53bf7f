// SQLite RunJobsStore: runs handed to workers and their jobs (the queue itself needs PostgreSQL; SQLite keeps the
// same tables so both adapters pass one contract).
import { hostname } from 'node:os';
import type { QueuedRunOptions, RunAdvance, RunJobInput, RunJobRow, RunJobsStore } from '../../core/store.js';
import { queuedAndRunning, refuseHeldRun, toRun, toRunJob, toRunOptions, type LastRun, type Row } from '../rows.js';
import type { SqliteContext } from './context.js';
import { closeRun } from './runs.js';

const KEY = 'run_id = ? AND kind = ? AND subject = ?';

export function sqliteRunJobs(c: SqliteContext): RunJobsStore {
  return { ...queuedRuns(c), ...runJobRecords(c), ...runAdvance(c) };
}

/** Runs handed to workers: begun (or found unfinished) and their options. */
function queuedRuns(c: SqliteContext): Pick<RunJobsStore, 'beginQueuedRun' | 'runOptions'> {
  return {
    async beginQueuedRun(target, options) {
      return c.tx(() => {
        const last = c.q("SELECT id, status, pid, host, options FROM scan_runs WHERE kind = 'org' AND target = ? ORDER BY id DESC LIMIT 1").get(target) as LastRun | undefined;
        if (last && queuedAndRunning(last)) return { id: last.id, resumed: true };
        refuseHeldRun('org', target, last, hostname());
        const info = c
          .q("INSERT INTO scan_runs (kind, target, started_at, status, pid, host, options) VALUES ('org', ?, ?, 'running', NULL, NULL, ?)")
          .run(target, c.now(), JSON.stringify(options satisfies QueuedRunOptions));
        return { id: Number(info.lastInsertRowid), resumed: false };
      });
    },

    async runOptions(runId) {
      return toRunOptions(c.q('SELECT options FROM scan_runs WHERE id = ?').pluck().get(runId));
    },
  };
}

/** A run's jobs: added, started, finished, listed, and those queued too long. */
function runJobRecords(c: SqliteContext): Pick<RunJobsStore, 'addRunJobs' | 'startRunJob' | 'finishRunJob' | 'runJobs' | 'queuedRunJobs'> {
  return {
    async addRunJobs(runId, jobs) {
      return c.tx(() => insertJobs(c, runId, jobs));
    },

    async startRunJob(runId, kind, subject, worker) {
      const r = c
        .q(`UPDATE run_jobs SET state = 'running', worker = ?, attempts = attempts + 1, started_at = ? WHERE ${KEY} AND state IN ('queued', 'running') RETURNING *`)
        .get(worker, c.now(), runId, kind, subject) as Row | undefined;
      return r ? toRunJob(r) : null;
    },

    async finishRunJob(runId, kind, subject, end) {
      c.q(`UPDATE run_jobs SET state = ?, finished_at = ?, result = ?, error = ? WHERE ${KEY} AND state IN ('queued', 'running')`).run(
        end.state,
        c.now(),
        end.result ? JSON.stringify(end.result) : null,
        end.error ?? null,
        runId,
        kind,
        subject,
      );
    },

    async runJobs(runId) {
      return jobsOf(c, runId);
    },

    async queuedRunJobs(olderThanMs) {
      const before = new Date(c.clock.now().getTime() - olderThanMs).toISOString();
      const rows = c
        .q(`SELECT j.* FROM run_jobs j JOIN scan_runs r ON r.id = j.run_id WHERE j.state = 'queued' AND r.status = 'running' AND j.queued_at < ? ORDER BY j.run_id, j.kind, j.subject`)
        .all(before) as Row[];
      return rows.map(toRunJob);
    },
  };
}

/** What comes after the last job of a run, decided once. */
function runAdvance(c: SqliteContext): Pick<RunJobsStore, 'advanceRun'> {
  return {
    async advanceRun(runId, decide) {
      return c.tx((): RunAdvance | null => {
        const run = c.q('SELECT * FROM scan_runs WHERE id = ?').get(runId) as Row | undefined;
        if (!run || run.status !== 'running') return null;
        const jobs: RunJobRow[] = jobsOf(c, runId);
        if (jobs.some((j) => j.state === 'queued' || j.state === 'running')) return null;
        const next = decide(toRun(run), jobs);
        if ('add' in next) insertJobs(c, runId, next.add);
        else closeRun(c, runId, next.finish.status, next.finish.error);
        return next;
      });
    },
  };
}

/** A run's jobs, ordered by kind, then subject. */
function jobsOf(c: SqliteContext, runId: number): RunJobRow[] {
  return (c.q('SELECT * FROM run_jobs WHERE run_id = ? ORDER BY kind, subject').all(runId) as Row[]).map(toRunJob);
}

/** Queues the jobs the run does not have yet; returns those added. */
function insertJobs(c: SqliteContext, runId: number, jobs: RunJobInput[]): RunJobInput[] {
  const now = c.now();
  const add = c.q(`INSERT INTO run_jobs (run_id, kind, subject, data, state, queued_at) VALUES (?, ?, ?, ?, 'queued', ?) ON CONFLICT DO NOTHING`);
  return jobs.filter((j) => add.run(runId, j.kind, j.subject, JSON.stringify(j.data), now).changes > 0);
}
