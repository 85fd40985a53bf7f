// GitObjects in pure JS (isomorphic-git): for machines without a git binary. Same semantics as native.ts;
// slower (every object read inflates in JS), so the factory prefers native when git is on PATH.
// isomorphic-git refuses a whole pack when any byte of it is off (it hashes the pack before the first read); an
// object it refuses is read by the pure-JS pack reader instead, which checks each object's own CRC, so that one
// corrupt object is reported, as git reports it, and the intact ones are still scanned.
import fs from 'node:fs';
import path from 'node:path';
import * as git from 'isomorphic-git';
import type { BlobEntry, BlobRead, BlobSelection, Enumeration, EnumerationProblem, GitObjects } from '../core/ports.js';
import { eachCommit, isBlobMode, isoUtc, OriginCollector, resolveRange, subjectOf, type CommitMeta } from './provenance.js';
import { parseCommit, parseTree } from './pack/enumerate.js';
import { ObjectReader } from './pack/object-reader.js';
import { ObjectStore, type StoredObject } from './pack/object-store.js';

interface TreeEntry {
  mode: string;
  path: string;
  oid: string;
  type: 'blob' | 'tree' | 'commit';
}

const NO_ONE = { name: '', email: '' };

interface Commit {
  tree: string;
  parents: string[];
  meta: CommitMeta;
}

/** An object that neither isomorphic-git nor the pack reader could read: `missing` when it is nowhere. */
class Unreadable extends Error {
  constructor(
    readonly oid: string,
    readonly missing: boolean,
    message: string,
  ) {
    super(message);
  }
}
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
  /** The pack reader, opened on the first object isomorphic-git refuses (null: it cannot open the repository). */
  private fallback: { store: ObjectStore; reader: ObjectReader } | null | undefined;

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
    return this.peel(oid).catch(() => null);
  }

  /** The commit `oid` (a tag chain) points at, or null when it points at no commit; throws when unreadable. */
  private async peel(oid: string): Promise<string | null> {
    for (let depth = 0; depth < 32; depth++) {
      const target = await this.readAny(
        oid,
        async () => {
          const obj = await git.readObject({ ...this.base, oid, format: 'parsed' });
          return { type: obj.type, next: obj.type === 'tag' ? (obj.object as { object: string }).object : null };
        },
        (o) => ({ type: o.type, next: o.type === 'tag' ? (/^object ([0-9a-f]+)$/m.exec(o.data.toString('latin1', 0, 200))?.[1] ?? null) : null }),
      );
      if (target.type === 'commit') return oid;
      if (target.type !== 'tag' || !target.next) return null;
      oid = target.next;
    }
    return null;
  }

  /**
   * One object through isomorphic-git, or through the pack reader when isomorphic-git refuses it for anything but
   * its absence. Throws Unreadable when neither can read it.
   */
  private async readAny<T>(oid: string, viaIso: () => Promise<T>, viaStore: (o: StoredObject) => T): Promise<T> {
    try {
      return await viaIso();
    } catch (e) {
      if ((e as { code?: string }).code === 'NotFoundError') throw new Unreadable(oid, true, `${oid} is not in the object database`);
      let why = describe(e);
      let o: StoredObject | null = null;
      try {
        o = this.packReader()?.read(oid) ?? null;
      } catch (e2) {
        why = describe(e2);
      }
      if (!o) throw new Unreadable(oid, false, why);
      try {
        return viaStore(o);
      } catch (e2) {
        throw new Unreadable(oid, false, `${oid}: ${describe(e2)}`);
      }
    }
  }

  private packReader(): ObjectReader | null {
    if (this.fallback === undefined) {
      try {
        const store = ObjectStore.open(this.gitdir);
        this.fallback = { store, reader: new ObjectReader(store) };
      } catch {
        this.fallback = null;
      }
    }
    return this.fallback?.reader ?? null;
  }

  private commit(oid: string): Promise<Commit> {
    return this.readAny(
      oid,
      async () => {
        const { commit: c } = await git.readCommit({ ...this.base, oid });
        const meta: CommitMeta = {
          commit: oid,
          author: { name: c.author.name, email: c.author.email },
          date: isoUtc(c.author.timestamp),
          subject: subjectOf(c.message),
        };
        return { tree: c.tree, parents: c.parent, meta };
      },
      (o) => {
        if (o.type !== 'commit') throw new Error(`a ${o.type}, not a commit`);
        return parseCommit(oid, o.data);
      },
    );
  }

  private blob(oid: string): Promise<Uint8Array> {
    return this.readAny(
      oid,
      async () => (await git.readBlob({ ...this.base, oid })).blob,
      (o) => {
        if (o.type !== 'blob') throw new Error(`a ${o.type}, not a blob`);
        return o.data;
      },
    );
  }

  async enumerate(selection: BlobSelection): Promise<Enumeration> {
    switch (selection.kind) {
      case 'all': {
        const problems: EnumerationProblem[] = [];
        return this.walk(await this.tips(problems), new Set(), problems);
      }
      case 'range': {
        const { to, exclude } = await resolveRange(this, selection);
        const problems: EnumerationProblem[] = [];
        const hidden = await this.reachable(exclude, problems);
        return this.walk([to], hidden, problems);
      }
      case 'head':
        return this.head();
      case 'staged':
        return this.staged();
    }
  }

  /**
   * Commits every ref (any namespace, loose or packed) and HEAD point at, tags peeled. A ref whose object cannot
   * be read is a problem (its history may hold secrets), never silently left out.
   */
  private async tips(problems: EnumerationProblem[]): Promise<string[]> {
    let names: string[];
    try {
      names = await git.listRefs({ fs: this.fs, gitdir: this.gitdir, filepath: 'refs' });
    } catch (e) {
      problems.push({ kind: 'bad-ref', detail: `cannot list refs: ${describe(e)}` });
      names = [];
    }
    const tips = new Set<string>();
    for (const ref of ['HEAD', ...names.filter((n) => !n.endsWith('^{}')).map((n) => `refs/${n}`)]) {
      let oid: string;
      try {
        oid = await git.resolveRef({ ...this.base, ref });
      } catch (e) {
        // an unborn HEAD (fresh repository) points at nothing: not a problem
        if (ref !== 'HEAD') problems.push({ kind: 'bad-ref', detail: `${ref}: ${describe(e)}` });
        continue;
      }
      try {
        const commit = await this.peel(oid);
        if (commit) tips.add(commit);
      } catch (e) {
        problems.push(problem(e, oid, `${ref} → ${oid}`));
      }
    }
    return [...tips];
  }

  private async shallow(): Promise<Set<string>> {
    const text = await fs.promises.readFile(path.join(this.gitdir, 'shallow'), 'utf8').catch(() => '');
    return new Set(text.split('\n').filter(Boolean));
  }

  private async reachable(from: string[], problems: EnumerationProblem[]): Promise<Set<string>> {
    const seen = new Set<string>();
    const shallow = await this.shallow();
    const stack = [...from];
    for (const oid of eachCommit(stack, seen)) {
      if (shallow.has(oid)) continue;
      try {
        stack.push(...(await this.commit(oid)).parents);
      } catch (e) {
        problems.push(problem(e, oid, `commit ${oid}`));
      }
    }
    return seen;
  }

  private async walk(tips: string[], hidden: Set<string>, problems: EnumerationProblem[]): Promise<Enumeration> {
    const collector = new OriginCollector();
    const shallow = await this.shallow();
    const stack = [...tips];
    let commits = 0;
    for (const oid of eachCommit(stack, new Set(hidden))) {
      let c: Commit;
      try {
        c = await this.commit(oid);
      } catch (e) {
        problems.push(problem(e, oid, `commit ${oid}`));
        continue;
      }
      commits++;
      this.commitTrees.set(oid, c.tree);
      const parents = shallow.has(oid) ? [] : c.parents;
      stack.push(...parents);
      const meta = c.meta;
      try {
        for (const [p, blob] of await this.introduced(c.tree, parents)) collector.add(blob, meta, p);
      } catch (e) {
        problems.push(problem(e, oid, `trees of commit ${oid}`));
      }
    }
    return { blobs: await this.finish(collector, problems), problems, commits };
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
    if (!t) this.commitTrees.set(commit, (t = (await this.commit(commit)).tree));
    return t;
  }

  private async readTree(oid: string): Promise<TreeEntry[]> {
    let t = this.trees.get(oid);
    if (!t) {
      t = await this.readAny(
        oid,
        async () => (await git.readTree({ ...this.base, oid })).tree,
        (o) => {
          if (o.type !== 'tree') throw new Error(`a ${o.type}, not a tree`);
          return parseTree(o.data, this.hashLength(oid)).map((e) => ({
            mode: e.mode.padStart(6, '0'),
            path: e.name,
            oid: e.oid,
            type: e.mode === '40000' ? ('tree' as const) : e.mode === '160000' ? ('commit' as const) : ('blob' as const),
          }));
        },
      );
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
    const head = await git.resolveRef({ ...this.base, ref: 'HEAD' }).catch(() => null);
    if (!head) return { blobs: [], problems, commits: 0 };
    try {
      const commit = await this.peel(head);
      if (!commit) return { blobs: [], problems, commits: 0 };
      const c = await this.commit(commit);
      const files = new Map<string, string>();
      await this.flatten(c.tree, '', files);
      for (const [p, oid] of files) collector.add(oid, c.meta, p);
    } catch (e) {
      problems.push(problem(e, head, `HEAD ${head}`));
    }
    return { blobs: await this.finish(collector, problems), problems, commits: 0 };
  }

  private async staged(): Promise<Enumeration> {
    const problems: EnumerationProblem[] = [];
    const collector = new OriginCollector();
    const head = await this.resolve('HEAD');
    const headFiles = new Map<string, string>();
    try {
      if (head) await this.flatten((await this.commit(head)).tree, '', headFiles);
    } catch (e) {
      // every index entry then counts as staged: more is scanned, nothing is missed
      problems.push(problem(e, head!, `HEAD ${head}`));
    }
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
    return { blobs: await this.finish(collector, problems), problems, commits: 0 };
  }

  /**
   * The collector's blobs with their sizes, read by reading each blob (isomorphic-git has no header-only read).
   * One that cannot be read is left out and reported as missing or corrupt, with its path.
   */
  private async finish(collector: OriginCollector, problems: EnumerationProblem[]): Promise<BlobEntry[]> {
    const sizes = new Map<string, number>();
    const why = new Map<string, { kind: string; detail: string }>();
    for (const oid of collector.oids()) {
      try {
        sizes.set(oid, (await this.blob(oid)).length);
      } catch (e) {
        if (!(e instanceof Unreadable && e.missing)) why.set(oid, { kind: 'corrupt-object', detail: `blob ${oid}: ${describe(e)}` });
      }
    }
    return collector.finish(sizes, problems, (oid) => why.get(oid));
  }

  /**
   * Reads in the order given. isomorphic-git cannot read an object's size without inflating it, so an
   * over-limit blob is inflated once and dropped (memory stays bounded by the largest single blob).
   */
  async *read(oids: Iterable<string>, opts: { maxBlobSize: number }): AsyncIterable<BlobRead> {
    for (const oid of oids) {
      let data: Uint8Array;
      try {
        data = await this.blob(oid);
      } catch (e) {
        const missing = e instanceof Unreadable && e.missing;
        yield { oid, error: missing ? 'missing-object' : 'corrupt-object', detail: describe(e) };
        continue;
      }
      if (data.length > opts.maxBlobSize) {
        yield { oid, error: 'too-large', detail: `blob is ${data.length} bytes, over the ${opts.maxBlobSize}-byte limit`, size: data.length };
      } else yield { oid, data: Buffer.from(data.buffer, data.byteOffset, data.length) };
    }
  }

  /** Bytes of an object id in this repository (sha1: 20, sha256: 32). */
  private hashLength(oid: string): number {
    return oid.length / 2;
  }

  async close(): Promise<void> {
    this.trees.clear();
    this.commitTrees.clear();
    this.fallback?.store.close();
    this.fallback = undefined;
  }
}

/** One line: isomorphic-git's InternalError puts the actual cause after a paragraph of boilerplate. */
function describe(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const cause = /this error message: ([\s\S]+)$/.exec(text)?.[1] ?? text;
  return cause.split('\n')[0]!.slice(0, 300);
}

/** The problem `e` is: about the object it names when it is Unreadable, else about `oid`. */
function problem(e: unknown, oid: string, what: string): EnumerationProblem {
  if (e instanceof Unreadable) return { kind: e.missing ? 'missing-object' : 'corrupt-object', oid: e.oid, detail: `${what}: ${e.message}` };
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
