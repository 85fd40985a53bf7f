// Fail closed: whatever keyloop cannot read may hold a secret. Each corrupt fixture (truncated pack, flipped bytes
// in a delta, missing loose object, bad pack index) must give, on both git backends with and without the pack
// fast path, the same findings, an `incomplete` report naming each unreadable object, a warning with its id on
// stderr, and exit 1 with findings or 3 without: never a clean-looking exit 0. Before this, the isomorphic
// backend reported `[]` and exit 0 on a truncated pack, silently.
import { chmodSync, closeSync, openSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRepo, git, gitRaw, tempDir, type BuiltRepo } from '../../testkit/git-repo.js';
import { runCli } from '../helpers/run-cli.js';
import { scanReport, type ScanReport } from '../helpers/scan-report.js';
import { rng } from '../../testkit/token-gen.js';

const DETECTORS = join(import.meta.dirname, '..', 'fixtures', 'detectors', 'basic');
const rand = rng(160516);
const alnum = (n: number) => Array.from({ length: n }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(rand() * 62)]).join('');
const token = () => 'acme_' + alnum(32);

/** Backends × pack fast path: every way keyloop reads a repository. */
const MODES = [
  { name: 'native + pack reader', backend: 'native', pack: '1' },
  { name: 'native (cat-file)', backend: 'native', pack: '0' },
  { name: 'isomorphic + pack reader', backend: 'isomorphic', pack: '1' },
  { name: 'isomorphic', backend: 'isomorphic', pack: '0' },
] as const;

interface Fixture {
  repo: BuiltRepo;
  secrets: string[];
  /** Blob of app.env at each commit (secret i lives in blobs[i]). */
  blobs: string[];
  commits: string[];
}

/** Three commits editing one config file (so the pack stores deltas), one secret each, repacked into one pack. */
async function history(): Promise<Fixture> {
  const pad = Array.from({ length: 80 }, (_, i) => `SETTING_${i}=value-${i}-${'x'.repeat(24)}`).join('\n');
  const secrets = [token(), token(), token()];
  const repo = await buildRepo({
    bare: true,
    commits: secrets.map((s, i) => ({ id: `c${i}`, message: `config ${i}`, files: { 'app.env': `${pad}\nAPI_KEY=${s}\nREV=${i}\n` } })),
  });
  await git(repo.dir, 'repack', '-adf', '-q', '--window=50', '--depth=50');
  const commits = secrets.map((_, i) => repo.sha[`c${i}`]!);
  const blobs = await Promise.all(commits.map(async (c) => git(repo.dir, 'rev-parse', `${c}:app.env`)));
  return { repo, secrets, blobs, commits };
}

interface PackEntry {
  oid: string;
  type: string;
  sizeInPack: number;
  offset: number;
  base?: string;
}

function packFiles(gitDir: string): { pack: string; idx: string } {
  const dir = join(gitDir, 'objects', 'pack');
  const pack = readdirSync(dir).find((f) => f.endsWith('.pack'))!;
  return { pack: join(dir, pack), idx: join(dir, pack.replace(/\.pack$/, '.idx')) };
}

async function packEntries(gitDir: string): Promise<PackEntry[]> {
  const out = await git(gitDir, 'verify-pack', '-v', packFiles(gitDir).idx);
  const entries: PackEntry[] = [];
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (!/^[0-9a-f]{40}$/.test(f[0] ?? '') || f.length < 5) continue;
    entries.push({ oid: f[0]!, type: f[1]!, sizeInPack: Number(f[3]), offset: Number(f[4]), ...(f[6] ? { base: f[6] } : {}) });
  }
  return entries;
}

function patch(file: string, at: number, mutate: (b: number) => number): void {
  chmodSync(file, 0o644);
  const bytes = readFileSync(file);
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.from([mutate(bytes[at]!)]), 0, 1, at);
  closeSync(fd);
}

async function scanAll(dir: string, extra: string[] = []): Promise<Map<string, { code: number; report: ScanReport; stderr: string }>> {
  const out = new Map<string, { code: number; report: ScanReport; stderr: string }>();
  for (const m of MODES) {
    const r = await runCli(['scan', dir, '--detectors', DETECTORS, '--no-progress', '--format', 'json', '--reveal', '--git-backend', m.backend, ...extra], {
      env: { ...process.env, KEYLOOP_PACK_READER: m.pack },
    });
    out.set(m.name, { code: r.code, report: scanReport(r.stdout), stderr: r.stderr });
  }
  return out;
}

/** Same findings everywhere; incomplete everywhere, naming every object in `unreadable`; exit 1 or 3. */
function expectFailClosed(runs: Awaited<ReturnType<typeof scanAll>>, unreadable: string[], found: string[]): void {
  for (const [mode, { code, report, stderr }] of runs) {
    expect(report.status, mode).toBe('incomplete');
    expect(report.findings.map((f) => f.secret).sort(), mode).toEqual([...found].sort());
    expect(code, mode).toBe(found.length > 0 ? 1 : 3);
    const named = report.incomplete.map((i) => i.object);
    for (const oid of unreadable) {
      expect(named, `${mode}: ${oid} in incomplete`).toContain(oid);
      expect(stderr, `${mode}: ${oid} on stderr`).toContain(oid);
    }
    expect(stderr, mode).toMatch(/scan incomplete/);
  }
}

describe('fail closed on unreadable objects (every backend, with and without the pack fast path)', () => {
  let clean: Fixture;
  beforeAll(async () => {
    clean = await history();
  });

  it('the intact fixture scans complete and clean of problems everywhere (the baseline the attacks change)', async () => {
    for (const [mode, { code, report }] of await scanAll(clean.repo.dir)) {
      expect(report.status, mode).toBe('complete');
      expect(report.findings.map((f) => f.secret).sort(), mode).toEqual([...clean.secrets].sort());
      expect(code, mode).toBe(1);
    }
  });

  it('a truncated pack (history holding 3 secrets): incomplete, the unreadable tip named, exit 3', async () => {
    const fx = await history();
    const { pack } = packFiles(fx.repo.gitDir);
    const size = readFileSync(pack).length;
    chmodSync(pack, 0o644);
    truncateSync(pack, Math.floor(size / 2));
    expectFailClosed(await scanAll(fx.repo.dir), [fx.commits[2]!], []);
  });

  it('flipped bytes inside a delta: that blob is named, the rest is scanned, exit 1', async () => {
    const fx = await history();
    const entries = await packEntries(fx.repo.gitDir);
    const bases = new Set(entries.map((e) => e.base).filter(Boolean));
    // a delta no other object is based on: only it becomes unreadable
    const victim = entries.find((e) => fx.blobs.includes(e.oid) && e.base && !bases.has(e.oid))!;
    expect(victim, 'the fixture stores a blob as a delta').toBeDefined();
    patch(packFiles(fx.repo.gitDir).pack, victim.offset + Math.floor(victim.sizeInPack / 2), (b) => b ^ 0x5a);
    const lost = fx.secrets[fx.blobs.indexOf(victim.oid)]!;
    expectFailClosed(await scanAll(fx.repo.dir), [victim.oid], fx.secrets.filter((s) => s !== lost));
  });

  it('a missing loose object next to a pack: named with its path, exit 1', async () => {
    const fx = await history();
    // one more commit written as loose objects, then its blob is lost
    const secret = token();
    const blob = (await gitRaw(fx.repo.dir, ['hash-object', '-w', '--stdin'], { input: `NEW_KEY=${secret}\n` })).toString().trim();
    const env = { ...process.env, GIT_INDEX_FILE: join(await tempDir(), 'index') };
    await gitRaw(fx.repo.dir, ['read-tree', 'main'], { env });
    await gitRaw(fx.repo.dir, ['update-index', '--add', '--cacheinfo', `100644,${blob},new.env`], { env });
    const tree = (await gitRaw(fx.repo.dir, ['write-tree'], { env })).toString().trim();
    const commit = (await gitRaw(fx.repo.dir, ['commit-tree', tree, '-p', 'main', '-m', 'add new.env'])).toString().trim();
    await git(fx.repo.dir, 'update-ref', 'refs/heads/main', commit);
    rmSync(join(fx.repo.gitDir, 'objects', blob.slice(0, 2), blob.slice(2)), { force: true });
    const runs = await scanAll(fx.repo.dir);
    expectFailClosed(runs, [blob], fx.secrets);
    for (const [mode, { report }] of runs) expect(report.incomplete.find((i) => i.object === blob)?.path, mode).toBe('new.env');
  });

  it('a bad pack index (a blob id flipped in the oid table): that blob is named, exit 1', async () => {
    const fx = await history();
    const entries = await packEntries(fx.repo.gitDir);
    const sorted = entries.map((e) => e.oid).sort();
    const victim = fx.blobs[0]!;
    const at = 8 + 256 * 4 + sorted.indexOf(victim) * 20 + 19; // last byte of its oid in the sorted table
    patch(packFiles(fx.repo.gitDir).idx, at, (b) => b ^ 0x01);
    // the victim may be the base of the other versions: whatever cannot be read must be named, the rest found
    const runs = await scanAll(fx.repo.dir);
    const found = [...runs.values()][0]!.report.findings.map((f) => f.secret!);
    expect(found).not.toContain(fx.secrets[0]);
    expectFailClosed(runs, [victim], found);
  });

  it('a history of corrupt objects is never reported as a clean scan in the table either', async () => {
    const fx = await history();
    const { pack } = packFiles(fx.repo.gitDir);
    chmodSync(pack, 0o644);
    truncateSync(pack, 200);
    const r = await runCli(['scan', fx.repo.dir, '--detectors', DETECTORS, '--no-progress', '--format', 'table', '--git-backend', 'isomorphic']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/INCOMPLETE: \d+ object\(s\) could not be scanned/);
    const sarif = await runCli(['scan', fx.repo.dir, '--detectors', DETECTORS, '--no-progress', '--format', 'sarif', '--git-backend', 'isomorphic']);
    expect(sarif.code).toBe(3);
    const inv = (JSON.parse(sarif.stdout) as { runs: Array<{ invocations: Array<{ executionSuccessful: boolean; toolExecutionNotifications: unknown }> }> }).runs[0]!.invocations[0]!;
    expect(inv.executionSuccessful).toBe(false);
    expect(JSON.stringify(inv.toolExecutionNotifications)).toContain(fx.commits[2]!);
  });
});

describe('fail closed on blobs skipped for their size', () => {
  it('a repo whose only file exceeds --max-blob-size exits 3, not 0, and names the blob', async () => {
    const secret = token();
    const repo = await buildRepo({ commits: [{ id: 'c1', files: { 'dump.sql': `-- dump\n${'x'.repeat(4000)}\nKEY=${secret}\n` } }] });
    const oid = await git(repo.dir, 'rev-parse', 'HEAD:dump.sql');
    for (const backend of ['native', 'isomorphic']) {
      const r = await runCli(['scan', repo.dir, '--detectors', DETECTORS, '--no-progress', '--format', 'json', '--max-blob-size', '1KiB', '--git-backend', backend]);
      expect(r.code, backend).toBe(3);
      const report = scanReport(r.stdout);
      expect(report.status).toBe('incomplete');
      expect(report.incomplete).toEqual([expect.objectContaining({ object: oid, path: 'dump.sql', reason: 'too-large' })]);
      expect(r.stderr).toContain(oid);
    }
  });

  it('a plain directory whose only file is too large is incomplete (exit 3)', async () => {
    const dir = await tempDir();
    writeFileSync(join(dir, 'big.env'), `KEY=${token()}\n${'#'.repeat(2000)}\n`);
    const r = await runCli(['scan', dir, '--detectors', DETECTORS, '--no-progress', '--format', 'json', '--max-blob-size', '1KiB']);
    expect(r.code).toBe(3);
    expect(scanReport(r.stdout).incomplete).toEqual([expect.objectContaining({ object: null, path: 'big.env', reason: 'too-large' })]);
  });
});
