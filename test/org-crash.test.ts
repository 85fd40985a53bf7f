// kill -9 during `keyloop org`, twice, then rerun: the final database equals an uninterrupted run's.
// The child is the real CLI, compiled from the sources by TypeScript (testkit/compile-cli.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import { startFakeGitHub, type FakeGitHub } from '../testkit/fake-github.js';
import { buildRepo, tempDir } from '../testkit/git-repo.js';
import { compileCli } from '../testkit/compile-cli.js';
import { withCrc32Tail } from '../testkit/token-gen.js';
import { cliEnv, type Env } from './helpers/run-cli.js';

const TOKEN = 'fake-crawler-' + randomBytes(8).toString('hex');
const KEY = randomBytes(32).toString('hex');
const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const N = 30;

let fake: FakeGitHub;
let cli: Awaited<ReturnType<typeof compileCli>>;

beforeAll(async () => {
  cli = await compileCli('org-crash');
  fake = await startFakeGitHub({ tokens: { [TOKEN]: 'crawler' } });
  await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const t = withCrc32Tail('ghp_', [...randomBytes(30)].map((b) => B62[b % 62]).join(''));
      const repo = await buildRepo({
        bare: true,
        commits: [
          { id: 'c1', files: { 'README.md': `# r${i}\n`, [`src/m${i}.js`]: `export default ${i};\n` } },
          { id: 'c2', files: i % 3 === 0 ? { '.env': `GITHUB_TOKEN=${t}\n` } : { 'notes.txt': `n${i}\n` } },
        ],
      });
      fake.addRepo(`acme/r${String(i).padStart(2, '0')}`, { gitDir: repo.gitDir });
    }),
  );
});

afterAll(async () => {
  await fake?.close();
  cli?.remove();
});

const env = (home: string): Promise<Env> => cliEnv({ KEYLOOP_KEY: KEY, GITHUB_TOKEN: TOKEN, HOME: home });
const args = (dir: string) => ['org', 'acme', '--github-url', fake.url, '--db', join(dir, 'k.db'), '--cache-dir', join(dir, 'cache'), '--format', 'json', '--no-progress', '--concurrency', '2'];

function doneRepos(db: string): number {
  if (!existsSync(db)) return 0;
  try {
    const d = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return (d.prepare("SELECT count(*) AS n FROM run_repos WHERE status = 'done'").get() as { n: number }).n;
    } finally {
      d.close();
    }
  } catch {
    return 0; // not migrated yet
  }
}

/** Starts the CLI and SIGKILLs it once `when` holds (polled), or lets it finish. */
async function runChild(dir: string, killWhen?: () => boolean): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  const child: ChildProcess = spawn(process.execPath, [cli.main, ...args(dir)], { env: await env(dir), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let timer: NodeJS.Timeout | undefined;
  if (killWhen) {
    timer = setInterval(() => {
      if (killWhen()) {
        clearInterval(timer);
        child.kill('SIGKILL');
      }
    }, 20);
  }
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearInterval(timer);
      resolve({ code, signal, out, err });
    }),
  );
}

function dump(db: string) {
  const d = new Database(db, { readonly: true });
  try {
    const q = (sql: string) => d.prepare(sql).all();
    return {
      repos: q('SELECT full_name, default_branch, clone_url, head_commit, pushed_at, last_error FROM repos ORDER BY full_name'),
      secrets: q('SELECT fingerprint, detector, redacted, status, key_id FROM secrets ORDER BY fingerprint'),
      locations: q(`SELECT s.fingerprint, r.full_name, l.blob, l.commit_oid, l.path, l.line, l.col, l.author_email, l.authored_at
        FROM locations l JOIN secrets s ON s.id = l.secret_id JOIN repos r ON r.id = l.repo_id ORDER BY 1, 2, 3, 4, 5, 6, 7`),
      blobs: q('SELECT r.full_name, b.oid, b.outcome FROM scanned_blobs b JOIN repos r ON r.id = b.repo_id ORDER BY 1, 2'),
      events: q('SELECT e.kind, s.fingerprint, r.full_name FROM events e LEFT JOIN secrets s ON s.id = e.secret_id LEFT JOIN repos r ON r.id = e.repo_id ORDER BY 1, 2, 3'),
      runRepos: q('SELECT r.full_name, rr.status, rr.blobs_scanned, rr.findings FROM run_repos rr JOIN repos r ON r.id = rr.repo_id ORDER BY 1'),
      runs: q('SELECT kind, target, status, repos_total, repos_done, repos_failed, blobs_scanned, findings, new_secrets FROM scan_runs ORDER BY id'),
    };
  } finally {
    d.close();
  }
}

describe('keyloop org crash/resume', () => {
  it('survives kill -9 twice mid-run and ends with the same database as an uninterrupted run', async () => {
    const base = await tempDir();
    const io = { out: '', err: '' };
    const code = await main(args(base), {
      cwd: base,
      env: await env(base),
      stdout: { write: (s: string) => ((io.out += s), true) },
      stderr: { write: (s: string) => ((io.err += s), true) },
    });
    expect(code, io.err).toBe(0);
    const expected = dump(join(base, 'k.db'));
    expect(expected.secrets).toHaveLength(10);

    const dir = await tempDir();
    mkdirSync(dir, { recursive: true });
    const db = join(dir, 'k.db');
    fake.delayMs = 25; // widen the window so the kills land mid-run
    const k1 = await runChild(dir, () => doneRepos(db) >= 4);
    expect(k1.signal).toBe('SIGKILL');
    const after1 = doneRepos(db);
    expect(after1).toBeGreaterThanOrEqual(4);
    expect(after1).toBeLessThan(N);
    const k2 = await runChild(dir, () => doneRepos(db) >= after1 + 5);
    expect(k2.signal).toBe('SIGKILL');
    const after2 = doneRepos(db);
    expect(after2).toBeLessThan(N);
    fake.delayMs = 0;
    const fin = await runChild(dir);
    expect(fin.code, fin.err).toBe(0);
    const summary = JSON.parse(fin.out) as { resumed: boolean; run: { resumes: number }; repos: Array<{ status: string }> };
    expect(summary.resumed).toBe(true);
    expect(summary.run.resumes).toBe(2);
    // Repos finished before the kills were not fetched or scanned again.
    expect(summary.repos.filter((r) => r.status === 'resumed').length).toBe(after2);
    console.log(`kill -9 after ${after1} and ${after2} of ${N} repos; the final run finished the remaining ${N - after2}`);
    expect(dump(db)).toEqual(expected);
  });
});
