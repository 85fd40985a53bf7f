// `npm run bench:scale [-- --repos 48 --latency 40 --workers 1,2,4]`: an org of generated repositories on the fake
// GitHub (git http-backend + REST on loopback, each request delayed by --latency ms as a network would), handed to
// 1, 2 and 4 `keyloop worker` processes (each --concurrency 1, its own cold mirror cache) on one embedded
// PostgreSQL. Per worker count: wall time from `org --enqueue` to the run's end, repos/min, scan MB/s, and the
// scaling factor against one worker. Then the queue's own cost per job: trivial jobs through one slot. Prints a
// markdown table and writes .bench/scale.json. Runs from dist/.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPgBossQueue } from '../src/queue/pg-boss.js';
import { JobRunner } from '../src/scale/runner.js';
import { openStore } from '../src/store/open.js';
import { createDatabase, startEmbeddedPostgres } from '../testkit/embedded-postgres.js';
import { startFakeGitHub } from '../testkit/fake-github.js';
import { useHermeticGit } from '../testkit/git-env.js';
import { buildRepo, tempDir } from '../testkit/git-repo.js';
import { withCrc32Tail } from '../testkit/token-gen.js';

const argv = process.argv.slice(2);
const arg = (n: string, d: string) => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 ? argv[i + 1]! : d;
};
const REPOS = Number(arg('repos', '48'));
const LATENCY = Number(arg('latency', '40'));
const WORKERS = arg('workers', '1,2,4').split(',').map(Number);
const TRIVIAL = Number(arg('trivial', '300'));
const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');
const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const KEY = randomBytes(32).toString('hex');

useHermeticGit();

function cli(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code) => resolve({ code, out, err }));
  });
}

async function main() {
  const dir = await tempDir('keyloop-scale-bench-');
  const [pg, fake] = await Promise.all([startEmbeddedPostgres(), startFakeGitHub()]);
  // Source-like repositories: 40 commits over 25 files each, a key in every third.
  for (let r = 0; r < REPOS; r++) {
    const commits = Array.from({ length: 40 }, (_, i) => ({
      id: `c${i}`,
      files: { [`src/mod${i % 25}.ts`]: `export const v${r}_${i} = ${i}; // ${'x'.repeat(60)}\n`.repeat(60 + (i % 9)) },
    }));
    if (r % 3 === 0) commits.push({ id: 'key', files: { [`config/.env`]: `GITHUB_TOKEN=${withCrc32Tail('ghp_', Array.from(randomBytes(30), (b) => B62[b % 62]).join(''))}\n`.repeat(1) } });
    const repo = await buildRepo({ bare: true, commits });
    fake.addRepo(`acme/svc-${String(r).padStart(3, '0')}`, { gitDir: repo.gitDir, private: false });
  }
  fake.delayMs = LATENCY;
  const env = { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', KEYLOOP_KEY: KEY, GITHUB_API_URL: fake.url };
  const rows: { workers: number; seconds: number; reposPerMin: number; mbPerS: number; bytes: number; findings: number }[] = [];
  try {
    for (const n of WORKERS) {
      const { url } = await createDatabase(pg.adminUrl, `keyloop_bench_${n}`);
      const started = Date.now();
      const enq = await cli(['org', 'acme', '--db', url, '--enqueue', '--format', 'json'], env);
      if (enq.code !== 0) throw new Error(`enqueue failed: ${enq.err}`);
      const { runId } = JSON.parse(enq.out) as { runId: number };
      const workers: ChildProcess[] = Array.from({ length: n }, (_, i) =>
        spawn(process.execPath, [CLI, 'worker', '--db', url, '--concurrency', '1', '--cache-dir', path.join(dir, `cache-${n}-${i}`), '--no-issues', '--no-verify', '--log-level', 'warn'], {
          env,
          stdio: 'ignore',
        }),
      );
      const store = await openStore(url, { mode: 'existing' });
      let run = await store.getRun(runId);
      while (run?.status === 'running') {
        await new Promise((r) => setTimeout(r, 200));
        run = await store.getRun(runId);
      }
      const seconds = (Date.now() - started) / 1000;
      await store.close();
      await Promise.all(workers.map((w) => new Promise((r) => (w.once('exit', r), w.kill('SIGTERM')))));
      if (!run || run.reposDone !== REPOS) throw new Error(`run ${runId} ended ${run?.status} with ${run?.reposDone}/${REPOS} repos done`);
      rows.push({ workers: n, seconds, reposPerMin: (REPOS / seconds) * 60, mbPerS: run.bytesScanned / 1e6 / seconds, bytes: run.bytesScanned, findings: run.findings });
      console.error(`${n} worker(s): ${seconds.toFixed(1)} s`);
    }
    const overhead = await queueOverhead(pg.adminUrl);
    const base = rows[0]!.seconds;
    const table = [
      `| workers | wall time | repos/min | scan MB/s | scaling vs 1 |`,
      `|---:|---:|---:|---:|---:|`,
      ...rows.map((r) => `| ${r.workers} | ${r.seconds.toFixed(1)} s | ${r.reposPerMin.toFixed(1)} | ${r.mbPerS.toFixed(2)} | ${(base / r.seconds).toFixed(2)}× |`),
    ].join('\n');
    console.log(
      `${REPOS} repositories (${(rows[0]!.bytes / 1e6).toFixed(1)} MB of blobs, ${rows[0]!.findings} findings), ${LATENCY} ms per git/API request, ` +
        `each worker --concurrency 1 with a cold mirror cache, one PostgreSQL, this machine\n\n${table}\n\n` +
        `queue overhead per job (send + fetch + lease + complete, ${TRIVIAL} trivial jobs through one slot): ${overhead.toFixed(1)} ms`,
    );
    mkdirSync('.bench', { recursive: true });
    writeFileSync(path.join('.bench', 'scale.json'), JSON.stringify({ repos: REPOS, latencyMs: LATENCY, rows, queueOverheadMs: overhead }, null, 2) + '\n');
  } finally {
    await fake.close();
    await pg.stop();
  }
}

/** Milliseconds per trivial job: `TRIVIAL` verify-queue jobs whose handler does nothing, through one runner slot. */
async function queueOverhead(adminUrl: string): Promise<number> {
  const { url } = await createDatabase(adminUrl, 'keyloop_bench_queue');
  const queue = await openPgBossQueue(url, { leaseSeconds: 30 });
  try {
    const started = Date.now();
    await queue.sendMany('verify', Array.from({ length: TRIVIAL }, (_, i) => ({ data: { i }, key: `trivial-${i}` })));
    let done = 0;
    let allDone!: () => void;
    const finished = new Promise<void>((resolve) => (allDone = resolve));
    const runner = new JobRunner({ queue, handlers: { verify: async () => void (++done === TRIVIAL && allDone()) }, concurrency: 1, pollMs: 50 });
    runner.start();
    await finished;
    // The last job's completion is in once its slot has ended.
    await runner.stop(5000);
    return (Date.now() - started) / TRIVIAL;
  } finally {
    await queue.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
