import { describe, expect, it } from 'vitest';
import { buildRepo, git, syntheticHistory } from '../testkit/git-repo.js';

describe('buildRepo', () => {
  it('builds branches, merges, tags, refs, staged state', async () => {
    const r = await buildRepo({
      commits: [
        { id: 'c0', files: { 'a.txt': 'one', 'dir/é b.txt': Buffer.from([0, 1, 2]) }, author: { name: 'Ann', email: 'ann@x.test', date: '2024-01-02T03:04:05+02:00' } },
        { id: 'x1', branch: 'feature', parents: ['c0'], files: { 'a.txt': 'feature' } },
        { id: 'c1', files: { 'a.txt': null, 'link': { symlink: 'dir/é b.txt' } } },
        { id: 'm', parents: ['c1', 'x1'], files: { 'a.txt': 'resolved' }, message: 'merge' },
      ],
      tags: { v1: 'c0', v2: { target: 'm', message: 'release' } },
      refs: { 'refs/pull/1/head': 'x1' },
      staged: { 'new.txt': 'staged' },
      unstaged: { 'wip.txt': 'x' },
    });
    expect(Object.keys(r.sha)).toEqual(['c0', 'x1', 'c1', 'm']);
    expect(await git(r.dir, 'rev-parse', 'HEAD')).toBe(r.sha.m);
    expect(await git(r.dir, 'rev-parse', `${r.sha.m}^2`)).toBe(r.sha.x1);
    expect(await git(r.dir, 'rev-parse', 'v2^{commit}')).toBe(r.sha.m);
    expect(await git(r.dir, 'rev-parse', 'refs/pull/1/head')).toBe(r.sha.x1);
    expect(await git(r.dir, 'show', `${r.sha.c0}:a.txt`)).toBe('one');
    expect(await git(r.dir, 'log', '-1', '--format=%an %aI', r.sha.c0!)).toBe('Ann 2024-01-02T03:04:05+02:00');
    expect(await git(r.dir, 'ls-tree', '--name-only', '-r', 'HEAD')).toContain('link');
    expect(await git(r.dir, 'status', '--porcelain')).toBe('A  new.txt\n?? wip.txt');
  });

  it('builds 500 commits with one fast-import: one pack, no loose objects', async () => {
    // What keeps big fixtures cheap is the single fast-import; how long it takes is measured by
    // `node dist/bench/suite-timings.js`, not asserted here.
    const r = await buildRepo({ bare: true, commits: syntheticHistory(500) });
    expect(await git(r.dir, 'rev-list', '--all', '--count')).toBe('500');
    const counts = Object.fromEntries((await git(r.dir, 'count-objects', '-v')).split('\n').map((l) => l.split(': ') as [string, string]));
    expect(counts).toMatchObject({ count: '0', packs: '1' });
  });

  it('builds an empty repo', async () => {
    const r = await buildRepo({});
    expect(await git(r.dir, 'rev-parse', '--is-inside-work-tree')).toBe('true');
    expect(r.sha).toEqual({});
  });
});
