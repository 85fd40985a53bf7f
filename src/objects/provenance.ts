// Shared by both adapters: collecting origins, normalizing commit metadata and the final sort, so their
// enumerations compare equal byte for byte.
import type { BlobEntry, EnumerationProblem } from '../core/ports.js';
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

export function isoUtc(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}

/** Accumulates (blob, origin) pairs; one origin per (commit, path). */
export class OriginCollector {
  private readonly byOid = new Map<string, Origin[]>();

  add(oid: string, meta: CommitMeta, path: string): void {
    let list = this.byOid.get(oid);
    if (!list) this.byOid.set(oid, (list = []));
    list.push({ commit: meta.commit, author: meta.author, date: meta.date, subject: meta.subject, path });
  }

  oids(): string[] {
    return [...this.byOid.keys()];
  }

  /**
   * Final, canonical form. `sizes` maps oid → size; an oid without a size is missing from the object
   * database: it is dropped from the blobs and reported as a problem instead.
   */
  finish(sizes: Map<string, number>, problems: EnumerationProblem[]): BlobEntry[] {
    const blobs: BlobEntry[] = [];
    for (const [oid, origins] of this.byOid) {
      const size = sizes.get(oid);
      origins.sort(compareOrigins);
      const o = origins[0]!;
      if (size === undefined) {
        problems.push({
          kind: 'missing-object',
          oid,
          detail: `blob ${oid} (${o.path} in ${o.commit || 'the index'}) is not in the object database`,
        });
        continue;
      }
      blobs.push({ oid, size, origins: dedupe(origins) });
    }
    blobs.sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
    problems.sort(compareProblems);
    return blobs;
  }
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
