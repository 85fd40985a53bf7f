// Faults of an org run handed to workers, on a PostgreSQL server of its own: the server restarted mid-run (the
// worker reconnects, no job is lost, the run ends as it would have), and a job that fails on every try (it ends
// failed with its error, visible in `keyloop runs`, and the run still ends).
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient, GitHubRepoHost } from '../src/adapters/github/index.js';
import type { JobQueue } from '../src/core/jobs.js';
import type { Store } from '../src/core/store.js';
import { defaultDetectorsDir, loadCatalog } from '../src/detection/load.js';
import { openPgBossQueue } from '../src/queue/pg-boss.js';
import { enqueueOrgRun, reconcileRuns } from '../src/scale/org-run.js';
import { startWorker, type RunningWorker } from '../src/scale/worker.js';
import { openStore } from '../src/store/open.js';
import { createLogger } from '../src/util/logger.js';
import { SecretRegistry } from '../src/util/redact.js';
import { createDatabase, startEmbeddedPostgres, type EmbeddedServer } from '../testkit/embedded-postgres.js';
import { startFakeGitHub, type FakeGitHub } from '../testkit/fake-github.js';
import { buildRepo, tempDir } from '../testkit/git-repo.js';
import { withCrc32Tail } from '../testkit/token-gen.js';
import { runCli } from './helpers/run-cli.js';

const N = 8;
const KEY = randomBytes(32).toString('hex');
const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const catalog = loadCatalog(defaultDetectorsDir());
let server: EmbeddedServer;
let fake: FakeGitHub;
let dir: string;
const planted: string[] = [];
const logs: string[] = [];

beforeAll(async () => {
  [server, fake, dir] = await Promise.all([startEmbeddedPostgres(), startFakeGitHub(), tempDir('keyloop-faults-')]);
  for (let i = 0; i < N; i++) {
    const files: Record<string, string> = { 'README.md': `# r${i}\n` };
    if (i % 2 === 0) {
      const t = withCrc32Tail('ghp_', Array.from(randomBytes(30), (b) => B62[b % 62]).join(''));
      planted.push(t);
      files['.env'] = `GITHUB_TOKEN=${t}\n`;
    }
    const repo = await buildRepo({ bare: true, commits: [{ id: 'c1', files }] });
    fake.addRepo(`acme/r${i}`, { gitDir: repo.gitDir });
  }
});

afterAll(async () => {
  await fake?.close();
  await server?.stop();
});

interface Harness {
  url: string;
  store: Store;
  jobs: JobQueue;
  worker: RunningWorker;
  close(): Promise<void>;
}

async function harness(name: string, o: { maxAttempts?: number; before?: (store: Store) => Promise<void> } = {}): Promise<Harness> {
  const { url } = await createDatabase(server.adminUrl, `keyloop_${name}`);
  const store = await openStore(url, { key: Buffer.from(KEY, 'hex') });
  await o.before?.(store);
  const registry = new SecretRegistry();
  const worker = await startWorker({
    db: url,
    env: { KEYLOOP_KEY: KEY },
    cacheDir: path.join(dir, name),
    githubUrl: fake.url,
    catalog,
    repoConfig: true,
    maxBlobSize: 1 << 20,
    concurrency: 2,
    leaseSeconds: 4,
    retryDelaySeconds: 1,
    ...(o.maxAttempts ? { maxAttempts: o.maxAttempts } : {}),
    pollMs: 100,
    registry,
    logger: createLogger({ registry, level: 'warn', write: (l) => logs.push(`${name}: ${l}`) }),
    client: { throttle: false, retries: 0 },
  });
  const jobs = await openPgBossQueue(url, { supervise: false });
  return {
    url,
    store,
    jobs,
    worker,
    async close() {
      await worker.stop(2000);
      await jobs.close();
      await store.close();
    },
  };
}

const enqueue = (h: Harness) =>
  enqueueOrgRun(
    { store: h.store, queue: h.jobs, host: new GitHubRepoHost(createGitHubClient({ baseUrl: fake.url, throttle: false, retries: 0 })), logger: createLogger({ registry: new SecretRegistry(), write: () => {} }) },
    'acme',
    {},
    { issues: false, verify: false, rescan: false, refetch: false },
  );

/** Polls until the run ends; a database that is down meanwhile is waited out. */
async function ended(store: Store, runId: number) {
  for (let i = 0; i < 6000; i++) {
    const run = await store.getRun(runId).catch(() => undefined);
    if (run && run.status !== 'running') return run;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${runId} did not end:\n${logs.join('\n')}`);
}

describe('a run handed to workers, under faults', () => {
  it('survives a PostgreSQL restart mid-run: the worker reconnects and every repository is done, once', async () => {
    fake.delayMs = 60;
    const h = await harness('restart');
    try {
      const { runId } = await enqueue(h);
      let left = 0;
      for (let i = 0; i < 3000 && !left; i++) {
        const jobs = await h.store.runJobs(runId);
        if (jobs.some((j) => j.state === 'done')) left = jobs.filter((j) => j.state !== 'done').length;
        else await new Promise((r) => setTimeout(r, 20));
      }
      // Every connection of the worker (store and queue) breaks while jobs are still out.
      expect(left).toBeGreaterThan(0);
      await server.restart();
      const run = await ended(h.store, runId);
      expect(run).toMatchObject({ status: 'completed', reposTotal: N, reposDone: N, reposFailed: 0, findings: planted.length, newSecrets: planted.length });
      expect((await h.store.runJobs(runId)).map((j) => j.state)).toEqual(Array(N).fill('done'));
      expect((await h.store.listSecrets()).length).toBe(planted.length);
    } finally {
      fake.delayMs = 0;
      await h.close();
    }
  });

  it('a worker starting while a run is being enqueued leaves it to its enqueuer: a run without jobs yet is moved on only once it is old', async () => {
    const { url } = await createDatabase(server.adminUrl, 'keyloop_reconcile');
    const store = await openStore(url, { key: Buffer.from(KEY, 'hex') });
    const queue = await openPgBossQueue(url, { supervise: false });
    try {
      const deps = { store, queue, logger: createLogger({ registry: new SecretRegistry(), write: () => {} }) };
      // enqueueOrgRun begins the run, then lists the org and adds its jobs: a worker's catch-up lands in between
      const run = await store.beginQueuedRun('acme', { issues: false, verify: false, rescan: false, refetch: false });
      await reconcileRuns(deps, 60_000);
      expect((await store.getRun(run.id))!.status).toBe('running');
      // its enqueuer died before adding any job: a minute later the run is moved on (it has nothing to wait for)
      await reconcileRuns(deps, 60_000, Date.now() + 61_000);
      expect((await store.getRun(run.id))!.status).toBe('completed');
    } finally {
      await queue.close();
      await store.close();
    }
  });

  it('a job that fails on every try ends failed with its error, shown by `keyloop runs`, and the run still ends', async () => {
    // A worker whose key is not the one the database was written with: every repository with a finding fails.
    const h = await harness('failing', {
      maxAttempts: 2,
      before: (store) => (store as unknown as { pool: { query(sql: string): Promise<unknown> } }).pool.query("INSERT INTO meta (key, value) VALUES ('key_id', 'an-older-key')").then(() => {}),
    });
    try {
      const { runId } = await enqueue(h);
      const run = await ended(h.store, runId);
      expect(run).toMatchObject({ status: 'completed', reposDone: N - planted.length, reposFailed: planted.length });
      const failed = (await h.store.runJobs(runId)).filter((j) => j.state === 'failed');
      expect(failed).toHaveLength(planted.length);
      for (const j of failed) {
        expect(j.attempts).toBe(2);
        expect(j.error).toMatch(/^gave up: .*store key does not match/);
      }
      const shown = await runCli(['runs', '--db', h.url], { env: { KEYLOOP_KEY: KEY } });
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toMatch(new RegExp(`failed: scan-repo ${failed[0]!.subject} after 2 tries: gave up: .*store key does not match`));
      for (const t of planted) expect(shown.stdout + logs.join('\n')).not.toContain(t);
    } finally {
      await h.close();
    }
  });
});
