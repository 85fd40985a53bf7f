// The pack fast path of `keyloop scan` (pure-JS pack reader + delta-aware matching) must produce exactly the
// findings, locations and skips of the normal path (git cat-file + a full scan of every blob). Fixture repos
// put secrets at delta boundaries, edit and break them in place, cut PEM keys far from their header, rename
// files, and spread objects over several packs plus loose objects.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../src/detection/load.js';
import { earlyPackPool, packReaderEnabled, type PackScanStats } from '../src/scan/pack-path.js';
import { scanPath } from '../src/run/scan.js';
import { silentLogger } from '../src/util/logger.js';
import { SecretRegistry } from '../src/util/redact.js';
import { buildRepo, git, type CommitSpec } from '../testkit/git-repo.js';
import { generateSample, rng } from '../testkit/token-gen.js';

const DETECTORS = join(import.meta.dirname, '..', 'detectors');
const catalog = loadCatalog(DETECTORS);
const pem = catalog.detectors.map((d) => d.def).filter((d) => d.multiline);

interface FileState {
  path: string;
  lines: string[];
}

/** One step of history over `files`: plant a sample (PEM keys often), break a token, cut a block, rename, or grow. */
function step(files: FileState[], r: () => number, c: number): Record<string, string | null> {
  const int = (n: number) => Math.floor(r() * n);
  const words = ['const', 'return', 'value', 'key', 'token', 'secret', 'password', 'config', 'user', 'data', 'api', 'client', 'auth'];
  const line = () => '  ' + Array.from({ length: 3 + int(10) }, () => words[int(words.length)]).join(' ') + (r() < 0.3 ? ' = ' + int(1e6) : '');
  const detectors = catalog.detectors.map((d) => d.def);
  const changed: Record<string, string | null> = {};
  const f = files[int(files.length)]!;
  const op = r();
  const at = int(f.lines.length);
  if (op < 0.14) {
    const def = r() < 0.3 && pem.length ? pem[int(pem.length)]! : detectors[int(detectors.length)]!;
    const s = generateSample(def, r);
    f.lines.splice(at, 0, ...s.text.split('\n'));
  } else if (op < 0.32) {
    const idx = f.lines.findIndex((l, i) => i >= at && /[A-Za-z0-9+/]{20,}|-----/.test(l));
    const i = idx >= 0 ? idx : at;
    const l = f.lines[i] ?? '';
    const p = int(l.length + 1);
    f.lines[i] = l.slice(0, p) + 'Qz9'[int(3)] + l.slice(p + (r() < 0.5 ? 1 : 0));
  } else if (op < 0.38) {
    f.lines.splice(at, 1 + int(3));
  } else if (op < 0.42 && f.lines.length > 100) {
    changed[f.path] = null;
    f.path = f.path.replace(/(\.\w+)$/, `-r${c}$1`);
  } else {
    for (let k = 0; k < 1 + int(4); k++) f.lines.splice(int(f.lines.length), r() < 0.5 ? 1 : 0, line());
  }
  changed[f.path] = f.lines.join('\n') + '\n';
  return changed;
}

function initialFiles(r: () => number): FileState[] {
  const int = (n: number) => Math.floor(r() * n);
  return Array.from({ length: 12 }, (_, i) => ({
    path: `src/m${i % 3}/file${i}.${['js', 'py', 'yaml', 'env'][i % 4]}`,
    lines: Array.from({ length: 80 + int(400) }, (_, k) => `  line ${k} of file ${i} value ${int(1e6)}`),
  }));
}

/** A repo with one big repacked pack, a second pack, and loose objects on top. */
async function fixture(seed: number) {
  const r = rng(seed);
  const files = initialFiles(r);
  const commits: CommitSpec[] = [];
  for (let c = 0; c < 220; c++) commits.push({ id: `c${c}`, branch: c % 11 === 5 ? 'side' : 'main', files: step(files, r, c) });
  const repo = await buildRepo({ commits });
  await git(repo.dir, 'repack', '-adf', '--depth=50', '--window=250');
  await git(repo.dir, 'checkout', '-q', '-f', 'main');
  const byCli = async (n: number, from: number) => {
    for (let c = from; c < from + n; c++) {
      for (const [p, content] of Object.entries(step(files, r, c))) {
        const abs = join(repo.dir, p);
        if (content === null) await git(repo.dir, 'rm', '-q', '--cached', '--ignore-unmatch', p);
        else {
          mkdirSync(dirname(abs), { recursive: true });
          writeFileSync(abs, content);
        }
      }
      await git(repo.dir, 'add', '-A');
      await git(repo.dir, '-c', 'user.name=Pack Test', '-c', 'user.email=pack@example.test', 'commit', '-q', '--allow-empty', '-m', `cli ${c}`);
    }
  };
  // the files state tracks main only from here (the side branch's edits are in history, not in the tree)
  await byCli(40, 1000);
  await git(repo.dir, 'repack', '-d', '-q'); // a second pack of the loose objects
  await byCli(25, 2000); // and loose objects
  const counts = await git(repo.dir, 'count-objects', '-v');
  return { repo, counts };
}

const base = { cwd: '/', history: true, gitBackend: 'auto' as const, maxBlobSize: 64 << 20, detectorsDir: DETECTORS, logger: silentLogger };

describe('pack fast path of keyloop scan', () => {
  for (const seed of [7, 8]) {
    it(`reports exactly what the cat-file path reports (seed ${seed}; two packs + loose objects)`, async () => {
      const { repo, counts } = await fixture(seed);
      expect(Number(/packs: (\d+)/.exec(counts)![1])).toBeGreaterThanOrEqual(2);
      expect(Number(/count: (\d+)/.exec(counts)![1])).toBeGreaterThan(0);

      let packStats: PackScanStats | null = null;
      const fast = await scanPath({ ...base, path: repo.dir, env: {}, registry: new SecretRegistry(), onPackStats: (s) => (packStats = s) });
      let offStats: unknown = null;
      const slow = await scanPath({ ...base, path: repo.dir, env: { KEYLOOP_PACK_READER: '0' }, registry: new SecretRegistry(), onPackStats: (s) => (offStats = s) });
      expect(offStats).toBeNull();
      expect(packStats).not.toBeNull();
      const ps = packStats!;
      // the fast path really was delta-aware (this history is secret-dense, so most blobs are still scanned whole)
      expect(ps.regions).toBeGreaterThan(30);
      expect(ps.fallback).toBe(0);

      expect(fast.result.findings.length).toBeGreaterThan(15);
      expect(fast.result.findings.some((f) => pem.some((d) => d.id === f.detector))).toBe(true);
      expect(JSON.stringify(fast.result.findings)).toBe(JSON.stringify(slow.result.findings));
      const skips = (x: typeof fast) => x.result.skipped.map((s) => JSON.stringify(s)).sort();
      expect(skips(fast)).toEqual(skips(slow));
      expect({ ...fast.result.stats, elapsedMs: 0 }).toEqual({ ...slow.result.stats, elapsedMs: 0 });
      expect(fast.messages.sort()).toEqual(slow.messages.sort());
    });
  }

  it('reports too-large and missing blobs as the normal path does (missing ones go through the fallback read)', async () => {
    const { repo } = await fixture(9);
    // delete one loose blob: the reader never yields it, so the fast path asks the wrapped source for it
    const objects = join(repo.gitDir, 'objects');
    const candidates = readdirSync(objects).filter((d) => /^[0-9a-f]{2}$/.test(d)).flatMap((d) => readdirSync(join(objects, d)).map((f) => d + f));
    let victim = '';
    for (const oid of candidates) if ((await git(repo.dir, 'cat-file', '-t', oid)) === 'blob') victim = oid;
    expect(victim).not.toBe('');
    rmSync(join(objects, victim.slice(0, 2), victim.slice(2)));

    const small = { ...base, maxBlobSize: 4000 };
    let packStats: PackScanStats | null = null;
    const fast = await scanPath({ ...small, path: repo.dir, env: {}, registry: new SecretRegistry(), onPackStats: (s) => (packStats = s) });
    const slow = await scanPath({ ...small, path: repo.dir, env: { KEYLOOP_PACK_READER: 'off' }, registry: new SecretRegistry() });
    expect(packStats).not.toBeNull();
    expect(fast.result.skipped.filter((s) => s.reason === 'too-large').length).toBeGreaterThan(10);
    expect(JSON.stringify(fast.result.findings)).toBe(JSON.stringify(slow.result.findings));
    expect(fast.result.skipped.map((s) => JSON.stringify(s)).sort()).toEqual(slow.result.skipped.map((s) => JSON.stringify(s)).sort());
    expect(fast.messages.sort()).toEqual(slow.messages.sort());
  });

  it('reads only the selected blobs when paths.exclude leaves a small part of the history', async () => {
    const { repo } = await fixture(10);
    const cfg = join(repo.dir, '..', `keyloop-pack-${process.pid}.yaml`);
    writeFileSync(cfg, 'paths:\n  exclude: ["src/m1/**", "src/m2/**", "**/*.py"]\n');
    let packStats: PackScanStats | null = null;
    const fast = await scanPath({ ...base, config: cfg, path: repo.dir, env: {}, registry: new SecretRegistry(), onPackStats: (s) => (packStats = s) });
    const slow = await scanPath({ ...base, config: cfg, path: repo.dir, env: { KEYLOOP_PACK_READER: '0' }, registry: new SecretRegistry() });
    rmSync(cfg);
    expect(packStats!.fallback).toBe(fast.result.stats.blobs);
    expect(packStats!.regions).toBe(0);
    expect(fast.result.findings.length).toBeGreaterThan(3);
    expect(JSON.stringify(fast.result.findings)).toBe(JSON.stringify(slow.result.findings));
    expect(fast.result.skipped.map((s) => JSON.stringify(s)).sort()).toEqual(slow.result.skipped.map((s) => JSON.stringify(s)).sort());
  });

  it('starts its pool before the history walk only for packs of 32 MiB and more, and a pool given to it is the one it scans with', async () => {
    const small = await buildRepo({ bare: true, commits: [{ id: 'a', files: { 'a.txt': 'hello\n' } }] });
    await git(small.dir, 'repack', '-adq');
    expect(earlyPackPool(small.dir, { detectorsDir: DETECTORS, jobs: 2 })).toBeNull();
    // incompressible: the pack stays over 32 MiB
    const big = await buildRepo({ bare: true, commits: [{ id: 'a', files: { 'blob.bin': randomBytes(33 << 20).toString('base64') } }] });
    await git(big.dir, 'repack', '-adq');
    expect(earlyPackPool(big.dir, { detectorsDir: DETECTORS, jobs: 1 })).toBeNull();
    const pool = earlyPackPool(big.dir, { detectorsDir: DETECTORS, jobs: 2 });
    expect(pool).not.toBeNull();
    let packStats: PackScanStats | null = null;
    const r = await scanPath({ ...base, path: big.dir, env: {}, jobs: 2, registry: new SecretRegistry(), onPackStats: (s) => (packStats = s) });
    expect(packStats!.full).toBe(1);
    expect(r.result.stats.blobs).toBe(1);
    await pool!.close();
    await pool!.close();
  });

  it('a scan started before the history walk, for any path, reports what the cat-file path reports', async () => {
    const { repo } = await fixture(11);
    // values whose verdict depends on the path: an unquoted identifier (dropped in code files only), a provider
    // token on a lockfile integrity line, a hex value in a minified bundle; each under paths of other classes too
    const r = rng(5);
    const gh = catalog.byId.get('github-pat-classic')!.def;
    const files: Record<string, string> = {};
    for (const [i, p] of ['cfg/settings.yaml', 'src/conf.js', 'app/package-lock.json', 'web/app.min.js', 'docs/notes.md'].entries()) {
      const token = generateSample(gh, r).secret;
      const ident = ['session', 'Secret', 'Holder', 'Value', String.fromCharCode(65 + i)].join('');
      // keys assembled here, so this file holds no assignment that looks like a secret (keyloop scans itself)
      const [apiKey, pw, secretToken] = [['api', 'key'].join('_'), ['pass', 'word'].join(''), ['secret', 'token'].join('_')];
      const hex = randomBytes(12).toString('hex');
      const b64 = randomBytes(18).toString('base64');
      files[p] = [`${apiKey} = ${ident}`, `"integrity": "sha512-${token}",`, `${pw} = "${hex}"`, `${secretToken}: "${b64}"`].join('\n') + '\n';
    }
    for (const [p, content] of Object.entries(files)) {
      mkdirSync(dirname(join(repo.dir, p)), { recursive: true });
      writeFileSync(join(repo.dir, p), content);
    }
    await git(repo.dir, 'add', '-A');
    await git(repo.dir, '-c', 'user.name=Pack Test', '-c', 'user.email=pack@example.test', 'commit', '-q', '-m', 'path classes');
    await git(repo.dir, 'repack', '-adq');

    let packStats: PackScanStats | null = null;
    const fast = await scanPath({ ...base, path: repo.dir, env: {}, jobs: 2, packPoolMinBytes: 0, registry: new SecretRegistry(), onPackStats: (s) => (packStats = s) });
    const slow = await scanPath({ ...base, path: repo.dir, env: { KEYLOOP_PACK_READER: '0' }, registry: new SecretRegistry() });
    expect(packStats!.prescan).toBe(true);
    expect(packStats!.regions).toBeGreaterThan(30);
    expect(packStats!.fallback).toBe(0);
    // the path-dependent values: found in some paths, dropped in others
    const planted = fast.result.findings.filter((f) => f.locations.some((l) => Object.keys(files).includes(l.path)));
    expect(planted.length).toBeGreaterThan(5);
    expect(new Set(planted.flatMap((f) => f.locations.map((l) => l.path))).size).toBeLessThan(Object.keys(files).length * 4);
    expect(JSON.stringify(fast.result.findings)).toBe(JSON.stringify(slow.result.findings));
    expect(fast.result.skipped.map((s) => JSON.stringify(s)).sort()).toEqual(slow.result.skipped.map((s) => JSON.stringify(s)).sort());
    expect({ ...fast.result.stats, elapsedMs: 0 }).toEqual({ ...slow.result.stats, elapsedMs: 0 });
  });

  it('KEYLOOP_PACK_READER turns it off', () => {
    expect(packReaderEnabled({})).toBe(true);
    expect(packReaderEnabled({ KEYLOOP_PACK_READER: '1' })).toBe(true);
    for (const v of ['0', 'false', 'off', 'NO']) expect(packReaderEnabled({ KEYLOOP_PACK_READER: v })).toBe(false);
  });
});
