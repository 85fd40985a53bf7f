// Contract between the detection engine and its callers (pipeline, worker pool, catalog tests).
import type { Match } from '../core/model.js';
import type { DetectorDef, ProviderFile } from './schema.js';

export type ProviderInfo = ProviderFile['provider'];

/** A detector as loaded: its definition plus the provider it belongs to and the file it came from. */
export interface LoadedDetector {
  def: DetectorDef;
  provider: ProviderInfo;
  file: string;
}

export interface Catalog {
  detectors: LoadedDetector[];
  byId: Map<string, LoadedDetector>;
  providers: Map<string, ProviderInfo>;
}

export interface ScanContext {
  /** Path of the content (first origin's path); drives path-aware filters (lockfiles, minified bundles…). */
  path: string;
  /**
   * Scan for every path at once (`path` is ignored): each match carries the path classes it holds in
   * (Match.pathClasses); `matchesForPath` keeps those of a path. Lets a scan start before paths are known.
   */
  anyPath?: boolean;
  /**
   * The caller already classified the content it was cut from as text (detection/binary.ts): scan it without
   * probing. A slice of a text blob (a delta region) must be scanned as the blob would be, whatever its bytes.
   */
  text?: boolean;
}

/** A full scan's matches and what they say about its deltas (DetectionEngine.scanVerdict). */
export interface Verdict {
  matches: Match[];
  /** A match, a store, or less decoded than it holds: its deltas are scanned whole. */
  dirty: boolean;
  /** The largest `within` of a required companion a candidate lacked (and lacked only); 0: none. */
  reach: number;
  /** No store and all decoded: dirty only for its matches, if at all. */
  complete: boolean;
  /** A decoded match was dropped for a plain match of its secret, which may lie on another line. */
  deduped: boolean;
  /**
   * Flat [start, end, within, …]: each candidate behind `reach`, and how far its missing companion may lie; null when
   * some lie in decoded text (their place in the content is not known).
   */
  lacking: number[] | null;
}

/** Synchronous, pure matcher over one Buffer. Construct once per thread. */
export interface Engine {
  readonly catalog: Catalog;
  /** Decoding levels it reads (EngineOptions.decodeDepth): the multiline gate must read as deep. */
  readonly decodeDepth: number;
  /** All matches in `data` (already filtered: checksums, entropy, allow patterns, inline keyloop:allow, placeholders). */
  scan(data: Buffer, ctx: ScanContext): Match[];
  /** `scan` plus the delta-scanning verdict (see DetectionEngine.scanVerdict). */
  scanVerdict(data: Buffer, ctx: ScanContext): Verdict;
}
