// Delta-aware scanning must report exactly what a full scan of every blob reports: same blobs, same matches
// (offsets, lines, columns, companions, decoders). Histories put secrets right at delta boundaries, edit them
// in place, break and mend PEM keys far from their header, add required companions later, and rename files.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Match } from '../src/core/model.js';
import { createEngine } from '../src/detection/engine.js';
import { loadCatalog } from '../src/detection/load.js';
import { ObjectStore } from '../src/objects/pack/index.js';
import { DELTA_MARGIN, deltaRegions } from '../src/scan/delta-plan.js';
import { scanPackDeltaAware, type DeltaScanStats } from '../src/scan/delta-scan.js';
import { buildRepo, git, type CommitSpec } from '../testkit/git-repo.js';
import { generateSample, rng } from '../testkit/token-gen.js';

const catalog = loadCatalog(join(import.meta.dirname, '..', 'detectors'));
const engine = createEngine(catalog);

function history(seed: number, commits: number, moreWords: string[] = []): CommitSpec[] {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const words = ['const', 'return', 'value', 'key', 'token', 'secret', 'password', 'config', 'user', 'data', 'index', 'api', 'client', 'auth', ...moreWords];
  const line = () => '  ' + Array.from({ length: 3 + int(10) }, () => words[int(words.length)]).join(' ') + (r() < 0.3 ? ' = ' + int(1e6) : '');
  const files: { path: string; lines: string[] }[] = Array.from({ length: 16 }, (_, i) => ({
    path: `src/m${i % 3}/file${i}.${['js', 'py', 'yaml', 'env'][i % 4]}`,
    lines: Array.from({ length: 60 + int(500) }, line),
  }));
  const detectors = catalog.detectors.map((d) => d.def);
  const out: CommitSpec[] = [];
  for (let c = 0; c < commits; c++) {
    const changed: Record<string, string | null> = {};
    const f = files[int(files.length)]!;
    const op = r();
    const at = int(f.lines.length);
    if (op < 0.12) {
      // plant a sample of some detector (multi-line ones included), sometimes base64-encoded
      const def = detectors[int(detectors.length)]!;
      const s = generateSample(def, r);
      const text = r() < 0.1 ? `blob: ${Buffer.from(s.text).toString('base64')}` : s.text;
      f.lines.splice(at, 0, ...text.split('\n'));
    } else if (op < 0.3) {
      // edit one character in a line that looks like a secret line (or any line): breaks or changes a token
      const idx = f.lines.findIndex((l, i) => i >= at && /[A-Za-z0-9]{20,}|-----/.test(l));
      const i = idx >= 0 ? idx : at;
      const l = f.lines[i] ?? '';
      const p = int(l.length + 1);
      f.lines[i] = l.slice(0, p) + 'Qz9'[int(3)] + l.slice(p + (r() < 0.5 ? 1 : 0));
    } else if (op < 0.36) {
      // delete a block (may cut a PEM key's END line, far from its BEGIN)
      f.lines.splice(at, 1 + int(3));
    } else if (op < 0.4 && f.lines.length > 100) {
      // rename: the next blob deltas against a base with another path
      changed[f.path] = null;
      f.path = f.path.replace(/(\.\w+)$/, `-r${c}$1`);
    } else {
      for (let k = 0; k < 1 + int(4); k++) f.lines.splice(int(f.lines.length), r() < 0.5 ? 1 : 0, line());
    }
    changed[f.path] = f.lines.join(r() < 0.05 ? '\r\n' : '\n') + '\n';
    out.push({ id: `c${c}`, branch: c % 13 === 4 ? 'other' : 'main', files: changed });
  }
  return out;
}

async function pathsOf(dir: string): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const l of (await git(dir, 'rev-list', '--objects', '--all')).split('\n')) {
    const sp = l.indexOf(' ');
    if (sp > 0 && !m.has(l.slice(0, sp))) m.set(l.slice(0, sp), l.slice(sp + 1));
  }
  return m;
}

function run(dir: string, paths: Map<string, string>, deltaAware: boolean, stats: DeltaScanStats) {
  const store = ObjectStore.open(dir);
  const out = new Map<string, Match[]>();
  for (const r of scanPackDeltaAware(store, engine, { deltaAware, pathOf: (o) => paths.get(o) }, stats)) {
    expect('error' in r).toBe(false);
    if ('matches' in r) out.set(r.oid, r.matches);
  }
  store.close();
  return out;
}

const newStats = (): DeltaScanStats => ({ blobs: 0, bytes: 0, scannedBytes: 0, full: 0, regions: 0, binary: 0, problems: 0 });

describe('delta-aware pack scan', () => {
  // seed 3: lines also say default, machine, repository, login (multiline detectors' keywords, which ordinary code
  // is full of), so clean bases hold them and the multiline gate decides for their deltas
  for (const [seed, moreWords] of [[1, []], [2, []], [3, ['default', 'machine', 'repository', 'login']]] as const) {
    it(`equals a full scan of every blob (seed ${seed})`, async () => {
      const r = await buildRepo({ bare: true, commits: history(seed, 320, [...moreWords]) });
      await git(r.dir, 'repack', '-adf', '--depth=50', '--window=250');
      const paths = await pathsOf(r.dir);
      const fs = newStats();
      const ds = newStats();
      const reference = run(r.dir, paths, false, fs);
      const fast = run(r.dir, paths, true, ds);
      expect([...fast.keys()].sort()).toEqual([...reference.keys()].sort());
      for (const [oid, ms] of reference) expect(fast.get(oid), oid).toEqual(ms);
      const matches = [...reference.values()].reduce((s, m) => s + m.length, 0);
      // the fixture is meaningful: many findings, many delta blobs scanned by regions only
      expect(matches).toBeGreaterThan(40);
      expect(ds.regions).toBeGreaterThan(40);
      expect(ds.scannedBytes).toBeLessThan(fs.scannedBytes);
      expect(ds.blobs).toBe(fs.blobs);
    });
  }

  it('a change at one end of a line finds a match at its other end', async () => {
    const def = catalog.byId.get('github-pat-classic')!.def;
    const token = generateSample(def, rng(7)).secret;
    const lines = Array.from({ length: 1500 }, (_, i) => `  const value${i} = compute(${i}, "config entry");`);
    // a line whose token is muted by the marker at its start (the marker reaches 512 bytes): the base is clean
    const muted = `  // keyloop:allow ${'x'.repeat(400)} ${token}`;
    const base = [...lines.slice(0, 1200), muted, ...lines.slice(1200)].join('\n') + '\n' + '// pad\n'.repeat(200);
    // the target drops the marker, 400 bytes from the token (and the padding, so git stores it as the delta)
    const target = [...lines.slice(0, 1200), muted.replace('keyloop:allow', 'a comment'), ...lines.slice(1200)].join('\n') + '\n';
    const repo = await buildRepo({ bare: true, commits: [{ id: 'a', files: { 'src/app.js': base } }, { id: 'b', files: { 'src/app.js': target } }] });
    await git(repo.dir, 'repack', '-adf', '--depth=50', '--window=250');
    const store = ObjectStore.open(repo.dir);
    const targetOid = (await git(repo.dir, 'rev-parse', `${repo.sha.b}:src/app.js`)).toString().trim();
    expect([...store.blobs()].some((b) => b.oid === targetOid && 'delta' in b && b.delta)).toBe(true);
    const stats = newStats();
    const got = new Map<string, Match[]>();
    for (const b of scanPackDeltaAware(store, engine, { pathOf: () => 'src/app.js' }, stats)) if ('matches' in b) got.set(b.oid, b.matches);
    store.close();
    expect(got.get(targetOid)!.map((m) => [m.secret, m.line])).toEqual([[token, 1201]]);
    expect([...got.values()].flat().map((m) => m.detectorId)).toEqual([def.id]);
    // the region (the long line) found it, so the target was rescanned whole
    expect(stats.full).toBe(2);
  });

  it('a one-line edit of a clean base reads only that line', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `  const value${i} = compute(${i}, "config entry");`);
    const v1 = lines.join('\n') + '\n';
    const v2 = [...lines.slice(0, 1500), '  const changed = compute(1, "edited");', ...lines.slice(1501)].join('\n') + '\n' + '// pad\n'.repeat(100);
    const repo = await buildRepo({ bare: true, commits: [{ id: 'a', files: { 'src/app.js': v2 } }, { id: 'b', files: { 'src/app.js': v1 } }] });
    await git(repo.dir, 'repack', '-adf', '--depth=50', '--window=250');
    const store = ObjectStore.open(repo.dir);
    const stats = newStats();
    for (const _ of scanPackDeltaAware(store, engine, { pathOf: () => 'src/app.js' }, stats));
    const sizes = [...store.blobs()].map((b) => ('data' in b ? b.data.length : 0));
    store.close();
    expect(stats.regions).toBe(1);
    expect(stats.full).toBe(1);
    // the whole base, then the edited line and the seam at the target's end, each with the margin out to whole
    // lines: a few hundred bytes (a 3 KB margin either side would read over 6 KB)
    const regionBytes = stats.scannedBytes - Math.max(...sizes);
    expect(regionBytes).toBeGreaterThan(0);
    expect(regionBytes).toBeLessThan(1000);
  });

  it('a required companion added beyond the margin: the base is dirty (a candidate lacking only it), so the delta is scanned whole', async () => {
    // a catalog of one detector whose companion may sit further away than the delta margin; values assembled
    // here so this file holds no assignment that looks like a secret (keyloop scans its own history)
    const value = ['q1w2e', '3r4t5', 'y6u7i', '8o9p0'].join('');
    const id = ['a1s2d', '3f4g5'].join('');
    const dir = mkdtempSync(join(tmpdir(), 'keyloop-companion-'));
    writeFileSync(
      join(dir, 'paired.yaml'),
      [
        'provider: { id: paired, name: Paired }',
        'detectors:',
        '  - id: paired-secret',
        '    name: Paired secret',
        '    keywords: [ pairsecret ]',
        "    pattern: 'pairsecret=([a-z0-9]{20})'",
        '    companions:',
        "      - { name: pair_id, pattern: 'pairid=([a-z0-9]{10})', within: 12000, required: true }",
        `    examples: [ "pairsecret=${value} pairid=${id}" ]`,
        '',
      ].join('\n'),
    );
    const paired = createEngine(loadCatalog(dir));
    const filler = Array.from({ length: 150 }, (_, i) => `  filler line ${i} of the config file`).join('\n');
    // the version with the companion is the smaller one, so git stores it as a delta of the other
    const padding = Array.from({ length: 20 }, (_, i) => `  trailing padding ${i}`).join('\n');
    const before = `pairsecret=${value}\n${filler}\n${padding}\n`;
    const after = `pairsecret=${value}\n${filler}\npairid=${id}\n`;
    expect(after.length - before.indexOf('\n')).toBeGreaterThan(DELTA_MARGIN + 1000);
    const r = await buildRepo({ bare: true, commits: [{ id: 'a', files: { 'conf.txt': before } }, { id: 'b', files: { 'conf.txt': after } }] });
    await git(r.dir, 'repack', '-adf', '--depth=50', '--window=250');
    const store = ObjectStore.open(r.dir);
    const stats: DeltaScanStats = newStats();
    const afterOid = (await git(r.dir, 'rev-parse', `${r.sha.b}:conf.txt`)).toString().trim();
    const delta = [...store.blobs()].find((b) => b.oid === afterOid);
    expect(delta && 'delta' in delta && delta.delta).toBeTruthy();
    const found = [...scanPackDeltaAware(store, paired, {}, stats)].flatMap((b) => ('matches' in b ? b.matches : []));
    store.close();
    expect(stats.blobs).toBe(2);
    expect(found.map((m) => [m.detectorId, m.parts])).toEqual([['paired-secret', { pair_id: id }]]);
    // the base had no finding, yet its delta was scanned whole
    expect(stats.full).toBe(2);
  });

  /** Scans a two-commit history delta-aware and whole; both must agree. */
  async function beforeAfter(path: string, before: string, after: string) {
    const r = await buildRepo({ bare: true, commits: [{ id: 'a', files: { [path]: before } }, { id: 'b', files: { [path]: after } }] });
    await git(r.dir, 'repack', '-adf', '--depth=50', '--window=250');
    const afterOid = (await git(r.dir, 'rev-parse', `${r.sha.b}:${path}`)).toString().trim();
    const store = ObjectStore.open(r.dir);
    const delta = [...store.blobs()].find((b) => b.oid === afterOid);
    store.close();
    // the fixture is meaningful only if git stored the new version as a delta of the old one
    expect(delta && 'delta' in delta && delta.delta).toBeTruthy();
    const paths = new Map([...(await pathsOf(r.dir))].filter(([, p]) => p === path));
    const stats = newStats();
    const fast = run(r.dir, paths, true, stats);
    const reference = run(r.dir, paths, false, newStats());
    expect([...fast]).toEqual([...reference]);
    return { stats, found: fast.get(afterOid) ?? [] };
  }

  it("a multiline detector's keyword in a clean base (.netrc's `default`, `machine` in code) leaves its deltas to regions", async () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `  export default function step${i}(machine) { return machine.run(${i}); }`);
    const after = [...lines.slice(0, 1000), '  export default function edited(machine) { return 1; }', ...lines.slice(1001)].join('\n') + '\n';
    const before = lines.join('\n') + '\n' + '// pad\n'.repeat(100);
    const { stats, found } = await beforeAfter('src/steps.js', before, after);
    expect(found).toEqual([]);
    // before the multiline gate, `default` and `machine` made the base dirty and its delta was scanned whole
    expect(stats.regions).toBe(1);
    expect(stats.full).toBe(1);
  });

  it("a .netrc entry completed lines away from its `machine` line: the multiline gate has the delta scanned whole", async () => {
    const password = generateSample(catalog.byId.get('github-pat-classic')!.def, rng(11)).secret.slice(4, 28);
    // the login line is longer than the margin, so the region around the new password line does not reach `machine`
    const head = `machine build.internal.example\n  login ${'ci-deploy-user-'.repeat(8)}\n`;
    const before = head + Array.from({ length: 40 }, (_, i) => `# trailing note ${i}`).join('\n') + '\n';
    const after = head + `  password ${password}\n`;
    const { stats, found } = await beforeAfter('ci/netrc', before, after);
    expect(found.map((m) => [m.detectorId, m.secret, m.line])).toEqual([['netrc-password', password, 3]]);
    expect(stats.full).toBe(2);
  });

  it('a PEM key in a notebook cell mended lines away from its header: the gate reads decoded string runs across lines', async () => {
    const r = rng(5);
    const body = Buffer.from(Array.from({ length: 1152 }, () => Math.floor(r() * 256))).toString('base64');
    // EC: no multiline pattern reads an EC key through the literals' quotes and escapes, so only the decoded run holds it
    const armor = (edge: string) => `-----${edge} EC PRIVATE KEY-----`;
    const pem = [armor('BEGIN'), ...(body.match(/.{1,64}/g) ?? []), armor('END')];
    const code = Array.from({ length: 300 }, (_, i) => `    "step_${i} = run_step(${i}, retries=3)\\n",`);
    const cell = (ls: string[]) =>
      ['{ "cells": [ { "cell_type": "code", "source": [', ...code, ...ls.map((l, i) => `    ${JSON.stringify(l + '\n')}${i < ls.length - 1 ? ',' : ''}`), '] } ] }'].join('\n') + '\n';
    // the old version lacks the END line (no key in it) and carries padding, so git stores the new one as its delta
    const before = cell(pem.slice(0, -1)) + ' '.repeat(400) + '\n';
    const after = cell(pem);
    const { stats, found } = await beforeAfter('notebooks/setup.ipynb', before, after);
    expect(found.map((m) => [m.detectorId, m.decoded, m.secret.split('\n').length])).toEqual([['private-key-ec', ['json-string'], pem.length]]);
    expect(stats.full).toBe(2);
  });

  it('regions cover inserts and seams, widened to whole lines', () => {
    const data = Buffer.from(Array.from({ length: 400 }, (_, i) => `line ${i}`).join('\n') + '\n');
    const n = data.length;
    // copy [0,1000) from base 0, insert [1000,1010), copy the rest from base 1000 (a seam-free continuation)
    const regions = deltaRegions(data, n - 10, [0, 1000, 0, 1010, n, 1000], 64);
    expect(regions).toHaveLength(1);
    const [s, e] = regions[0]!;
    expect(s).toBeLessThanOrEqual(1000 - 64);
    expect(e).toBeGreaterThanOrEqual(1010 + 64);
    // from the line break before the first line (leading context of a match), through the last line's break
    expect(s === 0 || data[s] === 0x0a).toBe(true);
    expect(data[e - 1]).toBe(0x0a);
    // identical copy of the whole base: nothing to scan
    expect(deltaRegions(data, n, [0, n, 0], 64)).toEqual([]);
    // a seam with no inserted byte (copy order swapped) is still scanned, as are a changed start and end
    expect(deltaRegions(data, n, [0, 500, 500, 500, n, 0], 64)).toHaveLength(3);
  });
});
