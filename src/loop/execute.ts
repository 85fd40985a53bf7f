// Carries out one planned action of the issue loop on GitHub and in the store, and logs it as an event
// (token revocations are batched: see executeRevocations in run.ts).
import { hostname } from 'node:os';
import { HostError } from '../core/errors.js';
import type { LoopTracker } from '../core/ports.js';
import type { Store } from '../core/store.js';
import { ACCEPTED_RISK_LABEL, FALSE_POSITIVE_LABEL, markers, renderTriageComment } from '../notify/issue-body.js';
import type { SecretRegistry } from '../util/redact.js';
import type { Action } from './types.js';

/** A claim whose holder has not recorded its issue after this long is taken over (the holder died meanwhile). */
export const ISSUE_CLAIM_STALE_MS = 10 * 60_000;

/** What executing an action needs of the loop's dependencies. */
export interface ExecuteDeps {
  store: Store;
  tracker: LoopTracker;
  registry: SecretRegistry;
  runId?: number;
  claimant?: string;
}

type IssueRef = { repo: string; number: number };
type RecordedIssue = IssueRef & { state: 'open' | 'closed'; stateReason?: string | null; url?: string | null; assignees: string[] };
type OpenAction = Extract<Action, { kind: 'open' }>;

/** The store side of an action: its event, and the issue as recorded. */
function bookkeeping(a: Action, deps: ExecuteDeps) {
  const { store } = deps;
  const ev = (kind: string, issue: IssueRef | null, detail: Record<string, unknown> = {}) =>
    store.addEvent({
      kind,
      fingerprint: a.fingerprint,
      repo: a.subjectRepo,
      ...(issue ? { issue: { repo: issue.repo, number: issue.number } } : {}),
      ...(deps.runId !== undefined ? { runId: deps.runId } : {}),
      detail: { ...(issue ? { issue: `${issue.repo}#${issue.number}` } : {}), ...detail },
    });
  const record = async (i: RecordedIssue) =>
    void (await store.upsertIssue({ repo: i.repo, number: i.number, fingerprint: a.fingerprint, subjectRepo: a.subjectRepo, state: i.state, stateReason: i.stateReason ?? null, url: i.url ?? null, assignees: i.assignees }));
  return { ev, record };
}

/** Runs one action; returns a detail worth showing (the issue opened, or who holds its claim). */
export async function execute(a: Action, deps: ExecuteDeps, sources: Map<string, string> | undefined): Promise<string | undefined> {
  const { store, tracker, registry } = deps;
  const scrub = (s: string) => registry.scrub(s);
  const { ev, record } = bookkeeping(a, deps);

  switch (a.kind) {
    case 'open':
      return openIssue(a, deps, sources);
    case 'adopt':
      await record({ ...a.issue });
      await ev('issue-adopted', a.issue, { state: a.issue.state });
      return;
    case 'sync-issue':
      await record({ ...a.issue });
      await ev('issue-state-synced', a.issue, { state: a.issue.state, stateReason: a.issue.stateReason });
      return;
    case 'comment-locations':
      await tracker.comment(a.issue.repo, a.issue.number, scrub(a.body));
      await ev('commented', a.issue, { reason: 'new-locations', locations: a.locations });
      return;
    case 'close-revoked':
      await tracker.ensureIssueClosed(a.issue.repo, a.issue.number, { comment: scrub(a.body), reason: 'completed' });
      await record({ ...a.issue, state: 'closed', stateReason: 'completed' });
      await store.setSecretStatus(a.fingerprint, 'revoked', { at: a.revokedAt });
      await ev('closed', a.issue, { reason: 'revoked', revokedAt: a.revokedAt });
      return;
    case 'reopen':
      await tracker.reopenIssue(a.issue.repo, a.issue.number, scrub(a.body));
      await record({ ...a.issue, state: 'open', stateReason: 'reopened' });
      await store.setSecretStatus(a.fingerprint, 'open', { reason: 'live again' });
      await ev('reopened', a.issue, { reason: 'live-again' });
      return;
    case 'remind':
      await tracker.comment(a.issue.repo, a.issue.number, scrub(a.body));
      await ev('issue-reminded', a.issue, { mentions: a.mentions });
      return;
    case 'triage-from-github': {
      await store.setSecretStatus(a.fingerprint, a.verdict === 'false-positive' ? 'false-positive' : 'ignored', { source: 'github', issue: `${a.issue.repo}#${a.issue.number}` });
      await record({ ...a.issue });
      await ev('triaged', a.issue, { verdict: a.verdict, source: 'github' });
      return;
    }
    case 'close-triaged': {
      await tracker.addLabels(a.issue.repo, a.issue.number, [a.verdict === 'false-positive' ? FALSE_POSITIVE_LABEL : ACCEPTED_RISK_LABEL]);
      await tracker.ensureIssueClosed(a.issue.repo, a.issue.number, { comment: renderTriageComment(a.verdict), reason: 'not_planned' });
      await record({ ...a.issue, state: 'closed', stateReason: 'not_planned' });
      await ev('closed', a.issue, { reason: a.verdict });
      return;
    }
    case 'warn':
      return;
    case 'revoke-token':
      return;
  }
}

/**
 * One issue per (secret, leaking repo) even when workers race on it: the claim decides who opens it, the others
 * leave it (the next run finds it by its marker). ensureIssue looks for the marker before it creates, which covers a
 * claim taken over from a holder that died after creating the issue.
 */
async function openIssue(a: OpenAction, deps: ExecuteDeps, sources: Map<string, string> | undefined): Promise<string> {
  const { store, tracker, registry } = deps;
  const { ev, record } = bookkeeping(a, deps);
  const claim = await store.claimIssue(a.fingerprint, a.subjectRepo, deps.claimant ?? `${hostname()}:${process.pid}`, { staleMs: ISSUE_CLAIM_STALE_MS });
  if (!claim.won) return `left to ${claim.claimant}, opening it since ${claim.claimedAt}`;
  const tried = new Set<string>();
  let assignees = [...a.assignees];
  const rejected: string[] = [];
  for (;;) {
    try {
      const { issue, action } = await tracker.ensureIssue(a.issueRepo, {
        title: registry.scrub(a.title),
        body: registry.scrub(a.body),
        labels: a.labels,
        assignees,
        // Both marker lines: a security repo holds one issue per (secret, leaking repo).
        marker: markers(a.fingerprint, a.subjectRepo),
      });
      await record({ ...issue, assignees: issue.assignees });
      for (const login of issue.assignees) await store.setOwner(a.fingerprint, a.subjectRepo, login, (sources?.get(login) as 'commit-author' | 'codeowners' | 'fallback' | undefined) ?? 'manual');
      for (const team of a.teams) await store.setOwner(a.fingerprint, a.subjectRepo, team, (sources?.get(team) as 'codeowners' | 'fallback' | undefined) ?? 'fallback');
      await ev(action === 'created' ? 'issue-opened' : 'issue-adopted', issue, { locations: a.locations, assignees: issue.assignees, teams: a.teams, rejected });
      return `${issue.repo}#${issue.number}`;
    } catch (err) {
      if (!(err instanceof HostError) || err.status !== 422 || assignees.length === 0) throw err;
      // Not assignable after all (permissions changed since the check): fall back to the next owner.
      const bad = assignees[0]!;
      tried.add(bad);
      rejected.push(bad);
      assignees = assignees.slice(1);
      if (assignees.length === 0) {
        const next = a.candidates.find((c) => !tried.has(c) && !a.assignees.includes(c));
        if (next) assignees = [next];
      }
    }
  }
}
