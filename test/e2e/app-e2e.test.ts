// The whole App against the fake GitHub (REST + git http-backend serving real repos): signed webhooks in,
// mirror fetched with an installation token, only the pushed blobs scanned, the key verified live at the fake,
// a redacted `keyloop` check run out. Scenarios: a push adding a key, a force push, a new branch, a deletion.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../../src/app/runtime.js';
import { defaultLoopConfig } from '../../src/core/loop-config.js';
import { WEBHOOK_PATH } from '../../src/app/server.js';
import { createLogger } from '../../src/util/logger.js';
import { SecretRegistry } from '../../src/util/redact.js';
import { startFakeGitHub, type FakeCheckRun, type FakeGitHub } from '../../testkit/fake-github.js';
import { buildRepo, git, tempDir } from '../../testkit/git-repo.js';
import { withCrc32Tail } from '../../testkit/token-gen.js';

const SECRET = 'e2e-webhook-' + randomUUID();
const APP_ID = 4242;
const INSTALLATION = 77;
const REPO = 'acme/service';
const ZERO = '0'.repeat(40);

const randomBody = (n: number) => Array.from(randomBytes(n), (b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[b % 62]).join('');
/** A syntactically valid classic PAT (checksummed), generated now; the fake GitHub knows it, so it verifies live. */
const liveToken = () => withCrc32Tail('ghp_', randomBody(30));

let fake: FakeGitHub;
let app: RunningApp;
let upstream: string;
let work: string;
const logs: string[] = [];
const issued: string[] = [];

beforeAll(async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  fake = await startFakeGitHub({ app: { id: APP_ID, publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() } });
  const repo = await buildRepo({ bare: true, commits: [{ id: 'c1', files: { 'README.md': '# service\n', 'src/index.js': 'export {}\n' } }] });
  upstream = repo.gitDir;
  fake.addRepo(REPO, { gitDir: upstream });
  fake.addInstallation({ id: INSTALLATION, account: 'acme', repositories: 'all' });
  work = path.join(await tempDir('keyloop-e2e-work-'), 'w');
  await git(path.dirname(work), 'clone', '-q', upstream, work);

  const dir = await tempDir('keyloop-e2e-app-');
  const registry = new SecretRegistry();
  app = await startApp({
    db: path.join(dir, 'keyloop.db'),
    cacheDir: path.join(dir, 'mirrors'),
    githubUrl: fake.url,
    env: { KEYLOOP_KEY: randomBytes(32).toString('hex') },
    logger: createLogger({ registry, level: 'debug', write: (l) => logs.push(l) }),
    registry,
    app: { appId: APP_ID, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    fingerprintKey: 'e2e-fingerprint-key',
    // GitHub tokens are verified at the fake GitHub, on loopback http.
    allowInsecureIssuers: true,
    client: { throttle: false, retries: 0 },
    backoff: () => 50,
    loopConfig: defaultLoopConfig(),
    secret: SECRET,
    port: 0,
    host: '127.0.0.1',
  });
});

afterAll(async () => {
  await app?.shutdown(2000);
  await fake?.close();
});

async function commit(files: Record<string, string>, msg: string): Promise<string> {
  for (const [p, c] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(work, p)), { recursive: true });
    await writeFile(path.join(work, p), c);
    await git(work, 'add', p);
  }
  await git(work, 'commit', '-q', '-m', msg);
  return git(work, 'rev-parse', 'HEAD');
}

/** Sends a signed push webhook like GitHub would and waits until the delivery is processed. */
async function deliverPush(p: { ref: string; before: string; after: string; created?: boolean; deleted?: boolean; forced?: boolean }) {
  const guid = randomUUID();
  const body = JSON.stringify({
    ref: p.ref,
    before: p.before,
    after: p.after,
    created: p.created ?? false,
    deleted: p.deleted ?? false,
    forced: p.forced ?? false,
    repository: { id: 1, full_name: REPO, clone_url: fake.cloneUrl(REPO), default_branch: 'main', private: true, owner: { login: 'acme' } },
    installation: { id: INSTALLATION },
    // GitHub caps this list and omits it for some pushes: the App must not rely on it.
    commits: [],
    head_commit: p.deleted ? null : { id: p.after, message: 'msg' },
  });
  const before = fake.checkRuns.length;
  const res = await fetch(app.url + WEBHOOK_PATH, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': guid, 'x-hub-signature-256': await sign(SECRET, body) },
  });
  expect(res.status).toBe(202);
  for (let i = 0; i < 400; i++) {
    const row = (await app.queue.get(guid))!;
    if (row.status === 'done' || row.status === 'failed') {
      expect(row, JSON.stringify(row)).toMatchObject({ status: 'done' });
      return { row, runs: fake.checkRuns.slice(before) };
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`delivery ${guid} did not finish: ${JSON.stringify((await app.queue.get(guid)))}`);
}

type Output = { title: string; summary: string; annotations: { path: string; start_line: number; annotation_level: string; message: string }[] };
const outputOf = (run: FakeCheckRun) => run.output as Output;

function expectNoPlaintext() {
  const everything = JSON.stringify({ checks: fake.checkRuns, issues: fake.issues, requests: fake.requests.map((r) => r.body), logs });
  for (const t of issued) expect(everything).not.toContain(t);
}

describe('keyloop app against the fake GitHub', () => {
  it('a push that adds a live key: check run failure with a redacted annotation at path:line', async () => {
    const token = liveToken();
    issued.push(token);
    fake.tokens.set(token, 'leaky-user');
    const before = await git(work, 'rev-parse', 'HEAD');
    await commit({ 'src/clean.js': 'export const x = 1\n' }, 'clean');
    const after = await commit({ 'config/.env': `# service config\nGITHUB_TOKEN=${token}\n` }, 'add config');
    await git(work, 'push', '-q', 'origin', 'main');

    const { row, runs } = await deliverPush({ ref: 'refs/heads/main', before, after });
    expect(row.result).toMatchObject({ kind: 'update', commits: 2, blobs: 2, findings: 1, conclusion: 'failure' });
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run).toMatchObject({ name: 'keyloop', head_sha: after, status: 'completed', conclusion: 'failure' });
    const out = outputOf(run);
    expect(out.annotations).toEqual([expect.objectContaining({ path: 'config/.env', start_line: 2, annotation_level: 'failure' })]);
    expect(out.annotations[0]!.message).toContain(`ghp_…${token.slice(-4)}`);
    expect(out.summary).toMatch(/1 live/);
    // The installation token was minted with the app JWT and used for both git and REST.
    expect(fake.requestsTo('POST', `/app/installations/${INSTALLATION}/access_tokens`).length).toBe(1);
    expect(fake.requestsTo('POST', `/repos/${REPO}/check-runs`)[0]!.as).toBe(`installation:${INSTALLATION}`);
    expect((await app.store.listSecrets()).map((s) => s.redacted)).toContain(`ghp_…${token.slice(-4)}`);
    // The issue loop opened one issue for the live key in the leaking (private) repo; the check links it.
    expect(fake.issues).toHaveLength(1);
    expect(fake.issues[0]).toMatchObject({ repo: REPO, state: 'open' });
    expect(out.summary).toContain(`Tracked in: [${REPO}#${fake.issues[0]!.number}]`);
    expectNoPlaintext();
  });

  it('a clean push: check run success, and the cached installation token is reused', async () => {
    const before = await git(work, 'rev-parse', 'HEAD');
    const after = await commit({ 'src/more.js': 'export const y = 2\n' }, 'more');
    await git(work, 'push', '-q', 'origin', 'main');
    const { row, runs } = await deliverPush({ ref: 'refs/heads/main', before, after });
    expect(row.result).toMatchObject({ kind: 'update', commits: 1, blobs: 1, findings: 0, conclusion: 'success' });
    expect(runs[0]).toMatchObject({ head_sha: after, conclusion: 'success' });
    expect(outputOf(runs[0]!).annotations).toEqual([]);
    expect(fake.requestsTo('POST', `/app/installations/${INSTALLATION}/access_tokens`).length).toBe(1);
  });

  it('a new branch: only its own commits are scanned (not main history already known)', async () => {
    await git(work, 'checkout', '-q', '-b', 'feature/x');
    const token = liveToken();
    issued.push(token);
    const after = await commit({ 'feature.yml': `api:\n  token: ${token}\n` }, 'feature');
    await git(work, 'push', '-q', 'origin', 'feature/x');
    const { row, runs } = await deliverPush({ ref: 'refs/heads/feature/x', before: ZERO, after, created: true });
    // Not known to the fake: the issuer says 401, so the key is dead and the check does not fail.
    expect(row.result).toMatchObject({ kind: 'new-ref', commits: 1, blobs: 1, findings: 1, conclusion: 'success' });
    const out = outputOf(runs[0]!);
    expect(out.annotations).toEqual([expect.objectContaining({ path: 'feature.yml', start_line: 2, annotation_level: 'warning' })]);
    expect(out.title).toMatch(/1 secret found \(1 revoked\)/);
    expect(fake.issues).toHaveLength(1); // a dead key gets no issue
    expectNoPlaintext();
  });

  it('a force push: only the rewritten commits are scanned; the old key is not re-reported', async () => {
    const old = await git(work, 'rev-parse', 'HEAD');
    await git(work, 'reset', '-q', '--hard', 'HEAD~1');
    const token = liveToken();
    issued.push(token);
    fake.tokens.set(token, 'leaky-user');
    const after = await commit({ 'deploy.sh': `#!/bin/sh\nexport GH_TOKEN=${token}\n` }, 'rewrite');
    await git(work, 'push', '-q', '--force', 'origin', 'feature/x');
    const { row, runs } = await deliverPush({ ref: 'refs/heads/feature/x', before: old, after, forced: true });
    expect(row.result).toMatchObject({ kind: 'force-push', commits: 1, blobs: 1, findings: 1, conclusion: 'failure' });
    expect(outputOf(runs[0]!).annotations.map((a) => `${a.path}:${a.start_line}`)).toEqual(['deploy.sh:2']);
    expectNoPlaintext();
  });

  it('a branch deletion: acknowledged, nothing fetched or scanned, no check run', async () => {
    const before = await git(work, 'rev-parse', 'HEAD');
    await git(work, 'push', '-q', 'origin', ':refs/heads/feature/x');
    const fetches = fake.requests.filter((r) => r.path.includes('.git/')).length;
    const { row, runs } = await deliverPush({ ref: 'refs/heads/feature/x', before, after: ZERO, deleted: true });
    expect(row.result).toMatchObject({ kind: 'skipped', reason: 'branch-deleted', blobs: 0 });
    expect(runs).toEqual([]);
    expect(fake.requests.filter((r) => r.path.includes('.git/')).length).toBe(fetches);
  });

  it('an installation_repositories event registers and forgets repositories', async () => {
    const send = async (payload: unknown) => {
      const body = JSON.stringify(payload);
      const guid = randomUUID();
      const res = await fetch(app.url + WEBHOOK_PATH, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-github-event': 'installation_repositories', 'x-github-delivery': guid, 'x-hub-signature-256': await sign(SECRET, body) },
      });
      expect(res.status).toBe(202);
      await app.queue.drained();
      return (await app.queue.get(guid))!;
    };
    const added = await send({ action: 'added', installation: { id: INSTALLATION }, repositories_added: [{ id: 9, full_name: 'acme/new', private: true }], repositories_removed: [] });
    expect(added).toMatchObject({ status: 'done', result: { added: ['acme/new'], removed: [] } });
    expect(await app.store.installedRepos()).toContainEqual({ fullName: 'acme/new', installationId: INSTALLATION });
    await send({ action: 'removed', installation: { id: INSTALLATION }, repositories_added: [], repositories_removed: [{ id: 9, full_name: 'acme/new' }] });
    expect((await app.store.installedRepos()).map((r) => r.fullName)).not.toContain('acme/new');
    expect(await app.store.getRepo('acme/new')).toBeDefined(); // findings history is kept
  });

  it('with --scan-new-repos, a newly added repository gets a full-history scan (clone URL from the API)', async () => {
    const token = liveToken();
    issued.push(token);
    const other = await buildRepo({
      bare: true,
      commits: [
        { id: 'a', files: { 'old.env': `TOKEN=${token}\n` } },
        { id: 'b', files: { 'old.env': null, 'README.md': 'cleaned\n' } },
      ],
    });
    fake.addRepo('acme/other', { gitDir: other.gitDir });
    app.deps.scanNewRepos = true;
    try {
      const body = JSON.stringify({ action: 'added', installation: { id: INSTALLATION }, repositories_added: [{ id: 11, full_name: 'acme/other', private: true }], repositories_removed: [] });
      const guid = randomUUID();
      const res = await fetch(app.url + WEBHOOK_PATH, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-github-event': 'installation_repositories', 'x-github-delivery': guid, 'x-hub-signature-256': await sign(SECRET, body) },
      });
      expect(res.status).toBe(202);
      await app.queue.drained();
      expect((await app.queue.get(guid))).toMatchObject({ status: 'done', result: { scansQueued: 1 } });
      // The key was deleted at HEAD but lives in history: the full scan finds it.
      expect((await app.queue.get(`${guid}:scan:acme/other`))).toMatchObject({ status: 'done', result: { kind: 'full-scan', repo: 'acme/other', commits: 2, findings: 1 } });
      expectNoPlaintext();
    } finally {
      app.deps.scanNewRepos = false;
    }
  });
});
