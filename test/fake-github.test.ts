// The fake GitHub driven through the real octokit client and the real git CLI: what the other suites rely on.
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes, createSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGitHubClient, GitHubRepoHost } from '../src/adapters/github/index.js';
import { startFakeGitHub, type FakeGitHub } from '../testkit/fake-github.js';
import { buildRepo, tempDir } from '../testkit/git-repo.js';

const TOKEN = 'fake-token-' + randomBytes(8).toString('hex');
let fake: FakeGitHub | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const client = (f: FakeGitHub, over: Parameters<typeof createGitHubClient>[0] extends infer O ? Partial<O> : never = {}) =>
  createGitHubClient({ baseUrl: f.url, token: TOKEN, retryAfterBaseValue: 10, ...over });

function gitCmd(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) =>
    execFile('git', args, { env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...env } }, (err, _o, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    ),
  );
}
const authEnv = (token: string) => ({
  GIT_CONFIG_COUNT: '1',
  GIT_CONFIG_KEY_0: 'http.extraHeader',
  GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`,
});

describe('fake GitHub', () => {
  it('lists 205 org repos over Link pagination and applies fork/archived/glob filters', async () => {
    fake = await startFakeGitHub({ tokens: { [TOKEN]: 'crawler' } });
    for (let i = 0; i < 205; i++) fake.addRepo(`acme/svc-${String(i).padStart(3, '0')}`, { fork: i % 50 === 1, archived: i % 40 === 2 });
    fake.addRepo('other/x');
    const host = new GitHubRepoHost(client(fake));
    const all = await host.listRepos('acme', { includeForks: true, includeArchived: true });
    expect(all).toHaveLength(205);
    expect(fake.requestsTo('GET', '/orgs/acme/repos').map((r) => r.query.page ?? '1')).toEqual(['1', '2', '3']);
    const forks = all.filter((r) => r.fork).length;
    const archived = all.filter((r) => r.archived).length;
    expect(await host.listRepos('acme')).toHaveLength(205 - forks - archived);
    const picked = await host.listRepos('acme', { include: ['svc-00*'], exclude: ['acme/svc-000'] });
    expect(picked.map((r) => r.name)).toEqual(['svc-003', 'svc-004', 'svc-005', 'svc-006', 'svc-007', 'svc-008', 'svc-009']);
    expect(all[0]!.cloneUrl).toBe(`${fake.url}/acme/svc-000.git`);
    expect(await host.getRepo('acme/nope')).toBeNull();
  });

  it('works the same under the GHES /api/v3 prefix and rejects a bad token', async () => {
    fake = await startFakeGitHub({ tokens: { [TOKEN]: 'crawler' } });
    for (let i = 0; i < 120; i++) fake.addRepo(`acme/r${i}`);
    const ghes = new GitHubRepoHost(createGitHubClient({ baseUrl: `${fake.url}/api/v3`, token: TOKEN, retryAfterBaseValue: 10 }));
    expect(await ghes.listRepos('acme')).toHaveLength(120);
    const bad = new GitHubRepoHost(createGitHubClient({ baseUrl: fake.url, token: 'wrong', retryAfterBaseValue: 10 }));
    await expect(bad.listRepos('acme')).rejects.toMatchObject({ name: 'HostError', status: 401 });
  });

  it('injects a secondary rate limit (retry-after), a primary limit and 502s, which the client rides out', async () => {
    fake = await startFakeGitHub({ tokens: { [TOKEN]: 'crawler' } });
    for (let i = 0; i < 150; i++) fake.addRepo(`acme/r${i}`);
    fake.fault({ path: '/orgs/acme/repos', kind: 'secondary-rate-limit', retryAfter: 1, after: 1 });
    fake.fault({ path: '/repos/acme/r1', kind: 'primary-rate-limit', retryAfter: 1 });
    fake.fault({ path: '/repos/acme/r2', kind: 'status', status: 502, times: 2 });
    const host = new GitHubRepoHost(client(fake));
    const t0 = Date.now();
    expect(await host.listRepos('acme')).toHaveLength(150);
    expect((await host.getRepo('acme/r1'))?.name).toBe('r1');
    expect((await host.getRepo('acme/r2'))?.name).toBe('r2');
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(fake.requestsTo('GET', '/orgs/acme/repos').map((r) => r.status)).toEqual([200, 403, 200]);
    expect(fake.requestsTo('GET', '/repos/acme/r2').map((r) => r.status)).toEqual([502, 502, 200]);
    // A limit longer than we are willing to wait fails instead of hanging.
    fake.fault({ path: '/repos/acme/r3', kind: 'secondary-rate-limit', retryAfter: 3600 });
    const impatient = new GitHubRepoHost(client(fake, { maxRateLimitWait: 60 }));
    await expect(impatient.getRepo('acme/r3')).rejects.toMatchObject({ status: 403 });
  });

  it('serves issues, comments, labels, assignees, check runs, commits and rate_limit statefully', async () => {
    fake = await startFakeGitHub({ tokens: { [TOKEN]: 'keyloop-bot' } });
    const repo = await buildRepo({
      bare: true,
      commits: [{ id: 'c1', files: { 'a.txt': 'x' }, author: { name: 'Alice', email: 'Alice@Example.test' } }],
    });
    fake.addRepo('acme/api', { gitDir: repo.gitDir });
    fake.emails.set('alice@example.test', 'alice');
    fake.setAssignable('acme/api', 'alice');
    const o = client(fake, { throttle: false });
    const c = await o.rest.repos.getCommit({ owner: 'acme', repo: 'api', ref: repo.sha.c1! });
    expect(c.data.author?.login).toBe('alice');
    expect((await o.rest.issues.checkUserCanBeAssigned({ owner: 'acme', repo: 'api', assignee: 'alice' })).status).toBe(204);
    await expect(o.rest.issues.checkUserCanBeAssigned({ owner: 'acme', repo: 'api', assignee: 'mallory' })).rejects.toMatchObject({ status: 404 });
    await expect(o.rest.issues.create({ owner: 'acme', repo: 'api', title: 't', assignees: ['mallory'] })).rejects.toMatchObject({ status: 422 });
    const created = await o.rest.issues.create({ owner: 'acme', repo: 'api', title: 'Leaked key', body: 'b', labels: ['secret-scanner', 'secret:aws'], assignees: ['alice'] });
    expect(created.data.number).toBe(1);
    await o.rest.issues.create({ owner: 'acme', repo: 'api', title: 'other', labels: ['bug'] });
    await o.rest.issues.createComment({ owner: 'acme', repo: 'api', issue_number: 1, body: 'still live' });
    await o.rest.issues.update({ owner: 'acme', repo: 'api', issue_number: 1, state: 'closed', state_reason: 'completed' });
    const open = await o.paginate(o.rest.issues.listForRepo, { owner: 'acme', repo: 'api', labels: 'secret-scanner' });
    expect(open).toHaveLength(0);
    const all = await o.paginate(o.rest.issues.listForRepo, { owner: 'acme', repo: 'api', labels: 'secret-scanner', state: 'all' });
    expect(all.map((i) => [i.number, i.state, i.state_reason])).toEqual([[1, 'closed', 'completed']]);
    const comments = await o.rest.issues.listComments({ owner: 'acme', repo: 'api', issue_number: 1 });
    expect(comments.data.map((x) => [x.body, x.user?.login])).toEqual([['still live', 'keyloop-bot']]);
    expect(fake.issues[0]).toMatchObject({ assignees: ['alice'], labels: ['secret-scanner', 'secret:aws'], closed_at: expect.any(String) });
    await expect(o.rest.issues.createLabel({ owner: 'acme', repo: 'api', name: 'bug' })).rejects.toMatchObject({ status: 422 });
    const run = await o.rest.checks.create({ owner: 'acme', repo: 'api', name: 'keyloop', head_sha: repo.sha.c1!, status: 'in_progress' });
    await o.rest.checks.update({ owner: 'acme', repo: 'api', check_run_id: run.data.id, status: 'completed', conclusion: 'failure' });
    expect(fake.checkRuns[0]).toMatchObject({ status: 'completed', conclusion: 'failure', head_sha: repo.sha.c1 });
    const rl = await o.rest.rateLimit.get();
    expect(rl.data.resources.core.remaining).toBeLessThan(5000);
    // Revocation must be unauthenticated.
    await expect(o.rest.credentials.revoke({ credentials: ['ghp_x'] })).rejects.toMatchObject({ status: 403 });
    const anon = createGitHubClient({ baseUrl: fake.url, throttle: false });
    expect((await anon.rest.credentials.revoke({ credentials: ['ghp_x'] })).status).toBe(202);
    expect(fake.revoked).toEqual(['ghp_x']);
  });

  it('serves bare repos over smart HTTP with x-access-token Basic auth, and 404s a deleted repo', async () => {
    fake = await startFakeGitHub({ tokens: { [TOKEN]: 'crawler' } });
    const repo = await buildRepo({ bare: true, commits: [{ id: 'c1', files: { 'a.txt': 'hello' } }, { id: 'c2', files: { 'b.txt': 'x' } }] });
    fake.addRepo('acme/api', { gitDir: repo.gitDir });
    const dir = await tempDir();
    const ok = await gitCmd(['clone', '--mirror', '-q', fake.cloneUrl('acme/api'), join(dir, 'm.git')], authEnv(TOKEN));
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(readFileSync(join(dir, 'm.git', 'packed-refs'), 'utf8')).toContain(repo.sha.c2);
    const denied = await gitCmd(['clone', '--mirror', '-q', fake.cloneUrl('acme/api'), join(dir, 'n.git')], authEnv('nope'));
    expect(denied.code).not.toBe(0);
    fake.deleteRepo('acme/api');
    const gone = await gitCmd(['clone', '--mirror', '-q', fake.cloneUrl('acme/api'), join(dir, 'o.git')], authEnv(TOKEN));
    expect(gone.code).not.toBe(0);
    expect(fake.requestsTo('GET', '/acme/api.git/info/refs').map((r) => r.status)).toEqual([200, 401, 404]);
  });

  it('issues installation tokens only for a valid RS256 app JWT; the token lists the installation repos', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    fake = await startFakeGitHub({ app: { id: 4242, publicKey: publicKey.export({ type: 'spki', format: 'pem' }) as string } });
    fake.addRepo('acme/a');
    fake.addRepo('acme/b');
    fake.addInstallation({ id: 77, account: 'acme', repositories: ['acme/b'] });
    const jwt = (iss: number, key = privateKey) => {
      const now = Math.floor(Date.now() / 1000);
      const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const body = `${enc({ alg: 'RS256', typ: 'JWT' })}.${enc({ iat: now - 30, exp: now + 540, iss })}`;
      return `${body}.${createSign('RSA-SHA256').update(body).sign(key).toString('base64url')}`;
    };
    const post = (token: string) =>
      fetch(`${fake!.url}/app/installations/77/access_tokens`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect((await post(jwt(1))).status).toBe(401);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect((await post(jwt(4242, other))).status).toBe(401);
    const res = await post(jwt(4242));
    expect(res.status).toBe(201);
    const { token } = (await res.json()) as { token: string };
    const host = new GitHubRepoHost(createGitHubClient({ baseUrl: fake.url, token, throttle: false }), { mode: 'installation', token });
    expect((await host.listRepos('acme')).map((r) => r.fullName)).toEqual(['acme/b']);
    expect(await host.gitCredentials('acme/b')).toEqual({ username: 'x-access-token', password: token });
  });
});
