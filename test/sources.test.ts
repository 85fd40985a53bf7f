// Plain-directory walking/reading and scan-target resolution.
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import { directorySource } from '../src/sources/directory-source.js';
import { readDirFiles, walkDir } from '../src/sources/local-dir.js';
import { parseRange, resolveTarget } from '../src/sources/resolve.js';
import { buildRepo, tempDir } from '../testkit/git-repo.js';

async function tree(files: Record<string, string>): Promise<string> {
  const root = await tempDir();
  for (const [p, c] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, p)), { recursive: true });
    await writeFile(path.join(root, p), c);
  }
  return root;
}

/** Runs `fn` with the effective uid of `nobody` when we are root, so permission bits apply. */
async function asUnprivileged<T>(fn: () => Promise<T>): Promise<T> {
  if (process.getuid?.() !== 0 || !process.seteuid) return fn();
  process.seteuid(65534);
  try {
    return await fn();
  } finally {
    process.seteuid(0);
  }
}

describe('walkDir', () => {
  it('honours nested .gitignore files, skips .git dirs, special files and symlinked dirs', async () => {
    const root = await tree({
      '.gitignore': '*.log\nbuild/\n',
      'a.txt': 'a',
      'debug.log': 'ignored',
      'build/out.js': 'ignored',
      'sub/.gitignore': '!keep.log\nlocal.txt\n',
      'sub/keep.log': 'kept by negation',
      'sub/local.txt': 'ignored below',
      'sub/deep/x.txt': 'x',
      'local.txt': 'not ignored at the root',
      'nested/.git/config': 'ignored: repository internals',
    });
    await symlink(path.join(root, 'sub'), path.join(root, 'sub-link'));
    await symlink('a.txt', path.join(root, 'a-link.txt'));
    execFileSync('mkfifo', [path.join(root, 'pipe')]);
    const w = await walkDir(root);
    expect(w.files.map((f) => f.path)).toEqual([
      '.gitignore', 'a-link.txt', 'a.txt', 'local.txt', 'sub/.gitignore', 'sub/deep/x.txt', 'sub/keep.log',
    ]);
    expect(w.problems).toEqual([]);
    expect((await walkDir(root, { ignoreFiles: false })).files.map((f) => f.path)).toContain('debug.log');
  });

  it('reports broken links and unreadable dirs/files as problems instead of throwing', async () => {
    const root = await tree({ 'ok.txt': 'ok', 'locked/inner.txt': 'hidden', 'secret.txt': 'no access' });
    await symlink('missing-target', path.join(root, 'dangling'));
    await chmod(root, 0o755);
    await chmod(path.join(root, 'locked'), 0o000);
    await chmod(path.join(root, 'secret.txt'), 0o000);
    // as root, permission bits are bypassed: drop to nobody's euid for the walk and the reads
    const { w, reads } = await asUnprivileged(async () => {
      const w = await walkDir(root);
      const reads: Array<{ path: string; ok: boolean; error?: string }> = [];
      for await (const r of readDirFiles(root, w.files, { maxBlobSize: 100 })) reads.push({ path: r.path, ok: 'data' in r, ...('error' in r ? { error: r.error } : {}) });
      return { w, reads };
    });
    await chmod(path.join(root, 'locked'), 0o755);
    expect(w.files.map((f) => f.path)).toEqual(['ok.txt', 'secret.txt']);
    expect(w.problems.map((p) => p.detail).sort()).toEqual(['broken symlink dangling: ENOENT', 'cannot list locked: EACCES']);
    expect(reads).toEqual([{ path: 'ok.txt', ok: true }, { path: 'secret.txt', ok: false, error: 'unreadable' }]);
  });

  it('reads with maxBlobSize respected, through the ContentSource', async () => {
    const root = await tree({ 'big.txt': 'x'.repeat(300), 'small.txt': 'small' });
    const src = await directorySource(root);
    expect(src.items.map((i) => [i.id, i.size, i.blob, i.origins[0]!.path])).toEqual([['big.txt', 300, null, 'big.txt'], ['small.txt', 5, null, 'small.txt']]);
    const out: Record<string, string> = {};
    for await (const r of src.read(['big.txt', 'small.txt'], 100)) out[r.id] = r.data ? r.data.toString() : r.error!;
    expect(out).toEqual({ 'big.txt': 'too-large', 'small.txt': 'small' });
  });
});

describe('resolveTarget', () => {
  it('parses ranges like git', () => {
    expect(parseRange('A..B')).toEqual({ to: 'B', exclude: ['A'] });
    expect(parseRange('A..')).toEqual({ to: 'HEAD', exclude: ['A'] });
    expect(parseRange('main')).toEqual({ to: 'main', exclude: [] });
    expect(() => parseRange('A...B')).toThrow(ConfigError);
  });

  it('gives git targets with resolved selections, dir targets for plain dirs, one-line ConfigErrors otherwise', async () => {
    const r = await buildRepo({ commits: [{ id: 'c0', files: { 'a.txt': 'a' } }, { id: 'c1', files: { 'b.txt': 'b' } }] });
    const all = await resolveTarget(r.dir);
    expect(all).toMatchObject({ kind: 'git', selection: { kind: 'all' }, root: r.dir });
    const range = await resolveTarget(r.dir, { range: 'HEAD~1..main'.replace('HEAD~1', r.sha.c0!), backend: 'isomorphic' });
    expect(range).toMatchObject({ kind: 'git', selection: { kind: 'range', to: r.sha.c1, exclude: [r.sha.c0] } });
    if (range.kind === 'git') expect(range.objects.backend).toBe('isomorphic');
    expect(await resolveTarget(r.dir, { staged: true })).toMatchObject({ selection: { kind: 'staged' } });
    expect(await resolveTarget(r.dir, { noHistory: true })).toMatchObject({ selection: { kind: 'head' } });
    await expect(resolveTarget(r.dir, { range: 'nope..main' })).rejects.toThrow(/^unknown revision 'nope' in --range nope..main$/);

    const plain = await tempDir();
    expect(await resolveTarget(plain)).toEqual({ kind: 'dir', root: plain });
    await expect(resolveTarget(plain, { staged: true })).rejects.toThrow(ConfigError);
    await expect(resolveTarget(plain, { range: 'a..b' })).rejects.toThrow(/--range needs a git repository/);
    const missing = path.join(plain, 'nope');
    await expect(resolveTarget(missing)).rejects.toThrow(new ConfigError(`path does not exist: ${missing}`));
  });
});
