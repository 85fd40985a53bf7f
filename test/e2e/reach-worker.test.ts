// Reach in a `keyloop worker`'s verify jobs, as in the local loop: an org run handed to a worker on PostgreSQL
// verifies the leaked token with the fake GitHub (its issuer), asks what it reaches, stores that with the
// verification and audits every call; a second run within verify.cacheTtlHours keeps the reach instead of asking
// again. Nothing secret in the store's reach or audit log.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient, GitHubRepoHost } from '../../src/adapters/github/index.js';
import { fingerprint } from '../../src/core/fingerprint.js';
import type { JobQueue } from '../../src/core/jobs.js';
import type { Store } from '../../src/core/store.js';
import { defaultDetectorsDir, loadCatalog } from '../../src/detection/load.js';
import { openPgBossQueue } from '../../src/queue/pg-boss.js';
import { enqueueOrgRun } from '../../src/scale/org-run.js';
import { startWorker, type RunningWorker } from '../../src/scale/worker.js';
import { openStore } from '../../src/store/open.js';
import { createLogger } from '../../src/util/logger.js';
import { SecretRegistry } from '../../src/util/redact.js';
import { startFakeGitHub, type FakeGitHub } from '../../testkit/fake-github.js';
import { buildRepo, tempDir } from '../../testkit/git-repo.js';
import { pgTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { ADMIN_TOKEN, ghTokens } from './loop-world.js';

const KEY = 'e4'.repeat(32);
const [LEAKED] = ghTokens(1, 2177);
const catalog = loadCatalog(defaultDetectorsDir());
let gh: FakeGitHub;
let db: TestDatabase;
let dir: string;
let store: Store;
let jobs: JobQueue;
let worker: RunningWorker;
const logs: string[] = [];

beforeAll(async () => {
  [gh, db, dir] = await Promise.all([startFakeGitHub({ tokens: { [ADMIN_TOKEN]: 'keyloop-bot', [LEAKED!]: 'alice' } }), pgTestDatabase('keyloop_reach_worker'), tempDir('keyloop-reach-worker-')]);
  gh.tokenScopes.set(LEAKED!, 'repo, workflow');
  const repo = await buildRepo({ bare: true, commits: [{ id: 'c1', files: { 'deploy/.env': `GH_TOKEN=${LEAKED}\n` } }] });
  gh.addRepo('acme/api', { private: true, gitDir: repo.gitDir });
  gh.grant('acme/api', 'alice', 'admin');
  store = await openStore(db.url, { key: Buffer.from(KEY, 'hex') });
  const registry = new SecretRegistry();
  registry.add(ADMIN_TOKEN);
  worker = await startWorker({
    db: db.url,
    env: { KEYLOOP_KEY: KEY },
    cacheDir: path.join(dir, 'cache'),
    githubUrl: gh.url,
    token: ADMIN_TOKEN,
    catalog,
    repoConfig: true,
    maxBlobSize: 1 << 20,
    // Issuer URLs and reach as `keyloop worker` builds them from the operator config (verify.reach, verify.cacheTtlHours).
    verify: { issuerUrls: { github: gh.url }, allowInsecure: true, reach: true, cacheTtlHours: 24 },
    queues: ['scan-repo', 'verify'],
    concurrency: 1,
    pollMs: 100,
    registry,
    logger: createLogger({ registry, level: 'warn', write: (l) => logs.push(l) }),
    client: { throttle: false, retries: 0 },
  });
  jobs = await openPgBossQueue(db.url, { supervise: false });
});

afterAll(async () => {
  await worker?.stop(2000);
  await jobs?.close();
  await store?.close();
  await gh?.close();
  await db?.drop();
});

async function run(rescan: boolean) {
  const host = new GitHubRepoHost(createGitHubClient({ baseUrl: gh.url, token: ADMIN_TOKEN, throttle: false, retries: 0 }));
  const { runId } = await enqueueOrgRun({ store, queue: jobs, host, logger: createLogger({ registry: new SecretRegistry(), write: () => {} }) }, 'acme', {}, { issues: false, verify: true, rescan, refetch: false });
  for (let i = 0; i < 6000; i++) {
    const r = await store.getRun(runId);
    if (r && r.status !== 'running') return { run: r, jobs: await store.runJobs(runId) };
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`run ${runId} did not end:\n${logs.join('\n')}`);
}

describe('reach in the worker', () => {
  it("a verify job asks the live token's reach and audits it; a second run within the TTL keeps it", async () => {
    const fp = fingerprint('github-pat-classic', LEAKED!);
    const first = await run(false);
    expect(first.run.status, logs.join('\n')).toBe('completed');
    expect(first.jobs.map((j) => `${j.kind} ${j.state}`)).toEqual(['scan-repo done', 'verify done']);
    const v = await store.latestVerification(fp);
    expect(v?.status).toBe('live');
    expect(v?.reach).toMatchObject({ level: 'admin', account: 'alice', scopes: ['repo', 'workflow'], counts: { repository: 1, 'repository:admin': 1 } });
    expect(v?.reach?.tags).toEqual(expect.arrayContaining(['admin', 'ci']));
    const calls = await store.outboundCalls({ fingerprint: fp });
    const answered = calls.filter((c) => c.status !== null).map((c) => `${c.purpose} ${new URL(c.url).pathname}`);
    expect(answered).toEqual(['verify /user', 'reach /user', 'reach /user/orgs', 'reach /user/repos']);
    for (const c of calls) expect(new URL(c.url).origin).toBe(new URL(gh.url).origin);

    // Rescanned and verified again by a second run: the token is asked whether it is live, not what it reaches.
    const second = await run(true);
    expect(second.run.status, logs.join('\n')).toBe('completed');
    const history = await store.verifications(fp);
    expect(history).toHaveLength(2);
    expect(history[1]!.reach).toEqual(history[0]!.reach);
    const after = (await store.outboundCalls({ fingerprint: fp })).filter((c) => c.status !== null && !calls.some((o) => o.id === c.id));
    expect(after.map((c) => `${c.purpose} ${new URL(c.url).pathname}`)).toEqual(['verify /user']);

    // Nothing secret in what the store keeps of reach and calls, nor in the worker's log.
    const text = JSON.stringify([history, await store.outboundCalls(), logs]);
    expect(text).not.toContain(LEAKED!);
    expect(text).not.toContain(LEAKED!.slice(4, 20));
  });
});
