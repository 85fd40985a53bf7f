// The two git backends agree on a generated history of many commits, branches and files. Their speed is
// measured by bench/suite-timings.ts, not asserted here.
import { describe, expect, it } from 'vitest';
import { IsomorphicGitObjects } from '../src/objects/isomorphic.js';
import { NativeGitObjects } from '../src/objects/native.js';
import { buildRepo, git, syntheticHistory } from '../testkit/git-repo.js';

// KEYLOOP_SCALE_COMMITS=5000 for a bigger history; small by default to spare the shared CI cores
const N = Number(process.env.KEYLOOP_SCALE_COMMITS ?? 1500);

describe('enumeration at scale', () => {
  it(`${N} commits on 4 branches: isomorphic enumerates exactly what native does`, async () => {
    const r = await buildRepo({ bare: true, commits: syntheticHistory(N, { files: 400, branches: 4 }) });
    if (process.env.KEYLOOP_SCALE_GC) await git(r.dir, 'gc', '-q');
    const n = await new NativeGitObjects({ gitDir: r.gitDir }).enumerate({ kind: 'all' });
    const i = await new IsomorphicGitObjects({ gitDir: r.gitDir }).enumerate({ kind: 'all' });
    expect(n.commits).toBe(N);
    expect(n.blobs).toHaveLength(N); // one new blob per commit
    expect(i).toEqual(n);
  });
});
