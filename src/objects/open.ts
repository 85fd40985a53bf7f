// Opens a repository path with the requested GitObjects backend; null when the path is not a repository.
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { GitObjects } from '../core/ports.js';
import { NativeGitObjects } from './native.js';

export type Backend = 'auto' | 'native' | 'isomorphic';

export interface RepoLocation {
  /** Where objects and refs live (the common dir for a linked worktree). */
  gitDir: string;
  /** The linked worktree's private git dir (its HEAD and index), when different from gitDir. */
  worktreeGitDir?: string;
  /** The working tree, or null for a bare repository / mirror. */
  workTree: string | null;
}

const isFile = (p: string) => statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
const isDir = (p: string) => statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;

function looksLikeGitDir(d: string): boolean {
  return isFile(path.join(d, 'HEAD')) && (isDir(path.join(d, 'objects')) || isFile(path.join(d, 'commondir')));
}

/**
 * Finds the git dir for `p` by looking only at `p` itself (not its parents): a repository root with a
 * `.git` dir or `.git` file (worktrees, submodules), or a bare repository / mirror. A subdirectory of a
 * repository is not a repository here: it is scanned as a plain directory.
 */
export function locateRepo(p: string): RepoLocation | null {
  const abs = path.resolve(p);
  if (!isDir(abs)) return null;
  const dotGit = path.join(abs, '.git');
  let own: string | null = null;
  if (isDir(dotGit)) own = dotGit;
  else if (isFile(dotGit)) {
    const m = /^gitdir:\s*(.+?)\s*$/m.exec(readFileSync(dotGit, 'utf8'));
    if (m) own = path.resolve(abs, m[1]!);
  }
  const workTree = own ? abs : null;
  if (!own) {
    if (!looksLikeGitDir(abs)) return null;
    own = abs;
  }
  if (!looksLikeGitDir(own)) return null;
  const commondirFile = path.join(own, 'commondir');
  if (isFile(commondirFile)) {
    const common = path.resolve(own, readFileSync(commondirFile, 'utf8').trim());
    return { gitDir: common, worktreeGitDir: own, workTree };
  }
  return { gitDir: own, workTree };
}

let gitAvailable: Promise<boolean> | null = null;

/** Whether a working `git` binary is on PATH (memoized per process). */
export function hasGitBinary(): Promise<boolean> {
  gitAvailable ??= new Promise((resolve) => {
    execFile('git', ['--version'], (err, stdout) => resolve(!err && /^git version/.test(stdout)));
  });
  return gitAvailable;
}

/** Opens `p` as a repository, or returns null when it is not one (the caller then scans it as a directory). */
export async function openRepo(p: string, backend: Backend = 'auto'): Promise<GitObjects | null> {
  const loc = locateRepo(p);
  if (!loc) return null;
  const useNative = backend === 'native' || (backend === 'auto' && (await hasGitBinary()));
  if (useNative) {
    // git finds the common dir itself from a worktree's private git dir
    return new NativeGitObjects({ gitDir: loc.worktreeGitDir ?? loc.gitDir, ...(loc.workTree ? { workTree: loc.workTree } : {}) });
  }
  // loaded only where it is used (no git binary, or --git-backend isomorphic): isomorphic-git is a 580 KB bundle
  const { IsomorphicGitObjects } = await import('./isomorphic.js');
  return new IsomorphicGitObjects({ gitDir: loc.gitDir, ...(loc.worktreeGitDir ? { worktreeGitDir: loc.worktreeGitDir } : {}) });
}
