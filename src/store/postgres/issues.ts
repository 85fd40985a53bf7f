// PostgreSQL IssuesStore: recorded issues, the per-(secret, leaking repo) issue claim, and the event log.
import type { IssueRow, IssuesStore } from '../../core/store.js';
import { toEvent, toIssue } from '../rows.js';
import type { PgContext } from './context.js';

const ISSUE_SELECT = `SELECT i.*, r.full_name AS repo, s.fingerprint, sr.full_name AS subject_repo FROM issues i
  JOIN repos r ON r.id = i.repo_id JOIN secrets s ON s.id = i.secret_id LEFT JOIN repos sr ON sr.id = i.subject_repo_id`;

export function pgIssues(c: PgContext): IssuesStore {
  return { ...issueRecords(c), ...eventLog(c) };
}

/** Issues as recorded on the host, and the claim that makes one issue per secret × leaking repo. */
function issueRecords(c: PgContext): Pick<IssuesStore, 'upsertIssue' | 'getIssue' | 'issuesFor' | 'listIssues' | 'claimIssue'> {
  const getIssue = async (repo: string, number: number) => {
    const r = await c.one(`${ISSUE_SELECT} WHERE r.full_name = $1 AND i.number = $2`, [repo, number]);
    return r ? toIssue(r) : undefined;
  };
  return {
    async upsertIssue(i) {
      await c.tx(async (db) => {
        const repoId = await c.repoId(i.repo, db);
        const secretId = await c.secretId(i.fingerprint, db);
        const subject = i.subjectRepo ? await c.repoId(i.subjectRepo, db) : null;
        const now = c.now();
        await c.q(
          `INSERT INTO issues (repo_id, number, secret_id, subject_repo_id, state, state_reason, url, assignees, created_at, updated_at, closed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)
           ON CONFLICT (repo_id, number) DO UPDATE SET secret_id = excluded.secret_id,
             subject_repo_id = coalesce(excluded.subject_repo_id, issues.subject_repo_id), state = excluded.state,
             state_reason = excluded.state_reason, url = coalesce(excluded.url, issues.url), assignees = excluded.assignees,
             updated_at = excluded.updated_at,
             closed_at = CASE WHEN excluded.state = 'closed' THEN coalesce(issues.closed_at, excluded.updated_at) ELSE NULL END`,
          [repoId, i.number, secretId, subject, i.state, i.stateReason ?? null, i.url ?? null, JSON.stringify(i.assignees ?? []), now, i.state === 'closed' ? now : null],
          db,
        );
      });
      return (await getIssue(i.repo, i.number)) as IssueRow;
    },

    getIssue,

    async issuesFor(fingerprint, subjectRepo) {
      const rows = await c.q(`${ISSUE_SELECT} WHERE s.fingerprint = $1 ORDER BY i.id`, [fingerprint]);
      return rows.map(toIssue).filter((i) => !subjectRepo || (i.subjectRepo ?? i.repo) === subjectRepo);
    },

    async listIssues(filter = {}) {
      const rows = filter.state ? await c.q(`${ISSUE_SELECT} WHERE i.state = $1 ORDER BY i.id`, [filter.state]) : await c.q(`${ISSUE_SELECT} ORDER BY i.id`);
      return rows.map(toIssue);
    },

    // The primary key decides the race: a second INSERT waits for the first to commit, then finds the conflict.
    async claimIssue(fingerprint, subjectRepo, claimant, opts = {}) {
      const secretId = await c.secretId(fingerprint);
      const repoId = await c.repoId(subjectRepo);
      const now = c.clock.now();
      const stale = opts.staleMs === undefined ? '' : new Date(now.getTime() - opts.staleMs).toISOString();
      const params = [secretId, repoId];
      const mine = await c.one<{ claimant: string; claimed_at: string }>(
        `INSERT INTO issue_claims (secret_id, subject_repo_id, claimant, claimed_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (secret_id, subject_repo_id) DO UPDATE SET claimant = excluded.claimant, claimed_at = excluded.claimed_at
         WHERE issue_claims.claimant <> excluded.claimant AND issue_claims.claimed_at < $5
         RETURNING claimant, claimed_at`,
        [...params, claimant, now.toISOString(), stale],
      );
      const row = mine ?? (await c.one<{ claimant: string; claimed_at: string }>('SELECT claimant, claimed_at FROM issue_claims WHERE secret_id = $1 AND subject_repo_id = $2', params))!;
      return { won: row.claimant === claimant, claimant: row.claimant, claimedAt: row.claimed_at };
    },
  };
}

/** The append-only event log. */
function eventLog(c: PgContext): Pick<IssuesStore, 'addEvent' | 'events'> {
  return {
    async addEvent(e) {
      const secretId = e.fingerprint ? await c.secretId(e.fingerprint) : null;
      const repoId = e.repo ? await c.repoId(e.repo) : null;
      const issueId = e.issue ? await c.issueId(e.issue.repo, e.issue.number) : null;
      await c.insertEvent(e, secretId, repoId, issueId, c.now());
    },

    async events(filter = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      const arg = (v: unknown) => `$${args.push(v)}`;
      if (filter.fingerprint) where.push(`s.fingerprint = ${arg(filter.fingerprint)}`);
      if (filter.kind) where.push(`e.kind = ${arg(filter.kind)}`);
      if (filter.sinceId !== undefined) where.push(`e.id > ${arg(filter.sinceId)}`);
      const sql = `SELECT e.*, s.fingerprint, r.full_name AS repo, i.number AS issue_number FROM events e
        LEFT JOIN secrets s ON s.id = e.secret_id LEFT JOIN repos r ON r.id = e.repo_id LEFT JOIN issues i ON i.id = e.issue_id
        ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY e.id`;
      return (await c.q(sql, args)).map(toEvent);
    },
  };
}
