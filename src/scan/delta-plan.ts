// Delta-aware planning, the pack path's router (router.ts). The planner (the thread reading the pack) holds every
// blob's verdict and decides, per blob, whether to scan it whole or only around what its delta changed; `runTask`
// (task.ts, any thread) scans. A blob is *clean* when its full scan found no match, no store and decoded all it
// holds (Engine.scanVerdict); its *reach* is how far a required companion that one of its candidates lacked may
// lie (0: no such candidate). A delta of a clean base of the same path class can only gain single-line matches on
// the lines within the margin plus the base's reach of a change (see DELTA_MARGIN; the margin alone where the
// delta copies each candidate behind the reach with its companion window: windowsCopied), so only those regions are
// scanned (or the whole blob, when they would take in nearly all of it: WHOLE_AT). Matches that one region alone
// finds and that depend on their line alone (task.ts standalone) are the blob's own; anything else a region finds (a
// candidate lacking a companion included) sends the blob to a full scan. A base whose matches all depend on their line alone (*known*: a file that keeps a leaked key for a thousand
// commits) vouches for its deltas like a clean one, and they carry its matches over to the lines they copy and
// leave alone. A multiline detector's match may reach lines the delta left alone, so a delta the multiline gate
// (detection/multiline-gate.ts) cannot clear is scanned whole. Matches are therefore always those of a full scan
// of their own blob.
//
// Targets are planned before their base's verdict is back (workers scan in parallel, in any order): such a
// target is scanned by regions speculatively (reach 0) and its result held until the base settles; if the base
// turns out dirty, the target is scanned again, whole, and if clean with a longer reach, by regions widened to it.
// Nothing is ever skipped on a guess.
import { isBinary } from '../detection/binary.js';
import { LineIndex } from '../detection/engine.js';
import { pathClass } from '../detection/filters.js';
import type { MultilineGate } from '../detection/multiline-gate.js';
import type { Router, Settled } from './router.js';
import type { Match } from '../core/model.js';
import type { CopyRanges } from '../objects/pack/delta.js';
import { regionBytes, wholeTask, type ScanJob, type ScanTask, type TaskResult } from './task.js';

export interface DeltaPlanOptions {
  /** Bytes either side of each inserted range / seam. */
  margin: number;
  /** Regions only for blobs up to this size (Infinity: any size). */
  maxRegionBlob: number;
  /** false: every blob whole (the reference). */
  deltaAware: boolean;
  /** Whether a blob may hold a multiline detector's match (then it is scanned whole): the catalog's gate. */
  multiline: MultilineGate;
}

/**
 * Bytes either side of each inserted range or seam before a region snaps out to whole lines. Every match lies
 * within one line: a single-line detector's match holds no line break except as context at either end, the
 * decoded spans single-line detectors read never cross one (engine.ts, decoders.ts), a match's filters read only
 * its line, and every match contains one of its detector's keywords. So the lines a delta touches are all a clean
 * base's delta can gain matches on, but for companions: a candidate on a line left alone gains a match when a
 * required companion it lacked in the base comes within `within` bytes of it, or a seam brings one that close,
 * so a change lies within `within` of it, and a margin widened by the base's reach takes in its line (where the
 * region scan finds it, with or without the companion: dirty either way). A multiline detector's match reaches
 * further: the planner's multiline gate has such deltas scanned whole.
 * The margin only has to take in both lines at a seam; a little more costs next to nothing.
 */
export const DELTA_MARGIN = 64;

/**
 * Regions of at least this share of their blob have it scanned whole at once (DeltaPlanner.regionsOf). Measured
 * against more than half: typescript's releases then scanned 3 MB more (regions of 50–90 % of a large file cost less
 * than the file), while the one-line bundles and source maps this is for have regions of all of it either way.
 */
const WHOLE_AT = 0.9;

/**
 * What a delta target of `len` bytes changed: its inserted ranges and its seams (an empty range where two copies
 * do not continue each other, or where the target's start or end is not the base's), in order, flat [start, end…]
 * (a delta between two releases of a large file has thousands).
 */
export function changedRanges(len: number, baseLength: number, copies: CopyRanges): Float64Array {
  // at most one range before each copy and one after the last; a typed array, not pushes (~70 ns each on the
  // reading thread: 0.27 s of a TypeScript history's ~2 million ranges, now 13 ms)
  const dirty = new Float64Array(2 * (copies.length / 3 + 1));
  let n = 0;
  let prevEnd = 0;
  let prevBaseEnd = -1;
  for (let k = 0; k < copies.length; k += 3) {
    const ts = copies[k]!;
    const te = copies[k + 1]!;
    const bs = copies[k + 2]!;
    // bytes before this copy were inserted; an empty gap is still a seam unless it continues the previous copy
    // (or, at the start, starts where the base starts)
    const continues = k === 0 ? ts === 0 && bs === 0 : ts === prevEnd && bs === prevBaseEnd;
    if (ts > prevEnd || !continues) {
      dirty[n++] = prevEnd;
      dirty[n++] = ts;
    }
    prevEnd = te;
    prevBaseEnd = bs + (te - ts);
  }
  if (prevEnd < len || prevBaseEnd !== baseLength) {
    dirty[n++] = prevEnd;
    dirty[n++] = len;
  }
  return dirty.subarray(0, n);
}

/**
 * Scan regions of a delta target: inserted ranges and seams (`changed`: changedRanges, unless given), widened by
 * `margin`, out to whole lines (from the line break before the first, through the one ending the last), merged.
 */
export function deltaRegions(
  data: Buffer,
  baseLength: number,
  copies: CopyRanges,
  margin: number,
  changed = changedRanges(data.length, baseLength, copies),
): [number, number][] {
  const len = data.length;
  const out: [number, number][] = [];
  // A minified bundle is one long line with many changed ranges: each range's line ends are searched only over
  // bytes no earlier search covered (the next line break after the last region's end is kept), so the whole
  // planning stays linear in the blob, not ranges × line length.
  let nextNl = -1;
  for (let k = 0; k < changed.length; k += 2) {
    const [a, b] = [changed[k]!, changed[k + 1]!];
    const s0 = Math.max(0, a - margin);
    const e0 = Math.min(len, b + margin);
    const last = out[out.length - 1];
    let s: number;
    if (last && s0 <= last[1]) s = last[0];
    else {
      // from the line break before the first line (a match may take it as leading context), looked for only back
      // to the last region's end: none there means this line began inside it
      const floor = last ? last[1] : 0;
      let i = s0 - 1;
      while (i >= floor && data[i] !== 0x0a) i--;
      s = i >= floor ? i : last ? last[0] : 0;
    }
    let e = len;
    if (e0 < len) {
      // through the line break ending the last line (len: none)
      if (nextNl < e0) {
        const nl = data.indexOf(0x0a, e0);
        nextNl = nl === -1 ? len : nl;
      }
      e = Math.min(len, nextNl + 1);
    }
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** Where a delta with `copies` holds the base's bytes [start, end) whole: at `at`, in the copy [ts, te). */
function* copiedWhole(copies: CopyRanges, start: number, end: number): Generator<{ at: number; ts: number; te: number }> {
  for (let k = 0; k < copies.length; k += 3) {
    const [ts, te, bs] = [copies[k]!, copies[k + 1]!, copies[k + 2]!];
    if (start >= bs && end <= bs + (te - ts)) yield { at: ts + (start - bs), ts, te };
  }
}

/**
 * Whether no candidate in `lacking` (flat [start, end, within] in the base) can gain its companion in a delta with
 * `copies`: every copy that holds a candidate whole also holds its companion window (`within` either side), so the
 * delta's bytes there are the base's, and a companion search reads nothing else (engine.ts findCompanion). A
 * candidate no copy holds whole sits on a line the delta changed: that line's region meets it.
 */
export function windowsCopied(lacking: number[], copies: CopyRanges, baseLength: number, length: number): boolean {
  for (let i = 0; i < lacking.length; i += 3) {
    const [s, e, w] = [lacking[i]!, lacking[i + 1]!, lacking[i + 2]!];
    for (const { at: t, ts, te } of copiedWhole(copies, s, e)) {
      const tEnd = t + (e - s);
      // the window either side, cut short at either end of the content as the search cuts it, in both
      const before = Math.min(w, t);
      const after = Math.min(w, length - tEnd);
      if (before !== Math.min(w, s) || after !== Math.min(w, baseLength - e) || t - before < ts || tEnd + after > te) return false;
    }
  }
  return true;
}

/** `lacking` (base positions) where a delta with `copies` copies each candidate whole; null: not known. */
export function copiedLacking(lacking: number[] | null | undefined, copies: CopyRanges): number[] | null {
  if (!lacking) return null;
  const out: number[] = [];
  for (let i = 0; i < lacking.length; i += 3) {
    const [s, e, w] = [lacking[i]!, lacking[i + 1]!, lacking[i + 2]!];
    for (const { at } of copiedWhole(copies, s, e)) out.push(at, at + (e - s), w);
  }
  return out;
}

const PENDING = 0;
const CLEAN = 1;
const DIRTY = 2;
/** Dirty only for matches that depend on their line alone (TaskResult.known): its deltas carry them over. */
const KNOWN = 3;
type Status = typeof PENDING | typeof CLEAN | typeof DIRTY | typeof KNOWN;
type Final = Exclude<Status, typeof PENDING>;
/** The base reach a delta's regions take in: a pending base's is not known yet, so 0 (planned again if longer). */
function plannedReach(base: Verdict): number {
  return base.status === PENDING ? 0 : base.reach;
}

/** A final result, the verdict it gives its blob, its reach and where the candidates behind the reach are. */
type Settling = [TaskResult, Final, number, number[] | null];

/**
 * Whether a settled base can vouch for a delta scanned the way `job` is: a clean one can; a known one for a scan of
 * the same kind (for any path, matches carrying path classes, or for a path) as its matches were found in.
 */
function canVouch(base: Verdict, job: ScanJob): boolean {
  return base.status === CLEAN || (base.status === KNOWN && base.anyPath === (job.anyPath ?? false));
}

/**
 * Whether a settled base vouches for a delta planned by regions (`planned`: its job and the reach they took in): its
 * reach is within that, or the delta copies every candidate behind it with its companion window (windowsCopied).
 */
function vouches(base: Verdict, planned: { job: ScanJob; reach: number }): boolean {
  if (!canVouch(base, planned.job)) return false;
  const { job } = planned;
  return base.reach <= planned.reach || (base.lacking ? windowsCopied(base.lacking, job.delta!.copies, base.length, job.data.length) : false);
}

interface Verdict {
  status: Status;
  /** CLEAN, KNOWN: the blob's reach (Verdict.reach of its full scan, or its base's when it was scanned by regions). */
  reach: number;
  /** KNOWN: its matches. */
  matches?: Match[];
  /** With a reach: TaskResult.lacking, where the candidates behind it are (null or absent: not known). */
  lacking?: number[] | null;
  length: number;
  /** The class of the path it was scanned for (filters.ts pathClass: all the engine reads of a path). */
  pathClass: number;
  /** Scanned for any path: its verdict holds whatever the path (matches for any path include those of each). */
  anyPath: boolean;
  /** The multiline gate found it clear of its literals (GateAnswer 'clear'): its deltas are searched around their changes. */
  clear: boolean;
  /** Region results of deltas planned on this blob before its verdict was known. */
  held?: TaskResult[];
}

/** The verdicts of one scan, kept by the thread that reads the pack. */
export class DeltaPlanner implements Router {
  private readonly verdicts = new Map<string, Verdict>();
  /**
   * Targets planned by regions whose results are not final yet, with their base (kept for a full rescan) and the
   * base reach their margin took in.
   */
  private readonly open = new Map<string, { job: ScanJob; baseOid: string; reach: number; regions: number[] }>();
  /** Speculative plans (base pending when planned), how many had to be scanned again whole, and by wider regions. */
  speculative = 0;
  rescanned = 0;
  widened = 0;
  /** Targets handed back to be planned again by regions for their (now settled, clean) base's longer reach. */
  private readonly widen = new Set<string>();

  constructor(private readonly opts: DeltaPlanOptions) {}

  /** Bytes of the targets kept for a possible rescan (whole blobs), and their peak. */
  openBytes = 0;
  peakOpenBytes = 0;

  /** Targets whose data is kept for a possible rescan. */
  get openCount(): number {
    return this.open.size;
  }

  private close(oid: string): void {
    const o = this.open.get(oid);
    if (!o) return;
    this.openBytes -= o.job.data.length;
    this.open.delete(oid);
  }

  plan(job: ScanJob): ScanTask {
    const base = this.opts.deltaAware && job.delta ? this.verdicts.get(job.delta.baseOid) : undefined;
    const anyPath = job.anyPath ?? false;
    const cls = anyPath ? 0 : pathClass(job.path);
    const verdict: Verdict = { status: PENDING, reach: 0, length: job.data.length, pathClass: cls, anyPath, clear: false };
    this.verdicts.set(job.oid, verdict);
    if (
      base === undefined ||
      base.status === DIRTY ||
      (base.status === KNOWN && !canVouch(base, job)) ||
      // the engine reads a path only through its class: a base clean for that class vouches for any path in it
      !(base.anyPath || (!anyPath && base.pathClass === cls)) ||
      job.data.length > this.opts.maxRegionBlob ||
      // binary: planned whole, so the task reports it as binary
      isBinary(job.data)
    ) {
      return wholeTask(job);
    }
    const changed = changedRanges(job.data.length, base.length, job.delta!.copies);
    // a pending base's reach is not known yet: planned for 0, planned again if it turns out longer
    const regions = this.regionsOf(job, base, changed);
    // Nearly all of the blob (a minified bundle or a source map is one line): scanned whole at once, which the
    // regions would cost anyway, without the multiline gate's pass over it on this thread, a result held for the
    // base's verdict, or a second scan when the base turns out dirty. (Not gated, it is not known 'clear': the
    // gate reads its own deltas whole.)
    if (regions === null) return wholeTask(job);
    if (this.multiline(job, base, verdict, changed)) return wholeTask(job);
    if (base.status === PENDING) this.speculative++;
    return this.byRegions(job, base, regions);
  }

  /**
   * Whether the multiline gate has `job` scanned whole. A base the gate found clear of its literals lets it search
   * only around the delta's changes; the answer is kept for the target's own deltas.
   */
  private multiline(job: ScanJob, base: Verdict, verdict: Verdict, changed: Float64Array): boolean {
    const answer = this.opts.multiline(job.data, base.clear ? changed : undefined);
    verdict.clear = answer === 'clear';
    return answer === true;
  }

  /**
   * The regions of `job` (flat) with the margin its base's reach calls for; null when it is better scanned whole:
   * they take in nearly all of it (WHOLE_AT: a change on a minified bundle's one line), or a reach widens them over
   * most of it (they would take in the candidates that gave the base its reach and have it scanned again whole).
   */
  private regionsOf(job: ScanJob, base: Verdict, changed?: Float64Array /* changedRanges, when known */): number[] | null {
    const reach = plannedReach(base);
    // where the candidates behind the reach are known and the delta copies each one's companion window as it was,
    // none can gain a companion: the margin need not take in the reach
    const copies = job.delta!.copies;
    const widen = reach > 0 && !(base.lacking && windowsCopied(base.lacking, copies, base.length, job.data.length));
    const regions = deltaRegions(job.data, base.length, copies, this.opts.margin + (widen ? reach : 0), changed).flat();
    const bytes = regionBytes(regions);
    return (widen && 2 * bytes > job.data.length) || bytes >= WHOLE_AT * job.data.length ? null : regions;
  }

  /** A region task for `job` (regionsOf), kept open until its result is final. */
  private byRegions(job: ScanJob, base: Verdict, regions: number[]): ScanTask {
    this.open.set(job.oid, { job, baseOid: job.delta!.baseOid, reach: plannedReach(base), regions });
    this.openBytes += job.data.length;
    if (this.openBytes > this.peakOpenBytes) this.peakOpenBytes = this.openBytes;
    return { ...wholeTask(job), regions };
  }

  /**
   * A job handed back in `Settled.redo`: by regions again when its base settled clean with a longer reach than
   * planned for, else whole. Its verdict stays pending until the result is settled.
   */
  planAgain(job: ScanJob): ScanTask {
    const base = this.widen.delete(job.oid) ? this.verdicts.get(job.delta!.baseOid)! : undefined;
    const regions = base ? this.regionsOf(job, base) : null;
    if (base && regions) {
      this.widened++;
      return this.byRegions(job, base, regions);
    }
    this.rescanned++;
    return wholeTask(job);
  }

  settle(r: TaskResult, into: Settled = { done: [], redo: [] }): Settled {
    const open = this.open.get(r.oid);
    if (r.mode === 'regions' && r.dirty && open && !r.regionMatches) {
      // a regions-only task found something it cannot vouch for: the whole blob is scanned again (the data was kept
      // for this)
      this.redo(r.oid, into);
      return into;
    }
    if (r.mode !== 'regions' || !open) {
      this.close(r.oid);
      const status = r.mode === 'binary' || r.error !== undefined ? DIRTY : !r.dirty ? CLEAN : r.known ? KNOWN : DIRTY;
      this.finish([r, status, r.reach ?? 0, r.lacking ?? null], into);
      return into;
    }
    const base = this.verdicts.get(open.baseOid)!;
    if (base.status === PENDING) (base.held ??= []).push(r);
    else this.settleOnBase(r, base, open, into);
    return into;
  }

  /**
   * A region result (clean, or with one region's standalone matches) whose base has settled: final when the base is
   * clean and its reach within what the regions' margin took in (a clean target inherits that reach: it holds the
   * same candidates on the lines it left alone), else the target is scanned again, whole.
   */
  private settleOnBase(r: TaskResult, base: Verdict, planned: { job: ScanJob; reach: number }, into: Settled): void {
    const settling = this.onBase(r, base, planned, into);
    if (settling) this.finish(settling, into);
  }

  /** A region result once its base has settled: final (vouched for), or null when handed back to be planned again. */
  private onBase(r: TaskResult, base: Verdict, planned: { job: ScanJob; reach: number }, into: Settled): Settling | null {
    if (vouches(base, planned)) return this.vouched(r, base);
    this.redo(r.oid, into, canVouch(base, planned.job));
    return null;
  }

  /**
   * A region result its base vouches for, as final, with the base's reach: the matches a full scan finds are its
   * region's (task.ts standalone), positioned in the blob, and those of a KNOWN base on every line the delta copied
   * and left alone (a line outside every region lies whole inside one copy, and a standalone match depends on its
   * line alone), each where it was copied to; none: clean.
   */
  private vouched(r: TaskResult, base: Verdict): Settling {
    const o = this.open.get(r.oid)!;
    // the candidates behind the base's reach, where this delta copied them (it inherits the reach)
    const lacking = base.reach > 0 ? copiedLacking(base.lacking, o.job.delta!.copies) : null;
    const found = r.regionMatches;
    if (!found && !base.matches) return [r, CLEAN, base.reach, lacking];
    // the engine's own line numbering, each line break found once however many matches there are
    const lines = new LineIndex(o.job.data);
    const matches: Match[] = [];
    if (found) {
      // a region starts at 0 or at a line break: its lines are numbered from there, its columns are the blob's
      const start = o.regions[2 * found.region]!;
      const before = lines.line(start) - 1;
      for (const m of found.matches) matches.push({ ...m, offset: m.offset + start, line: m.line + before });
    }
    const outside = (at: number): boolean => {
      for (let k = 0; k < o.regions.length; k += 2) if (at >= o.regions[k]! && at < o.regions[k + 1]!) return false;
      return true;
    };
    // a carried match keeps its column: its line is the same
    for (const m of base.matches ?? [])
      for (const { at } of copiedWhole(o.job.delta!.copies, m.offset, m.offset + 1)) if (outside(at)) matches.push({ ...m, offset: at, line: lines.line(at) });
    // in the engine's order (Engine.scan): by offset, then detector; a stable sort keeps the order of ties
    matches.sort((a, b) => a.offset - b.offset || a.detectorId.localeCompare(b.detectorId));
    const { regionMatches: _found, ...rest } = r;
    return [{ ...rest, matches }, matches.length > 0 ? KNOWN : CLEAN, base.reach, lacking];
  }

  /** Hands `oid` back to be planned again: by wider regions (`widen`: its base can vouch, with a longer reach) or whole. */
  private redo(oid: string, into: Settled, widen = false): void {
    const open = this.open.get(oid)!;
    this.close(oid);
    if (widen) this.widen.add(oid);
    into.redo.push(open.job);
  }

  private finish(first: Settling, into: Settled): void {
    // iterative: a chain of held targets settles in one go
    const todo: Settling[] = [first];
    for (let next = todo.pop(); next; next = todo.pop()) {
      const [r, status, reach, lacking] = next;
      this.close(r.oid);
      const v = this.verdicts.get(r.oid)!;
      v.status = status;
      v.reach = reach;
      if (reach > 0) v.lacking = lacking;
      if (status === KNOWN) v.matches = r.matches;
      into.done.push(r);
      const held = v.held;
      if (!held) continue;
      v.held = undefined;
      for (const h of held) {
        const settling = this.onBase(h, v, this.open.get(h.oid)!, into);
        if (settling) todo.push(settling);
      }
    }
  }
}

/**
 * Regions for blobs of any size by default. The engine's decode budget is per scan, so a large blob's full scan
 * may stop decoding before its end, and a region scan (a budget of its own) would then see spans the full scan
 * did not: a scan that runs short of budget is therefore dirty (Engine.scanVerdict), so a base that vouches for
 * its deltas decoded everything, and so did every region scan that came back clean.
 */
export const MAX_REGION_BLOB = Number.POSITIVE_INFINITY;

/** A planner for one scan with the catalog's multiline gate; unset options take their defaults (delta-aware, DELTA_MARGIN, MAX_REGION_BLOB). */
export function deltaPlanner(multiline: MultilineGate, opts: Partial<Omit<DeltaPlanOptions, 'multiline'>> = {}): DeltaPlanner {
  return new DeltaPlanner({
    deltaAware: opts.deltaAware ?? true,
    margin: opts.margin ?? DELTA_MARGIN,
    maxRegionBlob: opts.maxRegionBlob ?? MAX_REGION_BLOB,
    multiline,
  });
}
