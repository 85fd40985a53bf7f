// Attacks on where keyloop fetches from: a webhook payload's clone_url / ref / default_branch, the org crawl's API
// clone_url, and a redirect. The token must reach nobody but the configured GitHub, and no payload value may
// become a git option (`--upload-pack=touch MARKER;true` ran the command before).
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../../src/app/runtime.js';
import { WEBHOOK_PATH } from '../../src/app/server.js';
import { syncMirror } from '../../src/sources/mirror.js';
import { createLogger } from '../../src/util/logger.js';
import { SecretRegistry } from '../../src/util/redact.js';
import { startFakeGitHub, type FakeGitHub } from '../../testkit/fake-github.js';
import { buildRepo, tempDir } from '../../testkit/git-repo.js';
import { runCli } from '../helpers/run-cli.js';
import { startTrap, type TrapServer } from './trap-server.js';

const TOKEN = 'operator-token-' + randomBytes(12).toString('hex');
const APP_ID = 31337;
const INSTALLATION = 9;
const REPO = 'acme/cli';
const SECRET = 'sec-webhook-' + randomUUID();
let fake: FakeGitHub;
let trap: TrapServer;
let sha: Record<string, string>;
let privatePem: string;

beforeAll(async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  fake = await startFakeGitHub({ tokens: { [TOKEN]: 'operator' }, app: { id: APP_ID, publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() } });
  const repo = await buildRepo({
    bare: true,
    commits: [
      { id: 'c1', files: { 'README.md': 'x\n' } },
      { id: 'c2', files: { 'app.py': 'print(1)\n' } },
    ],
  });
  sha = repo.sha;
  fake.addRepo(REPO, { gitDir: repo.gitDir });
  fake.addInstallation({ id: INSTALLATION, account: 'acme', repositories: 'all' });
  trap = await startTrap();
});
afterAll(async () => {
  await fake?.close();
  await trap?.close();
});

const upload = (marker: string) => `--upload-pack=touch ${marker};true`;

function push(repository: Record<string, unknown> = {}, over: Record<string, unknown> = {}) {
  return {
    ref: 'refs/heads/main',
    before: sha.c1,
    after: sha.c2,
    repository: { id: 3, full_name: REPO, clone_url: `${trap.url}/${REPO}.git`, default_branch: 'main', private: true, ...repository },
    installation: { id: INSTALLATION },
    ...over,
  };
}

async function receive(payload: unknown) {
  const dir = await tempDir('keyloop-sec-receive-');
  const file = path.join(dir, 'push.json');
  await writeFile(file, JSON.stringify(payload));
  const env = { ...process.env, KEYLOOP_KEY: randomBytes(32).toString('hex'), XDG_CACHE_HOME: path.join(dir, 'cache'), GITHUB_TOKEN: TOKEN };
  return runCli(['receive', file, '--event', 'push', '--db', 'k.db', '--github-url', fake.url, '--no-verify', '--no-issues'], { cwd: dir, env });
}

const gitRequestsAs = (who: string) => fake.requests.filter((r) => /\.git\//.test(r.path) && r.as === who);

describe('keyloop receive: the payload never says where to fetch from', () => {
  it('a clone_url pointing at another host receives no request; the repo is fetched from --github-url with the token', async () => {
    const before = gitRequestsAs('operator').length;
    const r = await receive(push());
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'done', result: { kind: 'update', commits: 1 } });
    expect(trap.bearing([TOKEN])).toEqual([]);
    expect(trap.requests).toEqual([]);
    expect(gitRequestsAs('operator').length).toBeGreaterThan(before);
  });

  it('a clone_url of --upload-pack=touch MARKER runs nothing', async () => {
    const marker = path.join(await tempDir('keyloop-marker-'), 'PWNED');
    const r = await receive(push({ clone_url: upload(marker) }));
    expect(existsSync(marker)).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'done' });
  });

  it.each([
    ['ref', (m: string) => push({}, { ref: upload(m) })],
    ['ref under refs/heads', (m: string) => push({}, { ref: `refs/heads/${upload(m)}` })],
    ['default_branch', (m: string) => push({ default_branch: upload(m) })],
    ['full_name', (m: string) => push({ full_name: `acme/${upload(m).replace(/ /g, '')}` })],
    ['full_name owner', () => push({ full_name: '-acme/cli' })],
    ['before', (m: string) => push({}, { before: upload(m) })],
  ])('a payload %s that looks like a git option is refused as bad input (exit 2), nothing runs', async (_what, make) => {
    const marker = path.join(await tempDir('keyloop-marker-'), 'PWNED');
    const r = await receive(make(marker));
    expect(existsSync(marker)).toBe(false);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/push payload/);
  });
});

describe('keyloop app: a validly signed delivery cannot steer git', () => {
  let app: RunningApp;
  beforeAll(async () => {
    const dir = await tempDir('keyloop-sec-app-');
    const registry = new SecretRegistry();
    app = await startApp({
      db: path.join(dir, 'keyloop.db'),
      cacheDir: path.join(dir, 'cache'),
      githubUrl: fake.url,
      env: { KEYLOOP_KEY: randomBytes(32).toString('hex') },
      logger: createLogger({ registry, level: 'error', write: () => {} }),
      registry,
      app: { appId: APP_ID, privateKey: privatePem },
      fingerprintKey: 'sec-fingerprint-key',
      client: { throttle: false, retries: 0 },
      verify: false,
      // Retries are where the injected command ran again before: let the delivery be tried more than once.
      maxAttempts: 2,
      backoff: () => 20,
      secret: SECRET,
      port: 0,
      host: '127.0.0.1',
    });
  });
  afterAll(async () => {
    await app?.shutdown(2000);
  });

  async function deliver(payload: unknown) {
    const guid = randomUUID();
    const body = JSON.stringify(payload);
    const res = await fetch(app.url + WEBHOOK_PATH, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': guid, 'x-hub-signature-256': await sign(SECRET, body) },
    });
    if (res.status !== 202) return { status: res.status, row: null };
    for (;;) {
      const row = (await app.queue.get(guid))!;
      if (row.status === 'done' || row.status === 'failed') return { status: res.status, row };
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('clone_url to another host: no request reaches it, the installation token goes only to the configured GitHub', async () => {
    const before = fake.requests.filter((r) => /\.git\//.test(r.path) && r.as === `installation:${INSTALLATION}`).length;
    const { status, row } = await deliver(push());
    expect(status).toBe(202);
    expect(row, JSON.stringify(row)).toMatchObject({ status: 'done', attempts: 1 });
    expect(trap.requests).toEqual([]);
    expect(fake.requests.filter((r) => /\.git\//.test(r.path) && r.as === `installation:${INSTALLATION}`).length).toBeGreaterThan(before);
  });

  it('clone_url of --upload-pack=touch MARKER runs nothing, on the first attempt or a retry', async () => {
    const marker = path.join(await tempDir('keyloop-marker-'), 'PWNED');
    const { row } = await deliver(push({ clone_url: upload(marker) }));
    expect(existsSync(marker)).toBe(false);
    expect(row).toMatchObject({ status: 'done' });
  });

  it.each([
    ['ref', (m: string) => push({}, { ref: upload(m) })],
    ['default_branch', (m: string) => push({ default_branch: upload(m) })],
  ])('a signed payload whose %s looks like a git option is answered 400 and not queued', async (_what, make) => {
    const marker = path.join(await tempDir('keyloop-marker-'), 'PWNED');
    const { status } = await deliver(make(marker));
    expect(status).toBe(400);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('keyloop org: the API JSON does not say where to fetch from either', () => {
  it("a repository whose API clone_url points elsewhere is fetched from --github-url's host; the other host sees nothing", async () => {
    const own = await startFakeGitHub({ tokens: { [TOKEN]: 'crawler' } });
    const orgTrap = await startTrap();
    try {
      const repo = await buildRepo({ bare: true, commits: [{ id: 'c1', files: { 'a.txt': 'a\n' } }] });
      own.addRepo('acme/api', { gitDir: repo.gitDir, apiCloneUrl: `${orgTrap.url}/acme/api.git` });
      const marker = path.join(await tempDir('keyloop-marker-'), 'PWNED');
      own.addRepo('acme/opt', { gitDir: repo.gitDir, apiCloneUrl: upload(marker) });
      const dir = await tempDir('keyloop-sec-org-');
      const r = await runCli(['org', 'acme', '--github-url', own.url, '--db', 'k.db', '--cache-dir', 'cache', '--format', 'json', '--no-progress', '--no-issues'], {
        cwd: dir,
        env: { ...process.env, KEYLOOP_KEY: randomBytes(32).toString('hex'), GITHUB_TOKEN: TOKEN, XDG_CONFIG_HOME: dir },
      });
      expect(existsSync(marker)).toBe(false);
      expect(orgTrap.requests).toEqual([]);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { repos: { repo: string; status: string }[] };
      expect(out.repos.map((x) => [x.repo, x.status])).toEqual([
        ['acme/api', 'done'],
        ['acme/opt', 'done'],
      ]);
      expect(own.requests.filter((q) => q.path.startsWith('/acme/api.git/') && q.as === 'crawler').length).toBeGreaterThan(0);
    } finally {
      await own.close();
      await orgTrap.close();
    }
  });
});

describe('redirects do not carry the token to another host', () => {
  it.each(['native', 'isomorphic'] as const)('%s: a 302 from the configured host to another one: the other host never sees the token', async (backend) => {
    // The other host proxies to a real git server, so a client that followed the redirect would complete the fetch there.
    const open = await startFakeGitHub();
    const repo = await buildRepo({ bare: true, commits: [{ id: 'c1', files: { 'a.txt': 'a\n' } }] });
    open.addRepo('acme/api', { gitDir: repo.gitDir });
    const other = await startTrap({ forward: open.url });
    const redirector = await startTrap({ redirectTo: other.url });
    try {
      const hosted = { fullName: 'acme/api', owner: 'acme', name: 'api', defaultBranch: 'main', cloneUrl: `${redirector.url}/acme/api.git`, private: true, fork: false, archived: false, sizeKb: 1 };
      await syncMirror(hosted, { cacheDir: await tempDir(), credentials: { username: 'x-access-token', password: TOKEN }, backend }).catch(() => null);
      expect(redirector.requests.length).toBeGreaterThan(0);
      expect(other.bearing([TOKEN])).toEqual([]);
    } finally {
      await redirector.close();
      await other.close();
      await open.close();
    }
  });
});
