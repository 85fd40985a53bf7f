// `npm run bench [-- REPO] [--backend pack|native] [--jobs N] [--size GB] [--runs N] [--verify] [--no-log] [--no-prescan]`: full-history scan speed against
// `git cat-file --batch-all-objects` (the native read floor) and `git log -p --all`, with peak RSS and a check
// that every secret planted in the generated corpus was found. Runs from dist/. The scan runs in a child
// process so its peak RSS (process.resourceUsage().maxRSS, worker threads included) is the scan's alone.
// First import, as in the keyloop CLI: V8 heap tuning before anything allocates (see src/util/heap.ts).
import '../src/util/heap.js';
import { spawnSync } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine } from '../src/detection/engine.js';
import { loadCatalog } from '../src/detection/load.js';
import { openRepo } from '../src/objects/open.js';
import { gitSource, scanSource, type ContentSource } from '../src/core/content.js';
import { createScanPool, earlyPackPool, packSource, scanStage, startPrescan, type PackScanStats } from '../src/scan/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const flag = (n: string) => argv.includes(`--${n}`);
const value = (n: string, d: string) => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : d;
};
const positional = argv.filter((a, i) => !a.startsWith('--') && !['--backend', '--size', '--child', '--runs', '--jobs'].includes(argv[i - 1] ?? ''));
const MAX_BLOB = 50 << 20;

interface ChildResult {
  backend: string;
  deltaAware: boolean;
  jobs: number;
  enumerateMs: number;
  scanMs: number;
  blobs: number;
  bytes: number;
  scannedBytes: number;
  findings: number;
  matches: number;
  secrets: string[];
  maxRssMb: number;
  stats?: PackScanStats;
  digest?: string;
}

async function child(repo: string, backend: string, deltaAware: boolean, jobs: number): Promise<ChildResult> {
  const detectorsDir = path.join(root, 'detectors');
  const engine = createEngine(loadCatalog(detectorsDir));
  const objects = await openRepo(repo, 'native');
  if (!objects) throw new Error(`${repo}: not a git repository`);
  const t0 = Date.now();
  // the same composition as `keyloop scan`: [pack pool started, prescan] + enumerate (provenance) → [pack fast
  // path] → scanSource
  const early = backend === 'pack' ? earlyPackPool(repo, { detectorsDir, jobs, engine, deltaAware }) : null;
  const prescan = early && !flag('no-prescan') ? startPrescan(repo, early, { maxBlobSize: MAX_BLOB, deltaAware }) : null;
  const base = await gitSource(objects, { kind: 'all' });
  prescan?.walkDone();
  const t1 = Date.now();
  let stats: PackScanStats | undefined;
  let source: ContentSource = base;
  if (backend === 'pack') {
    const fast = packSource(base, repo, {
      detectorsDir,
      jobs,
      engine,
      deltaAware,
      onStats: (s) => (stats = s),
      ...(early ? { pool: early } : {}),
      ...(prescan ? { prescan } : {}),
    });
    if (!fast) throw new Error(`${repo}: the pack reader cannot read this repository`);
    source = fast;
  }
  // as in `keyloop scan`: the fast path matches on its own pool, the native path on one of `jobs` threads
  const pool = createScanPool({ detectorsDir, jobs: backend === 'pack' ? 1 : jobs, engine });
  const res = await scanSource(source, scanStage(engine.catalog, pool), { maxBlobSize: MAX_BLOB });
  await pool.close();
  const t2 = Date.now();
  await objects.close();
  const secrets = new Set(res.findings.map((f) => f.secret));
  const { createHash } = await import('node:crypto');
  return {
    backend,
    deltaAware,
    jobs,
    enumerateMs: t1 - t0,
    scanMs: t2 - t1,
    blobs: res.stats.blobs,
    bytes: res.stats.bytes,
    scannedBytes: stats?.scannedBytes ?? res.stats.bytes,
    findings: res.findings.length,
    matches: res.findings.reduce((s, f) => s + f.locations.length, 0),
    secrets: [...secrets],
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    ...(stats ? { stats } : {}),
    ...(flag('verify') ? { digest: createHash('sha256').update(JSON.stringify(res.findings)).digest('hex') } : {}),
  };
}

function timeToDevNull(cmd: string, args: string[], cwd: string): number {
  const fd = openSync('/dev/null', 'w');
  try {
    const t = process.hrtime.bigint();
    const r = spawnSync(cmd, args, {
      cwd,
      stdio: ['ignore', fd, 'inherit'],
      env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_PAGER: 'cat' },
    });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
    return Number(process.hrtime.bigint() - t) / 1e6;
  } finally {
    closeSync(fd);
  }
}

function runChild(repo: string, backend: string, deltaAware: boolean, jobs: number, extra: string[] = []): ChildResult {
  const args = [
    fileURLToPath(import.meta.url),
    '--child',
    repo,
    '--backend',
    backend,
    '--jobs',
    String(jobs),
    ...(deltaAware ? [] : ['--full']),
    ...(flag('verify') ? ['--verify'] : []),
    ...extra,
  ];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`scan child exited ${r.status}`);
  return JSON.parse(r.stdout) as ChildResult;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (b: number) => (b / 1e6).toFixed(0);

async function main() {
  if (flag('child')) {
    const repo = value('child', '');
    const res = await child(repo, value('backend', 'pack'), !flag('full'), Number(value('jobs', '2')));
    process.stdout.write(JSON.stringify(res));
    return;
  }
  const size = value('size', '2');
  let repo = positional[0];
  if (!repo) {
    repo = path.join(root, 'corpus', '.generated', `large-${size}g.git`);
    if (!existsSync(path.join(repo, 'keyloop-planted.json'))) {
      process.stderr.write(`generating ${repo} (once)…\n`);
      const g = spawnSync(process.execPath, [path.join(root, 'corpus', 'gen-large', 'generate.mjs'), '--size', size, '--out', repo], { stdio: 'inherit' });
      if (g.status !== 0) throw new Error('corpus generation failed');
    }
  }
  repo = path.resolve(repo);
  const backend = value('backend', 'pack');
  const runs = Number(value('runs', '3'));
  const jobs = Number(value('jobs', '2'));
  const check = spawnSync('git', ['cat-file', '--batch-all-objects', '--batch-check=%(objecttype) %(objectsize)'], {
    cwd: repo,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  let blobs = 0;
  let bytes = 0;
  for (const l of check.stdout.split('\n')) {
    if (!l.startsWith('blob ')) continue;
    blobs++;
    bytes += Number(l.slice(5));
  }
  console.log(`repo: ${repo}\n  ${blobs} blobs, ${mb(bytes)} MB unique blob bytes (all objects in the odb)`);

  const catFile = median(Array.from({ length: runs }, () => timeToDevNull('git', ['cat-file', '--batch-all-objects', '--batch', '--unordered'], repo)));
  console.log(`git cat-file --batch-all-objects --batch --unordered: ${(catFile / 1000).toFixed(2)} s (${mb(bytes / (catFile / 1000))} MB/s)`);
  const log = flag('no-log') ? NaN : timeToDevNull('git', ['log', '-p', '--all'], repo);
  if (!Number.isNaN(log)) console.log(`git log -p --all: ${(log / 1000).toFixed(2)} s`);

  const results = Array.from({ length: runs }, () => runChild(repo, backend, true, jobs, flag('no-prescan') ? ['--no-prescan'] : []));
  const res = results.sort((a, b) => a.enumerateMs + a.scanMs - (b.enumerateMs + b.scanMs))[Math.floor(runs / 2)]!;
  const total = res.enumerateMs + res.scanMs;
  console.log(
    `scan (${backend}${backend === 'pack' ? ', delta-aware' : ''}, --jobs ${res.jobs}${backend === 'pack' && res.jobs > 1 ? ` (${res.jobs - 1} worker${res.jobs === 2 ? '' : 's'} + the reading thread)` : ''}): ${(total / 1000).toFixed(2)} s` +
      ` = history walk ${(res.enumerateMs / 1000).toFixed(2)} s${res.stats?.prescan ? ' (the scan starts with it)' : ''} + ${(res.scanMs / 1000).toFixed(2)} s after it` +
      ` — ${mb(res.bytes / (total / 1000))} MB/s over ${res.blobs} blobs / ${mb(res.bytes)} MB; scanned ${mb(res.scannedBytes)} MB`,
  );
  if (res.stats)
    console.log(
      `  blobs scanned whole ${res.stats.full}, by delta regions ${res.stats.regions}, binary ${res.stats.binary}, read back by the fallback ${res.stats.fallback}; speculative region plans ${res.stats.speculative} (rescanned whole ${res.stats.rescanned}, by wider regions ${res.stats.widened}); peak bytes in flight ${mb(res.stats.peakInFlightBytes)} MB, kept for a verdict ${mb(res.stats.peakKeptBytes)} MB; batch buffers created ${res.stats.buffersCreated} (${mb(res.stats.bufferBytesCreated)} MB); tasks the reading thread scanned ${res.stats.helped}`,
    );
  console.log(`  findings ${res.findings} (detector+secret), ${res.matches} blob matches`);
  console.log(`  ratio to cat-file: ${(total / catFile).toFixed(2)}× (target ≤ 3×)`);
  if (!Number.isNaN(log)) console.log(`  ratio to git log -p --all: ${(total / log).toFixed(2)}×`);
  console.log(
    `  peak RSS of the scan process: ${res.maxRssMb.toFixed(0)} MB (target ≤ 400 MB); runs: ${results.map((r) => ((r.enumerateMs + r.scanMs) / 1000).toFixed(2)).join(', ')} s`,
  );

  const labels = path.join(repo, 'keyloop-planted.json');
  if (existsSync(labels)) {
    const planted = (JSON.parse(readFileSync(labels, 'utf8')) as { planted: { kind: string; secret: string; removed: boolean }[] }).planted;
    const found = new Set(res.secrets);
    const missed = planted.filter((p) => !found.has(p.secret));
    console.log(
      `  planted secrets found: ${planted.length - missed.length}/${planted.length} (${planted.filter((p) => p.removed).length} deleted later)` +
        (missed.length ? ` — MISSED: ${missed.map((m) => m.kind).join(', ')}` : ''),
    );
  }
  if (flag('verify') && backend === 'pack') {
    // the reference: every blob scanned whole, after the walk, with its own path (no scan for any path)
    const ref = runChild(repo, backend, false, jobs, ['--no-prescan']);
    const same = ref.digest === res.digest;
    console.log(
      `verify: full scan of every blob with its path ${((ref.enumerateMs + ref.scanMs) / 1000).toFixed(2)} s, ${ref.matches} matches; delta-aware findings ${same ? 'IDENTICAL' : 'DIFFER'}`,
    );
    if (!same) process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
