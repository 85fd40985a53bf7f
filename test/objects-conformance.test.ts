// Both GitObjects adapters over the same fixture repos must agree exactly: enumerations and blob bytes.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BlobSelection, GitObjects } from '../src/core/ports.js';
import { IsomorphicGitObjects } from '../src/objects/isomorphic.js';
import { NativeGitObjects } from '../src/objects/native.js';
import { locateRepo, openRepo } from '../src/objects/open.js';
import { buildRepo, git, tempDir, type BuiltRepo, type RepoSpec } from '../testkit/git-repo.js';

const ann = (date: string) => ({ name: 'Ann Ng', email: 'ann@example.test', date });
const bob = (date: string) => ({ name: 'Bøb Ü', email: 'bob@example.test', date });
const fakeKey = () => 'kl_test_' + Buffer.from(Array.from({ length: 18 }, (_, i) => (i * 37 + Date.now()) % 256)).toString('hex');

function historySpec(secret: string): RepoSpec {
  return {
    commits: [
      { id: 'c0', files: { 'README.md': '# demo\n', 'src/app.js': 'console.log(1)\n' }, author: ann('2024-01-01T10:00:00+02:00'), message: 'initial\n\nbody text' },
      { id: 'c1', files: { '.env': `TOKEN=${secret}\n`, 'img/logo.bin': Buffer.from([0, 255, 1, 254, 0, 0, 7]) }, author: bob('2024-01-02T10:00:00-05:00'), message: 'add config  \nsecond line' },
      { id: 'c2', files: { '.env': null, 'src/app.js': 'console.log(2)\n' }, author: ann('2024-01-03T10:00:00Z'), message: 'remove secret' },
      { id: 'f1', branch: 'feature', parents: ['c1'], files: { 'src/app.js': 'feature()\n', 'docs/ünï cødé.md': 'unicode path\n' }, author: bob('2024-01-04T10:00:00Z') },
      { id: 'f2', branch: 'feature', files: { 'src/moved.js': 'feature()\n', 'src/app.js': null }, author: bob('2024-01-05T10:00:00Z'), message: 'rename' },
      // conflict resolution: app.js differs from both parents; README.md equals the first parent's
      { id: 'm1', parents: ['c2', 'f2'], files: { 'src/moved.js': 'resolved()\n', 'link': { symlink: 'README.md' } }, message: 'merge feature' },
      { id: 'u1', branch: 'unmerged', parents: ['c0'], files: { 'wip/secret.txt': `pw=${secret}x\n` }, author: ann('2023-12-31T23:00:00-01:00') },
      { id: 'p1', branch: 'tmp-pr', parents: ['c2'], files: { 'pr.txt': 'pull request only\n' } },
      { id: 'sub', parents: ['m1'], files: { vendor: { gitlink: 'a'.repeat(40) }, 'same-as-readme.md': '# demo\n' } },
      { id: 'r2', branch: 'orphan', parents: [], files: { 'orphan.txt': 'root two\n' } },
    ],
    tags: { v1: 'c1', 'v2-annotated': { target: 'm1', message: 'release' } },
    refs: { 'refs/pull/1/head': 'p1', 'refs/remotes/origin/old': 'u1' },
    head: 'main',
  };
}

async function both(gitDir: string): Promise<[GitObjects, GitObjects]> {
  return [new NativeGitObjects({ gitDir }), new IsomorphicGitObjects({ gitDir })];
}

async function readAll(o: GitObjects, oids: string[], maxBlobSize = 1 << 20) {
  const out: Record<string, string> = {};
  for await (const r of o.read(oids, { maxBlobSize })) out[r.oid] = 'data' in r ? r.data.toString('base64') : `${r.error}:${r.size ?? ''}`;
  return out;
}

async function expectSame(gitDir: string, selections: BlobSelection[]) {
  const [n, i] = await both(gitDir);
  for (const sel of selections) {
    const a = await n.enumerate(sel);
    const b = await i.enumerate(sel);
    expect(b, `selection ${JSON.stringify(sel)}`).toEqual(a);
    const oids = a.blobs.map((x) => x.oid);
    expect(await readAll(i, oids)).toEqual(await readAll(n, oids));
  }
  return n;
}

describe('GitObjects conformance (native vs isomorphic)', () => {
  it('history with branches, tags, merges, renames, binaries, pull refs, unicode, symlinks, gitlinks', async () => {
    const secret = fakeKey();
    const r = await buildRepo(historySpec(secret));
    const n = await expectSame(r.gitDir, [
      { kind: 'all' },
      { kind: 'head' },
      { kind: 'range', to: 'main', exclude: [r.sha.c0!] },
      { kind: 'range', to: 'feature', exclude: ['main'] },
      { kind: 'range', to: 'v2-annotated', exclude: [] },
    ]);
    const all = await n.enumerate({ kind: 'all' });
    expect(all.commits).toBe(10);
    expect(all.problems).toEqual([]);
    const env = all.blobs.find((b) => b.oid === execHash(`TOKEN=${secret}\n`))!;
    expect(env.origins).toEqual([
      { commit: r.sha.c1, author: { name: 'Bøb Ü', email: 'bob@example.test' }, date: '2024-01-02T15:00:00.000Z', subject: 'add config second line', path: '.env' },
    ]);
    // the unmerged branch and the pull ref are enumerated
    expect(all.blobs.some((b) => b.origins.some((o) => o.path === 'wip/secret.txt'))).toBe(true);
    expect(all.blobs.some((b) => b.origins.some((o) => o.path === 'pr.txt'))).toBe(true);
    // rename: same blob, new path in f2, then at the merge only the conflict resolution is new
    const feat = all.blobs.find((b) => b.oid === execHash('feature()\n'))!;
    expect(feat.origins.map((o) => [o.commit, o.path])).toEqual([[r.sha.f1, 'src/app.js'], [r.sha.f2, 'src/moved.js']]);
    const mergeOrigins = all.blobs.flatMap((b) => b.origins.filter((o) => o.commit === r.sha.m1).map((o) => o.path)).sort();
    expect(mergeOrigins).toEqual(['link', 'src/moved.js']);
    // same content under a new path counts once per path; gitlinks never count
    expect(all.blobs.find((b) => b.oid === execHash('# demo\n'))!.origins.map((o) => o.path).sort()).toEqual(['README.md', 'same-as-readme.md']);
    expect(all.blobs.some((b) => b.origins.some((o) => o.path === 'vendor'))).toBe(false);
    expect(all.blobs.some((b) => b.origins.some((o) => o.path === 'docs/ünï cødé.md'))).toBe(true);
    // the deleted secret is not in HEAD
    const head = await n.enumerate({ kind: 'head' });
    expect(head.blobs.some((b) => b.oid === env.oid)).toBe(false);
    const range = await n.enumerate({ kind: 'range', to: 'feature', exclude: ['main'] });
    expect(range.blobs.flatMap((b) => b.origins.map((o) => o.commit)).sort()).toEqual([]); // feature is merged into main
    const pr = await n.enumerate({ kind: 'range', to: 'refs/pull/1/head', exclude: ['main'] });
    expect(pr.blobs.map((b) => b.origins[0]!.path)).toEqual(['pr.txt']);
  });

  it('bare mirror clone and packed objects/refs', async () => {
    const r = await buildRepo(historySpec(fakeKey()));
    const mirror = path.join(await tempDir(), 'mirror.git');
    await git(r.dir, 'clone', '-q', '--mirror', r.dir, mirror);
    await git(mirror, 'gc', '-q');
    expect(locateRepo(mirror)).toEqual({ gitDir: mirror, workTree: null });
    const n = await expectSame(mirror, [{ kind: 'all' }, { kind: 'head' }, { kind: 'range', to: 'main', exclude: ['v1'] }]);
    const orig = await new NativeGitObjects({ gitDir: r.gitDir }).enumerate({ kind: 'all' });
    expect(await n.enumerate({ kind: 'all' })).toEqual(orig);
  });

  it('empty repo and staged changes', async () => {
    const empty = await buildRepo({});
    await expectSame(empty.gitDir, [{ kind: 'all' }, { kind: 'head' }, { kind: 'staged' }]);
    expect((await new NativeGitObjects({ gitDir: empty.gitDir }).enumerate({ kind: 'all' })).blobs).toEqual([]);

    const r = await buildRepo({
      commits: [{ id: 'c0', files: { 'a.txt': 'a\n', 'b.txt': 'b\n' } }],
      staged: { 'a.txt': 'a changed\n', 'new/n.txt': 'new\n', 'b.txt': null },
      unstaged: { 'wip.txt': 'not staged\n' },
    });
    const n = await expectSame(r.gitDir, [{ kind: 'staged' }]);
    const st = await n.enumerate({ kind: 'staged' });
    expect(st.blobs.map((b) => b.origins.map((o) => o.path)).flat().sort()).toEqual(['a.txt', 'new/n.txt']);
    expect(st.blobs[0]!.origins[0]!.commit).toBe('');
    // a first commit's staged files (no HEAD yet)
    const fresh = await buildRepo({ staged: { 'x.txt': 'x\n' } });
    await expectSame(fresh.gitDir, [{ kind: 'staged' }]);
  });
});

describe('damaged repositories and limits', () => {
  /** Small fast-imports are exploded into loose objects (fastimport.unpackLimit), which we can damage one by one. */
  async function looseRepo(): Promise<{ r: BuiltRepo; victim: string; other: string }> {
    const r = await buildRepo({ commits: [{ id: 'c0', files: { 'victim.txt': 'victim content\n', 'other.txt': 'other content\n' } }] });
    const victim = execHash('victim content\n');
    expect(existsSync(path.join(r.gitDir, 'objects', victim.slice(0, 2), victim.slice(2)))).toBe(true);
    return { r, victim, other: execHash('other content\n') };
  }

  it('missing blob: enumeration reports a problem and goes on; read yields missing-object', async () => {
    const { r, victim, other } = await looseRepo();
    await rm(path.join(r.gitDir, 'objects', victim.slice(0, 2), victim.slice(2)));
    for (const o of await both(r.gitDir)) {
      const e = await o.enumerate({ kind: 'all' });
      expect(e.blobs.map((b) => b.oid)).toEqual([other]);
      expect(e.problems).toEqual([expect.objectContaining({ kind: 'missing-object', oid: victim })]);
      const reads = await readAll(o, [victim, other]);
      expect(reads[victim]).toBe('missing-object:');
      expect(Buffer.from(reads[other]!, 'base64').toString()).toBe('other content\n');
    }
  });

  it('corrupt blob: read yields corrupt-object and goes on', async () => {
    const { r, victim, other } = await looseRepo();
    const file = path.join(r.gitDir, 'objects', victim.slice(0, 2), victim.slice(2));
    await chmod(file, 0o644);
    const bytes = await readFile(file);
    await writeFile(file, Buffer.concat([bytes.subarray(0, 4), Buffer.from('garbage that is not zlib')]));
    for (const o of await both(r.gitDir)) {
      const reads = await readAll(o, [victim, other]);
      expect(reads[victim], o.backend).toMatch(/^(corrupt-object|missing-object):/);
      expect(Buffer.from(reads[other]!, 'base64').toString()).toBe('other content\n');
    }
  });

  it('maxBlobSize: large blobs are not read but reported with their size', async () => {
    const big = 'x'.repeat(5000);
    const r = await buildRepo({ commits: [{ id: 'c0', files: { 'big.txt': big, 'small.txt': 'small' } }] });
    for (const o of await both(r.gitDir)) {
      const reads = await readAll(o, [execHash(big), execHash('small')], 1000);
      expect(reads[execHash(big)]).toBe('too-large:5000');
      expect(Buffer.from(reads[execHash('small')]!, 'base64').toString()).toBe('small');
    }
  });

  it('resolve: branches, tags (peeled), short and full shas, HEAD, unknown', async () => {
    const r = await buildRepo(historySpec(fakeKey()));
    for (const o of await both(r.gitDir)) {
      expect(await o.resolve('HEAD'), o.backend).toBe(r.sha.sub);
      expect(await o.resolve('feature')).toBe(r.sha.f2);
      expect(await o.resolve('v2-annotated')).toBe(r.sha.m1);
      expect(await o.resolve('refs/pull/1/head')).toBe(r.sha.p1);
      expect(await o.resolve(r.sha.c0!.slice(0, 10))).toBe(r.sha.c0);
      expect(await o.resolve('nope')).toBeNull();
      expect(await o.resolve('--output=x')).toBeNull();
      await expect(o.enumerate({ kind: 'range', to: 'nope', exclude: [] })).rejects.toThrow(/unknown revision 'nope'/);
    }
  });
});

describe('openRepo', () => {
  it('finds work trees, bare repos, .git files (worktrees) and rejects plain dirs', async () => {
    const r = await buildRepo({ commits: [{ id: 'c0', files: { 'a.txt': 'a\n' } }, { id: 'w1', branch: 'wt', parents: ['c0'], files: { 'b.txt': 'b\n' } }] });
    expect((await openRepo(r.dir, 'auto'))!.backend).toBe('native');
    expect((await openRepo(r.dir, 'isomorphic'))!.backend).toBe('isomorphic');
    const plain = await tempDir();
    expect(await openRepo(plain)).toBeNull();
    expect(await openRepo(path.join(plain, 'does-not-exist'))).toBeNull();
    const wt = path.join(await tempDir(), 'wt');
    await git(r.dir, 'worktree', 'add', '-q', wt, 'wt');
    expect(existsSync(path.join(wt, '.git'))).toBe(true);
    await writeFile(path.join(wt, 'staged.txt'), 'in the worktree\n');
    await git(wt, 'add', 'staged.txt');
    const n = (await openRepo(wt, 'native'))!;
    const i = (await openRepo(wt, 'isomorphic'))!;
    expect(await i.resolve('HEAD')).toBe(r.sha.w1);
    expect(await n.resolve('HEAD')).toBe(r.sha.w1);
    for (const sel of [{ kind: 'staged' }, { kind: 'head' }, { kind: 'all' }] as const) expect(await i.enumerate(sel)).toEqual(await n.enumerate(sel));
    expect((await n.enumerate({ kind: 'staged' })).blobs.map((b) => b.origins[0]!.path)).toEqual(['staged.txt']);
  });
});

function execHash(text: string): string {
  return execFileSync('git', ['hash-object', '--stdin'], { input: text }).toString().trim();
}
