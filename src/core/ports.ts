// Ports: what the core needs from the outside world. Adapters implement these; the core imports no adapter.
import type { Origin, Verification } from './model.js';

/** Which blobs of a repository to enumerate. */
export type BlobSelection =
  /** Every blob reachable from every ref (heads, tags, remotes, pull refs, notes…). */
  | { kind: 'all' }
  /** Blobs of the HEAD tree only (--no-history). */
  | { kind: 'head' }
  /** Blobs in the index (stage 0) whose content differs from HEAD's at that path (--staged: the pre-commit case). */
  | { kind: 'staged' }
  /** Blobs introduced by commits reachable from `to` and not from any of `exclude` (the push case, --range A..B). */
  | { kind: 'range'; to: string; exclude: string[] };

/** One unique blob with every place it was introduced. */
export interface BlobEntry {
  oid: string;
  size: number;
  /** One per (introducing commit, path); for 'staged' a single origin with commit '' and the index path. */
  origins: Origin[];
}

export interface EnumerationProblem {
  /** e.g. 'missing-object', 'corrupt-object', 'bad-ref' */
  kind: string;
  oid?: string;
  detail: string;
}

export interface Enumeration {
  blobs: BlobEntry[];
  problems: EnumerationProblem[];
  /** Commits walked (0 for 'staged' / 'head'). */
  commits: number;
}

export type BlobRead =
  | { oid: string; data: Buffer }
  | { oid: string; error: 'missing-object' | 'corrupt-object' | 'too-large'; detail: string; size?: number };

/**
 * Read access to one repository's object database. Two adapters (native git CLI, isomorphic pure JS) must
 * produce identical enumerations (same blobs, same origins, same order after sorting) for the same repo.
 */
export interface GitObjects {
  readonly backend: 'native' | 'isomorphic';
  /** Enumerate unique blobs with provenance. Sorted by oid; origins sorted by (date, commit, path). */
  enumerate(selection: BlobSelection): Promise<Enumeration>;
  /**
   * Stream blob contents for `oids` in an order of the adapter's choosing (pack order is fastest).
   * Blobs larger than `maxBlobSize` are not read: they yield an error entry 'too-large' with the size.
   * Never loads the whole repository into memory.
   */
  read(oids: Iterable<string>, opts: { maxBlobSize: number }): AsyncIterable<BlobRead>;
  /** Resolve a revision (branch, tag, sha, HEAD) to a commit oid, or null. */
  resolve(rev: string): Promise<string | null>;
  close(): Promise<void>;
}

/** Wall clock, injectable for tests. */
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

/**
 * Verification results by finding fingerprint, kept for a TTL so re-scans do not call issuers again.
 * In-memory in src/verification/cache.ts; the SQLite store implements it for persistent runs. Sync or async.
 */
export interface VerificationCache {
  get(fingerprint: string): Verification | undefined | Promise<Verification | undefined>;
  set(fingerprint: string, verification: Verification, ttlMs: number): void | Promise<void>;
}
