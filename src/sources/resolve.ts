// From a scan path and flags to what to scan: a git object database with a selection, or a plain directory.
import { statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';
import type { BlobSelection, GitObjects } from '../core/ports.js';
import { isRevision } from '../core/git-names.js';
import { hasGitBinary, locateRepo, openRepo, type Backend } from '../objects/open.js';

export type ResolvedTarget =
  | {
      kind: 'git';
      objects: GitObjects;
      selection: BlobSelection;
      /** The work tree, or the git dir of a bare repository / mirror. */
      root: string;
    }
  | { kind: 'dir'; root: string };

export interface ResolveOptions {
  staged?: boolean;
  /** 'A..B' (commits in B not in A), or a single revision (all its history). */
  range?: string;
  /** HEAD tree only. */
  noHistory?: boolean;
  backend?: Backend;
}

/** Splits a range as git does: 'A..B' → to B excluding A; empty sides mean HEAD. Each side is a revision, never an option. */
export function parseRange(range: string): { to: string; exclude: string[] } {
  if (range.includes('...')) throw new ConfigError(`symmetric ranges ('A...B') are not supported, use 'A..B'`, '--range');
  const parts = range.split('..');
  const rev = (r: string) => {
    if (!isRevision(r)) throw new ConfigError(`${JSON.stringify(r.slice(0, 100))} is not a revision`, '--range');
    return r;
  };
  if (parts.length === 1) {
    if (!parts[0]) throw new ConfigError('empty range', '--range');
    return { to: rev(parts[0]), exclude: [] };
  }
  if (parts.length !== 2) throw new ConfigError(`'${range}' is not of the form A..B`, '--range');
  return { to: rev(parts[1] || 'HEAD'), exclude: [rev(parts[0] || 'HEAD')] };
}

/** The caller owns `objects` of a 'git' target and must close() it. */
export async function resolveTarget(p: string, opts: ResolveOptions = {}): Promise<ResolvedTarget> {
  const root = path.resolve(p);
  const st = statSync(root, { throwIfNoEntry: false });
  if (!st) throw new ConfigError(`path does not exist: ${p}`);
  if (!st.isDirectory()) throw new ConfigError(`not a directory: ${p}`);
  if (opts.staged && opts.range) throw new ConfigError('--staged and --range cannot be combined');
  const backend = opts.backend ?? 'auto';
  if (backend === 'native' && locateRepo(root) && !(await hasGitBinary())) {
    throw new ConfigError("no working git on PATH for --git-backend native; use 'auto' or 'isomorphic'");
  }
  const objects = await openRepo(root, backend);
  if (!objects) {
    if (opts.staged) throw new ConfigError(`--staged needs a git repository and ${p} is not one`);
    if (opts.range) throw new ConfigError(`--range needs a git repository and ${p} is not one`);
    return { kind: 'dir', root };
  }
  try {
    let selection: BlobSelection;
    if (opts.staged) selection = { kind: 'staged' };
    else if (opts.range) {
      const r = parseRange(opts.range);
      const rev = async (x: string) => {
        const oid = await objects.resolve(x);
        if (!oid) throw new ConfigError(`unknown revision '${x}' in --range ${opts.range}`);
        return oid;
      };
      selection = { kind: 'range', to: await rev(r.to), exclude: await Promise.all(r.exclude.map(rev)) };
    } else if (opts.noHistory) selection = { kind: 'head' };
    else selection = { kind: 'all' };
    return { kind: 'git', objects, selection, root };
  } catch (e) {
    await objects.close();
    throw e;
  }
}
