// Shared by both adapters: collecting origins, normalizing commit metadata and the final sort, so their
// enumerations compare equal byte for byte.
import { ConfigError } from '../core/errors.js';
import type { BlobEntry, EnumerationProblem, GitObjects } from '../core/ports.js';
import type { Author, Origin } from '../core/model.js';

export interface CommitMeta {
  commit: string;
  author: Author;
  /** UTC ISO 8601 (`toISOString()`), so a commit made in +02:00 and one in Z sort by instant. */
  date: string;
  subject: string;
}

/** The all-zero oid git uses for "no object" on either side of a raw diff. */
export const isNullOid = (oid: string): boolean => /^0+$/.test(oid);

/** git's %s: the first paragraph of the message, each line right-trimmed, joined by single spaces. */
export function subjectOf(message: string): string {
  const lines = message.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.trim() === '') i++;
  const out: string[] = [];
  for (; i < lines.length; i++) {
    const l = lines[i]!.replace(/[ \t\r\f\v]+$/, '');
    if (l.trim() === '') break;
    out.push(l);
  }
  return out.join(' ');
}

/** `new Date(s * 1000).toISOString()`; whole seconds in years 1970–9999 skip the Date object (5× faster, flat string). */
export function isoUtc(epochSeconds: number): string {
  const t = epochSeconds;
  if (!(Number.isInteger(t) && t >= 0 && t < 253402300800)) return new Date(t * 1000).toISOString();
  const days = Math.floor(t / 86400);
  const rem = t - days * 86400;
  // days → civil date (H. Hinnant's algorithm, proleptic Gregorian, as Date uses)
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const h = Math.floor(rem / 3600);
  const mi = Math.floor((rem % 3600) / 60);
  const sec = rem % 60;
  const D = (n: number) => 48 + n;
  return String.fromCharCode(
    D(Math.floor(y / 1000)), D(Math.floor(y / 100) % 10), D(Math.floor(y / 10) % 10), D(y % 10), 45,
    D(Math.floor(m / 10)), D(m % 10), 45, D(Math.floor(d / 10)), D(d % 10), 84,
    D(Math.floor(h / 10)), D(h % 10), 58, D(Math.floor(mi / 10)), D(mi % 10), 58, D(Math.floor(sec / 10)), D(sec % 10),
    46, 48, 48, 48, 90,
  );
}

/** Size of a blob given its oid and its position in `OriginCollector#oids()`; undefined when it is missing. */
export type SizeOf = (oid: string, index: number) => number | undefined;

/** Accumulates (blob, origin) pairs; one origin per (commit, path). */
export class OriginCollector {
  private readonly byOid = new Map<string, Origin[]>();

  /** Returns true when `oid` is new to this collector (its first origin). */
  add(oid: string, meta: CommitMeta, path: string): boolean {
    const origin: Origin = { commit: meta.commit, author: meta.author, date: meta.date, subject: meta.subject, path };
    const list = this.byOid.get(oid);
    if (list) {
      list.push(origin);
      return false;
    }
    this.byOid.set(oid, [origin]);
    return true;
  }

  oids(): string[] {
    return [...this.byOid.keys()];
  }

  /**
   * Final, canonical form. `sizes` maps oid → size (or answers by the oid's position in `oids()`); an oid
   * without a size could not be read: it is dropped from the blobs and reported as a problem instead (missing
   * from the object database, unless `why` knows better).
   */
  finish(sizes: ReadonlyMap<string, number> | SizeOf, problems: EnumerationProblem[], why?: (oid: string) => { kind: string; detail: string } | undefined): BlobEntry[] {
    const sizeOf: SizeOf = typeof sizes === 'function' ? sizes : (oid) => sizes.get(oid);
    const blobs: BlobEntry[] = [];
    const lists = [...this.byOid.values()];
    const order = sortOrder([...this.byOid.keys()]);
    for (let i = 0; i < order.length; i++) {
      const oid = order.keys[i]!;
      const origins = lists[order.index[i]!]!;
      const size = sizeOf(oid, order.index[i]!);
      if (origins.length > 1) origins.sort(compareOrigins);
      const o = origins[0]!;
      if (size === undefined) {
        const known = why?.(oid);
        problems.push({
          kind: known?.kind ?? 'missing-object',
          oid,
          path: o.path,
          detail: known ? `${known.detail} (${o.path} in ${o.commit || 'the index'})` : `blob ${oid} (${o.path} in ${o.commit || 'the index'}) is not in the object database`,
        });
        continue;
      }
      blobs.push({ oid, size, origins: origins.length > 1 ? dedupe(origins) : origins });
    }
    problems.sort(compareProblems);
    return blobs;
  }
}

const INDEX_BITS = 2 ** 21;

/** Sorted as `<` orders strings (see sortOrder). */
export function sortOids(oids: string[]): string[] {
  return sortOrder(oids).keys;
}

/**
 * `keys` sorted as `<` orders strings, and `index[i]`: where keys[i] was in the input. Lowercase-hex oids sort
 * as numbers (their first 8 digits, the position in the low bits) in a Float64Array, several times faster
 * than comparing 80k strings; equal prefixes are then ordered by the whole string. Anything else takes the
 * plain string sort.
 */
export function sortOrder(oids: string[]): { keys: string[]; index: ArrayLike<number>; length: number } {
  const n = oids.length;
  const keys = n < INDEX_BITS ? hexKeys(oids) : null;
  if (!keys) {
    const index = oids.map((_, i) => i).sort((a, b) => (oids[a]! < oids[b]! ? -1 : oids[a]! > oids[b]! ? 1 : 0));
    return { keys: index.map((i) => oids[i]!), index, length: n };
  }
  keys.sort();
  const index = new Int32Array(n);
  for (let i = 0; i < n; i++) index[i] = keys[i]! % INDEX_BITS;
  for (let i = 0; i < n; ) {
    const prefix = Math.floor(keys[i]! / INDEX_BITS);
    let j = i + 1;
    while (j < n && Math.floor(keys[j]! / INDEX_BITS) === prefix) j++;
    if (j - i > 1) {
      const run = Array.from(index.subarray(i, j)).sort((a, b) => (oids[a]! < oids[b]! ? -1 : oids[a]! > oids[b]! ? 1 : 0));
      index.set(run, i);
    }
    i = j;
  }
  const sorted = new Array<string>(n);
  for (let i = 0; i < n; i++) sorted[i] = oids[index[i]!]!;
  return { keys: sorted, index, length: n };
}

/** First 8 hex digits × 2^21 + position, or null when some oid is not lowercase hex. */
function hexKeys(oids: string[]): Float64Array | null {
  const keys = new Float64Array(oids.length);
  for (let i = 0; i < oids.length; i++) {
    const oid = oids[i]!;
    if (oid.length < 8) return null;
    let v = 0;
    for (let j = 0; j < 8; j++) {
      const c = oid.charCodeAt(j);
      const x = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
      if (x < 0) return null;
      v = v * 16 + x;
    }
    keys[i] = v * INDEX_BITS + i;
  }
  return keys;
}

function dedupe(sorted: Origin[]): Origin[] {
  return sorted.filter((o, i) => i === 0 || o.commit !== sorted[i - 1]!.commit || o.path !== sorted[i - 1]!.path);
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function compareOrigins(a: Origin, b: Origin): number {
  return cmp(a.date, b.date) || cmp(a.commit, b.commit) || cmp(a.path, b.path);
}

export function compareProblems(a: EnumerationProblem, b: EnumerationProblem): number {
  return cmp(a.kind, b.kind) || cmp(a.oid ?? '', b.oid ?? '') || cmp(a.detail, b.detail);
}

/** Blob-like tree entry modes: regular files and symlinks. Gitlinks (160000) and trees are not content. */
export function isBlobMode(mode: string | number): boolean {
  const m = typeof mode === 'number' ? mode.toString(8) : mode;
  return m === '100644' || m === '100755' || m === '120000' || m === '100664';
}

/** A range selection's revisions as commit ids (the end first, then the excluded ones): an unknown one is the user's error. */
export async function resolveRange(git: Pick<GitObjects, 'resolve'>, range: { to: string; exclude: string[] }): Promise<{ to: string; exclude: string[] }> {
  const must = async (rev: string) => {
    const oid = await git.resolve(rev);
    if (!oid) throw new ConfigError(`unknown revision '${rev}'`);
    return oid;
  };
  const to = await must(range.to);
  return { to, exclude: await Promise.all(range.exclude.map(must)) };
}

/**
 * Depth-first over commits, each once: yields the commits popped from `stack` that `seen` does not hold yet (and
 * adds them to it). The caller pushes each commit's parents onto `stack` as it goes.
 */
export function* eachCommit(stack: string[], seen: Set<string>): Generator<string> {
  while (stack.length) {
    const oid = stack.pop()!;
    if (seen.has(oid)) continue;
    seen.add(oid);
    yield oid;
  }
}
