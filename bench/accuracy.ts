// `npm run bench:accuracy [-- --keep] [--seed N] [--large-mib N] [--json]`: builds two labelled corpora and scans
// each with the product's own `scanPath` (full history, real engine and filters). The catalog corpus is a real git
// history with a fresh synthetic secret per detector example in many carriers, plus decoys: recall, precision and
// false positives per detector, per carrier and per decoy family. The formats corpus (corpus/formats-builder.ts)
// is hand-written files in the real syntax of credential formats, independent of the catalog: recall and false
// positives per family. Exits 1 when catalog recall < 98 %, a decoy is reported, or the formats corpus misses a
// secret or reports anything else. Runs from dist/.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildCorpus, type CorpusManifest } from '../corpus/builder.js';
import { buildFormatsCorpus, type FormatsManifest } from '../corpus/formats-builder.js';
import { scoreFormats, type FormatsReport } from './formats-score.js';
import { defaultDetectorsDir, loadCatalog } from '../src/detection/load.js';
import { decodeWith } from '../src/detection/decoders.js';
import { scanPath } from '../src/run/scan.js';
import type { RawFinding } from '../src/core/model.js';
import { silentLogger } from '../src/util/logger.js';
import { SecretRegistry } from '../src/util/redact.js';

const argv = process.argv.slice(2);
const flag = (n: string) => argv.includes(`--${n}`);
const num = (n: string, d: number) => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 && argv[i + 1] ? Number(argv[i + 1]) : d;
};

export interface DetectorRow {
  detector: string;
  planted: number;
  found: number;
  falsePositives: number;
}

export interface AccuracyReport {
  planted: number;
  found: number;
  recall: number;
  precision: number;
  falsePositives: number;
  /** Other detectors reporting a planted secret (e.g. an RSA key that is also a GitHub App key). */
  coDetections: number;
  decoyFindings: { path: string; family: string; detector: string }[];
  missed: { detector: string; path: string; carrier: string }[];
  unexpected: { detector: string; path: string }[];
  byDetector: DetectorRow[];
  byCarrier: { carrier: string; planted: number; found: number }[];
  /** Pairs of findings reporting one secret span (must be none: one finding per secret). */
  sharedSpans: { a: string; b: string; path: string; line: number }[];
  scanMs: number;
  blobs: number;
  bytes: number;
}

/** Compares findings with the manifest's labels. Pure: exported for tests. */
export function score(manifest: CorpusManifest, findings: RawFinding[]): Omit<AccuracyReport, 'sharedSpans' | 'scanMs' | 'blobs' | 'bytes'> {
  const key = (d: string, s: string) => `${d}\0${s}`;
  const found = new Set(findings.map((f) => key(f.detector, f.secret)));
  const planted = new Set(manifest.labels.map((l) => key(l.detector, l.secret)));
  // Planted secrets as written and as a JSON-string decoder sees them (a GCP key's escaped "\n").
  const plantedSecrets = manifest.labels.flatMap((l) => [l.secret, l.secret.replace(/\\n/g, '\n')]);
  const decoyPaths = new Map(manifest.decoys.map((d) => [d.path, d.family]));

  const rows = new Map<string, DetectorRow>();
  const row = (d: string) => {
    let r = rows.get(d);
    if (!r) rows.set(d, (r = { detector: d, planted: 0, found: 0, falsePositives: 0 }));
    return r;
  };
  const carriers = new Map<string, { carrier: string; planted: number; found: number }>();
  const missed: AccuracyReport['missed'] = [];
  for (const l of manifest.labels) {
    const r = row(l.detector);
    const c = carriers.get(l.carrier) ?? { carrier: l.carrier, planted: 0, found: 0 };
    carriers.set(l.carrier, c);
    r.planted++;
    c.planted++;
    if (found.has(key(l.detector, l.secret))) {
      r.found++;
      c.found++;
    } else missed.push({ detector: l.detector, path: l.path, carrier: l.carrier });
  }

  let coDetections = 0;
  let falsePositives = 0;
  const unexpected: AccuracyReport['unexpected'] = [];
  const decoyFindings: AccuracyReport['decoyFindings'] = [];
  for (const f of findings) {
    for (const loc of f.locations) {
      const family = decoyPaths.get(loc.path);
      if (family) decoyFindings.push({ path: loc.path, family, detector: f.detector });
    }
    if (planted.has(key(f.detector, f.secret))) continue;
    if (plantedSecrets.some((s) => s.includes(f.secret) || f.secret.includes(s))) {
      coDetections++;
      continue;
    }
    falsePositives++;
    row(f.detector).falsePositives++;
    unexpected.push({ detector: f.detector, path: f.locations[0]?.path ?? '?' });
  }
  const labelled = manifest.labels.length;
  const tp = labelled - missed.length;
  return {
    planted: labelled,
    found: tp,
    recall: labelled ? tp / labelled : 1,
    precision: tp + falsePositives ? tp / (tp + falsePositives) : 1,
    falsePositives,
    coDetections,
    decoyFindings,
    missed,
    unexpected,
    byDetector: [...rows.values()].sort((a, b) => a.detector.localeCompare(b.detector)),
    byCarrier: [...carriers.values()].sort((a, b) => a.carrier.localeCompare(b.carrier)),
  };
}

/**
 * Pairs of findings that report one secret span (one finding per secret: there must be none). Plain locations
 * share a span when their [start, end) overlap in one blob and path; a decoded location (the encoded text's
 * start) shares it with a plain span holding that start whose text decodes to the secret, or with a decoded
 * location at the same place whose secret contains or is contained in it. Pure: exported for tests.
 */
export function sharedSpans(findings: RawFinding[]): { a: string; b: string; path: string; line: number }[] {
  interface Span {
    f: RawFinding;
    loc: RawFinding['locations'][number];
    end: [number, number];
  }
  const spans = new Map<string, Span[]>();
  for (const f of findings) {
    const lines = f.secret.split('\n');
    for (const loc of f.locations) {
      const end: [number, number] = lines.length === 1 ? [loc.line, loc.column + f.secret.length] : [loc.line + lines.length - 1, lines.at(-1)!.length + 1];
      const key = `${loc.blob ?? ''}\0${loc.path}`;
      spans.set(key, [...(spans.get(key) ?? []), { f, loc, end }]);
    }
  }
  const before = (l1: number, c1: number, l2: number, c2: number) => l1 < l2 || (l1 === l2 && c1 < c2);
  const contains = (s: Span, line: number, col: number) => !before(line, col, s.loc.line, s.loc.column) && before(line, col, s.end[0], s.end[1]);
  const out: { a: string; b: string; path: string; line: number }[] = [];
  for (const list of spans.values()) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const [x, y] = [list[i]!, list[j]!];
        if (x.f === y.f) continue;
        let shared: boolean;
        if (!x.loc.decoded && !y.loc.decoded) shared = contains(x, y.loc.line, y.loc.column) || contains(y, x.loc.line, x.loc.column);
        else if (x.loc.decoded && y.loc.decoded) {
          shared = x.loc.line === y.loc.line && x.loc.column === y.loc.column && (x.f.secret.includes(y.f.secret) || y.f.secret.includes(x.f.secret));
        } else {
          const [plain, dec] = x.loc.decoded ? [y, x] : [x, y];
          let text = plain.f.secret;
          for (const d of dec.loc.decoded!) text = decodeWith(d, text);
          shared = contains(plain, dec.loc.line, dec.loc.column) && text.includes(dec.f.secret);
        }
        if (shared) out.push({ a: x.f.detector, b: y.f.detector, path: x.loc.path, line: x.loc.line });
      }
    }
  }
  return out;
}

const pct = (n: number, d: number) => (d === 0 ? '   -  ' : `${((100 * n) / d).toFixed(1).padStart(5)}%`);

function print(r: AccuracyReport, m: CorpusManifest): void {
  const out: string[] = [];
  out.push(`corpus: ${m.commits} commits, ${r.blobs} blobs, ${(r.bytes / 1048576).toFixed(1)} MiB; scan ${r.scanMs} ms`);
  out.push('');
  out.push(`${'detector'.padEnd(36)} planted  found  recall   FP`);
  for (const d of r.byDetector) {
    out.push(`${d.detector.padEnd(36)} ${String(d.planted).padStart(7)} ${String(d.found).padStart(6)} ${pct(d.found, d.planted)} ${String(d.falsePositives).padStart(4)}`);
  }
  out.push('');
  out.push(`${'carrier'.padEnd(20)} planted  found  recall`);
  for (const c of r.byCarrier) out.push(`${c.carrier.padEnd(20)} ${String(c.planted).padStart(7)} ${String(c.found).padStart(6)} ${pct(c.found, c.planted)}`);
  out.push('');
  const families = [...new Set(m.decoys.map((d) => d.family))];
  out.push(`${'decoy family'.padEnd(28)} files  findings`);
  for (const fam of families) {
    out.push(`${fam.padEnd(28)} ${String(m.decoys.filter((d) => d.family === fam).length).padStart(5)} ${String(r.decoyFindings.filter((d) => d.family === fam).length).padStart(9)}`);
  }
  out.push('');
  for (const x of r.missed) out.push(`missed      ${x.detector} in ${x.path} (${x.carrier})`);
  for (const x of r.unexpected) out.push(`unexpected  ${x.detector} in ${x.path}`);
  for (const x of r.decoyFindings) out.push(`decoy hit   ${x.detector} in ${x.path} (${x.family})`);
  for (const x of r.sharedSpans) out.push(`shared span ${x.a} + ${x.b} in ${x.path}:${x.line}`);
  out.push('');
  out.push(`overall: recall ${pct(r.found, r.planted).trim()} (${r.found}/${r.planted}), precision ${(100 * r.precision).toFixed(1)}%, false positives ${r.falsePositives}, co-detections ${r.coDetections}, decoy findings ${r.decoyFindings.length}, findings sharing a secret span ${r.sharedSpans.length}`);
  process.stdout.write(out.join('\n') + '\n');
}

function printFormats(r: FormatsReport, m: FormatsManifest): void {
  const out: string[] = [''];
  out.push(`formats corpus: ${m.families.length} families, ${m.files.length} files (${m.files.filter((f) => f.negative).length} with no secret)`);
  out.push('');
  out.push(`${'family'.padEnd(20)} planted  found  recall   FP`);
  for (const f of r.byFamily) {
    out.push(`${f.family.padEnd(20)} ${String(f.planted).padStart(7)} ${String(f.found).padStart(6)} ${pct(f.found, f.planted)} ${String(f.falsePositives).padStart(4)}`);
  }
  out.push('');
  for (const x of r.missed) out.push(`missed      ${x.path}${x.provider ? ' (needs a provider detector' + (x.generic.length ? `; only ${x.generic.join(', ')}` : '') + ')' : ''}`);
  for (const x of r.unexpected) out.push(`unexpected  ${x.detector} ${x.redacted} in ${x.path}`);
  out.push('');
  out.push(`formats: recall ${pct(r.found, r.planted).trim()} (${r.found}/${r.planted}), precision ${(100 * r.precision).toFixed(1)}%, false positives ${r.falsePositives}`);
  process.stdout.write(out.join('\n') + '\n');
}

async function scanRepo(dir: string) {
  const started = Date.now();
  const { result } = await scanPath({
    path: dir,
    cwd: dir,
    env: {},
    history: true,
    gitBackend: 'auto',
    maxBlobSize: 64 << 20,
    registry: new SecretRegistry(),
    logger: silentLogger,
  });
  return { result, ms: Date.now() - started };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'keyloop-accuracy-'));
  try {
    const catalog = loadCatalog(defaultDetectorsDir());
    const manifest = buildCorpus(join(work, 'repo'), catalog, { seed: num('seed', 0x6b65796c), largeMiB: num('large-mib', 4) });
    const { result, ms } = await scanRepo(manifest.dir);
    const report: AccuracyReport = { ...score(manifest, result.findings), sharedSpans: sharedSpans(result.findings), scanMs: ms, blobs: result.stats.blobs, bytes: result.stats.bytes };
    const formats = buildFormatsCorpus(join(work, 'formats'), { seed: num('seed', 0x666d7473) });
    const formatsReport = scoreFormats(formats, (await scanRepo(formats.dir)).result.findings, catalog);
    if (flag('json')) process.stdout.write(JSON.stringify({ ...report, formats: formatsReport }, null, 2) + '\n');
    else {
      print(report, manifest);
      printFormats(formatsReport, formats);
    }
    if (report.recall < 0.98 || report.decoyFindings.length > 0 || report.sharedSpans.length > 0 || formatsReport.missed.length > 0 || formatsReport.falsePositives > 0) process.exitCode = 1;
  } finally {
    if (flag('keep')) process.stderr.write(`corpus kept in ${work}\n`);
    else rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
