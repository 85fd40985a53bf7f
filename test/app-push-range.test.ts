// Push-range logic on real git repos: an upstream bare repo, a working clone that pushes, the App's mirror.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { PushJob } from '../src/app/events.js';
import { ZERO_SHA } from '../src/core/git-names.js';
import { GitMirrors } from '../src/sources/push-mirror.js';
import { planPush } from '../src/sources/push-range.js';
import { NativeGitObjects } from '../src/objects/native.js';
import { buildRepo, git, tempDir } from '../testkit/git-repo.js';

interface World {
  upstream: string;
  work: string;
  mirrors: GitMirrors;
}

async function world(): Promise<World> {
  const up = await buildRepo({
    bare: true,
    commits: [
      { id: 'c1', files: { 'README.md': 'hello\n', 'src/app.js': 'console.log(1)\n' } },
      { id: 'c2', files: { 'src/app.js': 'console.log(2)\n' } },
    ],
  });
  const work = path.join(await tempDir('keyloop-work-'), 'w');
  await git(path.dirname(work), 'clone', '-q', up.gitDir, work);
  return { upstream: up.gitDir, work, mirrors: new GitMirrors(await tempDir('keyloop-mirrors-')) };
}

async function commit(w: World, files: Record<string, string>, msg: string): Promise<string> {
  for (const [p, c] of Object.entries(files)) {
    await writeFile(path.join(w.work, p), c);
    await git(w.work, 'add', p);
  }
  await git(w.work, 'commit', '-q', '-m', msg);
  return git(w.work, 'rev-parse', 'HEAD');
}

function job(over: Partial<PushJob>): PushJob {
  return {
    kind: 'push',
    repo: { fullName: 'acme/app', private: true },
    installationId: 1,
    ref: 'refs/heads/main',
    before: ZERO_SHA,
    after: ZERO_SHA,
    created: false,
    deleted: false,
    forced: false,
    ...over,
  };
}

/** The paths of every blob the plan selects (sorted), via the real native adapter. */
async function selectedPaths(gitDir: string, j: PushJob, known: Map<string, string>): Promise<string[] | string> {
  const plan = await planPush(gitDir, j, known);
  if (!plan.scan) return plan.reason;
  const objects = new NativeGitObjects({ gitDir });
  const en = await objects.enumerate(plan.selection);
  await objects.close();
  return en.blobs.flatMap((b) => b.origins.map((o) => `${o.path}@${o.subject}`)).sort();
}

const src = (w: World) => ({ fullName: 'acme/app', cloneUrl: w.upstream });

describe('planPush', () => {
  let w: World;
  beforeEach(async () => {
    w = await world();
    await w.mirrors.sync(src(w)); // warm mirror: main at c2 is known
  });

  it('an ordinary push scans exactly the blobs its commits introduced', async () => {
    const before = await git(w.work, 'rev-parse', 'HEAD');
    await commit(w, { 'config.env': 'TOKEN=one\n' }, 'p1');
    const after = await commit(w, { 'config.env': 'TOKEN=two\n', 'notes.txt': 'n\n' }, 'p2');
    await git(w.work, 'push', '-q', 'origin', 'main');
    const m = await w.mirrors.sync(src(w));
    expect(m.refsBefore.get('refs/heads/main')).toBe(before);
    expect(m.refsAfter.get('refs/heads/main')).toBe(after);
    expect(await selectedPaths(m.gitDir, job({ before, after }), m.refsBefore)).toEqual(['config.env@p1', 'config.env@p2', 'notes.txt@p2']);
  });

  it('a new branch scans only commits not reachable from refs known before it', async () => {
    await git(w.work, 'checkout', '-q', '-b', 'feature');
    const after = await commit(w, { 'feature.env': 'KEY=x\n' }, 'f1');
    await git(w.work, 'push', '-q', 'origin', 'feature');
    const m = await w.mirrors.sync(src(w));
    const j = job({ ref: 'refs/heads/feature', before: ZERO_SHA, after, created: true });
    expect(await selectedPaths(m.gitDir, j, m.refsBefore)).toEqual(['feature.env@f1']);
  });

  it('a new branch at an existing commit scans nothing', async () => {
    const head = await git(w.work, 'rev-parse', 'HEAD');
    await git(w.work, 'push', '-q', 'origin', 'HEAD:refs/heads/copy');
    const m = await w.mirrors.sync(src(w));
    expect(await selectedPaths(m.gitDir, job({ ref: 'refs/heads/copy', after: head, created: true }), m.refsBefore)).toEqual([]);
  });

  it('two branches created at once on the same new commits: the first processed scans them, the second does not rescan', async () => {
    await git(w.work, 'checkout', '-q', '-b', 'b1');
    const x = await commit(w, { 'shared.env': 'K=1\n' }, 'x');
    await git(w.work, 'push', '-q', 'origin', 'b1', 'b1:b2');
    const m1 = await w.mirrors.sync(src(w)); // brings both b1 and b2
    expect(await selectedPaths(m1.gitDir, job({ ref: 'refs/heads/b1', after: x, created: true }), m1.refsBefore)).toEqual(['shared.env@x']);
    const m2 = await w.mirrors.sync(src(w));
    expect(await selectedPaths(m2.gitDir, job({ ref: 'refs/heads/b2', after: x, created: true }), m2.refsBefore)).toEqual([]);
  });

  it('a force push scans only the rewritten commits, not the old ones nor history shared with other refs', async () => {
    const base = await git(w.work, 'rev-parse', 'HEAD');
    const old = await commit(w, { 'old.env': 'A=1\n' }, 'old');
    await git(w.work, 'push', '-q', 'origin', 'main');
    await w.mirrors.sync(src(w));
    await git(w.work, 'reset', '-q', '--hard', base);
    const rewritten = await commit(w, { 'new.env': 'A=2\n' }, 'rewritten');
    await git(w.work, 'push', '-q', '--force', 'origin', 'main');
    const m = await w.mirrors.sync(src(w));
    const j = job({ before: old, after: rewritten, forced: true });
    expect(await selectedPaths(m.gitDir, j, m.refsBefore)).toEqual(['new.env@rewritten']);
  });

  it('a branch deletion scans nothing', async () => {
    await git(w.work, 'push', '-q', 'origin', 'HEAD:refs/heads/gone');
    const m0 = await w.mirrors.sync(src(w));
    const before = m0.refsAfter.get('refs/heads/gone')!;
    await git(w.work, 'push', '-q', 'origin', ':refs/heads/gone');
    const m = await w.mirrors.sync(src(w));
    expect(m.refsAfter.has('refs/heads/gone')).toBe(false);
    expect(await selectedPaths(m.gitDir, job({ ref: 'refs/heads/gone', before, after: ZERO_SHA, deleted: true }), m.refsBefore)).toBe('branch-deleted');
  });

  it('a pushed commit missing from the mirror is a host error (retried), not an empty scan', async () => {
    const m = await w.mirrors.sync(src(w));
    await expect(planPush(m.gitDir, job({ before: m.refsAfter.get('refs/heads/main')!, after: 'f'.repeat(40) }), m.refsBefore)).rejects.toThrow(/not in the mirror/);
  });
});
