// GitObjects in pure JS (isomorphic-git): for machines without a git binary. Same semantics as native.ts;
// slower (every object read inflates in JS), so the factory prefers native when git is on PATH.
import fs from 'node:fs';
import path from 'node:path';
import * as git from 'isomorphic-git';
import { ConfigError } from '../core/errors.js';
import type { BlobRead, BlobSelection, Enumeration, EnumerationProblem, GitObjects } from '../core/ports.js';
import { isBlobMode, isoUtc, OriginCollector, subjectOf, type CommitMeta } from './provenance.js';

interface TreeEntry {
  mode: string;
  path: string;
  oid: string;
  type: 'blob' | 'tree' | 'commit';
}

const NO_ONE = { name: '', email: '' };
const TREE_MEMO_LIMIT = 20_000;

export interface IsomorphicOptions {
  /** The git directory holding objects and refs. */
  gitDir: string;
  /** Worktree-private git dir (`.git/worktrees/<name>`): HEAD and the index are read from here when set. */
  worktreeGitDir?: string;
}

export class IsomorphicGitObjects implements GitObjects {
  readonly backend = 'isomorphic' as const;
  private readonly gitdir: string;
  private readonly fs: typeof fs;
  /** One cache for every isomorphic-git call: it keeps parsed pack indexes between reads. */
  private readonly cache: object = {};
  private readonly trees = new Map<string, TreeEntry[]>();
  private readonly commitTrees = new Map<string, string>();

  constructor(opts: IsomorphicOptions) {
    this.gitdir = opts.gitDir;
    this.fs = opts.worktreeGitDir ? worktreeFs(opts.gitDir, opts.worktreeGitDir) : fs;
  }

  private get base() {
    return { fs: this.fs, gitdir: this.gitdir, cache: this.cache };
  }

  async resolve(rev: string): Promise<string | null> {
    if (rev === '' || rev.startsWith('-')) return null;
    let oid: string | null;
    if (/^[0-9a-f]{40}$|^[0-9a-f]{64}$/.test(rev)) oid = rev;
    else {
      oid = await git.resolveRef({ ...this.base, ref: rev }).catch(() => null);
      if (!oid && /^[0-9a-f]{4,63}$/.test(rev)) oid = await git.expandOid({ ...this.base, oid: rev }).catch(() => null);
    }
    return oid ? this.peelToCommit(oid) : null;
  }

  private async peelToCommit(oid: string): Promise<string | null> {
    for (let depth = 0; depth < 32; depth++) {
      const obj = await git.readObject({ ...this.base, oid, format: 'parsed' }).catch(() => null);
      if (!obj) return null;
      if (obj.type === 'commit') return oid;
      if (obj.type !== 'tag') return null;
      oid = (obj.object as { object: string }).object;
    }
    return null;
  }

  async enumerate(selection: BlobSelection): Promise<Enumeration> {
    switch (selection.kind) {
      case 'all':
        return this.walk(await this.tips(), new Set());
      case 'range': {
        const to = await this.mustResolve(selection.to);
        const exclude = await Promise.all(selection.exclude.map((r) => this.mustResolve(r)));
        const hidden = await this.reachable(exclude);
        return this.walk([to], hidden);
      }
      case 'head':
        return this.head();
      case 'staged':
        return this.staged();
    }
  }

  private async mustResolve(rev: string): Promise<string> {
    const oid = await this.resolve(rev);
    if (!oid) throw new ConfigError(`unknown revision '${rev}'`);
    return oid;
  }

  /** Commits every ref (any namespace, loose or packed) and HEAD point at, tags peeled. */
  private async tips(): Promise<string[]> {
    const names = await git.listRefs({ fs: this.fs, gitdir: this.gitdir, filepath: 'refs' }).catch(() => [] as string[]);
    const tips = new Set<string>();
    for (const ref of ['HEAD', ...names.filter((n) => !n.endsWith('^{}')).map((n) => `refs/${n}`)]) {
      const oid = await git.resolveRef({ ...this.base, ref }).catch(() => null);
      const commit = oid ? await this.peelToCommit(oid) : null;
      if (commit) tips.add(commit);
    }
    return [...tips];
  }

  private async shallow(): Promise<Set<string>> {
    const text = await fs.promises.readFile(path.join(this.gitdir, 'shallow'), 'utf8').catch(() => '');
    return new Set(text.split('\n').filter(Boolean));
  }

  private async reachable(from: string[]): Promise<Set<string>> {
    const seen = new Set<string>();
    const shallow = await this.shallow();
    const stack = [...from];
    while (stack.length) {
      const oid = stack.pop()!;
      if (seen.has(oid)) continue;
      seen.add(oid);
      if (shallow.has(oid)) continue;
      const c = await git.readCommit({ ...this.base, oid }).catch(() => null);
      if (c) stack.push(...c.commit.parent);
    }
    return seen;
  }

  private async walk(tips: string[], hidden: Set<string>): Promise<Enumeration> {
    const problems: EnumerationProblem[] = [];
    const collector = new OriginCollector();
    const shallow = await this.shallow();
    const seen = new Set<string>(hidden);
    const stack = [...tips];
    let commits = 0;
    while (stack.length) {
      const oid = stack.pop()!;
      if (seen.has(oid)) continue;
      seen.add(oid);
      let c: Awaited<ReturnType<typeof git.readCommit>>['commit'];
      try {
        c = (await git.readCommit({ ...this.base, oid })).commit;
      } catch (e) {
        problems.push(problem(e, oid, `commit ${oid}`));
        continue;
      }
      commits++;
      this.commitTrees.set(oid, c.tree);
      const parents = shallow.has(oid) ? [] : c.parent;
      stack.push(...parents);
      const meta: CommitMeta = {
        commit: oid,
        author: { name: c.author.name, email: c.author.email },
        date: isoUtc(c.author.timestamp),
        subject: subjectOf(c.message),
      };
      try {
        for (const [p, blob] of await this.introduced(c.tree, parents)) collector.add(blob, meta, p);
      } catch (e) {
        problems.push(problem(e, oid, `trees of commit ${oid}`));
      }
    }
    return { blobs: collector.finish(await this.sizes(collector.oids()), problems), problems, commits };
  }

  /** Paths whose blob differs from every parent's blob at that path (all paths for a root commit). */
  private async introduced(tree: string, parents: string[]): Promise<Map<string, string>> {
    const parentTrees = await Promise.all(parents.map((p) => this.treeOf(p)));
    const first = new Map<string, string>();
    await this.diffTree(parentTrees[0] ?? null, tree, '', first);
    for (const pt of parentTrees.slice(1)) {
      if (first.size === 0) break;
      const other = new Map<string, string>();
      await this.diffTree(pt, tree, '', other);
      for (const p of first.keys()) if (!other.has(p)) first.delete(p);
    }
    return first;
  }

  /** Tree of a commit; memoized because every commit is read again as its children's parent. */
  private async treeOf(commit: string): Promise<string> {
    let t = this.commitTrees.get(commit);
    if (!t) this.commitTrees.set(commit, (t = (await git.readCommit({ ...this.base, oid: commit })).commit.tree));
    return t;
  }

  private async readTree(oid: string): Promise<TreeEntry[]> {
    let t = this.trees.get(oid);
    if (!t) {
      t = (await git.readTree({ ...this.base, oid })).tree;
      if (this.trees.size >= TREE_MEMO_LIMIT) this.trees.clear();
      this.trees.set(oid, t);
    }
    return t;
  }

  /** Blobs of tree `b` that differ from tree `a` at the same path; descends only into changed subtrees. */
  private async diffTree(a: string | null, b: string, prefix: string, out: Map<string, string>): Promise<void> {
    if (a === b) return;
    const before = new Map<string, TreeEntry>();
    if (a) for (const e of await this.readTree(a)) before.set(e.path, e);
    for (const e of await this.readTree(b)) {
      const old = before.get(e.path);
      if (old && old.oid === e.oid) continue;
      if (e.type === 'tree') await this.diffTree(old?.type === 'tree' ? old.oid : null, e.oid, `${prefix}${e.path}/`, out);
      else if (e.type === 'blob' && isBlobMode(e.mode)) out.set(prefix + e.path, e.oid);
    }
  }

  private async flatten(tree: string, prefix: string, out: Map<string, string>): Promise<void> {
    await this.diffTree(null, tree, prefix, out);
  }

  private async head(): Promise<Enumeration> {
    const problems: EnumerationProblem[] = [];
    const collector = new OriginCollector();
    const head = await this.resolve('HEAD');
    if (!head) return { blobs: [], problems, commits: 0 };
    const { commit: c } = await git.readCommit({ ...this.base, oid: head });
    const meta: CommitMeta = {
      commit: head,
      author: { name: c.author.name, email: c.author.email },
      date: isoUtc(c.author.timestamp),
      subject: subjectOf(c.message),
    };
    const files = new Map<string, string>();
    await this.flatten(c.tree, '', files);
    for (const [p, oid] of files) collector.add(oid, meta, p);
    return { blobs: collector.finish(await this.sizes(collector.oids()), problems), problems, commits: 0 };
  }

  private async staged(): Promise<Enumeration> {
    const problems: EnumerationProblem[] = [];
    const collector = new OriginCollector();
    const head = await this.resolve('HEAD');
    const headFiles = new Map<string, string>();
    if (head) await this.flatten((await git.readCommit({ ...this.base, oid: head })).commit.tree, '', headFiles);
    const staged: CommitMeta = { commit: '', author: NO_ONE, date: '', subject: '' };
    const indexFile = path.join(this.gitdir, 'index');
    if (this.fs === fs && !fs.existsSync(indexFile)) return { blobs: [], problems, commits: 0 };
    await git.walk({
      ...this.base,
      trees: [git.STAGE()],
      map: async (filepath, [entry]) => {
        if (!entry || filepath === '.') return true;
        if ((await entry.type()) !== 'blob') return true;
        const mode = (await entry.mode()).toString(8);
        const oid = await entry.oid();
        if (isBlobMode(mode) && headFiles.get(filepath) !== oid) collector.add(oid, staged, filepath);
        return true;
      },
    });
    return { blobs: collector.finish(await this.sizes(collector.oids()), problems), problems, commits: 0 };
  }

  /** Sizes by reading each blob: isomorphic-git has no header-only read. Missing ones are left out. */
  private async sizes(oids: string[]): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    for (const oid of oids) {
      const b = await git.readBlob({ ...this.base, oid }).catch(() => null);
      if (b) sizes.set(oid, b.blob.length);
    }
    return sizes;
  }

  /**
   * Reads in the order given. isomorphic-git cannot read an object's size without inflating it, so an
   * over-limit blob is inflated once and dropped (memory stays bounded by the largest single blob).
   */
  async *read(oids: Iterable<string>, opts: { maxBlobSize: number }): AsyncIterable<BlobRead> {
    for (const oid of oids) {
      let data: Uint8Array;
      try {
        data = (await git.readBlob({ ...this.base, oid })).blob;
      } catch (e) {
        const missing = (e as { code?: string }).code === 'NotFoundError';
        yield { oid, error: missing ? 'missing-object' : 'corrupt-object', detail: describe(e) };
        continue;
      }
      if (data.length > opts.maxBlobSize) {
        yield { oid, error: 'too-large', detail: `blob is ${data.length} bytes, over the ${opts.maxBlobSize}-byte limit`, size: data.length };
      } else yield { oid, data: Buffer.from(data.buffer, data.byteOffset, data.length) };
    }
  }

  async close(): Promise<void> {
    this.trees.clear();
    this.commitTrees.clear();
  }
}

function describe(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
}

function problem(e: unknown, oid: string, what: string): EnumerationProblem {
  const missing = (e as { code?: string }).code === 'NotFoundError';
  return { kind: missing ? 'missing-object' : 'corrupt-object', oid, detail: `${what}: ${describe(e)}` };
}

/**
 * A linked worktree keeps HEAD and its index in its own git dir and everything else in the common dir;
 * isomorphic-git knows only one git dir, so those two files are redirected.
 */
function worktreeFs(common: string, own: string): typeof fs {
  const remap = (p: unknown): unknown => {
    if (typeof p !== 'string') return p;
    const rel = path.relative(common, p);
    return rel === 'HEAD' || rel === 'index' ? path.join(own, rel) : p;
  };
  const promises = new Proxy(fs.promises, {
    get(target, prop, recv) {
      const v: unknown = Reflect.get(target, prop, recv);
      if (typeof v !== 'function') return v;
      const fn = v as (...args: unknown[]) => unknown;
      return (p: unknown, ...rest: unknown[]) => fn.call(target, remap(p), ...rest);
    },
  });
  return { ...fs, promises };
}
