// Enumeration read straight from the odb (refs → commits → trees, no git process) equals the native adapter's
// `git log -c --raw --all` enumeration: same blobs, sizes, origins (commit, author, date, subject, path), commits.
import { describe, expect, it } from 'vitest';
import { NativeGitObjects } from '../src/objects/native.js';
import { enumerateAll } from '../src/objects/pack/enumerate.js';
import { ObjectStore } from '../src/objects/pack/index.js';
import { buildRepo, git, syntheticHistory, type RepoSpec } from '../testkit/git-repo.js';

const ann = (date: string) => ({ name: 'Ann Ng', email: 'ann@example.test', date });
const bob = (date: string) => ({ name: 'Bøb Ü', email: 'bob@example.test', date });

const spec: RepoSpec = {
  commits: [
    { id: 'c0', files: { 'README.md': '# demo\n', 'src/app.js': 'console.log(1)\n' }, author: ann('2024-01-01T10:00:00+02:00'), message: 'initial\n\nbody text' },
    { id: 'c1', files: { '.env': 'TOKEN=x\n', 'img/logo.bin': Buffer.from([0, 255, 1, 254, 0, 0, 7]) }, author: bob('2024-01-02T10:00:00-05:00'), message: 'add config  \nsecond line' },
    { id: 'c2', files: { '.env': null, 'src/app.js': 'console.log(2)\n' }, author: ann('2024-01-03T10:00:00Z'), message: 'remove' },
    { id: 'f1', branch: 'feature', parents: ['c1'], files: { 'src/app.js': 'feature()\n', 'docs/ünï cødé.md': 'unicode path\n' }, author: bob('2024-01-04T10:00:00Z') },
    { id: 'f2', branch: 'feature', files: { 'src/moved.js': 'feature()\n', 'src/app.js': null }, author: bob('2024-01-05T10:00:00Z'), message: 'rename' },
    { id: 'm1', parents: ['c2', 'f2'], files: { 'src/moved.js': 'resolved()\n', link: { symlink: 'README.md' } }, message: 'merge feature' },
    { id: 'u1', branch: 'unmerged', parents: ['c0'], files: { 'wip/notes.txt': 'wip\n' }, author: ann('2023-12-31T23:00:00-01:00') },
    { id: 'p1', branch: 'tmp-pr', parents: ['c2'], files: { 'pr.txt': 'pull request only\n' } },
    { id: 'sub', parents: ['m1'], files: { vendor: { gitlink: 'a'.repeat(40) }, 'same-as-readme.md': '# demo\n', 'bin/run': { content: '#!/bin/sh\n', executable: true } } },
    { id: 'r2', branch: 'orphan', parents: [], files: { 'orphan.txt': 'root two\n' } },
  ],
  tags: { v1: 'c1', 'v2-annotated': { target: 'm1', message: 'release' } },
  refs: { 'refs/pull/1/head': 'p1', 'refs/remotes/origin/old': 'u1' },
  head: 'main',
};

async function compare(gitDir: string) {
  const native = await new NativeGitObjects({ gitDir }).enumerate({ kind: 'all' });
  const store = ObjectStore.open(gitDir);
  const fast = enumerateAll(store);
  store.close();
  expect(fast).not.toBeNull();
  expect(fast).toEqual(native);
  return native;
}

describe('enumeration from the pack', () => {
  it('equals the native adapter: branches, merges, renames, tags, pull refs, unicode, symlinks, gitlinks, loose + packed', async () => {
    const r = await buildRepo(spec);
    await git(r.dir, 'branch', '-D', 'tmp-pr');
    const loose = await compare(r.gitDir);
    expect(loose.blobs.length).toBeGreaterThan(8);
    await git(r.dir, 'gc', '-q', '--aggressive'); // packed objects and packed-refs
    await compare(r.gitDir);
  });

  it('equals the native adapter on a larger repacked history with deep delta chains', async () => {
    const r = await buildRepo({ bare: true, commits: syntheticHistory(400, { files: 30, branches: 4 }) });
    await git(r.dir, 'repack', '-adf', '--depth=50', '--window=50');
    const en = await compare(r.gitDir);
    expect(en.commits).toBeGreaterThanOrEqual(400);
  });

  it('gives up (null) on a shallow repository instead of guessing', async () => {
    const r = await buildRepo(spec);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${r.gitDir}/shallow`, (await git(r.dir, 'rev-parse', 'HEAD')) + '\n');
    const store = ObjectStore.open(r.gitDir);
    expect(enumerateAll(store)).toBeNull();
    store.close();
  });
});
