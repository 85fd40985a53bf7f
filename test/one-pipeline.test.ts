// One pipeline (#18 item 2): the same repository through every entry point — `keyloop scan --db`, `keyloop org`, the
// App (`keyloop receive`: a full scan on installation, then a push) and a worker's scan-repo job on PostgreSQL —
// gives the same secrets at the same locations and the same repository-config count, because all of them run
// scanRepository and (those that keep state) recordScan. A secret triaged as a false positive is recorded again
// by none of them, and a mirror's first crawl takes the pack fast path, in an org run and in the App alike.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient, GitHubRepoHost } from '../src/adapters/github/index.js';
import { normalizeEvent } from '../src/app/events.js';
import { createAppRuntime } from '../src/app/runtime.js';
import type { LocationRow } from '../src/core/store.js';
import { createEngine } from '../src/detection/engine.js';
import { defaultDetectorsDir, loadCatalog } from '../src/detection/load.js';
import { contentOpener } from '../src/scan/contents.js';
import type { PackScanStats } from '../src/scan/pack-path.js';
import { scanOrg } from '../src/sources/github-org.js';
import { openStore } from '../src/store/open.js';
import { createLogger } from '../src/util/logger.js';
import { SecretRegistry } from '../src/util/redact.js';
import { startFakeGitHub, type FakeGitHub } from '../testkit/fake-github.js';
import { buildRepo, git, tempDir, type BuiltRepo } from '../testkit/git-repo.js';
import { withCrc32Tail } from '../testkit/token-gen.js';
import { pgTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { runCli } from './helpers/run-cli.js';

const KEY = randomBytes(32).toString('hex');
const TOKEN = 'fake-one-pipeline-' + randomBytes(8).toString('hex');
const REPO = 'acme/svc';
/** Over git's unpackLimit (100 objects), so a first fetch keeps its pack, as any real repository's does. */
const BIG = 'bigco/big';
const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** A checksummed classic PAT, generated now. */
const pat = () => withCrc32Tail('ghp_', Array.from(randomBytes(30), (b) => B62[b % 62]).join(''));
const t = { twice: pat(), config: pat(), fixture: pat(), branch: pat(), vendored: pat(), generated: pat(), later: pat() };

let fake: FakeGitHub;
let repo: BuiltRepo;
let dir: string;
let pg: TestDatabase;
let big: BuiltRepo;
const env = () => ({ KEYLOOP_KEY: KEY, GITHUB_TOKEN: TOKEN });

beforeAll(async () => {
  [fake, dir, pg] = await Promise.all([startFakeGitHub({ tokens: { [TOKEN]: 'crawler' } }), tempDir('keyloop-one-'), pgTestDatabase('keyloop_one')]);
  repo = await buildRepo({
    bare: true,
    commits: [
      {
        id: 'c1',
        files: {
          'README.md': '# svc\n',
          '.env': `GITHUB_TOKEN=${t.twice}\n`,
          'config/app.yaml': `github:\n  token: ${t.config}\n`,
          'vendor/lib.js': `const k = "${t.vendored}";\n`,
          'generated/keys.txt': `${t.generated}\n`,
          '.keyloop.yaml': 'paths:\n  exclude: ["vendor/**"]\n',
          'logo.bin': Buffer.from([0, 1, 2, 3, 0, 255, 0, 7]),
        },
      },
      { id: 'c2', files: { 'docs/old.txt': `token ${t.twice}\n`, 'test/fixtures/sample.env': `TOKEN=${t.fixture}\n` } },
      { id: 'c3', branch: 'topic', parents: ['c2'], files: { 'copy.txt': `x = "${t.branch}"\n` } },
      { id: 'c4', parents: ['c2'], files: { '.env': null } },
    ],
  });
  fake.addRepo(REPO, { gitDir: repo.gitDir });
  const files: Record<string, string> = { '.env': `GITHUB_TOKEN=${pat()}\n` };
  for (let i = 0; i < 120; i++) files[`src/m${i}.js`] = `export const m${i} = ${i};\n`;
  big = await buildRepo({ bare: true, commits: [{ id: 'c1', files }, { id: 'c2', files: { 'src/m1.js': 'export const m1 = 2;\n' } }] });
  fake.addRepo(BIG, { gitDir: big.gitDir });
  // operator config: its excludes skip reading; the fingerprint key makes fingerprints comparable across runs
  await writeFile(path.join(dir, 'op.yaml'), 'paths:\n  exclude: ["generated/**"]\nfingerprint:\n  key: one-pipeline-fingerprints\n');
});

afterAll(async () => {
  await fake?.close();
  await pg?.drop();
});

/** A location as every entry point reports it. */
const key = (fp: string, l: { path: string; commit: string | null; line: number; column: number; blob: string | null }) =>
  `${fp} ${l.path} ${l.commit ?? '-'} ${l.line}:${l.column} ${l.blob ?? '-'}`;

async function stored(db: string): Promise<{ locations: string[]; runs: { kind: string; status: string; suppressedByRepoConfig: number }[] }> {
  const store = await openStore(db, { key: Buffer.from(KEY, 'hex') });
  try {
    const rows: LocationRow[] = await store.locations();
    const runs = await store.listRuns();
    return { locations: rows.map((l) => key(l.fingerprint, l)).sort(), runs: runs.map((r) => ({ kind: r.kind, status: r.status, suppressedByRepoConfig: r.suppressedByRepoConfig })) };
  } finally {
    await store.close();
  }
}

async function receive(db: string, event: string, payload: unknown) {
  const file = path.join(dir, `${randomUUID()}.json`);
  await writeFile(file, JSON.stringify(payload));
  const common = ['--db', db, '--github-url', fake.url, '--cache-dir', path.join(dir, 'app-cache'), '--config', 'op.yaml', '--no-verify', '--no-issues', '--no-check-runs'];
  const r = await runCli(['receive', file, '--event', event, ...common, ...(event === 'installation_repositories' ? ['--scan-new-repos'] : [])], { cwd: dir, env: env() });
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return JSON.parse(r.stdout) as { status: string; result: Record<string, unknown> };
}

const installed = (name = REPO) => ({
  action: 'added',
  installation: { id: 9 },
  repository_selection: 'selected',
  repositories_added: [{ id: 1, full_name: name, private: true }],
  repositories_removed: [],
});

/** `keyloop worker` on PostgreSQL until `org --enqueue --wait` says the run is over. */
async function workerRun(extra: string[] = []) {
  const ac = new AbortController();
  const worker = runCli(['worker', '--db', pg.url, '--github-url', fake.url, '--cache-dir', path.join(dir, 'worker-cache'), '--config', 'op.yaml', '--no-verify', '--no-issues', '--shutdown-grace', '1'], {
    cwd: dir,
    env: env(),
    signal: ac.signal,
  });
  // a worker that stops (a bad flag, no database) fails the test instead of leaving `--wait` waiting
  const stopped = worker.then((w) => {
    throw new Error(`keyloop worker stopped: exit ${w.code}: ${w.stderr}`);
  });
  try {
    const r = await Promise.race([runCli(['org', 'acme', '--enqueue', '--wait', '--db', pg.url, '--github-url', fake.url, '--no-issues', ...extra], { cwd: dir, env: env() }), stopped]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
  } finally {
    ac.abort();
    const w = await worker;
    expect(w.code, w.stderr).toBe(0);
  }
}

describe('the same repository through scan, org, the App and a worker', () => {
  it('records the same secrets at the same locations, and counts the same repository-config suppression', async () => {
    const clone = path.join(dir, 'clone');
    await git(dir, 'clone', '-q', repo.gitDir, clone);
    const scan = await runCli(['scan', clone, '--format', 'json', '--config', 'op.yaml', '--db', 'scan.db'], { cwd: dir, env: env() });
    expect(scan.code, scan.stderr).toBe(1);
    expect(scan.stderr).toContain('1 finding(s) suppressed by the repository config');
    const report = JSON.parse(scan.stdout) as { status: string; findings: { fingerprint: string; locations: { path: string; commit: string | null; line: number; column: number; blob: string | null }[] }[] };
    expect(report.status).toBe('complete');
    const scanned = report.findings.flatMap((f) => f.locations.map((l) => key(f.fingerprint, l))).sort();
    // what each planted token should give: .env and docs/old.txt, config, the fixture, the topic branch
    expect(scanned).toHaveLength(5);
    expect(new Set(report.findings.map((f) => f.fingerprint)).size).toBe(4);
    for (const p of ['.env', 'docs/old.txt', 'config/app.yaml', 'test/fixtures/sample.env', 'copy.txt']) expect(scanned.some((k) => k.split(' ')[1] === p)).toBe(true);

    const org = await runCli(['org', 'acme', '--db', 'org.db', '--github-url', fake.url, '--cache-dir', path.join(dir, 'org-cache'), '--config', 'op.yaml', '--no-issues'], { cwd: dir, env: env() });
    expect(org.code, org.stderr).toBe(0);
    const app = await receive('app.db', 'installation_repositories', installed());
    expect(app.status).toBe('done');
    await workerRun();

    const [byScan, byOrg, byApp, byWorker] = await Promise.all([stored(path.join(dir, 'scan.db')), stored(path.join(dir, 'org.db')), stored(path.join(dir, 'app.db')), stored(pg.url)]);
    expect(byScan.locations).toEqual(scanned);
    expect(byOrg.locations).toEqual(scanned);
    expect(byApp.locations).toEqual(scanned);
    expect(byWorker.locations).toEqual(scanned);
    expect(byScan.runs).toEqual([{ kind: 'scan', status: 'completed', suppressedByRepoConfig: 1 }]);
    expect(byOrg.runs).toEqual([{ kind: 'org', status: 'completed', suppressedByRepoConfig: 1 }]);
    expect(byApp.runs).toEqual([{ kind: 'app', status: 'completed', suppressedByRepoConfig: 1 }]);
    expect(byWorker.runs).toEqual([{ kind: 'org', status: 'completed', suppressedByRepoConfig: 1 }]);
  });

  it('a secret triaged as a false positive is recorded again by none of them; a new one by all', async () => {
    const fixture = (await stored(path.join(dir, 'org.db'))).locations.find((k) => k.split(' ')[1] === 'test/fixtures/sample.env')!.split(' ')[0]!;
    for (const db of [path.join(dir, 'scan.db'), path.join(dir, 'org.db'), path.join(dir, 'app.db'), pg.url]) {
      const r = await runCli(['triage', fixture.slice(0, 16), '--false-positive', '--db', db], { cwd: dir, env: env() });
      expect(r.code, r.stderr).toBe(0);
    }
    // a push on main: the triaged secret at a new path, and a new secret
    const work = path.join(dir, 'work');
    await git(dir, 'clone', '-q', repo.gitDir, work);
    const before = await git(work, 'rev-parse', 'HEAD');
    await mkdir(path.join(work, 'src'), { recursive: true });
    await writeFile(path.join(work, 'src/again.env'), `T=${t.fixture}\n`);
    await writeFile(path.join(work, 'src/new.env'), `T=${t.later}\n`);
    await git(work, 'add', 'src');
    await git(work, '-c', 'user.name=Dev', '-c', 'user.email=dev@corp.example', 'commit', '-q', '-m', 'more');
    await git(work, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
    const after = await git(work, 'rev-parse', 'HEAD');

    const org = await runCli(['org', 'acme', '--db', 'org.db', '--github-url', fake.url, '--cache-dir', path.join(dir, 'org-cache'), '--config', 'op.yaml', '--no-issues', '--refetch'], { cwd: dir, env: env() });
    expect(org.code, org.stderr).toBe(0);
    const push = await receive('app.db', 'push', {
      ref: 'refs/heads/main',
      before,
      after,
      repository: { id: 1, full_name: REPO, clone_url: fake.cloneUrl(REPO), default_branch: 'main', private: true },
      installation: { id: 9 },
    });
    expect(push.result).toMatchObject({ findings: 1 });
    await workerRun(['--refetch']);
    const clone = path.join(dir, 'clone');
    await git(clone, 'fetch', '-q', 'origin');
    await git(clone, 'merge', '-q', '--ff-only', 'origin/main');
    const scan = await runCli(['scan', clone, '--format', 'json', '--config', 'op.yaml', '--db', 'scan.db'], { cwd: dir, env: env() });
    expect(scan.code, scan.stderr).toBe(1);
    expect(scan.stdout).not.toContain('src/again.env');

    const [byScan, byOrg, byApp, byWorker] = await Promise.all([stored(path.join(dir, 'scan.db')), stored(path.join(dir, 'org.db')), stored(path.join(dir, 'app.db')), stored(pg.url)]);
    for (const s of [byScan, byOrg, byApp, byWorker]) {
      expect(s.locations.filter((k) => k.split(' ')[1] === 'src/again.env')).toEqual([]);
      expect(s.locations.filter((k) => k.split(' ')[1] === 'src/new.env')).toHaveLength(1);
    }
    expect(byScan.locations).toEqual(byOrg.locations);
    expect(byApp.locations).toEqual(byOrg.locations);
    expect(byWorker.locations).toEqual(byOrg.locations);
  });
});

/** Blobs the fast path settled: scanned whole, by the regions a delta changed, or found binary. */
const settled = (s: PackScanStats) => s.full + s.regions + s.binary;

describe("a mirror's first crawl takes the pack fast path", () => {
  const catalog = loadCatalog(defaultDetectorsDir());
  const engine = createEngine(catalog);

  it('in an org run (and a worker: the same scanOneRepo), and the next run reads only the new blobs through git', async () => {
    const stats: PackScanStats[] = [];
    const contents = contentOpener({ engine, jobs: 1, maxBlobSize: 1 << 20, onPackStats: (s) => stats.push(s) });
    const host = new GitHubRepoHost(createGitHubClient({ baseUrl: fake.url, token: TOKEN, throttle: false }), { token: TOKEN });
    const sub = await tempDir('keyloop-one-fast-');
    const store = await openStore(path.join(sub, 'k.db'), { key: Buffer.from(KEY, 'hex') });
    try {
      const first = await scanOrg({ org: 'bigco', host, store, engine, contents, cacheDir: path.join(sub, 'c'), maxBlobSize: 1 << 20 });
      expect(first.failed).toBe(0);
      expect(stats).toHaveLength(1);
      // every blob of the history came from the pack reader; none was read back through git
      expect(stats[0]!.fallback).toBe(0);
      expect(settled(stats[0]!)).toBeGreaterThanOrEqual(first.repos[0]!.blobsScanned);
      expect(first.repos[0]!.findings).toBeGreaterThan(0);

      // one more commit: the next run asks for its two new blobs only, read back through git
      const work = path.join(sub, 'work');
      await git(sub, 'clone', '-q', big.gitDir, work);
      await writeFile(path.join(work, 'a.txt'), 'a\n');
      await writeFile(path.join(work, 'b.txt'), 'b\n');
      await git(work, 'add', 'a.txt', 'b.txt');
      await git(work, '-c', 'user.name=Dev', '-c', 'user.email=dev@corp.example', 'commit', '-q', '-m', 'two');
      await git(work, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
      const second = await scanOrg({ org: 'bigco', host, store, engine, contents, cacheDir: path.join(sub, 'c'), maxBlobSize: 1 << 20, refetch: true });
      expect(second.repos[0]!.blobsScanned).toBe(2);
      expect(stats).toHaveLength(2);
      expect(stats[1]!.fallback).toBe(2);
      expect(settled(stats[1]!)).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('in the App: a full scan after an installation', async () => {
    const stats: PackScanStats[] = [];
    const sub = await tempDir('keyloop-one-app-');
    const registry = new SecretRegistry();
    const rt = await createAppRuntime({
      db: path.join(sub, 'k.db'),
      cacheDir: path.join(sub, 'c'),
      githubUrl: fake.url,
      token: TOKEN,
      env: { KEYLOOP_KEY: KEY },
      logger: createLogger({ registry, write: () => {} }),
      registry,
      fingerprintKey: 'one-pipeline-fingerprints',
      verify: false,
      checkRuns: false,
      scanNewRepos: true,
      concurrency: 1,
    });
    try {
      // the runtime's own port, observed: the same contentOpener the App builds, with a stats hook
      rt.deps.contents = contentOpener({ engine: rt.deps.engine, jobs: 1, maxBlobSize: rt.deps.maxBlobSize, onPackStats: (s) => stats.push(s) });
      const guid = `one-${randomUUID()}`;
      await rt.queue.enqueue({ guid, event: 'installation_repositories', ...normalizeEvent('installation_repositories', installed(BIG)) });
      await rt.queue.start();
      await rt.queue.drained();
      expect((await rt.queue.get(`${guid}:scan:${BIG}`))?.status).toBe('done');
      expect(stats).toHaveLength(1);
      expect(stats[0]!.fallback).toBe(0);
      expect(settled(stats[0]!)).toBeGreaterThan(0);
    } finally {
      await rt.close(1000);
    }
  });
});
