import { describe, expect, it } from 'vitest';
import type { Verification } from '../src/core/model.js';
import { parseLoopConfig, type LoopConfig } from '../src/core/loop-config.js';
import { deadStreak, describeAction, liveSince, plan } from '../src/loop/plan.js';
import type { Action, Subject, KnownIssue } from '../src/loop/types.js';
import { parseMarker, locationKey } from '../src/notify/issue-body.js';

const FP = 'a'.repeat(64);
const NOW = new Date('2025-01-20T12:00:00Z');
const v = (status: Verification['status'], checkedAt: string, identity?: Record<string, string>): Verification => ({
  status,
  checkedAt,
  reason: status === 'live' ? 'HTTP 200' : status === 'dead' ? 'HTTP 401' : 'HTTP 503',
  ...(identity ? { identity } : {}),
});
const location = (commit: string, path: string, line = 3, date = '2024-12-01T10:00:00Z') => {
  const l = { commit, path, line, date, authorName: 'Alice' };
  return { ...l, key: locationKey(l) };
};

function subject(over: Partial<Subject> = {}): Subject {
  const locations = over.locations ?? [location('c'.repeat(40), 'config/prod.env')];
  return {
    fingerprint: FP,
    detector: 'github-pat-classic',
    name: 'GitHub personal access token',
    provider: 'github',
    providerName: 'GitHub',
    severity: 'critical',
    redacted: 'ghp_…Zz9q',
    repo: 'acme/api',
    detectedAt: '2025-01-01T00:00:00Z',
    rotation: '1. Open Settings → Developer settings → Tokens.\n2. Delete the token.',
    secretStatus: 'open',
    confidence: 'high',
    repoPrivate: true,
    verifications: [v('live', '2025-01-19T00:00:00Z', { login: 'alice-bot', scopes: 'repo' })],
    issue: null,
    reportedLocations: new Set(locations.map((l) => l.key)),
    lastReminderAt: null,
    revokeRequested: false,
    owners: { assignees: ['alice'], candidates: ['alice', 'carol'], teams: ['acme/security'], notes: [] },
    ...over,
    locations,
  };
}

const issue = (over: Partial<KnownIssue> = {}): KnownIssue => ({
  repo: 'acme/api',
  number: 7,
  state: 'open',
  stateReason: null,
  labels: ['keyloop'],
  assignees: ['alice'],
  url: null,
  inStore: true,
  ...over,
});

const cfg = (raw: Parameters<typeof parseLoopConfig>[0] = {}): LoopConfig => parseLoopConfig(raw);
const kinds = (as: Action[]) => as.map((a) => a.kind);

describe('plan: opening', () => {
  it('opens one issue for a live secret with title, labels, assignees and a marker; never the secret', () => {
    const [a, ...rest] = plan([subject()], cfg(), NOW);
    expect(rest).toEqual([]);
    if (a?.kind !== 'open') throw new Error('expected open');
    expect(a.issueRepo).toBe('acme/api');
    expect(a.title).toBe('Leaked GitHub key in config/prod.env');
    expect(a.labels).toEqual(['keyloop', 'secret:github-pat-classic', 'severity:critical']);
    expect(a.assignees).toEqual(['alice']);
    expect(parseMarker(a.body)).toEqual({ fingerprint: FP, repo: 'acme/api' });
    expect(a.body).toContain('ghp_…Zz9q');
    expect(a.body).toContain(`https://github.com/acme/api/blob/${'c'.repeat(40)}/config/prod.env#L3`);
    expect(a.body).toContain('login: `alice-bot`');
    expect(a.body).toContain('Delete the token.');
    expect(a.body).toContain('@acme/security');
    expect(a.body).toMatch(/First introduced \| 2024-12-01/);
    expect(a.body).toMatch(/Exposure so far \| 50 days/);
    expect(a.body).toContain('--false-positive');
  });

  it('unknown opens nothing unless issues.openOn is live-or-unknown; dead never opens', () => {
    const unknown = subject({ verifications: [v('unknown', '2025-01-19T00:00:00Z')] });
    expect(plan([unknown], cfg(), NOW)).toEqual([]);
    expect(kinds(plan([unknown], cfg({ issues: { openOn: 'live-or-unknown' } }), NOW))).toEqual(['open']);
    expect(plan([subject({ verifications: [v('dead', '2025-01-19T00:00:00Z')] })], cfg({ issues: { openOn: 'live-or-unknown' } }), NOW)).toEqual([]);
  });

  it('issues open from issues.minConfidence up (default medium); a live key opens whatever its confidence', () => {
    const unknownAt = (confidence: Subject['confidence']) => subject({ confidence, verifications: [v('unknown', '2025-01-19T00:00:00Z')] });
    const anyState = { openOn: 'live-or-unknown' } as const;
    expect(cfg().issues.minConfidence).toBe('medium');
    expect(plan([unknownAt('low')], cfg({ issues: anyState }), NOW)).toEqual([]);
    expect(kinds(plan([unknownAt('medium')], cfg({ issues: anyState }), NOW))).toEqual(['open']);
    expect(kinds(plan([unknownAt('low')], cfg({ issues: { ...anyState, minConfidence: 'low' } }), NOW))).toEqual(['open']);
    expect(plan([unknownAt('medium')], cfg({ issues: { ...anyState, minConfidence: 'high' } }), NOW)).toEqual([]);
    // the issuer accepted it: a generic guess proven live is worth a person's time
    expect(kinds(plan([subject({ confidence: 'low' })], cfg({ issues: { minConfidence: 'high' } }), NOW))).toEqual(['open']);
    expect(() => cfg({ issues: { minConfidence: 'certain' } })).toThrow(/issues\.minConfidence/);
  });

  it('public repos never get the issue: it goes to issues.repo, or nowhere with a warning', () => {
    const pub = subject({ repoPrivate: false });
    const [w] = plan([pub], cfg(), NOW);
    expect(w?.kind).toBe('warn');
    const [o] = plan([pub], cfg({ issues: { repo: 'acme/security' } }), NOW);
    if (o?.kind !== 'open') throw new Error('expected open');
    expect(o.issueRepo).toBe('acme/security');
    expect(parseMarker(o.body)?.repo).toBe('acme/api');
  });

  it('triaged secrets get nothing', () => {
    expect(plan([subject({ secretStatus: 'false-positive' })], cfg(), NOW)).toEqual([]);
    expect(plan([subject({ secretStatus: 'ignored' })], cfg(), NOW)).toEqual([]);
  });
});

describe('plan: closing and reopening', () => {
  it('dead on two consecutive checks closes as completed; one dead check does not', () => {
    const one = subject({ issue: issue(), verifications: [v('live', '2025-01-10T00:00:00Z'), v('dead', '2025-01-19T00:00:00Z')] });
    expect(plan([one], cfg(), NOW)).toEqual([]);
    const two = subject({ issue: issue(), verifications: [v('live', '2025-01-10T00:00:00Z'), v('dead', '2025-01-18T00:00:00Z'), v('dead', '2025-01-19T00:00:00Z')] });
    const [a] = plan([two], cfg(), NOW);
    if (a?.kind !== 'close-revoked') throw new Error('expected close');
    expect(a.revokedAt).toBe('2025-01-18T00:00:00Z');
    expect(a.body).toContain('Verified revoked at 2025-01-18T00:00:00Z');
  });

  it('unknown never closes anything (latest unknown), and unknowns between deads do not reset the streak', () => {
    const latestUnknown = subject({ issue: issue(), verifications: [v('dead', '2025-01-17T00:00:00Z'), v('dead', '2025-01-18T00:00:00Z'), v('unknown', '2025-01-19T00:00:00Z')] });
    expect(plan([latestUnknown], cfg(), NOW)).toEqual([]);
    const between = subject({ issue: issue(), verifications: [v('dead', '2025-01-17T00:00:00Z'), v('unknown', '2025-01-18T00:00:00Z'), v('dead', '2025-01-19T00:00:00Z')] });
    expect(kinds(plan([between], cfg(), NOW))).toEqual(['close-revoked']);
    expect(deadStreak(between.verifications)).toEqual({ count: 2, since: '2025-01-17T00:00:00Z' });
  });

  it('closeAfterDeadChecks is configurable', () => {
    const s = subject({ issue: issue(), verifications: [v('dead', '2025-01-19T00:00:00Z')] });
    expect(kinds(plan([s], cfg({ issues: { closeAfterDeadChecks: 1 } }), NOW))).toEqual(['close-revoked']);
  });

  it('live again after closing reopens', () => {
    const s = subject({
      secretStatus: 'revoked',
      issue: issue({ state: 'closed', stateReason: 'completed' }),
      verifications: [v('dead', '2025-01-10T00:00:00Z'), v('dead', '2025-01-11T00:00:00Z'), v('live', '2025-01-19T00:00:00Z')],
    });
    const [a] = plan([s], cfg(), NOW);
    if (a?.kind !== 'reopen') throw new Error('expected reopen');
    expect(a.body).toContain('verified revoked earlier');
    // still dead → stays closed
    expect(plan([{ ...s, verifications: s.verifications.slice(0, 2) }], cfg(), NOW)).toEqual([]);
  });

  it('closed by hand with the false-positive label → triage; accepted-risk label or not_planned → accepted risk', () => {
    const fp = subject({ issue: issue({ state: 'closed', labels: ['keyloop', 'false-positive'] }) });
    expect(plan([fp], cfg(), NOW)).toMatchObject([{ kind: 'triage-from-github', verdict: 'false-positive' }]);
    const np = subject({ issue: issue({ state: 'closed', stateReason: 'not_planned' }) });
    expect(plan([np], cfg(), NOW)).toMatchObject([{ kind: 'triage-from-github', verdict: 'accepted-risk' }]);
  });

  it('an open issue of a secret triaged in the store is closed', () => {
    expect(plan([subject({ secretStatus: 'false-positive', issue: issue() })], cfg(), NOW)).toMatchObject([{ kind: 'close-triaged', verdict: 'false-positive' }]);
  });
});

describe('plan: comments', () => {
  it('new locations of the same secret → one comment listing them', () => {
    const old = location('c'.repeat(40), 'config/prod.env');
    const n1 = location('d'.repeat(40), 'deploy/ci.yml', 9, '2025-01-15T00:00:00Z');
    const n2 = location('e'.repeat(40), 'deploy/cd.yml', 2, '2025-01-16T00:00:00Z');
    const s = subject({ issue: issue(), locations: [old, n1, n2], reportedLocations: new Set([old.key]) });
    const as = plan([s], cfg(), NOW);
    expect(kinds(as)).toEqual(['comment-locations']);
    const a = as[0]!;
    if (a.kind !== 'comment-locations') throw new Error();
    expect(a.locations).toEqual([n1.key, n2.key]);
    expect(a.body).toContain('2 new locations');
    expect(a.body).toContain('deploy/ci.yml#L9');
  });

  it('reminds after maxLiveDays, mentioning owners and the escalation team, at most every remindEveryDays', () => {
    const config = cfg({ policy: { maxLiveDays: 7, remindEveryDays: 3, escalate: '@acme/sec-leads' } });
    const fresh = subject({ issue: issue(), verifications: [v('live', '2025-01-15T00:00:00Z'), v('live', '2025-01-20T00:00:00Z')] });
    expect(plan([fresh], config, NOW)).toEqual([]);
    const old = subject({ issue: issue(), verifications: [v('live', '2025-01-05T00:00:00Z'), v('live', '2025-01-20T00:00:00Z')] });
    const [r] = plan([old], config, NOW);
    if (r?.kind !== 'remind') throw new Error('expected remind');
    expect(r.mentions).toEqual(['alice', 'acme/security', 'acme/sec-leads']);
    expect(r.body).toContain('@acme/sec-leads');
    expect(r.body).toContain('15 days');
    expect(plan([{ ...old, lastReminderAt: '2025-01-18T12:00:00Z' }], config, NOW)).toEqual([]);
    expect(kinds(plan([{ ...old, lastReminderAt: '2025-01-17T12:00:00Z' }], config, NOW))).toEqual(['remind']);
  });

  it('live period restarts after a dead check', () => {
    expect(liveSince([v('live', '2025-01-01T00:00:00Z'), v('dead', '2025-01-02T00:00:00Z'), v('live', '2025-01-10T00:00:00Z'), v('unknown', '2025-01-11T00:00:00Z')])).toBe(
      '2025-01-10T00:00:00Z',
    );
  });
});

describe('plan: state recovery and revocation', () => {
  it('an issue found on GitHub by its marker is adopted, not duplicated', () => {
    const s = subject({ issue: issue({ inStore: false }) });
    expect(kinds(plan([s], cfg(), NOW))).toEqual(['adopt']);
  });

  it('revokeGitHubTokens sends live GitHub tokens once', () => {
    const config = cfg({ policy: { revokeGitHubTokens: true } });
    expect(kinds(plan([subject({ issue: issue() })], config, NOW))).toEqual(['revoke-token']);
    expect(plan([subject({ issue: issue(), revokeRequested: true })], config, NOW)).toEqual([]);
    expect(plan([subject({ issue: issue(), provider: 'aws', detector: 'aws-access-key' })], config, NOW)).toEqual([]);
  });

  it('issues.enabled: false plans no issue work, only revocations', () => {
    const off = cfg({ issues: { enabled: false }, policy: { revokeGitHubTokens: true } });
    expect(kinds(plan([subject(), subject({ issue: issue(), verifications: [v('dead', '2025-01-18T00:00:00Z'), v('dead', '2025-01-19T00:00:00Z')] })], off, NOW))).toEqual(['revoke-token']);
  });

  it('describeAction prints one line per action without bodies', () => {
    const lines = plan([subject()], cfg(), NOW).map(describeAction);
    expect(lines).toEqual([`open issue in acme/api: "Leaked GitHub key in config/prod.env" [keyloop, secret:github-pat-classic, severity:critical] assignees: @alice teams: @acme/security (${FP.slice(0, 12)})`]);
  });
});
