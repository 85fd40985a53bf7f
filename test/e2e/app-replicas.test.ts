// Two `keyloop app` replicas on one PostgreSQL store share one delivery queue: a burst of signed pushes, split
// between them like a load balancer would and each redelivered to the other replica, is processed once per
// delivery — one claim, one attempt, one check run per pushed commit — and a replica's own pollers never race.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../../src/app/runtime.js';
import { WEBHOOK_PATH } from '../../src/app/server.js';
import { createLogger } from '../../src/util/logger.js';
import { SecretRegistry } from '../../src/util/redact.js';
import { startFakeGitHub, type FakeGitHub } from '../../testkit/fake-github.js';
import { buildRepo, git, tempDir } from '../../testkit/git-repo.js';
import { withCrc32Tail } from '../../testkit/token-gen.js';
import { pgTestDatabase, type TestDatabase } from '../helpers/postgres.js';

const SECRET = 'replicas-' + randomUUID();
const APP_ID = 5151;
const INSTALLATION = 91;
const ZERO = '0'.repeat(40);
const REPOS = 6;
const PUSHES = 3;
const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

let fake: FakeGitHub;
let db: TestDatabase;
const replicas: RunningApp[] = [];
const logs: string[] = [];
const tokens: string[] = [];
/** Per repository: its commits in order (what each push moves the branch to). */
const commits = new Map<string, string[]>();

beforeAll(async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  [fake, db] = await Promise.all([startFakeGitHub({ app: { id: APP_ID, publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() } }), pgTestDatabase('keyloop_replicas')]);
  fake.addInstallation({ id: INSTALLATION, account: 'acme', repositories: 'all' });
  for (let r = 0; r < REPOS; r++) {
    const token = withCrc32Tail('ghp_', Array.from(randomBytes(30), (b) => B62[b % 62]).join(''));
    tokens.push(token);
    const repo = await buildRepo({
      bare: true,
      commits: Array.from({ length: PUSHES }, (_, i) => ({ id: `c${i}`, files: i === 1 ? { '.env': `GITHUB_TOKEN=${token}\n` } : { [`f${i}.txt`]: `r${r} ${i}\n` } })),
    });
    const name = `acme/svc${r}`;
    fake.addRepo(name, { gitDir: repo.gitDir });
    commits.set(name, (await git(repo.gitDir, 'rev-list', '--reverse', 'main')).split('\n'));
  }
  const dir = await tempDir('keyloop-replicas-');
  const env = { KEYLOOP_KEY: randomBytes(32).toString('hex') };
  for (const name of ['a', 'b']) {
    const registry = new SecretRegistry();
    replicas.push(
      await startApp({
        db: db.url,
        cacheDir: path.join(dir, `mirrors-${name}`),
        githubUrl: fake.url,
        env,
        logger: createLogger({ registry, level: 'warn', write: (l) => logs.push(`${name}: ${l}`) }),
        registry,
        app: { appId: APP_ID, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
        fingerprintKey: 'replicas-fingerprint-key',
        verify: false,
        client: { throttle: false, retries: 0 },
        concurrency: 3,
        pollMs: 100,
        metrics: { port: 0, host: '127.0.0.1' },
        secret: SECRET,
        port: 0,
        host: '127.0.0.1',
      }),
    );
  }
});

afterAll(async () => {
  for (const r of replicas) await r.shutdown(2000).catch(() => {});
  await fake?.close();
  await db?.drop();
});

async function post(app: RunningApp, guid: string, body: string): Promise<{ status: number; outcome: string }> {
  const res = await fetch(app.url + WEBHOOK_PATH, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': guid, 'x-hub-signature-256': await sign(SECRET, body) },
  });
  return { status: res.status, outcome: ((await res.json()) as { status: string }).status };
}

describe('App replicas sharing one PostgreSQL delivery queue', () => {
  it('process a burst once per delivery, whichever replica received it and however often GitHub redelivered it', async () => {
    const sent: { guid: string; repo: string; after: string }[] = [];
    const bodies: { guid: string; body: string }[] = [];
    for (const [repo, shas] of commits) {
      shas.forEach((after, i) => {
        const guid = randomUUID();
        const before = i === 0 ? ZERO : shas[i - 1]!;
        const body = JSON.stringify({
          ref: 'refs/heads/main',
          before,
          after,
          created: i === 0,
          deleted: false,
          forced: false,
          repository: { id: 1, full_name: repo, default_branch: 'main', private: true, owner: { login: 'acme' } },
          installation: { id: INSTALLATION },
          commits: [],
          head_commit: { id: after, message: 'm' },
        });
        sent.push({ guid, repo, after });
        bodies.push({ guid, body });
      });
    }
    // The burst: every delivery to one replica, alternating, and the same delivery again to the other one.
    const answers = await Promise.all(bodies.map(({ guid, body }, i) => post(replicas[i % 2]!, guid, body)));
    expect(answers.every((a) => a.status === 202 && a.outcome === 'queued')).toBe(true);
    const again = await Promise.all(bodies.map(({ guid, body }, i) => post(replicas[(i + 1) % 2]!, guid, body)));
    expect(again.every((a) => a.status === 200 && a.outcome === 'duplicate')).toBe(true);

    await replicas[0]!.queue.drained();
    const rows = await Promise.all(sent.map((s) => replicas[0]!.queue.get(s.guid)));
    expect(rows.map((r) => [r!.status, r!.attempts])).toEqual(sent.map(() => ['done', 1]));
    // One check run per pushed commit: no delivery ran twice.
    const runs = fake.checkRuns.map((c) => `${c.repo}@${c.head_sha}`).sort();
    expect(runs).toEqual(sent.map((s) => `${s.repo}@${s.after}`).sort());
    // Both replicas took part, and their metrics count it.
    const done = await Promise.all(
      replicas.map(async (r) => {
        const text = await (await fetch(`${r.metricsUrl!}/metrics`)).text();
        return Number(/keyloop_jobs_total\{queue="push",outcome="done",component="app"\} (\d+)/.exec(text)?.[1] ?? 0);
      }),
    );
    expect(done[0]! + done[1]!).toBe(sent.length);
    expect(done.every((n) => n > 0)).toBe(true);
    const health = await fetch(`${replicas[1]!.metricsUrl!}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, store: 'postgres', deliveries: { done: sent.length, queued: 0, running: 0 } });
    // Every planted key was found, and none of them is in a check run, a log line or the queue.
    const text = JSON.stringify({ checks: fake.checkRuns, logs });
    for (const t of tokens) expect(text).not.toContain(t);
    expect(fake.checkRuns.filter((c) => c.conclusion === 'failure').length).toBe(REPOS);
  });
});
