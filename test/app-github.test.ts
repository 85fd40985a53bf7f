// App auth (JWT → installation tokens cached until just before expiry) and check-run rendering/publishing,
// against the fake GitHub.
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appCredentialsFromEnv, GitHubApp } from '../src/adapters/github/app.js';
import { publishCheckRun, renderCheckRun, type CheckFinding } from '../src/adapters/github/check-runs.js';
import { SecretRegistry } from '../src/util/redact.js';
import { startFakeGitHub, type FakeGitHub } from '../testkit/fake-github.js';
import { tempDir } from '../testkit/git-repo.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
let fake: FakeGitHub;

beforeAll(async () => {
  fake = await startFakeGitHub({ app: { id: 31, publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() } });
  fake.addInstallation({ id: 8, account: 'acme', repositories: 'all' });
  fake.addRepo('acme/checks');
});
afterAll(() => fake?.close());

describe('GitHubApp installation tokens', () => {
  it('mints once, reuses the token until 5 minutes before expiry, then mints a new one', async () => {
    let now = Date.now();
    const app = new GitHubApp({ appId: 31, privateKey: PEM, baseUrl: fake.url, clock: { now: () => new Date(now) }, client: { throttle: false, retries: 0 } });
    const mints = () => fake.requestsTo('POST', '/app/installations/8/access_tokens').length;
    const base = mints();
    const [a, b] = await Promise.all([app.installationToken(8), app.installationToken(8)]);
    expect(a.token).toBe(b.token);
    expect(mints()).toBe(base + 1); // concurrent callers share one request
    now += 54 * 60_000; // the fake's tokens live one hour
    expect((await app.installationToken(8)).token).toBe(a.token);
    expect(mints()).toBe(base + 1);
    now += 2 * 60_000; // 4 minutes left: inside the refresh margin
    const c = await app.installationToken(8);
    expect(c.token).not.toBe(a.token);
    expect(mints()).toBe(base + 2);
    // The installation client authenticates with the current token.
    const client = await app.installationClient(8);
    const { data } = await client.request('GET /installation/repositories');
    expect((data as { total_count: number }).total_count).toBeGreaterThan(0);
  });

  it('an unknown installation is a HostError with the status', async () => {
    const app = new GitHubApp({ appId: 31, privateKey: PEM, baseUrl: fake.url });
    await expect(app.installationToken(999)).rejects.toMatchObject({ name: 'HostError', status: 404 });
  });
});

describe('appCredentialsFromEnv', () => {
  it('reads PRIVATE_KEY_PATH relative to cwd, and one-line PRIVATE_KEY with \\n escapes', async () => {
    const dir = await tempDir('keyloop-creds-');
    await writeFile(path.join(dir, 'app.pem'), PEM);
    expect(appCredentialsFromEnv({ APP_ID: '31', PRIVATE_KEY_PATH: 'app.pem', WEBHOOK_SECRET: 's' }, dir)).toMatchObject({ appId: 31, webhookSecret: 's' });
    const one = appCredentialsFromEnv({ APP_ID: '31', PRIVATE_KEY: PEM.replace(/\n/g, '\\n'), WEBHOOK_SECRET: 's' });
    expect(one.privateKey).toBe(PEM);
  });

  it('names the missing or bad variable', () => {
    expect(() => appCredentialsFromEnv({ PRIVATE_KEY: PEM, WEBHOOK_SECRET: 's' })).toThrow(/APP_ID/);
    expect(() => appCredentialsFromEnv({ APP_ID: '31', WEBHOOK_SECRET: 's' })).toThrow(/PRIVATE_KEY/);
    expect(() => appCredentialsFromEnv({ APP_ID: '31', PRIVATE_KEY: 'not a key', WEBHOOK_SECRET: 's' })).toThrow(/PEM/);
    expect(() => appCredentialsFromEnv({ APP_ID: '31', PRIVATE_KEY: PEM })).toThrow(/WEBHOOK_SECRET/);
  });
});

function finding(i: number, status: 'live' | 'dead' | undefined, locations = 1): CheckFinding {
  return {
    detector: 'github-pat-classic',
    name: 'GitHub personal access token',
    confidence: 'high',
    provider: 'github',
    severity: 'critical',
    fingerprint: i.toString(16).padStart(64, '0'),
    redacted: `ghp_…${String(i).padStart(4, '0')}`,
    locations: Array.from({ length: locations }, (_, j) => ({
      commit: 'c'.repeat(40),
      author: { name: 'A', email: 'a@example.test' },
      date: '2024-01-01T00:00:00Z',
      path: `cfg/${i}.env`,
      line: j + 1,
      column: 1,
      blob: 'b'.repeat(40),
    })),
    ...(status ? { verification: { status, checkedAt: '2024-01-01T00:00:00Z', reason: `HTTP ${status === 'live' ? 200 : 401}` } } : {}),
  };
}

describe('check runs', () => {
  it('renders failure for live or unverified keys, success (warnings) when every key is revoked', () => {
    const live = renderCheckRun({ headSha: 'a'.repeat(40), findings: [finding(1, 'live'), finding(2, 'dead')], scope: 'update main', commits: 2, blobs: 3 });
    expect(live.conclusion).toBe('failure');
    expect(live.annotations.map((a) => [a.path, a.start_line, a.annotation_level])).toEqual([
      ['cfg/1.env', 1, 'failure'],
      ['cfg/2.env', 1, 'warning'],
    ]);
    expect(live.output.title).toBe('2 secrets found (1 revoked)');
    expect(renderCheckRun({ headSha: 'a'.repeat(40), findings: [finding(3, undefined)], scope: 's', commits: 1, blobs: 1 }).conclusion).toBe('failure');
    const dead = renderCheckRun({ headSha: 'a'.repeat(40), findings: [finding(4, 'dead')], scope: 's', commits: 1, blobs: 1 });
    expect(dead.conclusion).toBe('success');
    const none = renderCheckRun({ headSha: 'a'.repeat(40), findings: [], scope: 's', commits: 1, blobs: 1 });
    expect(none).toMatchObject({ conclusion: 'success', output: { title: 'No secrets found' }, annotations: [] });
  });

  it('publishes 120 annotations as one create and two updates of at most 50, scrubbed by the registry', async () => {
    const app = new GitHubApp({ appId: 31, privateKey: PEM, baseUrl: fake.url, client: { throttle: false, retries: 0 } });
    const client = await app.installationClient(8);
    const run = renderCheckRun({ headSha: 'd'.repeat(40), findings: [finding(5, 'live', 120)], scope: 'update main', commits: 1, blobs: 1 });
    expect(run.annotations).toHaveLength(120);
    // A plaintext that slipped into a message is replaced by the registry before it leaves the process.
    const plaintext = 'ghp_' + 'Z'.repeat(36);
    run.annotations[0]!.message += ` leaked ${plaintext}`;
    const registry = new SecretRegistry();
    registry.add(plaintext);
    const id = await publishCheckRun(client, 'acme/checks', run, (t) => registry.scrub(t));
    const posts = fake.requests.filter((r) => r.path === '/repos/acme/checks/check-runs' && r.method === 'POST');
    const patches = fake.requests.filter((r) => r.path === `/repos/acme/checks/check-runs/${id}` && r.method === 'PATCH');
    const count = (r: { body?: unknown }) => ((r.body as { output: { annotations: unknown[] } }).output.annotations.length);
    expect(posts.map(count)).toEqual([50]);
    expect(patches.map(count)).toEqual([50, 20]);
    expect(JSON.stringify(fake.requests.map((r) => r.body))).not.toContain(plaintext);
    expect(fake.checkRuns.find((c) => c.id === id)).toMatchObject({ conclusion: 'failure', head_sha: 'd'.repeat(40) });
  });
});
