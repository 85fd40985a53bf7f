// What one scanning thread is handed and what it hands back: a job (a blob, maybe with its delta), the task it
// is planned into (the whole blob, or only some byte ranges of it), and `runTask`, the one place that calls the
// engine on scanned content. Any thread runs tasks; planning and verdicts stay with the thread that reads.
import type { Match } from '../core/model.js';
import type { CopyRanges } from '../objects/pack/delta.js';
import { mayHoldStore, skipBinary } from '../detection/engine.js';
import type { Engine, ScanContext, Verdict } from '../detection/types.js';

export interface ScanJob {
  /** Blob oid (or any unique id: a plain file's path). */
  oid: string;
  /** Path of the blob (first origin) for the engine's path-aware filters; '' when unknown. */
  path: string;
  data: Buffer;
  /** Stored as a delta: its base and the target ranges copied from it. */
  delta?: { baseOid: string; copies: CopyRanges };
  /** false: scanned only to vouch for its deltas (not selected, or excluded); no result is reported. */
  report?: boolean;
  /** Scan for any path (`path` unused): matches carry their path classes (ScanContext.anyPath). */
  anyPath?: boolean;
  /**
   * Called once the pool will never read `data` again (the job's final result is out): the pack walk then reuses
   * its memory (objects/pack/target-buffers.ts). Not called for a scan that stops early.
   */
  release?: () => void;
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

/** What one thread is asked to scan: the whole blob, or (when `regions` is set) only those byte ranges first. */
export interface ScanTask {
  oid: string;
  path: string;
  data: Buffer;
  report: boolean;
  /** Flat [start, end, start, end…] ranges; a dirty range turns the task into a full scan on the spot. */
  regions?: number[];
  /**
   * `data` holds only the regions' bytes, back to back (what a worker is sent): a dirty range is reported as a
   * dirty 'regions' result and the planner has the blob scanned again, whole.
   */
  regionsOnly?: boolean;
  /** The blob's size when `data` holds only its regions. */
  size?: number;
  /** See ScanJob.anyPath. */
  anyPath?: boolean;
}

export interface TaskResult extends JobResult {
  report: boolean;
  /**
   * The blob's verdict (Verdict.dirty): it had a match, a store or too much to decode. For 'regions': a scanned
   * range had any of these or a candidate lacking a required companion (the blob is then scanned whole).
   */
  dirty: boolean;
  /** A full scan's Verdict.reach (how far a companion its candidates lack may be); absent: 0. */
  reach?: number;
  /** With `reach`: Verdict.lacking, where those candidates are (null: not all known). */
  lacking?: number[] | null;
  /**
   * A dirty 'regions' result whose dirt is matches in one region only, all of them standalone (`standalone`): that
   * region (its index among the task's ranges) and its matches, positioned from the region's start. The planner
   * takes them as the blob's own once its base vouches for the rest (delta-plan.ts); `matches` stays empty.
   */
  regionMatches?: { region: number; matches: Match[] };
  /**
   * A full scan dirty only for its matches, all standalone, no decoded match dropped for a plain one: its deltas may
   * carry those matches over to the lines they leave alone (delta-plan.ts).
   */
  known?: boolean;
}

/** A task scanning the whole of `job`. */
export function wholeTask(job: ScanJob): ScanTask {
  return { oid: job.oid, path: job.path, data: job.data, report: job.report ?? true, ...(job.anyPath ? { anyPath: true } : {}) };
}

/** Bytes a task hands over: its regions' when it has any, else the whole blob. */
export function taskBytes(task: ScanTask): number {
  return task.regions ? regionBytes(task.regions) : task.data.length;
}

/** Bytes of flat [start, end, start, end…] ranges. */
export function regionBytes(r: number[]): number {
  let n = 0;
  for (let k = 0; k < r.length; k += 2) n += r[k + 1]! - r[k]!;
  return n;
}

/** Scans one task: its regions first when it has any (a dirty region means a full scan), else the whole blob. */
export function runTask(engine: Engine, task: ScanTask): TaskResult {
  const { data, oid, report } = task;
  const ctx = task.anyPath ? { path: '', anyPath: true } : { path: task.path };
  // once the blob is known to be text (checked below, or by the planner for regions-only tasks), its regions and
  // the blob itself are scanned as text: a slice must not be judged binary by its own bytes
  const textCtx = { ...ctx, text: true };
  const size = task.size ?? data.length;
  const tally = { scanned: 0 };
  // a whole-content store (DBeaver) is readable only whole: its regions say nothing
  const whole = mayHoldStore(data);
  if (task.regionsOnly && whole) return { oid, report, matches: [], mode: 'regions', size, scanned: 0, dirty: true };
  if (task.regionsOnly) {
    // the planner checked the whole blob is not binary; a dirty range is the planner's to rescan
    try {
      const { dirty, found } = scanRegions(engine, data, task.regions!, textCtx, tally);
      return { oid, report, matches: [], mode: 'regions', size, scanned: tally.scanned, dirty, ...(found ? { regionMatches: found } : {}) };
    } catch (err) {
      return { oid, report, matches: [], mode: 'regions', size, scanned: tally.scanned, dirty: true, error: (err as Error).message };
    }
  }
  if (skipBinary(data)) return { oid, report, matches: [], mode: 'binary', size, scanned: 0, dirty: true };
  try {
    if (task.regions && !whole) {
      const { dirty, found } = scanRegions(engine, data, task.regions, textCtx, tally);
      if (!dirty || found)
        return { oid, report, matches: [], mode: 'regions', size, scanned: tally.scanned, dirty, ...(found ? { regionMatches: found } : {}) };
    }
    const v = engine.scanVerdict(data, textCtx);
    const known = v.matches.length > 0 && selfContained(engine, v);
    return {
      oid,
      report,
      matches: v.matches,
      mode: 'full',
      size,
      scanned: tally.scanned + size,
      dirty: v.dirty,
      ...(v.reach > 0 ? { reach: v.reach, lacking: v.lacking } : {}),
      ...(known ? { known } : {}),
    };
  } catch (err) {
    return { oid, report, matches: [], mode: 'full', size, scanned: tally.scanned, dirty: true, error: (err as Error).message };
  }
}

/**
 * Scans the ranges `r` of `data` in order (`tally.scanned`: the bytes handed to the engine). Clean: every range is
 * clean and of reach 0 (a region scan vouches for nothing more: a candidate lacking a companion is dirty here).
 * Dirty with `found`: one range holds matches, all standalone, and every other range is clean; dirty without it
 * (stopping there): anything else.
 */
function scanRegions(
  engine: Engine,
  data: Buffer,
  r: number[],
  ctx: ScanContext,
  tally: { scanned: number },
): { dirty: boolean; found?: { region: number; matches: Match[] } } {
  let found: { region: number; matches: Match[] } | undefined;
  for (let k = 0; k < r.length; k += 2) {
    tally.scanned += r[k + 1]! - r[k]!;
    const v = engine.scanVerdict(data.subarray(r[k], r[k + 1]), ctx);
    if (!v.dirty && v.reach === 0) continue;
    if (found || v.reach > 0 || !selfContained(engine, v)) return { dirty: true };
    found = { region: k / 2, matches: v.matches };
  }
  return found ? { dirty: true, found } : { dirty: false };
}

/**
 * Whether a match found in a delta region is one a full scan of the blob reports there, whatever lies outside the
 * region: plain (not decoded: the full scan's decode budget is shared with the rest of the blob, and may run out
 * before this line), of a single-line detector (its match depends on its line alone: see DELTA_MARGIN) without
 * companions (which may lie on other lines), and not of a key-file detector (run only on content that small: a
 * region may be where its blob is not). The one other cross-line rule, a decoded match dropped when a plain match of
 * its secret lies anywhere in the blob, is why matches are taken from one region only.
 */
/** A scan whose matches are all standalone, that saw everything (Verdict.complete) and dropped no decoded match for a plain one. */
function selfContained(engine: Engine, v: Verdict): boolean {
  return v.complete && !v.deduped && v.matches.every((m) => standalone(engine, m));
}

function standalone(engine: Engine, m: Match): boolean {
  const def = engine.catalog.byId.get(m.detectorId)?.def;
  return def !== undefined && !m.decoded?.length && !def.multiline && def.companions.length === 0 && def.file_max_bytes === undefined;
}
