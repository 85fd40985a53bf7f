// `npm run bench:real [-- --runs N] [--only a,b] [--no-log] [--no-verify] [--cli PATH] [--window N] [--build-only] [--pin [--versions N]]`:
// full-history scans of real code. Each repository's commits are successive published versions of a real npm
// package (bench/real-corpus.json pins the versions and each tarball's dist.integrity), so the scan sees minified
// bundles, source maps, generated code and the deltas between real releases. Built once into .bench/real/
// (tarballs through `npm pack`, checked against the pinned integrity, unpacked and committed in order with a fixed
// author and dates, then repacked). Per repository: unique blobs and bytes, the native read (`git cat-file
// --batch-all-objects --batch --unordered` to /dev/null), `git log -p --all`, `keyloop scan REPO --format json`
// as a user runs it (wall time including start-up, peak RSS from GNU time), its ratio to the native read, and
// whether its findings equal a whole-blob scan of every blob (KEYLOOP_PACK_READER=0: git cat-file + a full scan of
// each blob). Synthetic secrets are planted in the trees (see PLANT) so that comparison has something to compare.
// Prints a markdown table. Downloads (the registry, through npm) only when the cache lacks a tarball.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultDetectorsDir, loadCatalog } from '../src/detection/load.js';
import { generateSample, rng } from '../testkit/token-gen.js';
import {
  diffKeys,
  findingKeys,
  markdownTable,
  matchesIntegrity,
  median,
  parseNpmView,
  parseTimeLine,
  pickVersions,
  RealManifest,
  type RealPackage,
} from './real-corpus.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const manifestFile = path.join(root, 'bench', 'real-corpus.json');
const cacheDir = path.join(root, '.bench', 'real');

/** The packages pinned by --pin; `below`: versions from there on are not the same program (TypeScript 7 is a native
 * binary behind a small JS launcher). */
const PACKAGES: { name: string; below?: string }[] = [
  { name: 'lodash' },
  { name: 'jquery' },
  { name: 'moment' },
  { name: 'react-dom' },
  { name: 'three' },
  { name: 'typescript', below: '7.0.0' },
  { name: 'axios' },
  { name: 'bootstrap' },
];

const argv = process.argv.slice(2);
const flag = (n: string) => argv.includes(`--${n}`);
const value = (n: string, d: string) => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : d;
};
/** --cli: another build of keyloop (a copy of an older dist/cli/main.js) timed on the same repositories. */
const cli = path.resolve(value('cli', path.join(root, 'dist', 'cli', 'main.js')));

/** git with no user or system config (the bench's repositories must not depend on the machine's settings). */
const gitEnv = (extra: Record<string, string> = {}) => ({
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_PAGER: 'cat',
  ...extra,
});
const git = (args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) =>
  execFileSync('git', args, { cwd: opts.cwd, env: gitEnv(opts.env), encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'inherit'] });

/** --pin: the newest N stable versions of each package and their dist.integrity, from the registry via npm. */
function pin(count: number): void {
  const packages: RealPackage[] = [];
  for (const { name, below } of PACKAGES) {
    const all = JSON.parse(execFileSync('npm', ['view', name, 'versions', '--json'], { encoding: 'utf8', maxBuffer: 1 << 28 })) as string[];
    const versions = pickVersions(all, count, below);
    // one request for the picked range's integrity
    const integrity = parseNpmView(
      execFileSync('npm', ['view', `${name}@>=${versions[0]} <=${versions[versions.length - 1]}`, 'version', 'dist.integrity', '--json'], {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      }),
    );
    const missing = versions.filter((v) => !integrity.has(v));
    if (missing.length > 0) throw new Error(`${name}: no dist.integrity for ${missing.join(', ')}`);
    packages.push({ name, versions: versions.map((version) => ({ version, integrity: integrity.get(version)! })) });
    process.stderr.write(`${name}: ${versions[0]} … ${versions[versions.length - 1]} (${versions.length} versions)\n`);
  }
  writeFileSync(manifestFile, JSON.stringify({ packages }, null, 2) + '\n');
}

/** The package's tarballs in the cache, downloading the missing ones with `npm pack`; each checked against its pin. */
function tarballs(pkg: RealPackage): string[] {
  const dir = path.join(cacheDir, 'tarballs');
  mkdirSync(dir, { recursive: true });
  const file = (v: string) => path.join(dir, `${pkg.name}-${v}.tgz`);
  const missing = pkg.versions.filter((v) => !existsSync(file(v.version)));
  if (missing.length > 0) {
    process.stderr.write(`${pkg.name}: downloading ${missing.length} tarball(s) with npm pack…\n`);
    const tmp = mkdtempSync(path.join(cacheDir, 'pack-'));
    try {
      const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp, ...missing.map((v) => `${pkg.name}@${v.version}`)], {
        cwd: tmp,
        encoding: 'utf8',
        maxBuffer: 1 << 28,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const packed = JSON.parse(out) as { version: string; filename: string }[];
      for (const p of packed) renameSync(path.join(tmp, p.filename), file(p.version));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return pkg.versions.map((v) => {
    const data = readFileSync(file(v.version));
    if (!matchesIntegrity(data, v.integrity)) {
      rmSync(file(v.version));
      throw new Error(`${pkg.name}@${v.version}: tarball does not match the pinned integrity (deleted from the cache; run again)`);
    }
    return file(v.version);
  });
}

/**
 * Synthetic secrets planted in the real trees, so "same findings as a whole-blob scan" compares something: released
 * packages hold none. Fresh each build from a seed (never committed), in detectors' own formats (testkit/token-gen):
 * at every eighth version one is spliced into the middle of the largest .js file (a minified bundle's one long
 * line, or a source file's line) and lives one version, as a leaked key does until the next release; a `.env.local`
 * with three more, a PEM key among them when the catalog has one, is present from a quarter to three quarters of
 * the history.
 */
const PLANT = { format: 1, every: 8, dotenv: 3 };

function planter(name: string): (work: string, i: number, n: number) => void {
  const catalog = loadCatalog(defaultDetectorsDir());
  const usable = catalog.detectors
    .map((d) => d.def)
    .filter((d) => !d.generic && !d.companions.some((c) => c.required) && !d.decode && d.keywords.length > 0)
    .sort((a, b) => a.id.localeCompare(b.id));
  let seed = 0;
  for (const ch of name) seed = (seed * 31 + ch.charCodeAt(0)) >>> 0;
  const rand = rng(seed);
  const pick = (oneLine: boolean) => {
    const pool = usable.filter((d) => d.multiline !== oneLine);
    return generateSample(pool[Math.floor(rand() * pool.length)]!, rand).text;
  };
  const dotenv = [pick(false), ...Array.from({ length: PLANT.dotenv - 1 }, () => pick(true))].join('\n') + '\n';
  return (work, i, n) => {
    if (i % PLANT.every === PLANT.every / 2) {
      const js = largestJs(work);
      if (js) {
        const text = readFileSync(js, 'utf8');
        // at a statement boundary near the middle, on the same line
        const at = Math.max(0, text.indexOf(';', text.length >> 1) + 1);
        const line = pick(true).replace(/\n/g, ' ');
        writeFileSync(js, `${text.slice(0, at)} ${line} ;${text.slice(at)}`);
      }
    }
    if (i >= n >> 2 && i < (3 * n) >> 2) writeFileSync(path.join(work, '.env.local'), dotenv);
  };
}

function largestJs(dir: string): string | null {
  let best: { file: string; size: number } | null = null;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== '.git') walk(p);
      } else if (e.isFile() && e.name.endsWith('.js')) {
        const size = statSync(p).size;
        if (!best || size > best.size) best = { file: p, size };
      }
    }
  };
  walk(dir);
  return (best as { file: string } | null)?.file ?? null;
}

/** The package's history as a bare repository, built once: one commit per version, in order. */
function buildRepo(pkg: RealPackage): string {
  const repo = path.join(cacheDir, `${pkg.name}.git`);
  const stamp = JSON.stringify({ versions: pkg.versions, plant: PLANT });
  const marker = path.join(repo, 'keyloop-real.json');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === stamp) return repo;
  const files = tarballs(pkg);
  const plant = planter(pkg.name);
  rmSync(repo, { recursive: true, force: true });
  const work = mkdtempSync(path.join(cacheDir, `${pkg.name}-work-`));
  const t0 = Date.now();
  try {
    git(['init', '-q', '-b', 'main', work]);
    git(['config', 'gc.auto', '0'], { cwd: work });
    const base = Date.parse('2020-01-01T00:00:00Z') / 1000;
    pkg.versions.forEach((v, i) => {
      for (const e of readdirSync(work)) if (e !== '.git') rmSync(path.join(work, e), { recursive: true, force: true });
      execFileSync('tar', ['-xzf', files[i]!, '--strip-components=1', '--no-same-owner', '--no-same-permissions', '--warning=no-unknown-keyword', '-C', work], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      plant(work, i, pkg.versions.length);
      // -f: a package may ship a .gitignore; its files are part of the release all the same
      git(['add', '-A', '-f', '.'], { cwd: work });
      const date = `${base + i * 86400} +0000`;
      const who = {
        GIT_AUTHOR_NAME: 'keyloop bench',
        GIT_AUTHOR_EMAIL: 'bench@keyloop.invalid',
        GIT_COMMITTER_NAME: 'keyloop bench',
        GIT_COMMITTER_EMAIL: 'bench@keyloop.invalid',
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_DATE: date,
      };
      git(['commit', '-q', '--allow-empty', '--no-verify', '-m', `${pkg.name}@${v.version}`], { cwd: work, env: who });
    });
    const bare = path.join(work, '.git');
    git(['config', 'core.bare', 'true'], { cwd: bare });
    // a clone's pack: whole history delta-compressed; the window is the bench's choice, not a real host's
    git(['repack', '-a', '-d', '-f', `--window=${value('window', '50')}`, '--depth=50', '-q'], { cwd: bare });
    git(['prune'], { cwd: bare });
    rmSync(path.join(bare, 'index'), { force: true });
    writeFileSync(path.join(bare, 'keyloop-real.json'), stamp);
    renameSync(bare, repo);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  process.stderr.write(`${pkg.name}: built ${repo} (${pkg.versions.length} commits) in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  return repo;
}

function timeToDevNull(args: string[], cwd: string): number {
  const fd = openSync('/dev/null', 'w');
  try {
    const t = process.hrtime.bigint();
    const r = spawnSync('git', args, { cwd, stdio: ['ignore', fd, 'inherit'], env: gitEnv() });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')} exited ${r.status}`);
    return Number(process.hrtime.bigint() - t) / 1e9;
  } finally {
    closeSync(fd);
  }
}

interface ScanRun {
  seconds: number;
  maxRssMb: number;
  keys: string[];
  status: string;
}

/** `keyloop scan REPO --format json` under GNU time, as a user runs it; the report goes to a 0600 file. */
function keyloopScan(repo: string, env: Record<string, string> = {}): ScanRun {
  const out = path.join(mkdtempSync(path.join(cacheDir, 'report-')), 'report.json');
  try {
    const r = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, cli, 'scan', repo, '--format', 'json', '-o', out, '--no-progress', '--quiet'], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      maxBuffer: 1 << 26,
    });
    if (r.status !== 0 && r.status !== 1) throw new Error(`keyloop scan ${repo} exited ${r.status}: ${r.stderr.slice(-2000)}`);
    const t = parseTimeLine(r.stderr);
    if (!t) throw new Error(`no GNU time line in: ${r.stderr.slice(-500)}`);
    const report = readFileSync(out, 'utf8');
    return { seconds: t.seconds, maxRssMb: t.maxRssKb / 1024, keys: findingKeys(report), status: (JSON.parse(report) as { status: string }).status };
  } finally {
    rmSync(path.dirname(out), { recursive: true, force: true });
  }
}

const fmtS = (s: number) => (Number.isNaN(s) ? '—' : `${s.toFixed(2)} s`);

async function main() {
  if (flag('pin')) return pin(Number(value('versions', '40')));
  if (!existsSync(cli)) throw new Error('run `npm run build` first');
  const manifest = RealManifest.parse(JSON.parse(readFileSync(manifestFile, 'utf8')));
  const only = value('only', '').split(',').filter(Boolean);
  const packages = manifest.packages.filter((p) => only.length === 0 || only.includes(p.name));
  const runs = Number(value('runs', '3'));
  mkdirSync(cacheDir, { recursive: true });
  const repos = packages.map((p) => ({ pkg: p, repo: buildRepo(p) }));
  if (flag('build-only')) return;

  const load0 = loadavg()[0]!;
  const rows: string[][] = [];
  let failed = false;
  for (const { pkg, repo } of repos) {
    const check = git(['cat-file', '--batch-all-objects', '--batch-check=%(objecttype) %(objectsize)'], { cwd: repo });
    let blobs = 0;
    let bytes = 0;
    for (const l of check.split('\n')) {
      if (!l.startsWith('blob ')) continue;
      blobs++;
      bytes += Number(l.slice(5));
    }
    const packBytes = readdirSync(path.join(repo, 'objects', 'pack'))
      .filter((f) => f.endsWith('.pack'))
      .reduce((n, f) => n + statSync(path.join(repo, 'objects', 'pack', f)).size, 0);
    const catFile = median(Array.from({ length: runs }, () => timeToDevNull(['cat-file', '--batch-all-objects', '--batch', '--unordered'], repo)));
    const log = flag('no-log') ? NaN : timeToDevNull(['log', '-p', '--all'], repo);
    const scans = Array.from({ length: runs }, () => keyloopScan(repo));
    const scan = [...scans].sort((a, b) => a.seconds - b.seconds)[Math.floor(runs / 2)]!;
    const rss = Math.max(...scans.map((s) => s.maxRssMb));
    let same = 'not checked';
    if (!flag('no-verify')) {
      const ref = keyloopScan(repo, { KEYLOOP_PACK_READER: '0' });
      const d = diffKeys(scan.keys, ref.keys);
      same = d.same ? `yes (${ref.keys.length} locations; whole-blob scan ${fmtS(ref.seconds)}, ${ref.maxRssMb.toFixed(0)} MB)` : 'NO';
      if (!d.same) {
        failed = true;
        process.stderr.write(
          `${pkg.name}: findings differ from the whole-blob scan\n  only fast path: ${d.onlyA.join('\n    ')}\n  only whole-blob: ${d.onlyB.join('\n    ')}\n`,
        );
      }
    }
    const unstable = scans.some((s) => s.keys.join('\n') !== scan.keys.join('\n'));
    if (unstable) {
      failed = true;
      process.stderr.write(`${pkg.name}: findings differ between runs\n`);
    }
    const line = [
      `${pkg.name} (${pkg.versions.length} versions, ${pkg.versions[0]!.version}–${pkg.versions[pkg.versions.length - 1]!.version})`,
      String(blobs),
      `${(bytes / 1e6).toFixed(0)} MB (pack ${(packBytes / 1e6).toFixed(0)} MB)`,
      fmtS(catFile),
      fmtS(log),
      `${fmtS(scan.seconds)} (${scans.map((s) => s.seconds.toFixed(2)).join(' / ')})`,
      `${(scan.seconds / catFile).toFixed(2)}×`,
      `${rss.toFixed(0)} MB`,
      `${scan.keys.length}${scan.status === 'complete' ? '' : ` (${scan.status})`}`,
      same,
    ];
    process.stderr.write(line.join(' | ') + '\n');
    rows.push(line);
  }
  const load1 = loadavg()[0]!;
  console.log(
    markdownTable(
      [
        'repo (commits = published versions)',
        'unique blobs',
        'blob bytes',
        'native read',
        '`git log -p --all`',
        `keyloop scan (median of ${runs})`,
        'ratio to native read',
        'peak RSS (max of runs)',
        'finding locations',
        'same as whole-blob scan',
      ],
      rows,
    ),
  );
  console.log(`\nload average (1 min): ${load0.toFixed(1)} at start, ${load1.toFixed(1)} at end; 2 cores; keyloop ${cli}`);
  if (failed) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
