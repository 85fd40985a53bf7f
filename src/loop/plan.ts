// The lifecycle planner: (subjects with their verification history and known issue) + config + clock → actions.
// Pure: no I/O, so every rule is unit-tested and --dry-run prints exactly what a real run would do.
import { atLeast, type Verification } from '../core/model.js';
import {
  ACCEPTED_RISK_LABEL,
  FALSE_POSITIVE_LABEL,
  issueLabels,
  issueTitle,
  renderIssueBody,
  renderNewLocationsComment,
  renderReminderComment,
  renderReopenComment,
  renderRevokedComment,
} from '../notify/issue-body.js';
import { parsePrincipal, type LoopConfig } from '../core/loop-config.js';
import type { Action, KnownIssue, Subject } from './types.js';

const DAY = 86_400_000;

/** Where a subject's issue lives: the repo itself when private; the security repo (or nowhere) when public. */
export function issueRepoFor(s: Pick<Subject, 'repo' | 'repoPrivate'>, cfg: LoopConfig): string | null {
  if (s.repoPrivate) return s.repo;
  return cfg.issues.repo ?? null;
}

/** Trailing dead checks, unknowns skipped (they prove nothing either way), stopped by a live one. */
export function deadStreak(vs: readonly Verification[]): { count: number; since: string | null } {
  let count = 0;
  let since: string | null = null;
  for (let i = vs.length - 1; i >= 0; i--) {
    const v = vs[i]!;
    if (v.status === 'unknown') continue;
    if (v.status === 'live') break;
    count++;
    since = v.checkedAt;
  }
  return { count, since };
}

/** Start of the current live period: the first live check after the last dead one. */
export function liveSince(vs: readonly Verification[]): string | null {
  let since: string | null = null;
  for (let i = vs.length - 1; i >= 0; i--) {
    const v = vs[i]!;
    if (v.status === 'dead') break;
    if (v.status === 'live') since = v.checkedAt;
  }
  return since;
}

export function latest(vs: readonly Verification[]): Verification | null {
  return vs.at(-1) ?? null;
}

/** Does this secret deserve an issue it does not have yet? (Triage and the issue's own state are checked elsewhere.) */
export function wantsIssue(s: Pick<Subject, 'secretStatus' | 'verifications' | 'confidence'>, cfg: LoopConfig): boolean {
  if (s.secretStatus === 'false-positive' || s.secretStatus === 'ignored') return false;
  const v = latest(s.verifications);
  const status = v?.status ?? 'unknown';
  // a live key is high confidence whatever matched it
  if (status !== 'live' && !atLeast(s.confidence, cfg.issues.minConfidence)) return false;
  return status === 'live' || (status === 'unknown' && cfg.issues.openOn === 'live-or-unknown');
}

/** Tokens GitHub's credential revocation API accepts. */
export function isRevocableGitHubToken(provider: string, detector: string): boolean {
  return provider === 'github' && !/app|oauth-client|webhook/.test(detector);
}

const mention = (p: string) => {
  const x = parsePrincipal(p);
  return x.kind === 'team' ? `${x.org}/${x.slug}` : x.login;
};

export function plan(subjects: readonly Subject[], cfg: LoopConfig, now: Date): Action[] {
  return subjects.flatMap((s) => planSubject(s, cfg, now));
}

type Base = { fingerprint: string; subjectRepo: string };

/** One subject's actions, in the order they run. */
function planSubject(s: Subject, cfg: LoopConfig, now: Date): Action[] {
  const actions: Action[] = [];
  const base: Base = { fingerprint: s.fingerprint, subjectRepo: s.repo };
  const issue = s.issue;
  const v = latest(s.verifications);

  const revocable = cfg.policy.revokeGitHubTokens && v?.status === 'live' && !s.revokeRequested && isRevocableGitHubToken(s.provider, s.detector);
  if (!cfg.issues.enabled) {
    // Issues off: only the revocation policy acts.
    if (revocable && s.secretStatus !== 'false-positive') actions.push({ ...base, kind: 'revoke-token' });
    return actions;
  }

  if (issue && !issue.inStore) actions.push({ ...base, kind: 'adopt', issue });
  else if (issue?.storeState && issue.storeState !== issue.state) actions.push({ ...base, kind: 'sync-issue', issue });

  if (s.secretStatus === 'false-positive' || s.secretStatus === 'ignored') {
    if (issue?.state === 'open') {
      actions.push({ ...base, kind: 'close-triaged', issue, verdict: s.secretStatus === 'ignored' ? 'accepted-risk' : 'false-positive' });
    }
    return actions;
  }

  const verdict = issue ? triagedOnGitHub(issue) : null;
  if (issue && verdict) {
    actions.push({ ...base, kind: 'triage-from-github', issue, verdict });
    return actions;
  }

  if (revocable) actions.push({ ...base, kind: 'revoke-token' });

  if (!issue) {
    if (wantsIssue(s, cfg)) actions.push(planOpen(s, base, cfg, now));
    return actions;
  }
  actions.push(...planFollowUp(s, issue, base, cfg, now));
  return actions;
}

/** A closed issue labelled (or closed as not planned) on GitHub is a triage verdict. */
function triagedOnGitHub(issue: KnownIssue): 'false-positive' | 'accepted-risk' | null {
  if (issue.state !== 'closed') return null;
  if (issue.labels.includes(FALSE_POSITIVE_LABEL)) return 'false-positive';
  if (issue.labels.includes(ACCEPTED_RISK_LABEL) || issue.stateReason === 'not_planned') return 'accepted-risk';
  return null;
}

/** A new issue, or a warning when the leaking repo is public and no security repo is set. */
function planOpen(s: Subject, base: Base, cfg: LoopConfig, now: Date): Action {
  const issueRepo = issueRepoFor(s, cfg);
  if (!issueRepo) {
    return {
      ...base,
      kind: 'warn',
      message: `${s.repo} is public: no issue opened for secret ${s.fingerprint.slice(0, 12)} (an issue there would advertise the key); set issues.repo to a private security repo`,
    };
  }
  const owners = s.owners ?? { assignees: [], candidates: [], teams: [], notes: [] };
  const sorted = [...s.locations].sort((a, b) => (a.date ?? '').localeCompare(b.date ?? '') || a.path.localeCompare(b.path));
  return {
    ...base,
    kind: 'open',
    issueRepo,
    title: issueTitle(s, sorted[0]?.path ?? '(unknown path)'),
    body: renderIssueBody({
      subject: s,
      locations: sorted,
      verification: latest(s.verifications),
      assignees: owners.assignees,
      teams: owners.teams,
      now,
      webUrl: cfg.issues.webUrl,
      closeAfterDeadChecks: cfg.issues.closeAfterDeadChecks,
      elsewhere: issueRepo !== s.repo,
    }),
    labels: issueLabels(s, cfg.issues.labels),
    assignees: owners.assignees,
    candidates: owners.candidates,
    teams: owners.teams,
    locations: sorted.map((l) => l.key),
  };
}

/** An existing issue: new locations commented, then closed when revoked, reopened when live again, or a reminder. */
function planFollowUp(s: Subject, issue: KnownIssue, base: Base, cfg: LoopConfig, now: Date): Action[] {
  const actions: Action[] = [];
  const v = latest(s.verifications);
  const fresh = s.locations.filter((l) => !s.reportedLocations.has(l.key));
  if (fresh.length > 0) {
    actions.push({
      ...base,
      kind: 'comment-locations',
      issue,
      body: renderNewLocationsComment(cfg.issues.webUrl, s.repo, fresh),
      locations: fresh.map((l) => l.key),
    });
  }

  // Unknown never opens, closes or reopens anything.
  if (!v || v.status === 'unknown') return actions;

  if (issue.state === 'open') {
    const streak = deadStreak(s.verifications);
    // A key keyloop revoked itself needs one dead check after the revocation, not closeAfterDeadChecks.
    const revokedHere = !!s.revokedByKeyloop && v.status === 'dead' && v.checkedAt >= s.revokedByKeyloop.at;
    if (v.status === 'dead' && (streak.count >= cfg.issues.closeAfterDeadChecks || revokedHere)) {
      actions.push({ ...base, kind: 'close-revoked', issue, body: renderRevokedComment(streak.since!, streak.count, revokedHere ? s.revokedByKeyloop : undefined), revokedAt: streak.since! });
      return actions;
    }
    if (v.status === 'live') {
      const remind = planReminder(s, issue, v, base, cfg, now);
      if (remind) actions.push(remind);
    }
  } else if (v.status === 'live') {
    actions.push({ ...base, kind: 'reopen', issue, body: renderReopenComment(v, s.secretStatus === 'revoked' ? 'keyloop' : 'someone') });
  }
  return actions;
}

/** A reminder on an open issue whose key has been live longer than policy allows, at most every remindEveryDays. */
function planReminder(s: Subject, issue: KnownIssue, v: Verification, base: Base, cfg: LoopConfig, now: Date): Action | null {
  const since = liveSince(s.verifications) ?? v.checkedAt;
  const liveDays = (now.getTime() - Date.parse(since)) / DAY;
  const sinceReminder = s.lastReminderAt ? (now.getTime() - Date.parse(s.lastReminderAt)) / DAY : Infinity;
  if (!(liveDays > cfg.policy.maxLiveDays && sinceReminder >= cfg.policy.remindEveryDays)) return null;
  const mentions = [...new Set([...issue.assignees, ...(s.owners?.teams ?? []), ...(cfg.policy.escalate ? [mention(cfg.policy.escalate)] : [])])];
  return {
    ...base,
    kind: 'remind',
    issue,
    mentions,
    body: renderReminderComment({ liveSince: since, now, mentions, maxLiveDays: cfg.policy.maxLiveDays }),
  };
}

/** One line per action, for --dry-run and logs. Never holds a secret (bodies are not printed). */
export function describeAction(a: Action): string {
  const fp = a.fingerprint.slice(0, 12);
  const at = 'issue' in a ? `${a.issue.repo}#${a.issue.number}` : '';
  switch (a.kind) {
    case 'open':
      return `open issue in ${a.issueRepo}: "${a.title}" [${a.labels.join(', ')}] assignees: ${a.assignees.map((x) => '@' + x).join(' ') || '(none)'}${a.teams.length ? ` teams: ${a.teams.map((t) => '@' + t).join(' ')}` : ''} (${fp})`;
    case 'adopt':
      return `adopt ${at} (found on GitHub by its marker) for ${a.subjectRepo} (${fp})`;
    case 'sync-issue':
      return `record ${at} as ${a.issue.state} (changed on GitHub) (${fp})`;
    case 'comment-locations':
      return `comment on ${at}: ${a.locations.length} new location(s) (${fp})`;
    case 'close-revoked':
      return `close ${at} as completed: verified revoked at ${a.revokedAt} (${fp})`;
    case 'reopen':
      return `reopen ${at}: key is live again (${fp})`;
    case 'remind':
      return `remind on ${at}: ${a.mentions.map((m) => '@' + m).join(' ') || '(nobody to mention)'} (${fp})`;
    case 'triage-from-github':
      return `mark ${fp} as ${a.verdict} (closed on GitHub as such: ${at})`;
    case 'close-triaged':
      return `close ${at} as not planned: triaged ${a.verdict} (${fp})`;
    case 'revoke-token':
      return `send GitHub token ${fp} in ${a.subjectRepo} to POST /credentials/revoke`;
    case 'warn':
      return `warning: ${a.message}`;
  }
}
