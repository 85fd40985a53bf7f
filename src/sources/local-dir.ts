// Walks a plain directory (no git) honouring nested .gitignore files, and reads its files with bounded memory.
import { promises as fsp, type Dirent } from 'node:fs';
import path from 'node:path';
import type { Ignore } from 'ignore';
import type { EnumerationProblem } from '../core/ports.js';

export interface DirFile {
  /** Relative to the root, '/'-separated. */
  path: string;
  size: number;
}

export interface DirWalk {
  /** Sorted by path. */
  files: DirFile[];
  /** Unreadable directories/files and broken links: reported, never thrown. */
  problems: EnumerationProblem[];
}

export type DirRead = { path: string; data: Buffer } | { path: string; error: 'unreadable' | 'too-large'; detail: string; size?: number };

export interface WalkOptions {
  /** Honour .gitignore files at every level (default true). */
  ignoreFiles?: boolean;
}

interface Rules {
  /** Directory the rules are relative to, '' for the root, else 'a/b/'. */
  base: string;
  ig: Ignore;
}

const errText = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));

/** Every regular file under `root` (and symlinks to regular files); symlinked directories are not followed. */
export async function walkDir(root: string, opts: WalkOptions = {}): Promise<DirWalk> {
  const useIgnore = opts.ignoreFiles ?? true;
  const files: DirFile[] = [];
  const problems: EnumerationProblem[] = [];

  const ignored = (rules: Rules[], rel: string, isDir: boolean): boolean => {
    let out = false;
    // deeper .gitignore files override shallower ones, as in git
    for (const r of rules) {
      const sub = rel.slice(r.base.length) + (isDir ? '/' : '');
      const t = r.ig.test(sub);
      if (t.ignored) out = true;
      else if (t.unignored) out = false;
    }
    return out;
  };

  const visit = async (dirRel: string, rules: Rules[]): Promise<void> => {
    const abs = path.join(root, dirRel);
    let entries: Dirent[];
    try {
      entries = await fsp.readdir(abs, { withFileTypes: true });
    } catch (e) {
      problems.push({ kind: 'unreadable', detail: `cannot list ${dirRel || '.'}: ${errText(e)}` });
      return;
    }
    let here = rules;
    if (useIgnore && entries.some((e) => e.name === '.gitignore' && !e.isDirectory())) {
      try {
        const text = await fsp.readFile(path.join(abs, '.gitignore'), 'utf8');
        // loaded with the first .gitignore: a directory without one (or a git scan) never needs it
        const { default: ignore } = await import('ignore');
        here = [...rules, { base: dirRel ? `${dirRel}/` : '', ig: ignore().add(text) }];
      } catch (e) {
        problems.push({ kind: 'unreadable', detail: `cannot read ${dirRel ? `${dirRel}/` : ''}.gitignore: ${errText(e)}` });
      }
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const rel = dirRel ? `${dirRel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (e.name === '.git') continue; // a nested repository's object store: compressed, not content
        if (!ignored(here, rel, true)) await visit(rel, here);
        continue;
      }
      if (ignored(here, rel, false)) continue;
      if (e.isFile()) {
        try {
          files.push({ path: rel, size: (await fsp.stat(path.join(root, rel))).size });
        } catch (err) {
          problems.push({ kind: 'unreadable', detail: `cannot stat ${rel}: ${errText(err)}` });
        }
      } else if (e.isSymbolicLink()) {
        // follow links to files (content the user sees), never links to directories (loops, escapes)
        try {
          const st = await fsp.stat(path.join(root, rel));
          if (st.isFile()) files.push({ path: rel, size: st.size });
        } catch (err) {
          problems.push({ kind: 'unreadable', detail: `broken symlink ${rel}: ${errText(err)}` });
        }
      }
      // FIFOs, sockets and devices are skipped: reading one could block forever
    }
  };

  await visit('', []);
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, problems };
}

/**
 * Reads `files` one at a time with a small read-ahead, so memory stays near `readAhead × maxBlobSize`.
 * Files over `maxBlobSize` are not read; unreadable ones yield an error entry and the stream goes on.
 */
export async function* readDirFiles(
  root: string,
  files: Iterable<DirFile>,
  opts: { maxBlobSize: number; readAhead?: number },
): AsyncGenerator<DirRead> {
  const readAhead = Math.max(1, opts.readAhead ?? 4);
  const one = async (f: DirFile): Promise<DirRead> => {
    if (f.size > opts.maxBlobSize) {
      return { path: f.path, error: 'too-large', detail: `file is ${f.size} bytes, over the ${opts.maxBlobSize}-byte limit`, size: f.size };
    }
    try {
      const data = await fsp.readFile(path.join(root, f.path));
      if (data.length > opts.maxBlobSize) {
        return { path: f.path, error: 'too-large', detail: `file grew to ${data.length} bytes`, size: data.length };
      }
      return { path: f.path, data };
    } catch (e) {
      return { path: f.path, error: 'unreadable', detail: `cannot read ${f.path}: ${errText(e)}` };
    }
  };
  const window: Promise<DirRead>[] = [];
  for (const f of files) {
    window.push(one(f));
    if (window.length >= readAhead) yield await window.shift()!;
  }
  while (window.length) yield await window.shift()!;
}
