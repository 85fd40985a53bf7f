// An org run handed to two `keyloop worker` processes on one PostgreSQL, one of them killed with SIGKILL while it
// scans: every repository ends done, the store holds what a single-process SQLite run holds, GitHub gets the
// same issues and no duplicate, and neither the queue nor the database holds a token or a found secret.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { createPool } from '../../src/store/postgres/connect.js';
import { compileCli } from '../../testkit/compile-cli.js';
import { startFakeGitHub, type FakeGitHub } from '../../testkit/fake-github.js';
import { FakeIssuer } from '../../testkit/fake-issuer.js';
import { buildRepo, tempDir, type BuiltRepo } from '../../testkit/git-repo.js';
import { pgTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { cliEnv } from '../helpers/run-cli.js';
import { ADMIN_TOKEN, ghTokens } from './loop-world.js';

const N = 14;
const KEY = 'a7'.repeat(32);
const CONFIG = 'operator.yaml';

let cli: Awaited<ReturnType<typeof compileCli>>;
let issuer: FakeIssuer;
let db: TestDatabase;
let dir: string;
const repos: { name: string; repo: BuiltRepo }[] = [];
const tokens = ghTokens(6, 41);
const children: ChildProcess[] = [];

beforeAll(async () => {
  [cli, issuer, db, dir] = await Promise.all([compileCli('scale'), FakeIssuer.start(), pgTestDatabase('keyloop_scale'), tempDir('keyloop-scale-')]);
  for (const t of tokens) issuer.setKey('github', t, 'live');
  issuer.setKey('github', tokens[5]!, 'dead');
  for (let i = 0; i < N; i++) {
    // Tokens 0 and 1 leak in two repositories each: one issue per (secret, repo), whoever finds them first.
    const t = i % 2 === 0 ? tokens[(i / 2) % tokens.length]! : null;
    const files: Record<string, string> = { 'README.md': `# r${i}\n`, [`src/m${i}.js`]: `export default ${i};\n`.repeat(200) };
    if (t) files['config/.env'] = `GITHUB_TOKEN=${t}\n`;
    const repo = await buildRepo({
      bare: true,
      commits: [
        { id: 'c1', author: { name: 'Dev', email: `dev${i}@corp.example`, date: '2024-12-01T00:00:00Z' }, files },
        { id: 'c2', files: { 'notes.txt': `n${i}\n` } },
      ],
    });
    repos.push({ name: `acme/r${String(i).padStart(2, '0')}`, repo });
  }
  mkdirSync(path.join(dir, 'work'), { recursive: true });
  writeFileSync(path.join(dir, 'work', CONFIG), `issuers:\n  github:\n    baseUrl: ${issuer.baseUrl('github')}\nowners:\n  fallback: lead\n`);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await issuer?.close();
  await db?.drop();
  cli?.remove();
});

async function github(): Promise<FakeGitHub> {
  const gh = await startFakeGitHub({ tokens: { [ADMIN_TOKEN]: 'keyloop-bot' } });
  for (const r of repos) {
    gh.addRepo(r.name, { private: true, gitDir: r.repo.gitDir });
    gh.setAssignable(r.name, 'lead');
  }
  return gh;
}

const envFor = (gh: FakeGitHub, cache: string) => cliEnv({ KEYLOOP_KEY: KEY, GITHUB_TOKEN: ADMIN_TOKEN, GITHUB_API_URL: gh.url, XDG_CACHE_HOME: cache });

async function runMain(args: string[], env: Record<string, string | undefined>) {
  let out = '';
  let err = '';
  const code = await main(args, {
    cwd: path.join(dir, 'work'),
    env,
    stdout: { write: (s: string) => ((out += s), true) },
    stderr: { write: (s: string) => ((err += s), true) },
  });
  return { code, out, err };
}

function startWorker(gh: FakeGitHub, name: string, env: Record<string, string | undefined>) {
  const args = [cli.main, 'worker', '--db', db.url, '--concurrency', '2', '--cache-dir', path.join(dir, name), '--config', CONFIG, '--allow-insecure-issuers'];
  const child = spawn(process.execPath, [...args, '--lease', '5', '--log-format', 'json', '--metrics-port', '0'], { cwd: path.join(dir, 'work'), env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  return { child, log: () => log, worker: () => `${hostname()}:${child.pid}` };
}

/** What a run leaves in a store, comparable across SQLite and PostgreSQL (no ids, no times, no machine paths). */
async function dump(q: (sql: string) => Promise<Record<string, unknown>[]>) {
  return {
    secrets: await q('SELECT fingerprint, detector, redacted, status, confidence FROM secrets ORDER BY fingerprint'),
    locations: await q(`SELECT s.fingerprint, r.full_name, l.blob, l.commit_oid, l.path, l.line, l.col, l.author_email, l.authored_at
      FROM locations l JOIN secrets s ON s.id = l.secret_id JOIN repos r ON r.id = l.repo_id ORDER BY 1, 2, 3, 4, 5, 6, 7`),
    blobs: await q('SELECT r.full_name, b.oid, b.outcome FROM scanned_blobs b JOIN repos r ON r.id = b.repo_id ORDER BY 1, 2'),
    detected: await q(`SELECT s.fingerprint, r.full_name FROM events e JOIN secrets s ON s.id = e.secret_id JOIN repos r ON r.id = e.repo_id WHERE e.kind = 'detected' ORDER BY 1, 2`),
    runRepos: await q('SELECT r.full_name, rr.status, rr.blobs_scanned, rr.findings FROM run_repos rr JOIN repos r ON r.id = rr.repo_id ORDER BY 1'),
    issues: await q(`SELECT r.full_name, s.fingerprint, i.state FROM issues i JOIN repos r ON r.id = i.repo_id JOIN secrets s ON s.id = i.secret_id ORDER BY 1, 2`),
    run: await q("SELECT status, repos_total, repos_done, repos_failed, blobs_scanned, findings, new_secrets FROM scan_runs WHERE kind = 'org'"),
    // Reach asked in the workers' verify jobs as in the local loop: the level found per secret, and who was called for what.
    reach: [
      ...new Set(
        (await q('SELECT s.fingerprint, v.status, v.reach FROM verifications v JOIN secrets s ON s.id = v.secret_id')).map((r) => {
          const reach = (typeof r.reach === 'string' ? JSON.parse(r.reach) : r.reach) as { level: string } | null;
          return `${r.fingerprint as string} ${r.status as string} ${reach?.level ?? '-'}`;
        }),
      ),
    ].sort(),
    audited: await q('SELECT DISTINCT fingerprint, purpose, issuer FROM outbound_calls ORDER BY 1, 2, 3'),
  };
}

const issueKeys = (gh: FakeGitHub) => gh.issues.map((i) => `${i.repo} ${/keyloop:fingerprint=([0-9a-f]{64})/.exec(i.body)?.[1]}`).sort();

describe('org --enqueue with two workers, one killed mid-scan', () => {
  it('ends with every repository done, the same store and issues as one SQLite process, no duplicate, nothing in clear', async () => {
    // Reference: one process, SQLite, its own fake GitHub.
    const ghRef = await github();
    const refDb = path.join(dir, 'ref.db');
    const ref = await runMain(['org', 'acme', '--db', refDb, '--issues', '--config', CONFIG, '--allow-insecure-issuers', '--format', 'json', '--no-progress'], await envFor(ghRef, path.join(dir, 'ref-cache')));
    expect(ref.code, ref.err).toBe(0);
    const sqlite = new Database(refDb, { readonly: true });
    const expected = await dump(async (sql) => sqlite.prepare(sql).all() as Record<string, unknown>[]);
    sqlite.close();
    expect(expected.secrets.length).toBeGreaterThan(3);
    expect(expected.reach.filter((r) => / live (read|write|admin)$/.test(r)).length).toBeGreaterThan(3);
    expect(expected.audited.filter((r) => r.purpose === 'reach').length).toBeGreaterThan(3);
    expect(ghRef.issues.length).toBeGreaterThan(3);

    // The same org, handed to two workers on PostgreSQL; each git request is slowed so scans overlap the kill.
    const gh = await github();
    gh.delayMs = 40;
    const env = await envFor(gh, path.join(dir, 'unused-cache'));
    const a = startWorker(gh, 'cache-a', env);
    const b = startWorker(gh, 'cache-b', env);
    const waiting = runMain(['org', 'acme', '--db', db.url, '--enqueue', '--wait', '--issues', '--config', CONFIG, '--allow-insecure-issuers', '--format', 'json', '--no-progress'], env);

    // Kill A once it holds a scan.
    // The store's own pool settings: bigint counters come back as numbers, as from SQLite.
    const pool = createPool(db.url, 2);
    const q = async (sql: string, args: unknown[] = []) => (await pool.query(sql, args)).rows as Record<string, unknown>[];
    let killedAt = 0;
    let killedRepo = '';
    for (let i = 0; i < 2400 && !killedAt; i++) {
      const held = await q("SELECT subject FROM run_jobs WHERE kind = 'scan-repo' AND state = 'running' AND worker = $1 LIMIT 1", [a.worker()]).catch(() => []);
      if (held.length) {
        a.child.kill('SIGKILL');
        killedAt = Date.now();
        killedRepo = held[0]!.subject as string;
      } else await new Promise((r) => setTimeout(r, 25));
    }
    expect(killedAt, `worker A never held a scan\nA: ${a.log()}\nB: ${b.log()}`).toBeGreaterThan(0);

    const r = await waiting;
    const doneAt = Date.now();
    expect(r.code, `${r.err}\nB: ${b.log()}`).toBe(0);
    const summary = JSON.parse(r.out) as { status: string; repos: { repo: string; status: string }[]; run: { reposDone: number; reposFailed: number } };
    expect(summary.status).toBe('completed');
    expect(summary.repos.filter((x) => x.status !== 'done')).toEqual([]);
    expect(summary.run).toMatchObject({ reposDone: N, reposFailed: 0 });

    // The killed worker's repository was taken over by the other one.
    const retried = await q("SELECT subject, attempts, worker FROM run_jobs WHERE kind = 'scan-repo' AND subject = $1", [killedRepo]);
    expect(retried[0]).toMatchObject({ subject: killedRepo, worker: b.worker() });
    expect(retried[0]!.attempts).toBeGreaterThanOrEqual(2);
    const times = (await q("SELECT started_at, finished_at FROM run_jobs WHERE kind = 'scan-repo' AND subject = $1", [killedRepo]))[0]!;
    const after = (iso: unknown) => ((Date.parse(iso as string) - killedAt) / 1000).toFixed(1);
    console.log(
      `kill -9: 1 of 2 workers killed holding ${killedRepo}; lost 0, duplicated 0; taken over ${after(times.started_at)} s after the kill, ` +
        `done ${after(times.finished_at)} s after it; run ended ${((doneAt - killedAt) / 1000).toFixed(1)} s after it`,
    );

    const got = await dump((sql) => q(sql));
    expect(got).toEqual(expected);
    expect(issueKeys(gh)).toEqual(issueKeys(ghRef));
    expect(new Set(issueKeys(gh)).size).toBe(gh.issues.length);

    // Nothing secret at rest: the store's tables and pg-boss's (payloads, outputs, errors).
    const text = (await q(`SELECT string_agg(t::text, ' ') AS all FROM (SELECT data, output FROM keyloop_jobs.job UNION ALL SELECT data, output FROM keyloop_jobs.archive) t`))[0]!.all as string;
    const store = (await q("SELECT string_agg(j::text, ' ') AS all FROM (SELECT data, result, error FROM run_jobs) j"))[0]!.all as string;
    const reachAndAudit = (await q("SELECT string_agg(x, ' ') AS all FROM (SELECT reach::text AS x FROM verifications UNION ALL SELECT url || ' ' || outcome FROM outbound_calls) t"))[0]!.all as string;
    expect(text).toContain('acme/r00');
    expect(reachAndAudit).toContain('/user');
    for (const t of [...tokens, ADMIN_TOKEN]) {
      expect(text).not.toContain(t);
      expect(store).not.toContain(t);
      expect(reachAndAudit).not.toContain(t);
      expect(b.log()).not.toContain(t);
    }

    // SIGTERM: the survivor drains and exits 0; the run list shows the run done, by whom.
    const exited = new Promise<number | null>((res) => b.child.once('exit', (code) => res(code)));
    b.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const runs = await runMain(['runs', '--db', db.url, '--format', 'json'], env);
    const view = (JSON.parse(runs.out) as { runs: { run: { status: string }; queued: boolean; repos: Record<string, number> }[] }).runs[0]!;
    expect(view).toMatchObject({ queued: true, run: { status: 'completed' }, repos: { total: N, queued: 0, running: 0, done: N, failed: 0 } });
    await pool.end();
    await Promise.all([gh.close(), ghRef.close()]);
  });
});
