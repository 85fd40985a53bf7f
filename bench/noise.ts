// `npm run bench:noise [-- --jobs N] [--list] [--todo] [--all] [--json FILE] [--from FILE]`: keyloop on code nobody here wrote. Downloads the
// pinned npm tarballs of bench/noise-packages.ts once (integrity checked against the registry's dist.integrity)
// into a cache ($KEYLOOP_NOISE_CACHE, default ~/.cache/keyloop-noise), unpacks them, scans them as one plain
// directory with the product's own `scanPath`, and prints per package and in total: bytes, findings by detector
// and confidence, findings per GB, and each finding's class from the hand-made label file bench/noise-labels.ts
// (junk / example / fixture / real, keyed by a hash of the secret: the class never comes from the detectors or
// filters under test). `--json FILE` saves the report (redacted values only); `--from FILE` prints a saved one
// classified with today's label file. A benchmark, not a test: it needs the network once; tests stay offline.
// Runs from dist/.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { atLeast, type Confidence } from '../src/core/model.js';
import type { ContentToMatch } from '../src/core/content.js';
import type { RawFinding } from '../src/core/model.js';
import type { ScanPorts } from '../src/core/pipeline.js';
import { createEngine } from '../src/detection/engine.js';
import { defaultDetectorsDir, loadCatalog } from '../src/detection/load.js';
import { scanPath } from '../src/run/scan.js';
import { contentOpener } from '../src/scan/contents.js';
import { silentLogger } from '../src/util/logger.js';
import { SecretRegistry } from '../src/util/redact.js';
import { NOISE_LABELS, type NoiseClass } from './noise-labels.js';
import { NOISE_PACKAGES } from './noise-packages.js';

const argv = process.argv.slice(2);
const flag = (n: string) => argv.includes(`--${n}`);
const value = (n: string, d: string) => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : d;
};

/** 10^9 bytes: the unit of the issue's target (junk ≤ 1 per GB of scanned text). */
const GB = 1e9;
const MAX_BLOB = 50 * 1024 ** 2;
const CLASSES: readonly (NoiseClass | 'unlabelled')[] = ['junk', 'example', 'fixture', 'real', 'unlabelled'];

export function cacheDir(env: Record<string, string | undefined> = process.env): string {
  return env.KEYLOOP_NOISE_CACHE || join(homedir(), '.cache', 'keyloop-noise');
}

/** `@scope/name@1.2.3` → `@scope+name@1.2.3`: one directory level per package. */
export function slug(name: string, version: string): string {
  return `${name.replace('/', '+')}@${version}`;
}

/** sha256 of the secret, 16 hex digits: what the label file keys on (never the secret itself). */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 16);
}

/** `sha512-<base64>` (npm's dist.integrity) holds for `data`. */
export function integrityHolds(integrity: string, data: Buffer): boolean {
  const m = /^(sha512|sha384|sha256|sha1)-([A-Za-z0-9+/]+={0,2})$/.exec(integrity.trim());
  if (!m) return false;
  return createHash(m[1]!).update(data).digest('base64') === m[2];
}

interface Dist {
  tarball: string;
  integrity: string;
}

async function registryDist(registry: string, name: string, version: string): Promise<Dist> {
  const url = `${registry.replace(/\/?$/, '/')}${name.replace('/', '%2f')}/${encodeURIComponent(version)}`;
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${name}@${version}: registry answered ${res.status} for ${url}`);
  const body = (await res.json()) as { dist?: { tarball?: string; integrity?: string } };
  const { tarball, integrity } = body.dist ?? {};
  if (!tarball || !integrity) throw new Error(`${name}@${version}: no dist.tarball/dist.integrity in the registry's answer`);
  if (!tarball.startsWith('https://')) throw new Error(`${name}@${version}: tarball URL is not https: ${tarball}`);
  return { tarball, integrity };
}

/**
 * The unpacked package directory, downloading and unpacking it first when it is not in the cache. The tarball is
 * kept with the registry's integrity string beside it; a cached tarball is checked against it again before use.
 */
async function ensurePackage(cache: string, registry: string, name: string, version: string): Promise<{ dir: string; downloaded: boolean }> {
  const id = slug(name, version);
  const dir = join(cache, 'packages', id);
  if (existsSync(join(cache, 'unpacked', `${id}.done`))) return { dir, downloaded: false };
  const tgz = join(cache, 'tarballs', `${id}.tgz`);
  const integrityFile = `${tgz}.integrity`;
  let downloaded = false;
  let data: Buffer;
  if (existsSync(tgz) && existsSync(integrityFile)) {
    data = readFileSync(tgz);
    if (!integrityHolds(readFileSync(integrityFile, 'utf8'), data))
      throw new Error(`${id}: cached tarball ${tgz} fails its integrity check; delete it to download again`);
  } else {
    const dist = await registryDist(registry, name, version);
    const res = await fetch(dist.tarball);
    if (!res.ok) throw new Error(`${id}: ${res.status} downloading ${dist.tarball}`);
    data = Buffer.from(await res.arrayBuffer());
    if (!integrityHolds(dist.integrity, data)) throw new Error(`${id}: tarball does not match the registry's dist.integrity`);
    mkdirSync(join(cache, 'tarballs'), { recursive: true });
    writeFileSync(`${tgz}.tmp`, data);
    renameSync(`${tgz}.tmp`, tgz);
    writeFileSync(integrityFile, dist.integrity);
    downloaded = true;
  }
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  // GNU tar refuses absolute names and `..` members by default; owners and modes are not taken from the archive.
  const r = spawnSync('tar', ['-xzf', tgz, '-C', tmp, '--no-same-owner', '--no-same-permissions'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${id}: tar exited ${r.status}: ${r.stderr.trim()}`);
  // some tarballs carry directories without the x bit: make every directory listable
  spawnSync('chmod', ['-R', 'u+rwX', tmp]);
  renameSync(tmp, dir);
  mkdirSync(join(cache, 'unpacked'), { recursive: true });
  writeFileSync(join(cache, 'unpacked', `${id}.done`), '');
  return { dir, downloaded };
}

/** Runs `fn` over `items` with at most `n` at once. */
async function eachLimited<T>(items: readonly T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** One finding as the bench counts it: a secret of one detector within one package. */
export interface NoiseFinding {
  pkg: string;
  detector: string;
  confidence: Confidence;
  hash: string;
  redacted: string;
  /** First location inside the package (path below the package directory). */
  where: string;
  locations: number;
  cls: NoiseClass | 'unlabelled';
  note?: string;
}

/** Each finding's class from the label file, by package and hash of the secret ('unlabelled' when it has none). */
export function classify(findings: NoiseFinding[], labels = NOISE_LABELS): NoiseFinding[] {
  const byKey = new Map(labels.map((l) => [`${l.pkg}\0${l.hash}`, l]));
  return findings.map(({ note: _, ...f }) => {
    const label = byKey.get(`${f.pkg}\0${f.hash}`);
    return { ...f, cls: label?.cls ?? 'unlabelled', ...(label ? { note: label.note } : {}) };
  });
}

/** Splits scan findings by package (the first path segment) and classifies each from the label file. */
export function perPackage(findings: RawFinding[], labels = NOISE_LABELS): NoiseFinding[] {
  const out: NoiseFinding[] = [];
  for (const f of findings) {
    const hash = secretHash(f.secret);
    const groups = new Map<string, typeof f.locations>();
    for (const loc of f.locations) {
      const pkg = loc.path.split('/')[0]!;
      groups.set(pkg, [...(groups.get(pkg) ?? []), loc]);
    }
    for (const [pkg, locs] of groups) {
      const first = locs[0]!;
      out.push({
        pkg,
        detector: f.detector,
        confidence: f.confidence,
        hash,
        redacted: f.redacted,
        where: `${first.path.slice(pkg.length + 1)}:${first.line}:${first.column}`,
        locations: locs.length,
        cls: 'unlabelled',
      });
    }
  }
  return classify(out, labels).sort((a, b) => a.pkg.localeCompare(b.pkg) || a.where.localeCompare(b.where));
}

/** A saved report classified again from `labels` (after labelling the findings it left unlabelled). */
export function reclassify(r: NoiseReport, labels = NOISE_LABELS): NoiseReport {
  const findings = classify(r.findings, labels);
  return { ...r, findings, packages: r.packages.map((p) => ({ ...p, junk: count(findings, (f) => f.pkg === p.pkg && f.cls === 'junk') })) };
}

export interface NoiseReport {
  packages: { pkg: string; bytes: number; findings: number; junk: number }[];
  bytes: number;
  unpackedBytes: number;
  files: number;
  scanMs: number;
  findings: NoiseFinding[];
}

const perGB = (n: number, bytes: number) => (bytes === 0 ? 0 : n / (bytes / GB));
const fmt = (n: number) => n.toFixed(1);
const count = <T>(xs: T[], p: (x: T) => boolean) => xs.reduce((s, x) => s + (p(x) ? 1 : 0), 0);

/** The summary lines: totals by class and confidence, per GB, at every confidence and at medium and above. */
export function summary(r: NoiseReport): string[] {
  const out: string[] = [];
  for (const min of ['low', 'medium', 'high'] as Confidence[]) {
    const fs = r.findings.filter((f) => atLeast(f.confidence, min));
    const junk = count(fs, (f) => f.cls === 'junk');
    const cls = CLASSES.map((c) => `${c} ${count(fs, (f) => f.cls === c)}`).join(', ');
    out.push(
      `confidence ≥ ${min.padEnd(6)}: ${String(fs.length).padStart(4)} findings (${fmt(perGB(fs.length, r.bytes))}/GB); ${cls}; junk ${perGB(junk, r.bytes).toFixed(2)}/GB`,
    );
  }
  const junk = perGB(
    count(r.findings, (f) => f.cls === 'junk'),
    r.bytes,
  );
  const open = count(r.findings, (f) => f.cls === 'unlabelled');
  out.push(
    `target junk ≤ 1 per GB at every confidence (scan's default): ${junk <= 1 ? 'met' : 'missed'} (${junk.toFixed(2)}/GB)${open ? `; ${open} finding(s) unlabelled: --todo lists them` : ''}`,
  );
  return out;
}

function print(r: NoiseReport): void {
  const out: string[] = [];
  const mb = (b: number) => (b / 1e6).toFixed(1);
  out.push(`${'package'.padEnd(34)} ${'MB'.padStart(7)} findings  junk  per GB`);
  for (const p of r.packages) {
    if (p.findings === 0 && !flag('all')) continue;
    out.push(
      `${p.pkg.padEnd(34)} ${mb(p.bytes).padStart(7)} ${String(p.findings).padStart(8)} ${String(p.junk).padStart(5)} ${fmt(perGB(p.findings, p.bytes)).padStart(7)}`,
    );
  }
  out.push(`(${r.packages.filter((p) => p.findings === 0).length} packages with no finding${flag('all') ? '' : ' not shown; --all shows them'})`);
  out.push('');
  const detectors = [...new Set(r.findings.map((f) => f.detector))].sort();
  out.push(`${'detector'.padEnd(34)} total  high medium  low | ${CLASSES.map((c) => c.padStart(c.length)).join(' ')}`);
  for (const d of detectors) {
    const fs = r.findings.filter((f) => f.detector === d);
    const conf = (['high', 'medium', 'low'] as Confidence[]).map((c) => String(count(fs, (f) => f.confidence === c)).padStart(c === 'medium' ? 6 : 4));
    out.push(
      `${d.padEnd(34)} ${String(fs.length).padStart(5)} ${conf.join(' ')} | ${CLASSES.map((c) => String(count(fs, (f) => f.cls === c)).padStart(c.length)).join(' ')}`,
    );
  }
  out.push('');
  if (flag('list')) {
    for (const f of r.findings)
      out.push(
        `${f.cls.padEnd(10)} ${f.confidence.padEnd(6)} ${f.detector.padEnd(32)} ${f.pkg}/${f.where} ${f.redacted} #${f.hash}${f.note ? ` (${f.note})` : ''}`,
      );
    out.push('');
  }
  if (flag('todo')) {
    // lines to paste into bench/noise-labels.ts after looking at each location
    for (const f of r.findings.filter((x) => x.cls === 'unlabelled')) {
      out.push(`  { pkg: '${f.pkg}', hash: '${f.hash}', cls: 'junk', note: '${f.detector} at ${f.where}' },`);
    }
    out.push('');
  }
  out.push(
    `scanned ${r.packages.length} packages, ${r.files} files, ${mb(r.bytes)} MB of text (${mb(r.unpackedBytes)} MB unpacked; binary files are not scanned) in ${(r.scanMs / 1000).toFixed(0)} s`,
  );
  out.push(...summary(r));
  process.stdout.write(out.join('\n') + '\n');
}

function duBytes(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        bytes += statSync(p).size;
        files++;
      }
    }
  };
  walk(dir);
  return { bytes, files };
}

async function main(): Promise<void> {
  const from = value('from', '');
  if (from) {
    // no download, no scan: a report saved with --json, classified with today's label file
    print(reclassify(JSON.parse(readFileSync(from, 'utf8')) as NoiseReport));
    return;
  }
  const cache = cacheDir();
  const registry = process.env.npm_config_registry || 'https://registry.npmjs.org/';
  mkdirSync(join(cache, 'packages'), { recursive: true });
  const pinned = new Set(NOISE_PACKAGES.map(([n, v]) => slug(n, v)));
  // a package dropped from the pinned set (or re-pinned) leaves the scanned directory
  for (const d of readdirSync(join(cache, 'packages'))) {
    if (!pinned.has(d)) {
      rmSync(join(cache, 'packages', d), { recursive: true, force: true });
      rmSync(join(cache, 'unpacked', `${d}.done`), { force: true });
    }
  }
  let downloads = 0;
  await eachLimited(NOISE_PACKAGES, 4, async ([name, version]) => {
    if ((await ensurePackage(cache, registry, name, version)).downloaded) downloads++;
  });
  if (downloads > 0) process.stderr.write(`downloaded ${downloads} tarball(s) into ${cache}\n`);

  // The bytes each package contributes are what the matcher is handed: text content, binary files skipped.
  const bytesByPkg = new Map<string, number>();
  const jobs = Number(value('jobs', '2'));
  const open = contentOpener({ engine: createEngine(loadCatalog(defaultDetectorsDir())), detectorsDir: defaultDetectorsDir(), jobs, maxBlobSize: MAX_BLOB });
  async function* counting(items: AsyncIterable<ContentToMatch>): AsyncIterable<ContentToMatch> {
    for await (const it of items) {
      const pkg = it.path.split('/')[0]!;
      bytesByPkg.set(pkg, (bytesByPkg.get(pkg) ?? 0) + it.data.length);
      yield it;
    }
  }
  // the product's own open port, its stage's input counted on the way in
  const counted: ScanPorts['open'] = async (repo, selection) => {
    const c = await open(repo, selection);
    return { ...c, stage: { ...c.stage, match: (items) => c.stage.match(counting(items)) } };
  };
  const t0 = Date.now();
  const root = join(cache, 'packages');
  const res = await scanPath({
    path: root,
    cwd: cache,
    env: {},
    gitBackend: 'auto',
    maxBlobSize: MAX_BLOB,
    repoConfig: false,
    registry: new SecretRegistry(),
    logger: silentLogger,
    contents: counted,
  });
  const scanMs = Date.now() - t0;
  const findings = perPackage(res.result.findings);
  const du = duBytes(root);
  const report: NoiseReport = {
    packages: [...pinned].sort().map((pkg) => ({
      pkg,
      bytes: bytesByPkg.get(pkg) ?? 0,
      findings: count(findings, (f) => f.pkg === pkg),
      junk: count(findings, (f) => f.pkg === pkg && f.cls === 'junk'),
    })),
    bytes: res.result.stats.bytes,
    unpackedBytes: du.bytes,
    files: du.files,
    scanMs,
    findings,
  };
  for (const m of res.messages) process.stderr.write(`${m}\n`);
  const json = value('json', '');
  if (json) writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  print(report);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
