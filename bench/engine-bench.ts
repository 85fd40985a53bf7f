// `node dist/bench/engine-bench.js [DIR] [--mb 50] [--runs 3] [--compare] [--detectors DIR] [--profile]`:
// detection-engine throughput on real source, one thread. Loads up to --mb MB of DIR/**/*.{js,ts,json,md,yml}
// (default DIR: node_modules, walked in sorted order so the sample is stable), scans it with the engine and
// prints MB/s (median of --runs). --compare also runs the brute-force reference (every detector over every whole
// blob, every encoded span decoded, same filters) and prints each finding the fast path misses or adds;
// exit code 1 when they differ. --profile prints the slowest files.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Match } from '../src/core/model.js';
import { createEngine, type DetectionEngine } from '../src/detection/engine.js';
import { loadCatalog } from '../src/detection/load.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const flag = (n: string) => argv.includes(`--${n}`);
const VALUED = ['--mb', '--runs', '--detectors'];
const value = (n: string, d: string) => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : d;
};
const positional = argv.filter((a, i) => !a.startsWith('--') && !VALUED.includes(argv[i - 1] ?? ''));

const EXT = /\.(?:js|mjs|cjs|ts|mts|cts|json|md|ya?ml)$/;

export interface SampleFile {
  path: string;
  data: Buffer;
}

/** Files under `dir` (sorted walk, symlinks not followed) until `maxBytes`; files over 8 MiB are skipped. */
export function loadSample(dir: string, maxBytes: number): SampleFile[] {
  const out: SampleFile[] = [];
  let total = 0;
  const walk = (d: string): boolean => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch {
      return true;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      // Dot folders under node_modules are tools' scratch space (.cache, test runs): not a stable sample.
      if (e.isDirectory() && e.name.startsWith('.')) continue;
      if (e.isDirectory()) {
        if (!walk(p)) return false;
      } else if (e.isFile() && EXT.test(e.name)) {
        const size = statSync(p).size;
        if (size === 0 || size > 8 << 20) continue;
        if (total + size > maxBytes) return false;
        out.push({ path: path.relative(dir, p), data: readFileSync(p) });
        total += size;
      }
    }
    return true;
  };
  walk(dir);
  return out;
}

const keyOf = (file: string, m: Match) =>
  `${file}\t${m.detectorId}\t${m.offset}\t${m.decoded?.join('+') ?? ''}\t${createHash('sha256').update(m.secret).digest('hex').slice(0, 12)}`;

/** Wall and CPU milliseconds: the machine is shared, so CPU time is the figure that survives contention. */
export function scanAll(engine: DetectionEngine, files: SampleFile[]): { ms: number; cpuMs: number; keys: string[]; perFile: number[] } {
  const keys: string[] = [];
  const perFile: number[] = [];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const f of files) {
    const t = performance.now();
    for (const m of engine.scan(f.data, { path: f.path })) keys.push(keyOf(f.path, m));
    perFile.push(performance.now() - t);
  }
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ms, cpuMs: (c.user + c.system) / 1000, keys, perFile };
}

/** Raw regex matches (before filters) as comparable keys. */
export function rawKeys(engine: DetectionEngine, files: SampleFile[]): string[] {
  const keys: string[] = [];
  for (const f of files) for (const c of engine.rawCandidates(f.data)) keys.push(`${f.path}\t${c.detectorId}\t${c.start}-${c.end}\traw`);
  return keys;
}

/** Findings of `fast` missing from `ref` and vice versa. */
export function diff(fast: string[], ref: string[]): { missed: string[]; added: string[] } {
  const f = new Set(fast);
  const r = new Set(ref);
  return { missed: [...r].filter((k) => !f.has(k)), added: [...f].filter((k) => !r.has(k)) };
}

function main(): void {
  const dir = path.resolve(positional[0] ?? path.join(root, 'node_modules'));
  const mb = Number(value('mb', '50'));
  const runs = Math.max(1, Number(value('runs', '3')));
  const catalog = loadCatalog(path.resolve(value('detectors', path.join(root, 'detectors'))));
  const files = loadSample(dir, mb * 1e6);
  const bytes = files.reduce((s, f) => s + f.data.length, 0);
  console.log(`sample: ${files.length} files, ${(bytes / 1e6).toFixed(1)} MB from ${dir}; ${catalog.detectors.length} detectors`);

  const t = performance.now();
  const engine = createEngine(catalog);
  console.log(`engine built in ${(performance.now() - t).toFixed(0)} ms`);
  const times: number[] = [];
  const cpu: number[] = [];
  let last: ReturnType<typeof scanAll> | undefined;
  for (let i = 0; i < runs; i++) {
    last = scanAll(engine, files);
    times.push(last.ms);
    cpu.push(last.cpuMs);
    console.log(
      `run ${i + 1}: ${(last.ms / 1000).toFixed(2)} s wall (${(bytes / 1e3 / last.ms).toFixed(1)} MB/s), ` +
        `${(last.cpuMs / 1000).toFixed(2)} s CPU (${(bytes / 1e3 / last.cpuMs).toFixed(1)} MB/s), ${last.keys.length} findings`,
    );
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`median: ${(bytes / 1e3 / med(times)).toFixed(1)} MB/s wall, ${(bytes / 1e3 / med(cpu)).toFixed(1)} MB/s per CPU second`);

  if (flag('profile') && last) {
    const slow = files.map((f, i) => ({ f, ms: last.perFile[i]! })).sort((a, b) => b.ms - a.ms).slice(0, 15);
    for (const { f, ms } of slow) console.log(`  ${ms.toFixed(1).padStart(8)} ms ${(f.data.length / 1e3).toFixed(0).padStart(6)} kB ${f.path}`);
  }

  if (flag('compare') && last) {
    const refEngine = createEngine(catalog, { reference: true });
    const ref = scanAll(refEngine, files);
    const refRaw = rawKeys(refEngine, files);
    const fastRaw = rawKeys(engine, files);
    console.log(`reference: ${(ref.ms / 1000).toFixed(1)} s (${(bytes / 1e3 / ref.ms).toFixed(2)} MB/s), ${ref.keys.length} findings, ${refRaw.length} raw matches before filters (fast: ${fastRaw.length})`);
    const { missed, added } = diff([...last.keys, ...fastRaw], [...ref.keys, ...refRaw]);
    for (const k of missed) console.log(`MISSED ${k}`);
    for (const k of added) console.log(`ADDED  ${k}`);
    console.log(missed.length === 0 && added.length === 0 ? 'compare: identical to the reference' : `compare: ${missed.length} missed, ${added.length} added`);
    if (missed.length || added.length) process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main();
