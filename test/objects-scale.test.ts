// Enumeration speed and agreement on a generated 5k-commit history (times are printed for the report).
import { describe, expect, it } from 'vitest';
import { IsomorphicGitObjects } from '../src/objects/isomorphic.js';
import { NativeGitObjects } from '../src/objects/native.js';
import { buildRepo, git, syntheticHistory } from '../testkit/git-repo.js';

// KEYLOOP_SCALE_COMMITS=5000 for the figure in the report; small by default to spare the shared CI cores
const N = Number(process.env.KEYLOOP_SCALE_COMMITS ?? 1500);

describe('enumeration at scale', () => {
  it(`${N} commits: native in seconds, isomorphic agrees`, async () => {
    let t = Date.now();
    const r = await buildRepo({ bare: true, commits: syntheticHistory(N, { files: 400, branches: 4 }) });
    if (process.env.KEYLOOP_SCALE_GC) await git(r.dir, 'gc', '-q');
    const built = Date.now() - t;
    t = Date.now();
    const n = await new NativeGitObjects({ gitDir: r.gitDir }).enumerate({ kind: 'all' });
    const native = Date.now() - t;
    t = Date.now();
    const i = await new IsomorphicGitObjects({ gitDir: r.gitDir }).enumerate({ kind: 'all' });
    const iso = Date.now() - t;
    console.log(`${N} commits, ${n.blobs.length} blobs: build+gc ${built} ms, native ${native} ms, isomorphic ${iso} ms`);
    expect(n.commits).toBe(N);
    expect(i).toEqual(n);
    expect(native).toBeLessThan(10_000);
  });
});
