// Delta-aware scanning must report exactly what a full scan of every blob reports: same blobs, same matches
// (offsets, lines, columns, companions, decoders). Histories put secrets right at delta boundaries, edit them
// in place, break and mend PEM keys far from their header, add required companions later, and rename files.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Match } from '../src/core/model.js';
import { createEngine } from '../src/detection/engine.js';
import type { Engine } from '../src/detection/types.js';
import { loadCatalog } from '../src/detection/load.js';
import { multilineGate } from '../src/detection/multiline-gate.js';
import { ObjectStore } from '../src/objects/pack/index.js';
import { changedRanges, copiedLacking, DELTA_MARGIN, deltaPlanner, deltaRegions, windowsCopied } from '../src/scan/delta-plan.js';
import { scanPackDeltaAware, type DeltaScanStats } from '../src/scan/delta-scan.js';
import { buildRepo, git, type CommitSpec } from '../testkit/git-repo.js';
import { pairedCatalog } from '../testkit/paired-catalog.js';
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

function run(dir: string, paths: Map<string, string>, deltaAware: boolean, stats: DeltaScanStats, eng: Engine = engine) {
  const store = ObjectStore.open(dir);
  const out = new Map<string, Match[]>();
  for (const r of scanPackDeltaAware(store, eng, { deltaAware, pathOf: (o) => paths.get(o) }, stats)) {
    expect('error' in r).toBe(false);
    if ('matches' in r) out.set(r.oid, r.matches);
  }
  store.close();
  return out;
}

/** deltaRegions as first written: each changed range's line ends searched anew (quadratic on one long line). */
function regionsReference(data: Buffer, baseLength: number, copies: number[], margin: number): [number, number][] {
  const len = data.length;
  const dirty = changedRanges(len, baseLength, copies);
  const out: [number, number][] = [];
  for (let k = 0; k < dirty.length; k += 2) {
    const [a, b] = [dirty[k]!, dirty[k + 1]!];
    let s = Math.max(0, a - margin);
    let e = Math.min(len, b + margin);
    s = s === 0 ? 0 : Math.max(0, data.lastIndexOf(0x0a, s - 1));
    if (e < len) {
      const nl = data.indexOf(0x0a, e);
      e = nl === -1 ? len : nl + 1;
    }
    const last = out[out.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}
/**
 * An engine over one detector, `pairsecret=` and 20 characters, whose required companion `pairid=` and 10 characters
 * may lie `within` bytes away. Values are assembled here so this file holds no assignment that looks like a secret
 * (keyloop scans its own history).
 */
function pairedEngine(within: number, keywords = 'pairsecret'): Engine {
  return createEngine(pairedCatalog(within, keywords));
}

const newStats = (): DeltaScanStats => ({ blobs: 0, bytes: 0, scannedBytes: 0, full: 0, regions: 0, binary: 0, problems: 0 });

describe('delta-aware pack scan', () => {
  // seed 3: lines also say default, machine, repository, login (multiline detectors' keywords, which ordinary code
  // is full of), so clean bases hold them and the multiline gate decides for their deltas
  for (const [seed, moreWords] of [
    [1, []],
    [2, []],
    [3, ['default', 'machine', 'repository', 'login']],
  ] as const) {
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

  it('secrets that stay for many commits: their deltas go by regions and carry them over, equal to a full scan', async () => {
    const r = rng(51);
    const int = (n: number) => Math.floor(r() * n);
    const pat = catalog.byId.get('github-pat-classic')!.def;
    const tokens = Array.from({ length: 4 }, () => generateSample(pat, r).secret);
    const aws = catalog.byId.get('aws-secret-access-key')!.def;
    let lines = Array.from({ length: 400 }, (_, i) => `  const value${i} = compute(${i}, "config entry");`);
    lines.splice(100, 0, `  const token = "${tokens[0]}"; // ci`);
    const commits: CommitSpec[] = [];
    for (let c = 0; c < 120; c++) {
      const op = r();
      const at = int(lines.length);
      if (op < 0.45) lines[at] = `  const edited${c} = compute(${c}, "changed entry");`;
      else if (op < 0.6) lines.splice(at, 0, `  const added${c} = ${c};`);
      else if (op < 0.68) lines.splice(at, 1);
      // the same token on one more line, or a new one
      else if (op < 0.72) lines.splice(at, 0, `  const again${c} = "${tokens[int(tokens.length)]}";`);
      // a token line repeated as it is: a delta may copy its line from the base twice
      else if (op < 0.76) {
        const i = lines.findIndex((l) => l.includes(tokens[0]!));
        if (i >= 0) lines.splice(at, 0, lines[i]!);
      }
      // (the next two only before the newest versions)
      // the token base64-encoded elsewhere: found decoded, or dropped for its plain form while that is there
      else if (op < 0.8) {
        if (c < 100) lines.splice(at, 0, `  blob${c}: ${Buffer.from(`export GITHUB_TOKEN=${tokens[int(2)]}`).toString('base64')}`);
      }
      // a match with a companion (never carried over)
      else if (op < 0.82) {
        if (c < 100) lines.splice(at, 0, `  aws${c}: ${generateSample(aws, r).text.split('\n').join(' ')}`);
      }
      // one of those lines removed (a token, a base64 blob, a paired match), the base64 and paired ones soon
      else if (op < 0.96) {
        const special = lines.flatMap((l, i) => (/^ {2}(?:const (?:token|again)|blob|aws)/.test(l) ? [i] : []));
        const late = special.filter((i) => /^ {2}(?:blob|aws)/.test(lines[i]!));
        const pick = late.length > 0 && r() < 0.8 ? late : special;
        if (pick.length > 0) lines.splice(pick[int(pick.length)]!, 1);
      } else lines = lines.map((l) => (l.includes('compute(') && r() < 0.02 ? l.replace('compute', 'evaluate') : l));
      // the newest versions (git's delta bases) hold plain tokens only
      if (c === 100) lines = lines.filter((l) => !/^ {2}(?:blob|aws)/.test(l));
      commits.push({ id: `c${c}`, files: { 'src/app.js': lines.join('\n') + '\n' } });
    }
    const repo = await buildRepo({ bare: true, commits });
    await git(repo.dir, 'repack', '-adf', '--depth=50', '--window=250');
    const paths = await pathsOf(repo.dir);
    const ds = newStats();
    const reference = run(repo.dir, paths, false, newStats());
    const fast = run(repo.dir, paths, true, ds);
    expect([...fast.keys()].sort()).toEqual([...reference.keys()].sort());
    for (const [oid, ms] of reference) expect(fast.get(oid), oid).toEqual(ms);
    // the fixture is meaningful: most versions hold a token, and most deltas of such versions went by regions
    const withMatches = [...reference.values()].filter((ms) => ms.length > 0).length;
    expect(withMatches).toBeGreaterThan(50);
    expect(ds.regions).toBeGreaterThan(45);
    expect([...reference.values()].flat().some((m) => m.decoded)).toBe(true);
  });

  it("a base's matches are carried to every line its delta copies and leaves alone, and only there", async () => {
    const token = generateSample(catalog.byId.get('github-pat-classic')!.def, rng(61)).secret;
    const lines = Array.from({ length: 400 }, (_, i) => `  const value${i} = compute(${i}, "config entry");`);
    lines[200] = `  const token = "${token}"; // ci`;
    const pad = '// pad\n'.repeat(4000);
    // the file twice over: the delta copies the base's lines twice, and the token with them
    const twice = await beforeAfter('src/app.js', lines.join('\n') + '\n' + pad, [...lines, ...lines].join('\n') + '\n');
    expect(twice.found.map((m) => [m.secret, m.line])).toEqual([
      [token, 201],
      [token, 601],
    ]);
    expect([twice.stats.regions, twice.stats.full]).toEqual([1, 1]);
    // an edit next to the token's line: the region holds that line, so its match is the region's, not a copy
    const edited = lines.map((l, i) => (i === 201 ? '  const edited = 1;' : l));
    const near = await beforeAfter('src/app.js', lines.join('\n') + '\n' + pad, edited.join('\n') + '\n');
    expect(near.found.map((m) => [m.secret, m.line])).toEqual([[token, 201]]);
    expect([near.stats.regions, near.stats.full]).toEqual([1, 1]);
    // the base's scan dropped the token's base64 form for its plain one (Verdict.deduped): with the plain line gone,
    // the full scan finds it decoded on a line the delta left alone, so the base carries nothing over
    const encoded = lines.map((l, i) => (i === 300 ? `  blob: ${Buffer.from(`export GITHUB_TOKEN=${token}`).toString('base64')}` : l));
    const gone = await beforeAfter('src/app.js', encoded.join('\n') + '\n' + pad, encoded.filter((_, i) => i !== 200).join('\n') + '\n');
    expect(gone.found.map((m) => [m.secret, m.line, m.decoded])).toEqual([[token, 300, ['base64']]]);
    expect(gone.stats.full).toBe(2);
  });

  it('a change at one end of a line finds a match at its other end', async () => {
    const def = catalog.byId.get('github-pat-classic')!.def;
    const token = generateSample(def, rng(7)).secret;
    const lines = Array.from({ length: 1500 }, (_, i) => `  const value${i} = compute(${i}, "config entry");`);
    // a line whose token is muted by the marker at its start (the marker reaches 512 bytes): the base is clean
    const muted = `  // keyloop:allow ${'x'.repeat(400)} ${token}`;
    const base = [...lines.slice(0, 1200), muted, ...lines.slice(1200)].join('\n') + '\n' + '// pad\n'.repeat(200);
    // the target drops the marker, 400 bytes from the token (and the padding, so git stores it as the delta)
    const target = [...lines.slice(0, 1200), muted.replace('keyloop:allow', 'a comment'), ...lines.slice(1200)].join('\n') + '\n';
    const repo = await buildRepo({
      bare: true,
      commits: [
        { id: 'a', files: { 'src/app.js': base } },
        { id: 'b', files: { 'src/app.js': target } },
      ],
    });
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
    // the region (the long line) found it, and the clean base vouches for every other line: the region's match is
    // the target's, positioned in the whole blob (line 1201), without a rescan
    expect([stats.full, stats.regions]).toEqual([1, 1]);
  });

  it('a one-line edit of a clean base reads only that line', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `  const value${i} = compute(${i}, "config entry");`);
    const v1 = lines.join('\n') + '\n';
    const v2 = [...lines.slice(0, 1500), '  const changed = compute(1, "edited");', ...lines.slice(1501)].join('\n') + '\n' + '// pad\n'.repeat(100);
    const repo = await buildRepo({
      bare: true,
      commits: [
        { id: 'a', files: { 'src/app.js': v2 } },
        { id: 'b', files: { 'src/app.js': v1 } },
      ],
    });
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

  it("a required companion added beyond the margin: the base's reach (the companion's `within`) widens the regions to the candidate's line, so the delta is scanned whole", async () => {
    // a companion that may sit further away than the delta margin
    const value = ['q1w2e', '3r4t5', 'y6u7i', '8o9p0'].join('');
    const id = ['a1s2d', '3f4g5'].join('');
    const paired = pairedEngine(12000);
    const filler = Array.from({ length: 150 }, (_, i) => `  filler line ${i} of the config file`).join('\n');
    // the version with the companion is the smaller one, so git stores it as a delta of the other
    const padding = Array.from({ length: 20 }, (_, i) => `  trailing padding ${i}`).join('\n');
    const before = `pairsecret=${value}\n${filler}\n${padding}\n`;
    const after = `pairsecret=${value}\n${filler}\npairid=${id}\n`;
    expect(after.length - before.indexOf('\n')).toBeGreaterThan(DELTA_MARGIN + 1000);
    const { stats, found, all } = await beforeAfter('conf.txt', before, after, paired);
    expect(found.map((m) => [m.detectorId, m.parts])).toEqual([['paired-secret', { pair_id: id }]]);
    expect(all).toHaveLength(1);
    // the base had no finding, yet its delta was scanned whole
    expect(stats.full).toBe(2);
  });

  it('a base with a candidate lacking its companion still has deltas far from that candidate scanned by regions', async () => {
    const value = ['q1w2e', '3r4t5', 'y6u7i', '8o9p0'].join('');
    const paired = pairedEngine(2000, 'pairsecret, pairid');
    const filler = Array.from({ length: 400 }, (_, i) => `  filler line ${i} of the config file`);
    const head = `pairsecret=${value}\n`;
    // an edit 10 KB from the candidate (its companion's reach is 2 KB); the padding makes git store the edit as the delta
    const before = head + filler.join('\n') + '\n' + '# pad\n'.repeat(200);
    const after = head + [...filler.slice(0, 300), '  an edited line', ...filler.slice(301)].join('\n') + '\n';
    const { stats, all } = await beforeAfter('conf.txt', before, after, paired);
    expect(all).toEqual([]);
    // before a candidate lacking a companion had a reach, it made the base dirty and this delta was scanned whole
    expect(stats.regions).toBe(1);
    expect(stats.full).toBe(1);
    // and the region is the edited line with its margin, not widened by the 2 KB reach: the delta copies the
    // candidate with its whole companion window, so it cannot gain a companion (Verdict.lacking)
    expect(stats.scannedBytes - before.length).toBeLessThan(300);
  });

  it("a candidate's companion window counts as copied only when the delta holds it whole, cut as the search cuts it", () => {
    // a 10-byte candidate at 1,000 of a 5,000-byte base whose companion may lie 100 bytes away
    const lacking = [1000, 1010, 100];
    // copied in place: its window too
    expect(windowsCopied(lacking, [0, 5000, 0], 5000, 5000)).toBe(true);
    // an insert 50 bytes before it, or a seam 50 bytes after it: within the window
    expect(windowsCopied(lacking, [0, 950, 0, 960, 5010, 950], 5000, 5010)).toBe(false);
    expect(windowsCopied(lacking, [0, 1060, 0, 1060, 4000, 2000], 5000, 4000)).toBe(false);
    // an edit 200 bytes away: outside it
    expect(windowsCopied(lacking, [0, 1210, 0, 1220, 5010, 1210], 5000, 5010)).toBe(true);
    // the first 890 bytes dropped: the window is whole in both, 110 bytes from the start in the delta
    expect(windowsCopied(lacking, [0, 4110, 890], 5000, 4110)).toBe(true);
    // the first 950 bytes dropped: the delta's search starts at its start (50 bytes before the candidate), the
    // base's 100 bytes before: not the same window, even though the delta's lies inside the copy
    expect(windowsCopied(lacking, [0, 4050, 950], 5000, 4050)).toBe(false);
    // where the delta copies it (twice here, then not at all)
    expect(copiedLacking(lacking, [0, 2000, 0, 2000, 4000, 0])).toEqual([1000, 1010, 100, 3000, 3010, 100]);
    expect(copiedLacking(lacking, [0, 1005, 0])).toEqual([]);
    expect(copiedLacking(null, [0, 2000, 0])).toBeNull();
  });

  it('the engine says where the candidates behind a reach are, unless one lies in decoded text', () => {
    const value = ['q1w2e', '3r4t5', 'y6u7i', '8o9p0'].join('');
    const paired = pairedEngine(700);
    const plain = paired.scanVerdict(Buffer.from(`x = 1\npairsecret=${value}\n`), { path: 'a.txt' });
    expect([plain.reach, plain.lacking]).toEqual([700, [17, 37, 700]]);
    const encoded = paired.scanVerdict(Buffer.from(`x = 1\nblob: ${Buffer.from(`pairsecret=${value}`).toString('base64')}\n`), { path: 'a.txt' });
    expect([encoded.reach, encoded.lacking]).toEqual([700, null]);
  });

  it("a delta settled by regions inherits the candidates behind its base's reach where it copied them", () => {
    const line = (i: number) => `line ${String(i).padStart(5, '0')} of the file\n`;
    const base = Buffer.from(Array.from({ length: 400 }, (_, i) => line(i)).join(''));
    const n = base.length;
    const full = (oid: string, size: number) => ({
      oid,
      report: true,
      matches: [],
      mode: 'full' as const,
      size,
      scanned: 0,
      dirty: false,
      reach: 500,
      lacking: [1000, 1010, 500],
    });
    const planner = deltaPlanner(() => false);
    planner.plan({ oid: 'b', path: 'a.txt', data: base });
    planner.settle(full('b', n));
    // T: 3,000 bytes inserted at the start; the candidate moves to 4,000 with its window, so T goes by narrow regions
    const t = Buffer.concat([Buffer.from(Array.from({ length: 120 }, (_, i) => line(9000 + i)).join('')), base]);
    const shift = t.length - n;
    const tTask = planner.plan({ oid: 't', path: 'a.txt', data: t, delta: { baseOid: 'b', copies: [shift, t.length, 0] } });
    const width = (task: object) => ('regions' in task && task.regions ? (task.regions as number[]).reduce((w, x, i) => w + (i % 2 ? x : -x), 0) : Infinity);
    expect(width(tTask)).toBeLessThan(shift + 200);
    planner.settle({ oid: 't', report: true, matches: [], mode: 'regions', size: t.length, scanned: 0, dirty: false });
    // D, a delta of T: an edit 300 bytes after where the candidate now is (within its 500) calls for the reach
    const at = shift + 1300;
    const d = Buffer.concat([t.subarray(0, at), Buffer.from('pairid=x\n'), t.subarray(at)]);
    const near = planner.plan({ oid: 'd', path: 'a.txt', data: d, delta: { baseOid: 't', copies: [0, at, 0, at + 9, d.length, at] } });
    expect(width(near)).toBeGreaterThan(1000);
    // an edit at 1,300 (where the candidate was in the base, far from where it is in T) does not
    const e = Buffer.concat([t.subarray(0, 1300), Buffer.from('pairid=x\n'), t.subarray(1300)]);
    const far = planner.plan({ oid: 'e', path: 'a.txt', data: e, delta: { baseOid: 't', copies: [0, 1300, 0, 1309, e.length, 1300] } });
    expect(width(far)).toBeLessThan(200);
  });

  it('candidates lacking companions that commits add and take away at random distances: equals a full scan', async () => {
    // one detector (companion within 1,500 bytes) over plain filler, so a base's only hint is that detector's
    const word = (r: () => number, n: number) => Array.from({ length: n }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(r() * 36)]).join('');
    const r = rng(41);
    const paired = pairedEngine(1500);
    const int = (n: number) => Math.floor(r() * n);
    const files = Array.from({ length: 6 }, (_, i) => ({
      path: `conf/f${i}.txt`,
      lines: Array.from({ length: 200 + int(200) }, (_, k) => `  filler ${k} ${word(r, 8)}`),
    }));
    const commits: CommitSpec[] = [];
    for (let c = 0; c < 200; c++) {
      const f = files[int(files.length)]!;
      const op = r();
      const at = int(f.lines.length + 1);
      const ids = f.lines.flatMap((l, i) => (l.startsWith('pairid=') ? [i] : []));
      if (op < 0.1) f.lines.splice(at, 0, `pairsecret=${word(r, 20)}`);
      else if (op < 0.3) {
        // a companion 0 to ~3 KB from some candidate (or anywhere)
        const cands = f.lines.flatMap((l, i) => (l.startsWith('pairsecret=') ? [i] : []));
        const near = cands.length > 0 ? cands[int(cands.length)]! + (r() < 0.5 ? -1 : 1) * int(150) : at;
        f.lines.splice(Math.max(0, Math.min(f.lines.length, near)), 0, `pairid=${word(r, 10)}`);
      } else if (op < 0.7 && ids.length > 0) f.lines.splice(ids[int(ids.length)]!, 1);
      else if (op < 0.85) f.lines.splice(at, 1 + int(20));
      else f.lines.splice(at, 0, ...Array.from({ length: 1 + int(30) }, () => `  added ${word(r, 12)}`));
      commits.push({ id: `c${c}`, files: { [f.path]: f.lines.join('\n') + '\n' } });
    }
    const repo = await buildRepo({ bare: true, commits });
    await git(repo.dir, 'repack', '-adf', '--depth=50', '--window=250');
    const store = ObjectStore.open(repo.dir);
    const stats = newStats();
    const scan = (deltaAware: boolean, st?: DeltaScanStats) =>
      new Map([...scanPackDeltaAware(store, paired, { deltaAware }, st)].flatMap((b) => ('matches' in b ? [[b.oid, b.matches] as const] : [])));
    const reference = scan(false);
    const fast = scan(true, stats);
    store.close();
    expect([...fast]).toEqual([...reference]);
    // the fixture is meaningful: findings, and deltas scanned by regions
    expect([...reference.values()].flat().length).toBeGreaterThan(20);
    expect(stats.regions).toBeGreaterThan(20);
  });

  it("a region's standalone matches are the target's own; matches it cannot vouch for have the target scanned whole", async () => {
    const token = (seed: number) => generateSample(catalog.byId.get('github-pat-classic')!.def, rng(seed)).secret;
    const lines = Array.from({ length: 3000 }, (_, i) => `  const value${i} = compute(${i}, "config entry");`);
    const before = lines.join('\n') + '\n' + '// pad\n'.repeat(200);
    const edit = (at: Record<number, string>) => lines.map((l, i) => at[i] ?? l).join('\n') + '\n';
    // one new token mid-file: found by its region, offsets and lines as a full scan reports them, no rescan
    const one = await beforeAfter('src/app.js', before, edit({ 1700: `  const t = "${token(31)}"; // ci` }));
    expect(one.found.map((m) => [m.secret, m.line])).toEqual([[token(31), 1701]]);
    expect([one.stats.regions, one.stats.full]).toEqual([1, 1]);
    // two regions with matches (a decoded match there could repeat a plain one of the other): scanned whole
    const two = await beforeAfter('src/app.js', before, edit({ 300: `  const a = "${token(32)}";`, 2600: `  const b = "${token(33)}";` }));
    expect(two.found).toHaveLength(2);
    expect([two.stats.regions, two.stats.full]).toEqual([0, 2]);
    // a match with a companion (which may lie on a line outside the region): scanned whole
    const aws = generateSample(catalog.byId.get('aws-secret-access-key')!.def, rng(34)).text;
    const paired = await beforeAfter('src/app.js', before, edit({ 1500: aws.split('\n').join(' ') }));
    expect(paired.found.length).toBeGreaterThan(0);
    expect(paired.stats.full).toBe(2);
  });

  it("a decoded match in a region is not taken as the target's: the full scan's decode budget may run out before it", async () => {
    const def = catalog.byId.get('github-pat-classic')!.def;
    const tok = generateSample(def, rng(41)).secret;
    // each line a base64 value the engine decodes (it holds a base64 form of the keyword `ghp_`), ~70 bytes decoded
    const noise = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => `  ${tag}${i}: ${Buffer.from(`ghp_ marks a classic token; note ${i} of the setup guide`).toString('base64')}`);
    const filler = Array.from({ length: 60 }, (_, i) => `  unrelated line ${i}`);
    // the base decodes 25 noise values within a 2,000-byte budget; the target adds 15 more first and, 60 lines on,
    // a base64 GITHUB_TOKEN: its region decodes it, a full scan runs out of budget before it
    const before = [...noise(25, 'a'), ...filler, ...filler].join('\n') + '\n' + '# pad\n'.repeat(300);
    const secretLine = `  blob_final: ${Buffer.from(`export GITHUB_TOKEN=${tok}`).toString('base64')}`;
    const after = [...noise(25, 'a'), ...noise(15, 'b'), ...filler, secretLine, ...filler].join('\n') + '\n';
    const small = createEngine(catalog, { decodeBudget: 2000 });
    // the fixture is meaningful: the region alone finds the decoded token, the whole blob does not
    expect(small.scan(Buffer.from(`${secretLine}\n`), { path: 'ci/env.yaml' }).map((m) => m.decoded)).toEqual([['base64']]);
    const { found, stats } = await beforeAfter('ci/env.yaml', before, after, small);
    expect(found).toEqual([]);
    expect(stats.full).toBe(2);
  });

  it('a base whose full scan ran out of decode budget vouches for nothing: a secret the budget reaches in its delta is found', async () => {
    const def = catalog.byId.get('github-pat-classic')!.def;
    const token = generateSample(def, rng(21)).secret;
    // each line a base64 value the engine decodes (it holds a base64 form of the keyword `ghp_`), ~70 bytes decoded
    const noise = Array.from(
      { length: 40 },
      (_, i) => `  blob${i}: ${Buffer.from(`ghp_ marks a classic token; note ${i} of the setup guide`).toString('base64')}`,
    );
    const secretLine = `  blob_final: ${Buffer.from(`export GITHUB_TOKEN=${token}`).toString('base64')}`;
    const tail = Array.from({ length: 60 }, (_, i) => `  unrelated line ${i}`);
    // the base decodes the 40 noise values first and runs out of a 2,000-byte budget before the last one; the
    // target drops 35 of them (the budget then reaches it) and the padding makes git store the target as the delta
    const before = [...noise, secretLine, ...tail].join('\n') + '\n' + '# pad\n'.repeat(300);
    const after = [...noise.slice(35), secretLine, ...tail].join('\n') + '\n';
    const small = createEngine(catalog, { decodeBudget: 2000 });
    const { found, all } = await beforeAfter('ci/env.yaml', before, after, small);
    // the fixture is meaningful: only the target's full scan reaches the secret
    expect(found.map((m) => [m.detectorId, m.secret, m.decoded])).toEqual([[def.id, token, ['base64']]]);
    expect(all).toHaveLength(1);
  });

  it('a blob over 512 KiB is scanned by regions too: a one-line edit reads that line', async () => {
    const lines = Array.from({ length: 24000 }, (_, i) => `  const value${i} = compute(${i}, "config entry");`);
    const v1 = lines.join('\n') + '\n';
    const v2 = [...lines.slice(0, 12000), '  const changed = compute(1, "edited");', ...lines.slice(12001)].join('\n') + '\n';
    expect(v2.length).toBeGreaterThan(1 << 20);
    const { stats } = await beforeAfter('src/big.js', v1 + '// pad\n'.repeat(100), v2);
    expect(stats.regions).toBe(1);
    expect(stats.scannedBytes - (v1.length + 700)).toBeLessThan(1000);
  });

  /**
   * Scans a two-commit history delta-aware and whole (with `eng`); both must agree. `afterPath`: the second commit
   * moves the file there.
   */
  async function beforeAfter(path: string, before: string, after: string, eng: Engine = engine, afterPath = path) {
    const r = await buildRepo({
      bare: true,
      commits: [
        { id: 'a', files: { [path]: before } },
        { id: 'b', files: { [path]: afterPath === path ? after : null, ...(afterPath === path ? {} : { [afterPath]: after }) } },
      ],
    });
    await git(r.dir, 'repack', '-adf', '--depth=50', '--window=250');
    const afterOid = (await git(r.dir, 'rev-parse', `${r.sha.b}:${afterPath}`)).toString().trim();
    const store = ObjectStore.open(r.dir);
    const delta = [...store.blobs()].find((b) => b.oid === afterOid);
    store.close();
    // the fixture is meaningful only if git stored the new version as a delta of the old one
    expect(delta && 'delta' in delta && delta.delta).toBeTruthy();
    const paths = new Map([...(await pathsOf(r.dir))].filter(([, p]) => p === path || p === afterPath));
    const stats = newStats();
    const fast = run(r.dir, paths, true, stats, eng);
    const reference = run(r.dir, paths, false, newStats(), eng);
    expect([...fast]).toEqual([...reference]);
    return { stats, found: fast.get(afterOid) ?? [], all: [...reference.values()].flat() };
  }

  it('a file moved to a path of the same class goes by regions; to another class (other filters), whole', async () => {
    const code = Array.from({ length: 400 }, (_, i) => `    const step${i} = run(options, ${i});`);
    // dropped in code (an expression, not a literal: filter-table `code-shape`), a finding in a text file
    const decoy = "    const urlPassword = urlAuth[1] || '';";
    const before = [decoy, ...code].join('\n') + '\n' + '// pad\n'.repeat(100);
    const after = [decoy, ...code.slice(0, 300), '    const edited = 1;', ...code.slice(301)].join('\n') + '\n';
    const same = await beforeAfter('lib/adapters/http.js', before, after, engine, 'src/net.js');
    expect(same.found).toEqual([]);
    expect([same.stats.regions, same.stats.full]).toEqual([1, 1]);
    // a base clean for code vouches nothing for a text file: the target is scanned whole and the value found
    const other = await beforeAfter('lib/adapters/http.js', before, after, engine, 'docs/http.md');
    expect(other.found.map((m) => [m.detectorId, m.secret])).toEqual([['generic-password-assignment', 'urlAuth[1]']]);
    expect([other.stats.regions, other.stats.full]).toEqual([0, 2]);
  });

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

  it('a .netrc entry completed lines away from its `machine` line: the multiline gate has the delta scanned whole', async () => {
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
      [
        '{ "cells": [ { "cell_type": "code", "source": [',
        ...code,
        ...ls.map((l, i) => `    ${JSON.stringify(l + '\n')}${i < ls.length - 1 ? ',' : ''}`),
        '] } ] }',
      ].join('\n') + '\n';
    // the old version lacks the END line (no key in it) and carries padding, so git stores the new one as its delta
    const before = cell(pem.slice(0, -1)) + ' '.repeat(400) + '\n';
    const after = cell(pem);
    const { stats, found } = await beforeAfter('notebooks/setup.ipynb', before, after);
    expect(found.map((m) => [m.detectorId, m.decoded, m.secret.split('\n').length])).toEqual([['private-key-ec', ['json-string'], pem.length]]);
    expect(stats.full).toBe(2);
  });

  it("a notebook cell whose lines decode to backslashes (a second decoding level's input) is cleared by the gate when nothing decodes to a key", async () => {
    // string literals continued across lines whose decoded text holds backslashes and long identifiers
    const code = Array.from({ length: 300 }, (_, i) => `    "path_${i} = \\"C:\\\\build\\\\step_${i}_configuration_directory\\"\\n",`);
    const cell = (ls: string[]) => ['{ "cells": [ { "cell_type": "code", "source": [', ...ls, '    "done = True\\n"', '] } ] }'].join('\n') + '\n';
    const before = cell(code) + ' '.repeat(400) + '\n';
    const after = cell([...code.slice(0, 150), '    "edited = 1\\n",', ...code.slice(151)]);
    const { stats, found } = await beforeAfter('notebooks/paths.ipynb', before, after);
    expect(found).toEqual([]);
    // before the gate decoded the second level itself, any backslash there had the delta scanned whole
    expect(stats.regions).toBe(1);
  });

  it('a PEM key base64-encoded in pieces across notebook lines (two decoding levels) has the delta scanned whole', async () => {
    const r = rng(9);
    const body = Buffer.from(Array.from({ length: 1152 }, () => Math.floor(r() * 256))).toString('base64');
    const armor = (edge: string) => `-----${edge} EC PRIVATE KEY-----`;
    const pem = [armor('BEGIN'), ...(body.match(/.{1,64}/g) ?? []), armor('END')].join('\n') + '\n';
    const pieces = Buffer.from(pem)
      .toString('base64')
      .match(/.{1,76}/g)!;
    const cell = (ls: string[]) =>
      ['{ "cells": [ { "cell_type": "code", "source": [', '    "key_b64 = (\\n",', ...ls.map((l) => `    "${l}",`), '    ")\\n"', '] } ] }'].join('\n') + '\n';
    // the old version lacks the last pieces (no END line once decoded) and carries padding, so git stores the new one as its delta
    const before = cell(pieces.slice(0, -3)) + ' '.repeat(400) + '\n';
    const after = cell(pieces);
    const { stats, found } = await beforeAfter('notebooks/key.ipynb', before, after);
    expect(found.map((m) => [m.detectorId, m.decoded])).toEqual([['private-key-ec', ['json-string', 'base64']]]);
    expect(stats.full).toBe(2);
  });

  it("the multiline gate searches a delta of a blob clear of its literals only around the delta's changes, and still finds a key completed there", () => {
    const gate = multilineGate(catalog);
    const calls: (number[] | undefined)[] = [];
    const planner = deltaPlanner((data, changed) => {
      calls.push(changed && Array.from(changed));
      return gate(data, changed);
    });
    const lines = Array.from({ length: 400 }, (_, i) => `  step_${i} = run(${i})`).join('\n') + '\n';
    const base = Buffer.from(lines);
    const n = base.length;
    const pem = generateSample(catalog.byId.get('private-key-rsa')!.def, rng(4)).text;
    // the key's armor split across the seam: `-----BEG` is copied from the base's end, the rest inserted
    const head = '-----BEG';
    const withHead = Buffer.concat([base, Buffer.from(head)]);
    const tail = Buffer.from(pem.slice(head.length));
    const isRegion = (t: object) => 'regions' in t && t.regions !== undefined;
    planner.plan({ oid: 'base', path: 'a.py', data: base });
    expect(calls).toEqual([]);
    // its base never went through the gate: searched whole, and found clear
    expect(isRegion(planner.plan({ oid: 'first', path: 'a.py', data: withHead, delta: { baseOid: 'base', copies: [0, n, 0] } }))).toBe(true);
    expect(calls).toEqual([undefined]);
    // a delta of the clear one that completes the key: searched around its change only, found, scanned whole
    const keyed = Buffer.concat([withHead, tail]);
    const whole = planner.plan({ oid: 'keyed', path: 'a.py', data: keyed, delta: { baseOid: 'first', copies: [0, withHead.length, 0] } });
    expect(calls[1]).toEqual([withHead.length, keyed.length]);
    expect(isRegion(whole)).toBe(false);
    // a harmless edit of the clear one: searched around the change, by regions
    const edited = Buffer.concat([withHead, Buffer.from(' done\n')]);
    expect(isRegion(planner.plan({ oid: 'edited', path: 'a.py', data: edited, delta: { baseOid: 'first', copies: [0, withHead.length, 0] } }))).toBe(true);
    expect(calls[2]).toEqual([withHead.length, edited.length]);
  });

  it("a base's reach widens its deltas' regions; a delta planned before its base settled with a longer reach is planned again, wider", () => {
    const data = Buffer.from(Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n') + '\n');
    const n = data.length;
    // the target inserts 10 bytes at 5000 into a copy of the base
    const target = (oid: string) => ({ oid, path: 'a.txt', data, delta: { baseOid: 'base', copies: [0, 5000, 0, 5010, n, 5000] } });
    const result = (oid: string, mode: 'full' | 'regions', reach = 0) => ({
      oid,
      report: true,
      matches: [],
      mode,
      size: n,
      scanned: 0,
      dirty: false,
      ...(reach ? { reach } : {}),
    });
    const spans = (t: { regions?: number[] } | object) => ('regions' in t && t.regions ? t.regions : []);
    for (const reach of [0, 3000]) {
      const planner = deltaPlanner(() => false);
      planner.plan({ oid: 'base', path: 'a.txt', data: Buffer.alloc(n - 10, 0x61) });
      // planned while the base is out: a margin for reach 0
      const early = planner.plan(target('early'));
      const [s0, e0] = spans(early);
      expect(e0! - s0!).toBeLessThan(200);
      expect(planner.settle(result('early', 'regions'))).toEqual({ done: [], redo: [] });
      const settled = planner.settle(result('base', 'full', reach));
      if (reach === 0) expect(settled.done.map((r) => r.oid)).toEqual(['base', 'early']);
      else {
        // held for a base whose candidates' companions may lie 3,000 bytes away: planned again, by regions that
        // take in that reach (not whole: the base is clean), and final once that result is back
        expect(settled.done.map((r) => r.oid)).toEqual(['base']);
        expect(settled.redo.map((j) => j.oid)).toEqual(['early']);
        const again = planner.planAgain(settled.redo[0]!);
        const [s2, e2] = spans(again);
        expect(s2).toBeLessThanOrEqual(5000 - DELTA_MARGIN - reach);
        expect(e2).toBeGreaterThanOrEqual(5010 + DELTA_MARGIN + reach);
        expect(e2! - s2!).toBeLessThan(n);
        expect(planner.settle(result('early', 'regions')).done.map((r) => r.oid)).toEqual(['early']);
        expect([planner.widened, planner.rescanned]).toEqual([1, 0]);
      }
      // planned after the base settled: the margin takes in its reach
      const [s1, e1] = spans(planner.plan(target('late')));
      expect(s1).toBeLessThanOrEqual(5000 - DELTA_MARGIN - reach);
      expect(e1).toBeGreaterThanOrEqual(5010 + DELTA_MARGIN + reach);
      // a clean region result of a base with that reach is final, and the target inherits the reach
      expect(planner.settle(result('late', 'regions')).done.map((r) => r.oid)).toEqual(['late']);
      const next = planner.plan({ ...target('next'), delta: { baseOid: 'late', copies: [0, 5000, 0, 5010, n, 5000] } });
      expect(spans(next)[0]).toBeLessThanOrEqual(5000 - DELTA_MARGIN - reach);
    }
  });

  it('a base known by its matches vouches only for deltas scanned its way (for any path, or for a path)', () => {
    const data = Buffer.from(Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n') + '\n');
    const n = data.length;
    const match = { detectorId: 'github-pat-classic', secret: 'x', parts: {}, offset: 10, line: 2, column: 1, pathClasses: 1 };
    const known = { oid: 'base', report: true, matches: [match], mode: 'full' as const, size: n - 10, scanned: 0, dirty: true, known: true };
    const target = (oid: string, anyPath: boolean) => ({
      oid,
      path: 'a.txt',
      ...(anyPath ? { anyPath } : {}),
      data,
      delta: { baseOid: 'base', copies: [0, 5000, 0, 5010, n, 5000] },
    });
    const clean = (oid: string) => ({ oid, report: true, matches: [], mode: 'regions' as const, size: n, scanned: 0, dirty: false });
    const planner = deltaPlanner(() => false);
    planner.plan({ oid: 'base', path: '', anyPath: true, data: Buffer.alloc(n - 10, 0x61) });
    // planned while the base is out: by regions, for a path and for any path
    expect('regions' in planner.plan(target('forPath', false))).toBe(true);
    expect('regions' in planner.plan(target('anyPath', true))).toBe(true);
    planner.settle(clean('forPath'));
    planner.settle(clean('anyPath'));
    const settled = planner.settle(known);
    // its matches hold path classes: they carry over to the delta scanned for any path only; the other is scanned
    // again whole (not by wider regions, which would be held and handed back for ever)
    expect(settled.done.map((r) => [r.oid, r.matches.length])).toEqual([
      ['base', 1],
      ['anyPath', 1],
    ]);
    expect(settled.redo.map((j) => j.oid)).toEqual(['forPath']);
    expect('regions' in planner.planAgain(settled.redo[0]!)).toBe(false);
    // planned after it settled: whole for a path, by regions for any path
    expect('regions' in planner.plan(target('later', false))).toBe(false);
    expect('regions' in planner.plan(target('laterAny', true))).toBe(true);
  });

  it('a reach that would widen the regions over most of the blob has the delta scanned whole at once', () => {
    // 200 lines of 100 bytes: the change's own line is a region; widened by a reach of 12,000 they are most of it
    const data = Buffer.from(('x'.repeat(99) + '\n').repeat(200));
    const n = data.length;
    const job = (oid: string) => ({ oid, path: 'a.js', data, delta: { baseOid: 'base', copies: [0, 5000, 0, 5010, n, 5000] } });
    const planner = deltaPlanner(() => false);
    planner.plan({ oid: 'base', path: 'a.js', data: Buffer.alloc(n - 10, 0x61) });
    expect('regions' in planner.plan(job('early'))).toBe(true);
    planner.settle({ oid: 'early', report: true, matches: [], mode: 'regions', size: n, scanned: 0, dirty: false });
    const settled = planner.settle({ oid: 'base', report: true, matches: [], mode: 'full', size: n, scanned: 0, dirty: false, reach: 12000 });
    expect(settled.redo.map((j) => j.oid)).toEqual(['early']);
    // its regions would be most of the blob: whole, not by regions that would find the base's candidates again
    expect('regions' in planner.planAgain(settled.redo[0]!)).toBe(false);
    expect('regions' in planner.plan(job('late'))).toBe(false);
    expect([planner.widened, planner.rescanned]).toEqual([0, 1]);
  });

  it('a change on a one-line blob (a minified bundle, a source map) has it scanned whole at once: no gate, nothing held, nothing scanned twice', () => {
    const line = Buffer.from('x'.repeat(20000) + '\n');
    const n = line.length;
    const job = (oid: string, data = line) => ({ oid, path: 'a.min.js', data, delta: { baseOid: 'base', copies: [0, 5000, 0, 5010, n, 5000] } });
    let gated = 0;
    const planner = deltaPlanner(() => {
      gated++;
      return false;
    });
    planner.plan({ oid: 'base', path: 'a.min.js', data: Buffer.alloc(n - 10, 0x61) });
    // planned while the base is out: whole, not speculatively by a region that is the whole line
    expect('regions' in planner.plan(job('early'))).toBe(false);
    expect([gated, planner.speculative, planner.openCount]).toEqual([0, 0, 0]);
    // its full result is final at once; the base turning out dirty has nothing scanned again
    expect(planner.settle({ oid: 'early', report: true, matches: [], mode: 'full', size: n, scanned: n, dirty: false }).done.map((r) => r.oid)).toEqual([
      'early',
    ]);
    const settled = planner.settle({ oid: 'base', report: true, matches: [], mode: 'full', size: n - 10, scanned: 0, dirty: true });
    expect([settled.done.map((r) => r.oid), settled.redo]).toEqual([['base'], []]);
    // the same change on a blob of many lines: one line's region, and the gate decides
    const lines = Buffer.from(('x'.repeat(99) + '\n').repeat(200));
    planner.plan({ oid: 'base2', path: 'b.js', data: Buffer.alloc(lines.length - 10, 0x61) });
    const t = planner.plan({ oid: 'many', path: 'b.js', data: lines, delta: { baseOid: 'base2', copies: [0, 5000, 0, 5010, lines.length, 5000] } });
    expect([t.regions, gated]).toEqual([[4899, 5100], 1]);
  });

  it('regions equal the straightforward definition (each range searched for its line ends on its own) on random inputs', () => {
    const r = rng(3);
    for (let t = 0; t < 20000; t++) {
      const n = 1 + Math.floor(r() * 400);
      const nlp = [0, 0.01, 0.1, 0.5][Math.floor(r() * 4)]!;
      const data = Buffer.from(Array.from({ length: n }, () => (r() < nlp ? 10 : 97)));
      const copies: number[] = [];
      let at = Math.floor(r() * 3);
      while (at < n) {
        const l = Math.floor(r() * 40);
        const te = Math.min(n, at + l);
        copies.push(at, te, Math.floor(r() * 3) === 0 ? at + 5 : at);
        at = te + Math.floor(r() * 10);
      }
      const margin = Math.floor(r() * 30);
      const baseLength = n + Math.floor(r() * 3) - 1;
      expect(deltaRegions(data, baseLength, copies, margin), `${t}`).toEqual(regionsReference(data, baseLength, copies, margin));
    }
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
