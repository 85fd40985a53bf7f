// The octokit IssueTracker adapter against the stateful fake GitHub.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient } from '../src/adapters/github/client.js';
import { GitHubIssueTracker } from '../src/adapters/github/issue-tracker.js';
import { HostError } from '../src/core/errors.js';
import { startFakeGitHub, type FakeGitHub } from '../testkit/fake-github.js';
import { buildRepo } from '../testkit/git-repo.js';

const TOKEN = 'tracker-test-token';
const MARKER = `<!-- keyloop:fingerprint=${'e'.repeat(64)} -->\n<!-- keyloop:repo=acme/api -->`;

describe('GitHubIssueTracker', () => {
  let gh: FakeGitHub;
  let tracker: GitHubIssueTracker;
  let sha: Record<string, string>;
  beforeAll(async () => {
    gh = await startFakeGitHub({ tokens: { [TOKEN]: 'keyloop-bot' } });
    const repo = await buildRepo({
      bare: true,
      commits: [
        { id: 'a', author: { name: 'Al', email: 'al@corp.example' }, files: { x: '1' } },
        { id: 'b', author: { name: 'Zed', email: 'zed@corp.example' }, files: { x: '2' } },
      ],
    });
    gh.addRepo('acme/api', { private: true, gitDir: repo.gitDir });
    gh.addRepo('acme/pub', { private: false });
    gh.emails.set('al@corp.example', 'al');
    gh.setAssignable('acme/api', 'al');
    const octokit = createGitHubClient({ baseUrl: gh.url, token: TOKEN, throttle: false, retries: 0 });
    tracker = new GitHubIssueTracker({ octokit, baseUrl: gh.url, anonymous: createGitHubClient({ baseUrl: gh.url, throttle: false, retries: 0 }) });
    sha = repo.sha;
  });
  afterAll(async () => {
    await gh?.close();
  });

  const spec = (body = `${MARKER}\nbody`) => ({ title: 'Leaked X key in a', body, labels: ['keyloop', 'secret:x'], assignees: ['al'], marker: MARKER });

  it('ensureIssue creates once, then finds the issue by its marker', async () => {
    const first = await tracker.ensureIssue('acme/api', spec());
    expect(first.action).toBe('created');
    expect(first.issue.assignees).toEqual(['al']);
    const again = await tracker.ensureIssue('acme/api', spec());
    expect(again).toMatchObject({ action: 'unchanged', issue: { number: first.issue.number } });
    const updated = await tracker.ensureIssue('acme/api', spec(`${MARKER}\nnew body`));
    expect(updated.action).toBe('updated');
    expect(gh.issues.filter((i) => i.repo === 'acme/api')).toHaveLength(1);
  });

  it('closes, reopens and labels idempotently', async () => {
    const n = gh.issues[0]!.number;
    expect(await tracker.ensureIssueClosed('acme/api', n, { comment: 'bye', reason: 'completed' })).toBe('closed');
    expect(await tracker.ensureIssueClosed('acme/api', n, { comment: 'bye again' })).toBe('already-closed');
    expect(gh.issues[0]!.comments.map((c) => c.body)).toEqual(['bye']);
    expect(gh.issues[0]!.state_reason).toBe('completed');
    await tracker.reopenIssue('acme/api', n, 'back');
    await tracker.reopenIssue('acme/api', n, 'back twice');
    expect(gh.issues[0]!.state).toBe('open');
    expect(gh.issues[0]!.comments.map((c) => c.body)).toEqual(['bye', 'back']);
    await tracker.addLabels('acme/api', n, ['false-positive']);
    expect(gh.issues[0]!.labels).toEqual(['keyloop', 'secret:x', 'false-positive']);
    await tracker.removeLabels('acme/api', n, ['false-positive', 'accepted-risk']);
    expect(gh.issues[0]!.labels).toEqual(['keyloop', 'secret:x']);
    const listed = await tracker.listIssues('acme/api', ['keyloop']);
    expect(listed.map((i) => i.number)).toEqual([n]);
    expect(listed[0]!.body).toContain(MARKER);
  });

  it('a refused assignee is a HostError with status 422 (the executor falls back on it)', async () => {
    const err = await tracker.ensureIssue('acme/api', { ...spec(`<!-- keyloop:fingerprint=${'f'.repeat(64)} -->`), marker: `<!-- keyloop:fingerprint=${'f'.repeat(64)} -->`, assignees: ['mallory'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostError);
    expect((err as HostError).status).toBe(422);
  });

  it('assignability, commit author logins and repo visibility', async () => {
    expect(await tracker.canAssign('acme/api', 'al')).toBe(true);
    expect(await tracker.canAssign('acme/api', 'zed')).toBe(false);
    expect(await tracker.commitAuthorLogin('acme/api', sha.a!)).toBe('al');
    expect(await tracker.commitAuthorLogin('acme/api', sha.b!)).toBeNull();
    expect(await tracker.commitAuthorLogin('acme/api', '0'.repeat(40))).toBeNull();
    expect(await tracker.repoIsPrivate('acme/api')).toBe(true);
    expect(await tracker.repoIsPrivate('acme/pub')).toBe(false);
    expect(await tracker.repoIsPrivate('acme/none')).toBeNull();
  });

  it('revokes unauthenticated, in batches of at most 1000', async () => {
    const tokens = Array.from({ length: 1500 }, (_, i) => `ghp_fake${String(i).padStart(32, '0')}`);
    await tracker.revokeCredentials(tokens);
    const calls = gh.requestsTo('POST', '/credentials/revoke');
    expect(calls.map((c) => (c.body as { credentials: string[] }).credentials.length)).toEqual([1000, 500]);
    expect(calls.every((c) => c.as === null)).toBe(true);
    expect(gh.revoked).toHaveLength(1500);
  });

  it('errors name the call and the status, never the request body', async () => {
    gh.fault({ method: 'POST', path: '/repos/acme/api/issues/1/comments', kind: 'status', status: 502 });
    const err = (await tracker.comment('acme/api', 1, 'SECRET-LOOKING-BODY').catch((e: unknown) => e)) as HostError;
    expect(err).toBeInstanceOf(HostError);
    expect(err.status).toBe(502);
    expect(err.message).toMatch(/^commenting on acme\/api#1: GitHub answered 502/);
    expect(err.message).not.toContain('SECRET-LOOKING-BODY');
  });
});
