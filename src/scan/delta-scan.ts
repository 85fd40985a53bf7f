// Delta-aware detection over a pack, in this thread: blobs in pack order, each planned by the DeltaPlanner
// (delta-plan.ts: whole, or only around what its delta changed when its base is clean) and scanned by `runTask`.
// Every reported match comes from a full scan of its own blob, so results equal a full scan of every blob.
import type { Match } from '../core/model.js';
import { multilineGate } from '../detection/multiline-gate.js';
import type { Engine } from '../detection/types.js';
import type { ObjectStore } from '../objects/pack/object-store.js';
import { deltaPlanner } from './delta-plan.js';
import { runTask, type TaskResult } from './task.js';

export interface DeltaScanOptions {
  /** Path of a blob (first origin): the engine's path-aware filters use it. Missing paths count as ''. */
  pathOf?: (oid: string) => string | undefined;
  /** Blobs to report; others are still read as delta bases. Default: all. */
  want?: (oid: string) => boolean;
  maxBlobSize?: number;
  /** false: scan every blob whole (the reference the delta-aware mode must equal). Default true. */
  deltaAware?: boolean;
  /** Bytes either side of each inserted range / seam. Default: DELTA_MARGIN. */
  margin?: number;
  /** Regions only for blobs up to this size. Default: any size (MAX_REGION_BLOB). */
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

/**
 * Scans every blob of `store` with `engine`, in pack order. Yields one result per wanted blob.
 * `stats` is updated as it goes.
 */
export function* scanPackDeltaAware(store: ObjectStore, engine: Engine, opts: DeltaScanOptions = {}, stats?: DeltaScanStats): Generator<BlobScan> {
  const st: DeltaScanStats = stats ?? { blobs: 0, bytes: 0, scannedBytes: 0, full: 0, regions: 0, binary: 0, problems: 0 };
  const deltaAware = opts.deltaAware ?? true;
  const planner = deltaPlanner(multilineGate(engine.catalog, engine.decodeDepth), { deltaAware, margin: opts.margin, maxRegionBlob: opts.maxRegionBlob });
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
    // in one thread every base is settled before its targets, so nothing is held or rescanned
    const settled = planner.settle(runTask(engine, planner.plan({ oid: b.oid, path: pathOf(b.oid) ?? '', data: b.data, delta: b.delta, report: wanted })));
    const r = settled.done[0] as TaskResult;
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
