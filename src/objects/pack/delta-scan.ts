// Delta-aware detection over a pack: blobs stored whole are scanned completely; a blob stored as a delta whose
// base was scanned clean (no match, no multiline-detector keyword) with the same path is scanned only around
// the bytes the delta inserted (plus every seam between copies), each region widened by a margin and extended
// to line boundaries. If a region finds anything, the whole blob is rescanned, and any blob whose base had a
// match is scanned whole: every reported match comes from a full scan of its own blob (own offsets, lines,
// columns, companions), so results equal a full scan of every blob as long as the engine is local (a match
// depends only on bytes within the margin), which holds for the windowed keyword engine. Multiline detectors
// (PEM blocks, windows of 4 KiB and more) break that radius, so a multiline keyword anywhere in a blob, or
// inherited from its base, sends the blob and its descendants to full scans.
import RE2 from 're2';
import type { Match } from '../../core/model.js';
import type { Engine } from '../../detection/types.js';
import type { ObjectStore, PackedBlob } from './object-store.js';

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

const NUL_PROBE = 8192;

/** Default margin: twice the engine's dependency radius (window + line extension + a token, required companions). */
export function defaultMargin(engine: Engine): number {
  let companion = 0;
  for (const d of engine.catalog.detectors) for (const c of d.def.companions) if (c.required) companion = Math.max(companion, c.within);
  const radius = Math.max(256 + 1024 + 320, 512 + 320, companion + 320);
  return Math.max(4096, 2 * radius);
}

function multilineKeywords(engine: Engine): RE2 | null {
  const kws = new Set<string>();
  for (const d of engine.catalog.detectors) if (d.def.multiline) for (const k of d.def.keywords) kws.add(k);
  if (kws.size === 0) return null;
  const esc = [...kws].map((k) => k.replace(/[\\^$.*+?()[\]{}|-]/g, '\\$&'));
  return new RE2(esc.join('|'), 'i');
}

/** Scan regions of a delta target: inserted ranges and seams, widened by `margin`, on line boundaries, merged. */
export function deltaRegions(data: Buffer, baseLength: number, copies: number[], margin: number): [number, number][] {
  const len = data.length;
  const dirty: [number, number][] = [];
  let prevEnd = 0;
  let prevBaseEnd = -1;
  for (let k = 0; k < copies.length; k += 3) {
    const ts = copies[k]!;
    const te = copies[k + 1]!;
    const bs = copies[k + 2]!;
    // bytes before this copy were inserted; an empty gap is still a seam unless it continues the previous copy
    // (or, at the start, starts where the base starts)
    const continues = k === 0 ? ts === 0 && bs === 0 : ts === prevEnd && bs === prevBaseEnd;
    if (ts > prevEnd || !continues) dirty.push([prevEnd, ts]);
    prevEnd = te;
    prevBaseEnd = bs + (te - ts);
  }
  if (prevEnd < len || prevBaseEnd !== baseLength) dirty.push([prevEnd, len]);
  const out: [number, number][] = [];
  for (const [a, b] of dirty) {
    let s = Math.max(0, a - margin);
    let e = Math.min(len, b + margin);
    s = s === 0 ? 0 : data.lastIndexOf(0x0a, s - 1) + 1;
    if (e < len) {
      const nl = data.indexOf(0x0a, e);
      e = nl === -1 ? len : nl + 1;
    }
    const last = out[out.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/**
 * Scans every blob of `store` with `engine`, in pack order. Yields one result per wanted blob.
 * `stats` is updated as it goes.
 */
export function* scanPackDeltaAware(store: ObjectStore, engine: Engine, opts: DeltaScanOptions = {}, stats?: DeltaScanStats): Generator<BlobScan> {
  const st: DeltaScanStats = stats ?? { blobs: 0, bytes: 0, scannedBytes: 0, full: 0, regions: 0, binary: 0, problems: 0 };
  const deltaAware = opts.deltaAware ?? true;
  const margin = opts.margin ?? defaultMargin(engine);
  const maxRegionBlob = opts.maxRegionBlob ?? 512 * 1024;
  const pathOf = opts.pathOf ?? (() => undefined);
  const ml = multilineKeywords(engine);
  // Blobs whose full scan is known to be empty and free of multiline keywords, with their length.
  const clean = new Map<string, number>();
  const want = opts.want;
  // A base must be scanned to vouch for its deltas, so with delta-aware scanning every blob is read;
  // unwanted blobs are scanned but not reported.
  const iter = store.blobs({ maxBlobSize: opts.maxBlobSize, want: deltaAware ? undefined : want });

  const full = (b: PackedBlob, path: string): { matches: Match[]; isClean: boolean } => {
    const matches = engine.scan(b.data, { path });
    st.full++;
    st.scannedBytes += b.data.length;
    return { matches, isClean: matches.length === 0 && !(ml && ml.test(b.data)) };
  };

  for (const b of iter) {
    const wanted = !want || want(b.oid);
    if (!('data' in b)) {
      if (wanted) {
        st.problems++;
        yield b;
      }
      continue;
    }
    const path = pathOf(b.oid) ?? '';
    if (wanted) {
      st.blobs++;
      st.bytes += b.data.length;
    }
    if (b.data.subarray(0, NUL_PROBE).includes(0)) {
      // binary: the engine skips it; it vouches for nothing
      if (wanted) {
        st.binary++;
        yield { oid: b.oid, matches: [], size: b.data.length, scanned: 0, mode: 'binary' };
      }
      continue;
    }
    const baseLen = deltaAware && b.delta ? clean.get(b.delta.baseOid) : undefined;
    if (
      baseLen !== undefined &&
      b.data.length <= maxRegionBlob &&
      (pathOf(b.delta!.baseOid) ?? '') === path &&
      // a NUL later in the blob would make a region look binary to the engine
      b.data.indexOf(0, NUL_PROBE) === -1
    ) {
      const regions = deltaRegions(b.data, baseLen, b.delta!.copies, margin);
      let hit = false;
      let scanned = 0;
      for (const [s, e] of regions) {
        const sub = b.data.subarray(s, e);
        scanned += e - s;
        if (engine.scan(sub, { path }).length > 0 || (ml && ml.test(sub))) {
          hit = true;
          break;
        }
      }
      st.scannedBytes += scanned;
      if (!hit) {
        clean.set(b.oid, b.data.length);
        st.regions++;
        if (wanted) yield { oid: b.oid, matches: [], size: b.data.length, scanned, mode: 'regions' };
        continue;
      }
    }
    if (!wanted && !deltaAware) continue;
    const r = full(b, path);
    if (r.isClean && deltaAware) clean.set(b.oid, b.data.length);
    if (wanted) yield { oid: b.oid, matches: r.matches, size: b.data.length, scanned: b.data.length, mode: 'full' };
  }
}
