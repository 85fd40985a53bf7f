// SQLite IssuesStore: recorded issues, the per-(secret, leaking repo) issue claim, and the event log.
import type { IssueClaim, IssueRow, IssuesStore } from '../../core/store.js';
import { toEvent, toIssue, type Row } from '../rows.js';
import type { SqliteContext } from './context.js';

export const ISSUE_SELECT = `SELECT i.*, r.full_name AS repo, s.fingerprint, sr.full_name AS subject_repo FROM issues i
  JOIN repos r ON r.id = i.repo_id JOIN secrets s ON s.id = i.secret_id LEFT JOIN repos sr ON sr.id = i.subject_repo_id`;

export function sqliteIssues(c: SqliteContext): IssuesStore {
  return { ...issueRecords(c), ...eventLog(c) };
}

/** Issues as recorded on the host, and the claim that makes one issue per secret × leaking repo. */
function issueRecords(c: SqliteContext): Pick<IssuesStore, 'upsertIssue' | 'getIssue' | 'issuesFor' | 'listIssues' | 'claimIssue'> {
  const getIssue = async (repo: string, number: number) => {
    const r = c.q(`${ISSUE_SELECT} WHERE r.full_name = ? AND i.number = ?`).get(repo, number) as Row | undefined;
    return r ? toIssue(r) : undefined;
  };
  return {
    async upsertIssue(i) {
      c.tx(() => {
        const repoId = c.repoId(i.repo);
        const secretId = c.secretId(i.fingerprint);
        const subject = i.subjectRepo ? c.repoId(i.subjectRepo) : null;
        const now = c.now();
        c.q(
          `INSERT INTO issues (repo_id, number, secret_id, subject_repo_id, state, state_reason, url, assignees, created_at, updated_at, closed_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (repo_id, number) DO UPDATE SET secret_id = excluded.secret_id,
             subject_repo_id = coalesce(excluded.subject_repo_id, subject_repo_id), state = excluded.state,
             state_reason = excluded.state_reason, url = coalesce(excluded.url, url), assignees = excluded.assignees,
             updated_at = excluded.updated_at,
             closed_at = CASE WHEN excluded.state = 'closed' THEN coalesce(closed_at, excluded.updated_at) ELSE NULL END`,
        ).run(repoId, i.number, secretId, subject, i.state, i.stateReason ?? null, i.url ?? null, JSON.stringify(i.assignees ?? []), now, now, i.state === 'closed' ? now : null);
      });
      return (await getIssue(i.repo, i.number)) as IssueRow;
    },

    getIssue,

    async issuesFor(fingerprint, subjectRepo) {
      const rows = c.q(`${ISSUE_SELECT} WHERE s.fingerprint = ? ORDER BY i.id`).all(fingerprint) as Row[];
      return rows.map(toIssue).filter((i) => !subjectRepo || (i.subjectRepo ?? i.repo) === subjectRepo);
    },

    async listIssues(filter = {}) {
      const rows = filter.state
        ? (c.q(`${ISSUE_SELECT} WHERE i.state = ? ORDER BY i.id`).all(filter.state) as Row[])
        : (c.q(`${ISSUE_SELECT} ORDER BY i.id`).all() as Row[]);
      return rows.map(toIssue);
    },

    async claimIssue(fingerprint, subjectRepo, claimant, opts = {}) {
      return c.tx((): IssueClaim => {
        const secretId = c.secretId(fingerprint);
        const repoId = c.repoId(subjectRepo);
        const now = c.clock.now();
        const stale = opts.staleMs === undefined ? '' : new Date(now.getTime() - opts.staleMs).toISOString();
        c.q(
          `INSERT INTO issue_claims (secret_id, subject_repo_id, claimant, claimed_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (secret_id, subject_repo_id) DO UPDATE SET claimant = excluded.claimant, claimed_at = excluded.claimed_at
           WHERE issue_claims.claimant <> excluded.claimant AND issue_claims.claimed_at < ?`,
        ).run(secretId, repoId, claimant, now.toISOString(), stale);
        const row = c.q('SELECT claimant, claimed_at FROM issue_claims WHERE secret_id = ? AND subject_repo_id = ?').get(secretId, repoId) as {
          claimant: string;
          claimed_at: string;
        };
        return { won: row.claimant === claimant, claimant: row.claimant, claimedAt: row.claimed_at };
      });
    },
  };
}

/** The append-only event log. */
function eventLog(c: SqliteContext): Pick<IssuesStore, 'addEvent' | 'events'> {
  return {
    async addEvent(e) {
      const secretId = e.fingerprint ? c.secretId(e.fingerprint) : null;
      const repoId = e.repo ? c.repoId(e.repo) : null;
      const issueId = e.issue ? c.issueId(e.issue.repo, e.issue.number) : null;
      c.insertEvent(e, secretId, repoId, issueId, c.now());
    },

    async events(filter = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      const and = (clause: string, arg: unknown) => {
        where.push(clause);
        args.push(arg);
      };
      if (filter.fingerprint) and('s.fingerprint = ?', filter.fingerprint);
      if (filter.kind) and('e.kind = ?', filter.kind);
      if (filter.sinceId !== undefined) and('e.id > ?', filter.sinceId);
      const sql = `SELECT e.*, s.fingerprint, r.full_name AS repo, i.number AS issue_number FROM events e
        LEFT JOIN secrets s ON s.id = e.secret_id LEFT JOIN repos r ON r.id = e.repo_id LEFT JOIN issues i ON i.id = e.issue_id
        ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY e.id`;
      return (c.q(sql).all(...args) as Row[]).map(toEvent);
    },
  };
}
