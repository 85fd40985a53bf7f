// `keyloop org` end to end against the fake GitHub: real bare repos served by git http-backend, real mirrors,
// the real detector catalog and a real SQLite file.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient, GitHubRepoHost } from '../src/adapters/github/index.js';
import { createEngine } from '../src/detection/engine.js';
import { defaultDetectorsDir, loadCatalog } from '../src/detection/load.js';
import type { DetectionEngine } from '../src/detection/engine.js';
import { scanOrg, type OrgScanOptions } from '../src/sources/github-org.js';
import { contentOpener } from '../src/scan/contents.js';
import { openSqliteStore as openStore } from '../src/store/sqlite/index.js';
import { startFakeGitHub, type FakeGitHub } from '../testkit/fake-github.js';
import { buildRepo, tempDir, type BuiltRepo } from '../testkit/git-repo.js';
import { filesUnder } from '../testkit/fs.js';
import { withCrc32Tail } from '../testkit/token-gen.js';
import { runCli as runCliIn } from './helpers/run-cli.js';

const TOKEN = 'fake-crawler-' + randomBytes(8).toString('hex');
const KEY = randomBytes(32).toString('hex');
const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const rand = (alphabet: string, n: number) => [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join('');
const ghToken = () => withCrc32Tail('ghp_', rand(B62, 30));

let engine: DetectionEngine;
beforeAll(() => {
  engine = createEngine(loadCatalog(defaultDetectorsDir()));
});

interface Org {
  fake: FakeGitHub;
  repos: Map<string, BuiltRepo>;
  /** Plaintext planted per repo (for the "never at rest" checks). */
  planted: string[];
}

/** `n` repos; every 10th gets a GitHub token in .env, every 20th deletes it again; repo 5 gets an AWS pair. */
async function makeOrg(n: number, fake?: FakeGitHub): Promise<Org> {
  fake ??= await startFakeGitHub({ tokens: { [TOKEN]: 'crawler' } });
  const repos = new Map<string, BuiltRepo>();
  const planted: string[] = [];
  const specs = Array.from({ length: n }, (_, i) => i);
  await Promise.all(
    specs.map(async (i) => {
      const name = `r${String(i).padStart(3, '0')}`;
      const files2: Record<string, string | null> = { 'src/app.js': `export const n = ${i};\n`.repeat(20) };
      const commits = [
        { id: 'c1', files: { 'README.md': `# ${name}\n`, 'src/app.js': 'export const n = 0;\n' }, author: { name: 'Alice', email: 'alice@example.test' } },
        { id: 'c2', files: files2, author: { name: 'Bob', email: 'bob@example.test' } },
      ];
      if (i % 10 === 0) {
        const t = ghToken();
        planted.push(t);
        files2['.env'] = `GITHUB_TOKEN=${t}\n`;
        if (i % 20 === 0) commits.push({ id: 'c3', files: { '.env': null }, author: { name: 'Bob', email: 'bob@example.test' } });
      }
      if (i === 5) {
        const id = 'AKIA' + rand('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16);
        const secret = rand(B62 + '/+', 40);
        planted.push(id, secret);
        files2['deploy/aws.ini'] = `[default]\naws_access_key_id = ${id}\naws_secret_access_key = ${secret}\n`;
      }
      const repo = await buildRepo({ bare: true, commits });
      repos.set(name, repo);
      fake.addRepo(`acme/${name}`, { gitDir: repo.gitDir });
    }),
  );
  return { fake, repos, planted };
}

/** Adds a commit on main of a bare repo with plumbing (what a push does to the server side). */
async function pushCommit(gitDir: string, files: Record<string, string>): Promise<void> {
  const run = (args: string[], input?: string, env: NodeJS.ProcessEnv = {}) =>
    new Promise<string>((resolve, reject) => {
      const c = execFile('git', ['--git-dir', gitDir, ...args], { env: { ...process.env, ...env } }, (err, out, serr) => (err ? reject(new Error(serr)) : resolve(out.trim())));
      if (input !== undefined) c.stdin!.end(input);
    });
  const index = join(await tempDir(), 'index');
  const env = { GIT_INDEX_FILE: index };
  await run(['read-tree', 'refs/heads/main'], undefined, env);
  for (const [path, content] of Object.entries(files)) {
    const oid = await run(['hash-object', '-w', '--stdin'], content);
    await run(['update-index', '--add', '--cacheinfo', `100644,${oid},${path}`], undefined, env);
  }
  const tree = await run(['write-tree'], undefined, env);
  const commit = await run(['commit-tree', tree, '-p', 'refs/heads/main', '-m', 'push'], undefined);
  await run(['update-ref', 'refs/heads/main', commit]);
}

async function runLib(org: Org, db: string, cacheDir: string, over: Partial<OrgScanOptions> = {}, keepOpen = false) {
  const store = openStore(db, { key: Buffer.from(KEY, 'hex') });
  const host = new GitHubRepoHost(createGitHubClient({ baseUrl: org.fake.url, token: TOKEN, retryAfterBaseValue: 10 }), { token: TOKEN });
  try {
    const contents = contentOpener({ engine, jobs: 1, maxBlobSize: 10 * 1024 * 1024 });
    const summary = await scanOrg({ org: 'acme', host, store, engine, contents, cacheDir, maxBlobSize: 10 * 1024 * 1024, concurrency: 4, ...over });
    return { summary, store };
  } finally {
    if (!keepOpen) await store.close();
  }
}

async function runCli(args: string[], cwd: string) {
  const r = await runCliIn(args, { cwd, env: { KEYLOOP_KEY: KEY, GITHUB_TOKEN: TOKEN } });
  return { code: r.code, out: r.stdout, err: r.stderr };
}

/** Table contents that must not depend on timing, run ids, process kills or the cache dir. */
function dump(db: string) {
  const d = new Database(db, { readonly: true });
  try {
    const q = (sql: string) => d.prepare(sql).all();
    return {
      repos: q('SELECT full_name, default_branch, clone_url, fork, archived, head_commit, last_error FROM repos ORDER BY full_name'),
      secrets: q('SELECT fingerprint, detector, name, provider, severity, redacted, status, key_id FROM secrets ORDER BY fingerprint'),
      locations: q(`SELECT s.fingerprint, r.full_name, l.blob, l.commit_oid, l.path, l.line, l.col, l.author_name, l.author_email, l.authored_at, l.decoded
        FROM locations l JOIN secrets s ON s.id = l.secret_id JOIN repos r ON r.id = l.repo_id ORDER BY 1, 2, 3, 4, 5, 6, 7`),
      blobs: q('SELECT r.full_name, b.oid, b.outcome FROM scanned_blobs b JOIN repos r ON r.id = b.repo_id ORDER BY 1, 2'),
      events: q(`SELECT e.kind, s.fingerprint, r.full_name FROM events e LEFT JOIN secrets s ON s.id = e.secret_id
        LEFT JOIN repos r ON r.id = e.repo_id ORDER BY 1, 2, 3`),
      runRepos: q(`SELECT r.full_name, rr.status, rr.blobs_scanned, rr.blobs_skipped, rr.findings FROM run_repos rr JOIN repos r ON r.id = rr.repo_id ORDER BY 1`),
      runs: q('SELECT kind, target, status, repos_total, repos_done, repos_failed, blobs_scanned, findings, new_secrets FROM scan_runs ORDER BY id'),
    };
  } finally {
    d.close();
  }
}

describe('keyloop org', () => {
  let org: Org;
  beforeAll(async () => {
    org = await makeOrg(125);
  });
  afterAll(async () => {
    await org.fake.close();
  });

  it('pages through 125 repos, scans everything once, then only what new pushes brought', async () => {
    const dir = await tempDir();
    const db = join(dir, 'keyloop.db');
    const cache = join(dir, 'cache');
    const first = await runLib(org, db, cache);
    expect(first.summary.failed).toBe(0);
    expect(first.summary.repos).toHaveLength(125);
    expect(org.fake.requestsTo('GET', '/orgs/acme/repos').length).toBeGreaterThanOrEqual(2);
    const blobs1 = first.summary.run.blobsScanned;
    expect(blobs1).toBeGreaterThan(125 * 3);
    // 13 GitHub tokens (every 10th repo) + the AWS key id/secret pair.
    const d1 = dump(db);
    expect(d1.secrets.filter((s) => (s as { detector: string }).detector.startsWith('github')).length).toBe(13);
    expect(d1.secrets.some((s) => (s as { detector: string }).detector.startsWith('aws'))).toBe(true);

    // Git traffic (smart HTTP under /{owner}/{repo}.git/) from a request index on, per repo.
    const fetchedSince = (from: number) => [...new Set(org.fake.requests.slice(from).flatMap((r) => /^\/acme\/([^/]+)\.git\//.exec(r.path)?.[1] ?? []))].sort();
    expect(fetchedSince(0)).toHaveLength(125);

    const before2 = org.fake.requests.length;
    const second = await runLib(org, db, cache);
    expect(second.summary.failed).toBe(0);
    expect(second.summary.run.blobsScanned).toBe(0);
    // No push since the last scan (pushed_at unchanged): nothing is fetched at all.
    expect(second.summary.repos.every((r) => r.mirror === 'unchanged')).toBe(true);
    expect(fetchedSince(before2)).toEqual([]);
    expect(dump(db).locations).toEqual(d1.locations);

    const pushed = ['r001', 'r042', 'r117'];
    const newToken = ghToken();
    org.planted.push(newToken);
    await pushCommit(org.repos.get('r001')!.gitDir, { 'new.txt': 'hello\n', 'config/prod.env': `TOKEN=${newToken}\n` });
    await pushCommit(org.repos.get('r042')!.gitDir, { 'src/app.js': 'changed\n' });
    await pushCommit(org.repos.get('r117')!.gitDir, { 'docs/a.md': 'a\n', 'docs/b.md': 'b\n' });
    // Keep the store open after the third run so its pages are still in the -wal file when we grep it.
    const before3 = org.fake.requests.length;
    const third = await runLib(org, db, cache, {}, true);
    expect(fetchedSince(before3)).toEqual(pushed);
    const scanned = third.summary.repos.filter((r) => r.blobsScanned > 0).map((r) => [r.repo, r.blobsScanned]);
    expect(scanned).toEqual([
      ['acme/r001', 2],
      ['acme/r042', 1],
      ['acme/r117', 2],
    ]);
    expect(third.summary.repos.filter((r) => r.mirror === 'fetched').map((r) => r.repo)).toEqual(pushed.map((p) => `acme/${p}`));
    expect(third.summary.run.newSecrets).toBe(1);

    // Nothing planted, and not the GitHub token either, is in the database files, the mirrors' config or any
    // output of the commands below.
    const secrets = [...org.planted, TOKEN];
    expect(secrets).toHaveLength(13 + 2 + 1 + 1);
    const noPlaintext = (bytes: Buffer | string, where: string) => {
      for (const s of secrets) expect(bytes.includes(s), `${s.slice(0, 4)}… in ${where}`).toBe(false);
    };
    const check = (file: string) => noPlaintext(readFileSync(file), file);
    expect(statSync(db + '-wal').size).toBeGreaterThan(0);
    for (const f of readdirSync(dir).filter((n) => n.startsWith('keyloop.db'))) check(join(dir, f));
    await third.store.close();
    check(db);
    for (const f of filesUnder(join(cache, 'mirrors')).filter((p) => /\/(config|FETCH_HEAD|packed-refs)$/.test(p))) check(f);

    // secrets / where over the same database: HEAD presence comes from the mirrors.
    const inv = await runCli(['secrets', '--db', db, '--format', 'json'], dir);
    expect(inv.code).toBe(0);
    noPlaintext(inv.out + inv.err, 'secrets --format json');
    const rows = JSON.parse(inv.out) as Array<{ fingerprint: string; repos: string[]; presence: string; redacted: string }>;
    const byRepo = (r: string) => rows.find((x) => x.repos.includes(r) && x.redacted.startsWith('ghp_'))!;
    expect(byRepo('acme/r010').presence).toBe('head');
    expect(byRepo('acme/r020').presence).toBe('history');
    const where = await runCli(['where', byRepo('acme/r020').fingerprint.slice(0, 10), '--db', db, '--format', 'json'], dir);
    expect(where.code).toBe(0);
    noPlaintext(where.out + where.err, 'where --format json');
    const w = JSON.parse(where.out) as { presence: string; locations: Array<{ repo: string; path: string; line: number; commit: string }> };
    expect(w.presence).toBe('history');
    expect(w.locations).toEqual([expect.objectContaining({ repo: 'acme/r020', path: '.env', line: 1, commit: org.repos.get('r020')!.sha.c2 })]);
    const sarif = await runCli(['secrets', '--db', db, '--format', 'sarif'], dir);
    expect(sarif.code).toBe(0);
    noPlaintext(sarif.out + sarif.err, 'secrets --format sarif');
    const log = JSON.parse(sarif.out) as { runs: Array<{ results: Array<{ locations: Array<{ physicalLocation: { artifactLocation: { uri: string } } }> }> }> };
    const uris = log.runs[0]!.results.flatMap((r) => r.locations.map((l) => l.physicalLocation.artifactLocation.uri));
    expect(uris).toContain('acme/r020/.env');
    const table = await runCli(['secrets', '--db', db], dir);
    expect(table.code).toBe(0);
    noPlaintext(table.out + table.err, 'secrets (table)');
    const whereTable = await runCli(['where', byRepo('acme/r010').fingerprint, '--db', db], dir);
    expect(whereTable.code).toBe(0);
    expect(whereTable.out).toContain('acme/r010');
    noPlaintext(whereTable.out + whereTable.err, 'where (table)');
    expect(table.out).toMatch(/DETECTOR\s+CONF\s+FINGERPRINT/);
    // GitHub tokens carry their prefix (and a checksum): high; --min-confidence high lists exactly the high ones
    type Row = { detector: string; fingerprint: string; confidence: string };
    const all = JSON.parse((await runCli(['secrets', '--db', db, '--format', 'json'], dir)).out) as Row[];
    const high = JSON.parse((await runCli(['secrets', '--db', db, '--format', 'json', '--min-confidence', 'high'], dir)).out) as Row[];
    expect(all.filter((r) => r.detector.startsWith('github-')).every((r) => r.confidence === 'high')).toBe(true);
    expect(high.map((r) => r.fingerprint)).toEqual(all.filter((r) => r.confidence === 'high').map((r) => r.fingerprint));
    expect(table.out).toMatch(/still at HEAD/);
  });

  it('records a repo that 404s mid-run, goes on, and exits 1; empty repos are fine', async () => {
    const small = await makeOrg(6);
    try {
      const empty = await buildRepo({ bare: true });
      small.fake.addRepo('acme/empty', { gitDir: empty.gitDir });
      small.fake.fault({ path: '/acme/r003.git/', kind: 'status', status: 404, times: Infinity });
      const dir = await tempDir();
      const args = ['org', 'acme', '--github-url', small.fake.url, '--db', join(dir, 'k.db'), '--cache-dir', join(dir, 'c'), '--format', 'json'];
      const res = await runCli(args, dir);
      expect(res.code).toBe(1);
      const s = JSON.parse(res.out) as { status: string; run: { reposDone: number; reposFailed: number }; repos: Array<{ repo: string; status: string; error?: string }> };
      expect(s.run).toMatchObject({ reposDone: 6, reposFailed: 1 });
      expect(s.repos.find((r) => r.repo === 'acme/r003')).toMatchObject({ status: 'failed', error: expect.stringMatching(/^not-found/) });
      expect(s.repos.find((r) => r.repo === 'acme/empty')).toMatchObject({ status: 'done' });
      expect(res.out + res.err).not.toContain(TOKEN);
      // The repo comes back: the next run scans it and exits 0.
      small.fake.clearFaults();
      const again = await runCli(args, dir);
      expect(again.code).toBe(0);
      expect((JSON.parse(again.out) as { repos: Array<{ repo: string; blobsScanned: number }> }).repos.filter((r) => r.blobsScanned > 0).map((r) => r.repo)).toEqual(['acme/r003']);
    } finally {
      await small.fake.close();
    }
  });

  it('records a repo whose local mirror is corrupt as failed; the run goes on', async () => {
    const small = await makeOrg(2);
    try {
      const dir = await tempDir();
      const db = join(dir, 'k.db');
      const cache = join(dir, 'c');
      expect((await runLib(small, db, cache)).summary.failed).toBe(0);
      const mirror = join(cache, 'mirrors', new URL(small.fake.url).host.replace(':', '_'), 'acme', 'r001.git');
      const packs = join(mirror, 'objects', 'pack');
      const packFiles = readdirSync(packs).filter((f) => f.endsWith('.pack'));
      expect(packFiles.length).toBeGreaterThan(0);
      for (const f of packFiles) {
        const bytes = readFileSync(join(packs, f));
        for (let i = 40; i < bytes.length - 40; i += 7) bytes[i] = bytes[i]! ^ 0x5a;
        writeFileSync(join(packs, f), bytes);
      }
      const { summary } = await runLib(small, db, cache, { rescan: true });
      const r = summary.repos.find((x) => x.repo === 'acme/r001')!;
      expect(r.status).toBe('failed');
      expect(r.error).toMatch(/corrupt|missing|unreadable|problem/i);
      expect(summary.repos.find((x) => x.repo === 'acme/r000')!.status).toBe('done');
    } finally {
      await small.fake.close();
    }
  });

  it('rides out a secondary rate limit (retry-after) while listing', async () => {
    const small = await makeOrg(3);
    try {
      small.fake.fault({ path: '/orgs/acme/repos', kind: 'secondary-rate-limit', retryAfter: 2 });
      const dir = await tempDir();
      const { summary } = await runLib(small, join(dir, 'k.db'), join(dir, 'c'));
      expect(summary.failed).toBe(0);
      expect(summary.repos).toHaveLength(3);
      expect(small.fake.requestsTo('GET', '/orgs/acme/repos').map((r) => r.status)).toEqual([403, 200]);
    } finally {
      await small.fake.close();
    }
  });

  it('rejects a bad org name (usage, exit 2) and reports an unknown org or a bad token as a runtime error (exit 3)', async () => {
    const dir = await tempDir();
    expect((await runCli(['org', 'not an org', '--db', join(dir, 'k.db')], dir)).code).toBe(2);
    org.fake.orgs.add('quiet');
    const res = await runCli(['org', 'quiet', '--github-url', org.fake.url, '--db', join(dir, 'k.db'), '--cache-dir', join(dir, 'c')], dir);
    expect(res.code).toBe(0); // an org with no repos is not an error
    const missing = await runCli(['org', 'nobody', '--github-url', org.fake.url, '--db', join(dir, 'k.db'), '--cache-dir', join(dir, 'c')], dir);
    expect(missing.code).toBe(3);
    expect(missing.err).toMatch(/nobody: HTTP 404/);
    const badToken = 'wrong-token-' + randomBytes(6).toString('hex');
    const bad = await runCli(['org', 'acme', '--github-url', org.fake.url, '--token', badToken, '--db', join(dir, 'k.db'), '--cache-dir', join(dir, 'c')], dir);
    expect(bad.code).toBe(3);
    expect(bad.err).toMatch(/401/);
    expect(bad.err).not.toContain(badToken);
    expect(statSync(join(dir, 'k.db')).size).toBeGreaterThan(0);
  });
});
