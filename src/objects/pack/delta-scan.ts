// Delta-aware detection over a pack: blobs stored whole are scanned completely; a blob stored as a delta whose
// base was scanned clean (no match, no multiline-detector keyword) with the same path is scanned only around
// the bytes the delta inserted (plus every seam between copies), each region widened by a margin and extended
// to line boundaries. If a region finds anything, the whole blob is rescanned, and any blob whose base had a
// match is scanned whole: every reported match comes from a full scan of its own blob (own offsets, lines,
// columns, companions), so results equal a full scan of every blob as long as the engine is local (a match
// depends only on bytes within the margin), which holds for the windowed keyword engine. Multiline detectors
// (PEM blocks, windows of 4 KiB and more) break that radius, so a multiline keyword anywhere in a blob, or
// inherited from its base, sends the blob and its descendants to full scans.
import type { Match } from '../../core/model.js';
import type { Engine } from '../../detection/types.js';
import type { ObjectStore } from './object-store.js';
import { DeltaScanCore, defaultMargin, deltaRegions } from './scan-core.js';

export interface DeltaScanOptions {
  /** Path of a blob (first origin): the engine's path-aware filters use it. Missing paths count as ''. */
  pathOf?: (oid: string) => string | undefined;
  /** Blobs to report; others are still read as delta bases. Default: all. */
  want?: (oid: string) => boolean;
  maxBlobSize?: number;
  /** false: scan every blob whole (the reference the delta-aware mode must equal). Default true. */
  deltaAware?: boolean;
  /** Bytes either side of each inserted range / seam. Default: from the catalog, at least 4 KiB. */
  margin?: number;
  /** Regions only for blobs up to this size (the engine's per-blob decode budget is not local). Default 512 KiB. */
  maxRegionBlob?: number;
}

export type BlobScan =
  | { oid: string; matches: Match[]; size: number; scanned: number; mode: 'full' | 'regions' | 'binary' }
  | { oid: string; error: 'too-large' | 'corrupt-object'; detail: string; size?: number };

export interface DeltaScanStats {
  blobs: number;
  bytes: number;
  scannedBytes: number;
  full: number;
  regions: number;
  binary: number;
  problems: number;
}

export { defaultMargin, deltaRegions };

/**
 * Scans every blob of `store` with `engine`, in pack order. Yields one result per wanted blob.
 * `stats` is updated as it goes.
 */
export function* scanPackDeltaAware(store: ObjectStore, engine: Engine, opts: DeltaScanOptions = {}, stats?: DeltaScanStats): Generator<BlobScan> {
  const st: DeltaScanStats = stats ?? { blobs: 0, bytes: 0, scannedBytes: 0, full: 0, regions: 0, binary: 0, problems: 0 };
  const deltaAware = opts.deltaAware ?? true;
  const core = new DeltaScanCore(engine, { deltaAware, margin: opts.margin ?? defaultMargin(engine), maxRegionBlob: opts.maxRegionBlob ?? 512 * 1024 });
  const pathOf = opts.pathOf ?? (() => undefined);
  const want = opts.want;
  // A base must be scanned to vouch for its deltas, so with delta-aware scanning every blob is read;
  // unwanted blobs are scanned but not reported.
  const iter = store.blobs({ maxBlobSize: opts.maxBlobSize, want: deltaAware ? undefined : want });
  for (const b of iter) {
    const wanted = !want || want(b.oid);
    if (!('data' in b)) {
      if (wanted) {
        st.problems++;
        yield b;
      }
      continue;
    }
    const r = core.run({ oid: b.oid, path: pathOf(b.oid) ?? '', data: b.data, delta: b.delta });
    if (r.error) throw new Error(r.error);
    st.scannedBytes += r.scanned;
    if (r.mode === 'binary') {
      if (wanted) st.binary++;
    } else if (r.mode === 'regions') st.regions++;
    else st.full++;
    if (!wanted) continue;
    st.blobs++;
    st.bytes += b.data.length;
    yield { oid: b.oid, matches: r.matches, size: b.data.length, scanned: r.scanned, mode: r.mode };
  }
}
