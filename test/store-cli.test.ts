// The CLI on either store: `keyloop org` into PostgreSQL finds what it finds into SQLite, the read commands and
// KEYLOOP_DATABASE_URL work on it, `keyloop db migrate`, and a database that cannot be used is exit 3, one line.
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGitHub, type FakeGitHub } from '../testkit/fake-github.js';
import { buildRepo, tempDir } from '../testkit/git-repo.js';
import { pgTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { runCli } from './helpers/run-cli.js';
import { withCrc32Tail } from '../testkit/token-gen.js';

const TOKEN = 'fake-crawler-' + randomBytes(8).toString('hex');
const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ghToken = () => withCrc32Tail('ghp_', [...randomBytes(30)].map((b) => B62[b % 62]).join(''));

let fake: FakeGitHub;
let pgdb: TestDatabase;
const planted: string[] = [];
let dir: string;
const env = () => ({ PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: dir, KEYLOOP_KEY: 'ab'.repeat(32), GITHUB_TOKEN: TOKEN });

beforeAll(async () => {
  [fake, pgdb, dir] = await Promise.all([startFakeGitHub({ tokens: { [TOKEN]: 'crawler' } }), pgTestDatabase('keyloop_cli'), tempDir('keyloop-store-cli-')]);
  for (let i = 0; i < 4; i++) {
    const t = ghToken();
    planted.push(t);
    const repo = await buildRepo({
      bare: true,
      commits: [
        { id: 'c1', files: { 'README.md': `# r${i}\n` }, author: { name: 'Alice', email: 'alice@example.test' } },
        { id: 'c2', files: { [i % 2 ? 'config/prod.env' : '.env']: `GITHUB_TOKEN=${t}\n` }, author: { name: 'Bob', email: 'bob@example.test' } },
        ...(i === 3 ? [{ id: 'c3', files: { 'config/prod.env': null } }] : []),
      ],
    });
    fake.addRepo(`acme/r${i}`, { gitDir: repo.gitDir });
  }
});
afterAll(async () => {
  await fake?.close();
  await pgdb?.drop();
});

/** The inventory without what depends on when it was recorded. */
const inventoryOf = (json: string) =>
  (JSON.parse(json) as Array<Record<string, unknown>>).map(({ detectedAt: _d, ...r }) => r);

describe('keyloop with --db postgres://', () => {
  it('org into PostgreSQL records what it records into SQLite; read commands and KEYLOOP_DATABASE_URL use it', { timeout: 180_000 }, async () => {
    const org = (db: string, cache: string) => runCli(['org', 'acme', '--github-url', fake.url, '--db', db, '--cache-dir', join(dir, cache), '--format', 'json', '--no-progress'], { cwd: dir, env: env() });
    const onPg = await org(pgdb.url, 'c-pg');
    expect(onPg.code, onPg.stderr).toBe(0);
    const run = JSON.parse(onPg.stdout) as { run: { reposDone: number; newSecrets: number; blobsScanned: number } };
    expect(run.run).toMatchObject({ reposDone: 4, newSecrets: 4 });
    const onSqlite = await org(join(dir, 'k.db'), 'c-sqlite');
    expect(onSqlite.code).toBe(0);
    expect((JSON.parse(onSqlite.stdout) as typeof run).run).toEqual({ ...run.run, id: expect.any(Number), startedAt: expect.any(String), finishedAt: expect.any(String) });

    // Incremental on PostgreSQL too: nothing new, nothing scanned.
    const again = await org(pgdb.url, 'c-pg');
    expect((JSON.parse(again.stdout) as typeof run).run).toMatchObject({ blobsScanned: 0, newSecrets: 0 });

    const pgInv = await runCli(['secrets', '--format', 'json'], { cwd: dir, env: { ...env(), KEYLOOP_DATABASE_URL: pgdb.url } });
    expect(pgInv.code).toBe(0);
    const sqliteInv = await runCli(['secrets', '--db', 'k.db', '--format', 'json'], { cwd: dir, env: env() });
    expect(inventoryOf(pgInv.stdout)).toHaveLength(4);
    expect(inventoryOf(pgInv.stdout)).toEqual(inventoryOf(sqliteInv.stdout));
    const fp = (inventoryOf(pgInv.stdout)[0] as { fingerprint: string }).fingerprint;
    const where = await runCli(['where', fp.slice(0, 10), '--db', pgdb.url, '--format', 'json'], { cwd: dir, env: env() });
    expect(where.code).toBe(0);
    const whereSqlite = await runCli(['where', fp.slice(0, 10), '--db', 'k.db', '--format', 'json'], { cwd: dir, env: env() });
    const { detectedAt: _a, ...pgWhere } = JSON.parse(where.stdout) as Record<string, unknown>;
    const { detectedAt: _b, ...sqliteWhere } = JSON.parse(whereSqlite.stdout) as Record<string, unknown>;
    expect(pgWhere).toEqual(sqliteWhere);
    expect((pgWhere.locations as unknown[]).length).toBeGreaterThan(0);
    const report = await runCli(['report', '--format', 'json', '--db', pgdb.url], { cwd: dir, env: env() });
    expect(report.code).toBe(0);
    expect((JSON.parse(report.stdout) as { totals: { secrets: number } }).totals.secrets).toBe(4);

    // Nothing planted, nor the GitHub token, is in any column of any table.
    const c = new pg.Client({ connectionString: pgdb.url });
    await c.connect();
    try {
      const cols = await c.query<{ t: string; c: string }>("SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = current_schema()");
      let all = '';
      for (const { t, c: col } of cols.rows) {
        for (const r of (await c.query<{ v: string | null }>(`SELECT ${pg.escapeIdentifier(col)}::text AS v FROM ${pg.escapeIdentifier(t)}`)).rows) all += `${r.v}\n`;
      }
      expect(all).toContain(fp);
      for (const s of [...planted, TOKEN]) expect(all).not.toContain(s);
    } finally {
      await c.end();
    }
  });

  it('db migrate reports an up-to-date schema on both engines', async () => {
    const m = await runCli(['db', 'migrate', '--db', pgdb.url], { cwd: dir, env: env() });
    expect(m.code).toBe(0);
    expect(m.stdout).toMatch(/^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/keyloop_cli_\w+: schema v70 is up to date\n$/);
    const fresh = await pgTestDatabase('keyloop_cli_fresh');
    try {
      const f = await runCli(['db', 'migrate'], { cwd: dir, env: { ...env(), KEYLOOP_DATABASE_URL: fresh.url } });
      expect(f.stdout).toMatch(/: applied 001-initial\.sql, 002-verification-expiry\.sql, 003-repo-pushed-at\.sql, 020-app-deliveries\.sql, 030-issue-claims\.sql, 040-confidence\.sql, 041-repo-config-suppressions\.sql, 050-run-jobs\.sql, 060-reach-audit\.sql, 070-catalog-versions\.sql \(schema v0 → v70\)\n$/);
      expect(f.stdout).not.toContain(new URL(fresh.url).password);
    } finally {
      await fresh.drop();
    }
    const s = await runCli(['db', 'migrate', '--db', 'new.db'], { cwd: dir, env: env() });
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(new RegExp(`^${join(dir, 'new.db')}: applied 001-initial\\.sql, .*030-issue-claims\\.sql, 040-confidence\\.sql, 041-repo-config-suppressions\\.sql, 050-run-jobs\\.sql, 060-reach-audit\\.sql, 070-catalog-versions\\.sql \\(schema v0 → v70\\)\\n$`));
    expect((await runCli(['db', 'migrate', '--db', 'new.db'], { cwd: dir, env: env() })).stdout).toBe(`${join(dir, 'new.db')}: schema v70 is up to date\n`);
  });

  it('a database that cannot be reached or refuses us: exit 3, one line naming host and port, never the password', { timeout: 60_000 }, async () => {
    // Passwords assembled at run time: URL literals with one would (rightly) trip the self-scan.
    const pw = randomBytes(6).toString('hex');
    const refused = await runCli(['secrets', '--db', `postgres://keyloop:${pw}@127.0.0.1:1/keyloop`], { cwd: dir, env: env() });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toBe('keyloop: cannot use PostgreSQL at 127.0.0.1:1 (database "keyloop"): connection refused (is the server running and listening on that port?)\n');
    const u = new URL(pgdb.url);
    u.password = `wrong-${pw}`;
    const auth = await runCli(['org', 'acme', '--github-url', fake.url], { cwd: dir, env: { ...env(), KEYLOOP_DATABASE_URL: u.toString() } });
    expect(auth.code).toBe(3);
    expect(auth.stderr).toMatch(/^keyloop: cannot use PostgreSQL at 127\.0\.0\.1:\d+ \(database "keyloop_cli_\w+"\): authentication failed for user "postgres"\n$/);
    expect(auth.stderr + auth.stdout).not.toContain(pw);
    expect(refused.stderr).not.toContain(pw);
    // A server that accepts the connection and never answers: the connect timeout ends it.
    const sockets: Socket[] = [];
    const mute: Server = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    try {
      const port = (mute.address() as { port: number }).port;
      const silent = await runCli(['report', '--db', `postgresql://keyloop:${pw}@127.0.0.1:${port}/keyloop`], { cwd: dir, env: env() });
      expect(silent.code).toBe(3);
      expect(silent.stderr).toBe(`keyloop: cannot use PostgreSQL at 127.0.0.1:${port} (database "keyloop"): no answer within 8 s\n`);
      expect(silent.stderr).not.toContain(pw);
    } finally {
      for (const s of sockets) s.destroy();
      mute.close();
    }
    const scheme = await runCli(['secrets', '--db', 'mysql://h/db'], { cwd: dir, env: env() });
    expect(scheme.code).toBe(2);
    expect(scheme.stderr).toMatch(/unsupported database URL scheme/);
  });
});
