// `keyloop app` and `keyloop receive` through the real CLI entry (main), against the fake GitHub.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { startFakeGitHub, type FakeGitHub } from '../testkit/fake-github.js';
import { buildRepo, tempDir } from '../testkit/git-repo.js';
import { cliEnv, runCli } from './helpers/run-cli.js';

const APP_ID = 99;
const INSTALLATION = 5;
const REPO = 'acme/cli';
let fake: FakeGitHub;
let privatePem: string;
let sha: Record<string, string>;

beforeAll(async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  fake = await startFakeGitHub({ app: { id: APP_ID, publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() } });
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
});
afterAll(() => fake?.close());

function payload() {
  return {
    ref: 'refs/heads/main',
    before: sha.c1,
    after: sha.c2,
    repository: { id: 3, full_name: REPO, clone_url: fake.cloneUrl(REPO), default_branch: 'main', private: true },
    installation: { id: INSTALLATION },
  };
}

async function env() {
  const dir = await tempDir('keyloop-cli-app-');
  return {
    dir,
    env: await cliEnv({
      APP_ID: String(APP_ID),
      PRIVATE_KEY: privatePem.replace(/\n/g, '\\n'), // one-line form, as env files carry it
      WEBHOOK_SECRET: 'cli-secret',
      KEYLOOP_KEY: randomBytes(32).toString('hex'),
      XDG_CACHE_HOME: path.join(dir, 'cache'),
    }),
  };
}

describe('keyloop app (CLI)', () => {
  it('refuses to start without App credentials, naming the variable', async () => {
    const r = await runCli(['app', '--port', '0'], { env: { WEBHOOK_SECRET: 'x' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/APP_ID/);
  });

  it('serves signed webhooks, creates the check run, and shuts down cleanly on abort (SIGTERM)', async () => {
    const { dir, env: e } = await env();
    const ac = new AbortController();
    let stderr = '';
    const done = main(['app', '--port', '0', '--host', '127.0.0.1', '--db', 'k.db', '--github-url', fake.url, '--no-verify'], {
      cwd: dir,
      env: e,
      stdout: { write: () => true },
      stderr: { write: (s: string) => ((stderr += s), true) },
      signal: ac.signal,
    });
    let url = '';
    for (let i = 0; i < 200 && !url; i++) {
      url = /keyloop app (http:\/\/\S+) /.exec(stderr)?.[1] ?? '';
      if (!url) await new Promise((r) => setTimeout(r, 25));
    }
    expect(url, stderr).not.toBe('');
    expect((await fetch(url + '/healthz')).status).toBe(200);
    const body = JSON.stringify(payload());
    const guid = randomUUID();
    const res = await fetch(url + '/api/github/webhooks', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': guid, 'x-hub-signature-256': await sign('cli-secret', body) },
    });
    expect(res.status).toBe(202);
    for (let i = 0; i < 400 && !fake.checkRuns.some((c) => c.head_sha === sha.c2); i++) await new Promise((r) => setTimeout(r, 25));
    expect(fake.checkRuns.find((c) => c.head_sha === sha.c2)).toMatchObject({ name: 'keyloop', conclusion: 'success' });
    ac.abort();
    expect(await done).toBe(0);
    expect(stderr).toMatch(/stopped/);
    expect(stderr).not.toContain('cli-secret');
    const store = openSqliteStore(path.join(dir, 'k.db'));
    expect((await store.getDelivery(guid))?.status).toBe('done');
    await store.close();
  });
});

describe('keyloop receive (CLI)', () => {
  it('replays a payload file through the same handler with App credentials and prints the result', async () => {
    const { dir, env: e } = await env();
    const file = path.join(dir, 'push.json');
    await writeFile(file, JSON.stringify(payload()));
    const before = fake.checkRuns.length;
    const r = await runCli(['receive', file, '--event', 'push', '--db', 'k.db', '--github-url', fake.url, '--no-verify', '--no-issues'], { cwd: dir, env: e });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { status: string; result: Record<string, unknown> };
    expect(out).toMatchObject({ status: 'done', result: { kind: 'update', commits: 1, blobs: 1, findings: 0, conclusion: 'success' } });
    expect(fake.checkRuns.length).toBe(before + 1);
  });

  it('exits 1 with the error when the delivery fails (repository unreachable), 2 on a bad payload', async () => {
    const { dir, env: e } = await env();
    const file = path.join(dir, 'push.json');
    await writeFile(file, JSON.stringify({ ...payload(), repository: { ...payload().repository, full_name: 'acme/missing', clone_url: fake.cloneUrl('acme/missing') } }));
    const r = await runCli(['receive', file, '--event', 'push', '--db', 'k.db', '--github-url', fake.url, '--no-verify'], { cwd: dir, env: e });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'failed' });
    expect(r.stderr).toMatch(/git fetch acme\/missing failed/);
    await writeFile(file, '{"ref": 1}');
    const bad = await runCli(['receive', file, '--event', 'push', '--db', 'k.db', '--github-url', fake.url], { cwd: dir, env: e });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/push payload/);
  });
});
