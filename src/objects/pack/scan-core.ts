// The per-thread half of the delta-aware scan: one blob at a time, with the clean/dirty verdicts of the blobs
// this thread scanned before. The pack scan pool routes a delta target to the thread that scanned its base, so
// each thread only ever needs its own verdicts; an unknown base means a full scan, never a skipped byte.
import RE2 from 're2';
import type { Match } from '../../core/model.js';
import { isBinary } from '../../detection/engine.js';
import type { Engine } from '../../detection/types.js';

export interface ScanJob {
  oid: string;
  /** Path of the blob (first origin) for the engine's path-aware filters; '' when unknown. */
  path: string;
  data: Buffer;
  /** Stored as a delta: its base and the target ranges copied from it. */
  delta?: { baseOid: string; copies: number[] };
}

export type JobMode = 'full' | 'regions' | 'binary';

export interface JobResult {
  oid: string;
  matches: Match[];
  mode: JobMode;
  size: number;
  /** Bytes handed to the engine. */
  scanned: number;
  /** Detection threw (a bug): no verdict, the blob is reported as skipped. */
  error?: string;
}

export interface CoreOptions {
  /** Bytes either side of each inserted range / seam. */
  margin: number;
  /** Regions only for blobs up to this size (the engine's per-blob decode budget is not local). */
  maxRegionBlob: number;
  /** false: every blob whole (the reference). */
  deltaAware: boolean;
}

export function multilineKeywords(engine: Engine): RE2 | null {
  const kws = new Set<string>();
  for (const d of engine.catalog.detectors) if (d.def.multiline) for (const k of d.def.keywords) kws.add(k);
  if (kws.size === 0) return null;
  const esc = [...kws].map((k) => k.replace(/[\\^$.*+?()[\]{}|-]/g, '\\$&'));
  return new RE2(esc.join('|'), 'i');
}

/** Default margin: twice the engine's dependency radius (window + line extension + a token, required companions). */
export function defaultMargin(engine: Engine): number {
  let companion = 0;
  for (const d of engine.catalog.detectors) for (const c of d.def.companions) if (c.required) companion = Math.max(companion, c.within);
  const radius = Math.max(256 + 1024 + 320, 512 + 320, companion + 320);
  return Math.max(4096, 2 * radius);
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

export class DeltaScanCore {
  /** Blobs whose full scan is known empty and free of multiline keywords: their length and path. */
  private readonly clean = new Map<string, { length: number; path: string }>();
  private readonly ml: RE2 | null;

  constructor(
    private readonly engine: Engine,
    private readonly opts: CoreOptions,
  ) {
    this.ml = multilineKeywords(engine);
  }

  /** Forget verdicts (a new scan, possibly of another repository). */
  reset(opts?: Partial<CoreOptions>): void {
    this.clean.clear();
    if (opts) Object.assign(this.opts, opts);
  }

  run(job: ScanJob): JobResult {
    const { data, path } = job;
    if (isBinary(data)) return { oid: job.oid, matches: [], mode: 'binary', size: data.length, scanned: 0 };
    const base = this.opts.deltaAware && job.delta ? this.clean.get(job.delta.baseOid) : undefined;
    let scanned = 0;
    try {
      if (
        base !== undefined &&
        data.length <= this.opts.maxRegionBlob &&
        base.path === path &&
        // a NUL later in the blob would make a region look binary to the engine
        data.indexOf(0, 8192) === -1
      ) {
        let hit = false;
        for (const [s, e] of deltaRegions(data, base.length, job.delta!.copies, this.opts.margin)) {
          const sub = data.subarray(s, e);
          scanned += e - s;
          if (this.engine.scan(sub, { path }).length > 0 || (this.ml && this.ml.test(sub))) {
            hit = true;
            break;
          }
        }
        if (!hit) {
          this.clean.set(job.oid, { length: data.length, path });
          return { oid: job.oid, matches: [], mode: 'regions', size: data.length, scanned };
        }
      }
      const matches = this.engine.scan(data, { path });
      scanned += data.length;
      if (this.opts.deltaAware && matches.length === 0 && !(this.ml && this.ml.test(data))) this.clean.set(job.oid, { length: data.length, path });
      return { oid: job.oid, matches, mode: 'full', size: data.length, scanned };
    } catch (err) {
      return { oid: job.oid, matches: [], mode: 'full', size: data.length, scanned, error: (err as Error).message };
    }
  }
}
