// A repository's object database read in pure JS: every pack (and alternates) plus loose objects.
// Blob iteration goes pack by pack in offset order, inflating each object once thanks to a
// reference-counted cache of delta bases, and reports for each delta which target bytes it copied.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { BaseCache, type BaseUsers } from './base-cache.js';
import { applyDelta, type CopyRanges } from './delta.js';
import { PackFormatError } from './errors.js';
import type { TargetBuffers } from './target-buffers.js';
import { OBJ_BLOB, OBJ_OFS_DELTA, OBJ_REF_DELTA, PackFile, positionIn, TYPE_NAMES, type ObjectType } from './pack-file.js';

export interface StoredObject {
  type: ObjectType;
  data: Buffer;
}

export interface PackedBlob {
  oid: string;
  data: Buffer;
  /** Present when the blob is stored as a delta: its base and the target ranges copied from it. */
  delta?: { baseOid: string; copies: CopyRanges };
}

export interface BlobProblem {
  oid: string;
  error: 'corrupt-object' | 'too-large';
  detail: string;
  size?: number;
}

export type BlobIteration = PackedBlob | BlobProblem;

export interface IterateOptions {
  /** Blobs to yield (others are read only when needed as delta bases). Default: all. */
  want?: (oid: string) => boolean;
  /** Larger blobs yield a 'too-large' problem instead of data. */
  maxBlobSize?: number;
  /** Byte budget of the delta-base cache; bases evicted beyond it are re-read on demand. Default 256 MiB. */
  cacheBytes?: number;
  /**
   * Memory for delta targets, reused (target-buffers.ts): each yielded blob's `data` is then held for the consumer,
   * who hands it back with `targets.release(data)` once it will never read it again. Default: fresh buffers.
   */
  targets?: TargetBuffers;
}

/** A pack's entries after pass 1 (ObjectStore.layout), by position in pack order. */
interface PackLayout {
  pack: PackFile;
  offsets: Float64Array;
  /** Real type (a delta's is its base's); UNKNOWN_TYPE when its base is missing. */
  type: Uint8Array;
  /** Position of each delta's base in this pack, else -1. */
  basePos: Int32Array;
  /** Position → REF_DELTA base oid outside this pack. */
  external: Map<number, string>;
  /** Position → why the entry cannot be read. */
  bad: Map<number, string>;
  /** How many blob deltas use each entry as their base. */
  refs: Uint32Array;
  /** Which they are, in pack order (BaseCache's eviction reads it). */
  users: BaseUsers;
  oidOf(pos: number): string;
}

/** An entry inflated: its bytes and, for a delta, the target ranges copied from the base (delta.ts). */
type Materialized = { data: Buffer; copies?: CopyRanges };

/** The type of an entry whose delta base is missing. */
const UNKNOWN_TYPE = 255;

export interface StoreProblem {
  kind: 'corrupt-object';
  detail: string;
}

function objectDirs(objectsDir: string, seen = new Set<string>()): string[] {
  const dir = path.resolve(objectsDir);
  if (seen.has(dir) || !existsSync(dir)) return [];
  seen.add(dir);
  const out = [dir];
  const alt = path.join(dir, 'info', 'alternates');
  if (existsSync(alt)) {
    for (const line of readFileSync(alt, 'utf8').split('\n')) {
      const l = line.trim();
      if (!l || l.startsWith('#')) continue;
      out.push(...objectDirs(path.resolve(dir, l), seen));
    }
  }
  return out;
}

/** Hash length from the repository's object format (sha1 unless extensions.objectformat = sha256). */
function hashLengthOf(gitDir: string): number {
  try {
    const cfg = readFileSync(path.join(gitDir, 'config'), 'utf8');
    return /^\s*objectformat\s*=\s*sha256\s*$/im.test(cfg) ? 32 : 20;
  } catch {
    return 20;
  }
}

export class ObjectStore {
  readonly packs: PackFile[] = [];
  readonly objectDirs: string[];
  readonly hashLength: number;
  /** Packs that could not be opened (bad index, not a pack…): reported, the rest is still read. */
  readonly problems: StoreProblem[] = [];

  private constructor(readonly gitDir: string) {
    this.hashLength = hashLengthOf(gitDir);
    this.objectDirs = objectDirs(path.join(gitDir, 'objects'));
    for (const d of this.objectDirs) {
      const packDir = path.join(d, 'pack');
      if (!existsSync(packDir)) continue;
      const names = readdirSync(packDir)
        .filter((n) => n.endsWith('.pack') && existsSync(path.join(packDir, n.slice(0, -5) + '.idx')))
        .map((n) => ({ n, t: statSync(path.join(packDir, n)).mtimeMs }))
        // newest first, like git: fresh packs hold recent objects
        .sort((a, b) => b.t - a.t || a.n.localeCompare(b.n));
      for (const { n } of names) {
        try {
          this.packs.push(new PackFile(path.join(packDir, n), this.hashLength));
        } catch (e) {
          this.problems.push({ kind: 'corrupt-object', detail: (e as Error).message });
        }
      }
    }
  }

  /** Opens `gitDir` (a bare repo or a .git dir; a work tree's root is accepted too). */
  static open(dir: string): ObjectStore {
    const dotGit = path.join(dir, '.git');
    let gitDir = dir;
    if (existsSync(dotGit)) {
      gitDir = dotGit;
      if (statSync(dotGit).isFile()) {
        const m = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'));
        if (m) gitDir = path.resolve(dir, m[1]!.trim());
      }
    }
    if (!existsSync(path.join(gitDir, 'objects'))) throw new PackFormatError(`${dir}: not a git directory (no objects/)`);
    return new ObjectStore(gitDir);
  }

  /**
   * Opens `dir` only when every pack and index opens cleanly and there is at least one pack; null otherwise (not a
   * git directory, no pack, a pack or index it cannot read): the caller reads through git instead.
   */
  static openClean(dir: string): ObjectStore | null {
    let store: ObjectStore;
    try {
      store = ObjectStore.open(dir);
    } catch {
      return null;
    }
    if (store.packs.length > 0 && store.problems.length === 0) return store;
    store.close();
    return null;
  }

  close(): void {
    for (const p of this.packs) p.close();
  }

  private loosePath(oid: string): string | null {
    for (const d of this.objectDirs) {
      const p = path.join(d, oid.slice(0, 2), oid.slice(2));
      if (existsSync(p)) return p;
    }
    return null;
  }

  /** A loose object by oid, or null when there is none. Throws PackFormatError when corrupt. */
  readLooseObject(oid: string): StoredObject | null {
    const lp = this.loosePath(oid);
    return lp ? readLoose(lp, oid) : null;
  }

  /** Any object by oid (packs first, then loose), or null when absent. Throws PackFormatError when corrupt. */
  read(oid: string): StoredObject | null {
    for (const p of this.packs) {
      const off = p.findOffset(oid);
      if (off >= 0) return p.readAt(off, (o) => (o === oid ? null : this.read(o)));
    }
    const lp = this.loosePath(oid);
    return lp ? readLoose(lp, oid) : null;
  }

  /**
   * Every blob once (deduplicated across packs and loose objects), packs in offset order.
   * Errors on single objects are yielded as problems; iteration goes on.
   */
  *blobs(opts: IterateOptions = {}): Generator<BlobIteration> {
    const seen = new Set<string>();
    for (const pack of this.packs) yield* this.packBlobs(pack, seen, opts);
    yield* this.looseBlobs(seen, opts);
  }

  private *packBlobs(pack: PackFile, seen: Set<string>, opts: IterateOptions): Generator<BlobIteration> {
    const want = opts.want ?? (() => true);
    const maxSize = opts.maxBlobSize ?? Infinity;
    const layout = this.layout(pack);
    const { type, basePos, external, bad, refs, users } = layout;
    const targets = opts.targets ?? null;
    const cache = new BaseCache(refs, opts.cacheBytes ?? 256 << 20, targets, users);
    // Pass 2: materialize blobs in pack order. What readEntry returns is held once, for this loop: the cache holds
    // what it keeps too, and this loop's hold goes to the consumer with the blob, or is released here.
    for (let i = 0; i < type.length; i++) {
      if (type[i] !== OBJ_BLOB && !(type[i] === UNKNOWN_TYPE || bad.has(i))) continue;
      const oid = layout.oidOf(i);
      const wanted = !seen.has(oid) && want(oid);
      if (bad.has(i) || type[i] === UNKNOWN_TYPE) {
        // its type is unknown: report it only when a blob scan could have wanted it
        if (wanted) {
          seen.add(oid);
          yield { oid, error: 'corrupt-object', detail: bad.get(i) ?? `${pack.packPath}: delta base missing` };
        }
        continue;
      }
      const bp = basePos[i]!;
      if (!wanted && refs[i] === 0) {
        if (bp >= 0) cache.release(bp);
        continue;
      }
      const got = this.readEntry(layout, cache, i, maxSize, targets);
      if (bp >= 0) cache.release(bp);
      if ('error' in got) {
        if (wanted) {
          seen.add(oid);
          yield { oid, ...got };
        }
        continue;
      }
      cache.put(i, got.data);
      if (!wanted || got.data.length > maxSize) targets?.release(got.data);
      if (!wanted) continue;
      seen.add(oid);
      if (got.data.length > maxSize) yield { oid, error: 'too-large', detail: `${got.data.length} bytes`, size: got.data.length };
      else if (got.copies && bp >= 0) yield { oid, data: got.data, delta: { baseOid: layout.oidOf(bp), copies: got.copies } };
      else if (got.copies && external.has(i)) yield { oid, data: got.data, delta: { baseOid: external.get(i)!, copies: got.copies } };
      else yield { oid, data: got.data };
    }
  }

  /**
   * Pass 1 of a pack walk, headers only: each entry's real type (a delta's is its base's), its base, and how many
   * blob deltas use each base.
   */
  private layout(pack: PackFile): PackLayout {
    const { offsets, idx } = pack.order();
    const n = offsets.length;
    const type = new Uint8Array(n);
    const basePos = new Int32Array(n).fill(-1);
    const external = new Map<number, string>(); // pos → REF_DELTA base oid outside this pack
    const bad = new Map<number, string>();
    const pending: number[] = [];
    for (let i = 0; i < n; i++) {
      try {
        const h = pack.header(offsets[i]!);
        if (h.type !== OBJ_OFS_DELTA && h.type !== OBJ_REF_DELTA) {
          type[i] = h.type;
          continue;
        }
        let bp = -1;
        if (h.baseOffset !== undefined) {
          bp = positionIn(offsets, h.baseOffset);
          if (bp < 0) throw new PackFormatError(`${pack.packPath}: delta at ${h.offset} points at no object (${h.baseOffset})`);
        } else {
          const off = pack.findOffset(h.baseOid!);
          if (off >= 0) bp = positionIn(offsets, off);
          else external.set(i, h.baseOid!);
        }
        basePos[i] = bp;
        if (bp >= 0 && type[bp]) type[i] = type[bp]!;
        else pending.push(i);
      } catch (e) {
        bad.set(i, (e as Error).message);
      }
    }
    this.resolvePendingTypes(pending, type, basePos, external);
    for (const i of pending) bad.set(i, `${pack.packPath}: delta base chain of object at ${offsets[i]} does not resolve`);
    const refs = new Uint32Array(n);
    for (let i = 0; i < n; i++) if (type[i] === OBJ_BLOB && basePos[i]! >= 0) refs[basePos[i]!]!++;
    // each base's users, ascending: counted above, filled in pack order
    const first = new Uint32Array(n + 1);
    for (let i = 0; i < n; i++) first[i + 1] = first[i]! + refs[i]!;
    const list = new Uint32Array(first[n]!);
    const fill = first.slice(0, n);
    for (let i = 0; i < n; i++) if (type[i] === OBJ_BLOB && basePos[i]! >= 0) list[fill[basePos[i]!]!++] = i;
    return { pack, offsets, type, basePos, external, bad, refs, users: { first, list }, oidOf: (pos) => pack.oidOfIndex(idx[pos]!) };
  }

  /** Types of deltas whose base came later (forward REF_DELTA) or lives outside the pack, until stable; `pending` keeps the unresolved. */
  private resolvePendingTypes(pending: number[], type: Uint8Array, basePos: Int32Array, external: Map<number, string>): void {
    for (let changed = true; changed && pending.length;) {
      changed = false;
      for (let k = pending.length - 1; k >= 0; k--) {
        const i = pending[k]!;
        const bp = basePos[i]!;
        // base missing: reported when reached if it is a blob we cannot tell
        const t = bp >= 0 ? type[bp]! : (this.typeOfExternal(external.get(i)!) ?? UNKNOWN_TYPE);
        if (t) {
          type[i] = t;
          pending.splice(k, 1);
          changed = true;
        }
      }
    }
  }

  /** Entry `i`'s content (from the cache, or inflated), held once for the caller; or the problem that stops it. */
  private readEntry(l: PackLayout, cache: BaseCache, i: number, maxSize: number, targets: TargetBuffers | null): Materialized | Omit<BlobProblem, 'oid'> {
    try {
      const cached = cache.get(i);
      if (cached) {
        targets?.hold(cached);
        return { data: cached };
      }
      if (l.refs[i] === 0 && l.basePos[i]! < 0 && l.external.get(i) === undefined) {
        // too large and nobody's base: report without inflating
        const h = l.pack.header(l.offsets[i]!);
        if (h.size > maxSize) return { error: 'too-large', detail: `${h.size} bytes`, size: h.size };
      }
      return this.materialize(l, cache, i, 0, targets);
    } catch (e) {
      return { error: 'corrupt-object', detail: (e as Error).message };
    }
  }

  /**
   * Inflates entry `pos`, applying its delta chain (bases from the cache, or read and cached for their turn); held
   * once for the caller (a delta target's memory comes from `targets`).
   */
  private materialize(l: PackLayout, cache: BaseCache, pos: number, depth: number, targets: TargetBuffers | null): Materialized {
    const pack = l.pack;
    if (depth > 10_000) throw new PackFormatError(`${pack.packPath}: delta chain too deep`);
    const why = l.bad.get(pos);
    if (why) throw new PackFormatError(why);
    const random = depth > 0;
    const h = pack.header(l.offsets[pos]!, random);
    if (h.type === OBJ_BLOB) return { data: pack.inflate(h, random) };
    const delta = pack.inflate(h, random);
    let base: Buffer;
    let ownBase = false;
    const bp = l.basePos[pos]!;
    if (bp >= 0) {
      const cached = cache.get(bp);
      if (cached) base = cached;
      else {
        base = this.materialize(l, cache, bp, depth + 1, targets).data;
        ownBase = true;
        // a forward base (REF_DELTA) read early, or an evicted one: keep it for its turn and its other children
        cache.put(bp, base);
      }
    } else {
      const ext = this.read(l.external.get(pos)!);
      if (!ext) throw new PackFormatError(`${pack.packPath}: delta base ${l.external.get(pos)} not found`);
      base = ext.data;
    }
    try {
      return applyDelta(base, delta, true, targets ? (n) => targets.take(n) : undefined);
    } finally {
      if (ownBase) targets?.release(base);
    }
  }

  private typeOfExternal(oid: string): number | null {
    try {
      const o = this.read(oid);
      if (!o) return null;
      return { commit: 1, tree: 2, blob: 3, tag: 4 }[o.type];
    } catch {
      return null;
    }
  }

  private *looseBlobs(seen: Set<string>, opts: IterateOptions): Generator<BlobIteration> {
    const want = opts.want ?? (() => true);
    const maxSize = opts.maxBlobSize ?? Infinity;
    const hexLen = this.hashLength * 2;
    for (const d of this.objectDirs) {
      let fan: string[];
      try {
        fan = readdirSync(d)
          .filter((x) => /^[0-9a-f]{2}$/.test(x))
          .sort();
      } catch {
        continue;
      }
      for (const f of fan) {
        for (const rest of readdirSync(path.join(d, f)).sort()) {
          const oid = f + rest;
          if (oid.length !== hexLen || !/^[0-9a-f]+$/.test(rest) || seen.has(oid) || !want(oid)) continue;
          let o: StoredObject;
          try {
            o = readLoose(path.join(d, f, rest), oid);
          } catch (e) {
            seen.add(oid);
            yield { oid, error: 'corrupt-object', detail: (e as Error).message };
            continue;
          }
          if (o.type !== 'blob') continue;
          seen.add(oid);
          if (o.data.length > maxSize) yield { oid, error: 'too-large', detail: `${o.data.length} bytes`, size: o.data.length };
          else yield { oid, data: o.data };
        }
      }
    }
  }
}

export function readLoose(file: string, oid: string): StoredObject {
  let raw: Buffer;
  try {
    raw = inflateSync(readFileSync(file));
  } catch (e) {
    throw new PackFormatError(`loose object ${oid}: ${(e as Error).message}`);
  }
  const nul = raw.indexOf(0);
  const m = nul > 0 ? /^(commit|tree|blob|tag) (\d+)$/.exec(raw.toString('latin1', 0, nul)) : null;
  if (!m) throw new PackFormatError(`loose object ${oid}: bad header`);
  const data = raw.subarray(nul + 1);
  if (data.length !== Number(m[2])) throw new PackFormatError(`loose object ${oid}: size ${data.length} ≠ header ${m[2]}`);
  return { type: m[1] as ObjectType, data };
}

export const typeName = (t: number): ObjectType | undefined => TYPE_NAMES[t];
