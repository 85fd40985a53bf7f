import { describe, expect, it } from 'vitest';
import { parseLoopConfig } from '../src/core/loop-config.js';
import { verdictOf } from '../cli/commands/triage.js';
import { ConfigError } from '../src/core/errors.js';
import {
  describeVerification,
  issueTitle,
  locationKey,
  parseMarker,
  permalink,
  renderIssueBody,
  renderNewLocationsComment,
  renderReminderComment,
} from '../src/notify/issue-body.js';

const FP = 'b'.repeat(64);
const subject = {
  fingerprint: FP,
  detector: 'aws-access-key',
  name: 'AWS access key',
  provider: 'aws',
  providerName: 'AWS',
  severity: 'critical',
  redacted: 'AKIA…WXYZ',
  repo: 'acme/infra',
  detectedAt: '2025-02-01T00:00:00Z',
};

describe('issue bodies', () => {
  it('markers round-trip and identify (fingerprint, leaking repo)', () => {
    const body = renderIssueBody({ subject, locations: [], verification: null, assignees: [], teams: [], now: new Date('2025-02-02T00:00:00Z'), webUrl: 'https://github.com', closeAfterDeadChecks: 2, elsewhere: false });
    expect(parseMarker(body)).toEqual({ fingerprint: FP, repo: 'acme/infra' });
    expect(parseMarker('an issue someone else wrote')).toBeNull();
    expect(parseMarker(`<!-- keyloop:fingerprint=${FP} -->`)).toEqual({ fingerprint: FP, repo: null });
    expect(body).toContain('not verified yet');
    expect(body).toContain('none found — please assign someone');
  });

  it('author names and issuer answers cannot ping people or break the markdown', () => {
    const body = renderIssueBody({
      subject,
      locations: [{ commit: 'a'.repeat(40), path: 'x.tf', line: 2, date: '2025-01-01T00:00:00Z', authorName: 'Eve @admins | <b>' }],
      verification: { status: 'live', checkedAt: '2025-02-01T00:00:00Z', reason: 'ok @everyone', identity: { arn: 'arn:aws:iam::1:user/x`y' } },
      assignees: ['alice'],
      teams: [],
      now: new Date('2025-02-02T00:00:00Z'),
      webUrl: 'https://github.com',
      closeAfterDeadChecks: 2,
      elsewhere: true,
    });
    expect(body).not.toMatch(/@admins|@everyone/);
    expect(body).toContain('@\u200badmins');
    expect(body).not.toContain('<b>');
    expect(body).toContain('``');
    expect(body).toContain('a public repository, so this issue is filed here instead');
  });

  it('permalinks encode paths and point at the commit and line', () => {
    expect(permalink('https://ghe.example.com/', 'acme/x', { commit: 'c'.repeat(40), path: 'dir with space/a#b.env', line: 7 })).toBe(
      `https://ghe.example.com/acme/x/blob/${'c'.repeat(40)}/dir%20with%20space/a%23b.env#L7`,
    );
    expect(permalink('https://github.com', 'acme/x', { commit: null, path: 'a', line: 1 })).toBeNull();
    expect(locationKey({ commit: null, path: 'a', line: 1 })).toBe(':a:1');
  });

  it('titles, comments and verification lines', () => {
    expect(issueTitle(subject, 'main.tf')).toBe('Leaked AWS key in main.tf');
    // control characters are shown, not obeyed (and not silently turned into spaces that hide what the path is)
    expect(issueTitle(subject, 'odd\nname\t.env')).toBe('Leaked AWS key in odd\\nname\\t.env');
    expect(issueTitle(subject, 'x\u202egnp.exe')).toBe('Leaked AWS key in x\\u202egnp.exe');
    expect(issueTitle(subject, 'x/'.repeat(200)).length).toBeLessThanOrEqual(250);
    expect(renderNewLocationsComment('https://github.com', 'acme/x', [{ commit: 'd'.repeat(40), path: 'a.env', line: 3, date: null, authorName: null }])).toContain('1 new location:');
    expect(renderReminderComment({ liveSince: '2025-01-01T00:00:00Z', now: new Date('2025-01-11T00:00:00Z'), mentions: ['alice', 'acme/sec'], maxLiveDays: 7 })).toBe(
      '⏰ @alice @acme/sec: this key has been live for 10 days (policy: rotate within 7 days) and still works. Please rotate it now.',
    );
    expect(describeVerification({ status: 'dead', checkedAt: 't', reason: 'HTTP 401' })).toBe('**dead** (checked t; HTTP 401)');
  });
});

describe('loop config', () => {
  it('defaults', () => {
    const c = parseLoopConfig({});
    expect(c.issues).toMatchObject({ enabled: true, openOn: 'live', closeAfterDeadChecks: 2 });
    expect(c.policy).toMatchObject({ maxLiveDays: 7, revokeGitHubTokens: false });
    expect(c.owners.fallback).toBeUndefined();
  });

  it('errors name the field', () => {
    expect(() => parseLoopConfig({ issues: { openOn: 'always' } }, 'k.yaml')).toThrow(/k\.yaml: issues\.openOn/);
    expect(() => parseLoopConfig({ issues: { repo: 'not a repo' } })).toThrow(/issues\.repo: expected owner\/repo/);
    expect(() => parseLoopConfig({ policy: { maxDays: 3 } })).toThrow(ConfigError);
    expect(() => parseLoopConfig({ owners: { fallback: '@acme/sec-team' } })).not.toThrow();
  });

  it('triage takes exactly one verdict', () => {
    expect(verdictOf({ falsePositive: true })).toBe('false-positive');
    expect(verdictOf({ acceptedRisk: true })).toBe('accepted-risk');
    expect(verdictOf({ reopen: true })).toBe('reopen');
    expect(() => verdictOf({})).toThrow(ConfigError);
    expect(() => verdictOf({ falsePositive: true, acceptedRisk: true })).toThrow(/exactly one/);
  });
});
