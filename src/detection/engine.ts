// The detection engine: one keyword prefilter pass per blob (RE2.Set), then for each detector whose keyword
// occurs, its probes (cheap necessary conditions, see regex.ts) over the Buffer and, only when one matches, the
// detector itself over the whole Buffer; then filters, companions, generic-vs-provider overlap, and a bounded
// rescan of decoded spans. Running a detector over the whole blob (never windows) keeps its matches exactly those
// of the brute-force reference; the probes make that cheap, since real source almost never matches.
import { createHash } from 'node:crypto';
import RE2 from 're2';
import type { Match } from '../core/model.js';
import { isBinary } from './binary.js';
import { validChecksum } from './checksums.js';
import { DECODE_DEPTH, decodeWith, findEncodedSpans, type DecodeBudget, type DecodedSpan } from './decoders.js';
import { shannonEntropy } from './entropy.js';
import { judge, pathClass } from './filters.js';
import { Prefilter } from './prefilter.js';
import { compareSpecificity, specificity } from './specificity.js';
import { probeSpecs, relaxRepeats, startBound, withoutCaptures, type StartBound } from './regex.js';
import type { DetectorDef } from './schema.js';
import { decodeValue, mayHoldStore, STORE_KEYWORDS, storeSpans } from './stores/index.js';
import type { Catalog, Engine, LoadedDetector, ScanContext, Verdict } from './types.js';

export interface EngineOptions {
  /** Decoder nesting depth (0 disables decoding). Default 2. */
  decodeDepth?: number;
  /** Decoded bytes rescanned per blob. Default 1 MiB. */
  decodeBudget?: number;
  /**
   * Brute force, for tests and `bench/engine-bench --compare`: every detector over every whole buffer and every
   * encoded span decoded, no prefilter. Same filters, companions and overlap rules: the fast path must agree.
   */
  reference?: boolean;
  /**
   * Detectors per probe Set, fixed (see SET_GROUP): by default groups of 24, then the whole catalog in one Set once
   * the groups have matched 8 MB. For tests that compare the groups' path with the catalog's.
   */
  setGroup?: number;
  /** Bytes the groups' Sets match before the catalog's Set replaces them (default WHOLE_SET_AFTER: 8 MiB). */
  wholeSetAfter?: number;
}

/** Why a candidate was dropped; reported by `explain` for `detectors check` and debugging. */
export interface Rejection {
  detectorId: string;
  reason: string;
  /** The filter table entry that dropped it (filter-table.ts), when a filter did. */
  filter?: string;
}

/** A detector's own RE2 objects: what runs once its probes say it may match. */
interface Regexes {
  re: RE2;
  allow: RE2[];
  companions: { name: string; re: RE2; within: number; required: boolean }[];
}

/** A detector's probes as text: necessary conditions RE2 searches faster than its pattern (regex.ts). */
interface ProbeText {
  /** Empty: the pattern has none (or RE2 refuses one): run `re` directly. */
  sources: string[];
  /** Per probe: where a match can start given the probe's first match (null: anywhere). */
  bounds: (StartBound | null)[];
}

/**
 * A detector as the engine runs it. Its RE2 objects are compiled on first use, in two steps: its probes when they
 * are first run, its pattern, allow list and companions when a probe first matches. Compiling the whole catalog up
 * front took most of a short scan's start-up (a pre-commit run touches a handful of detectors), and each worker
 * thread paid it again; and on minified code, where most keywords occur, the group Sets (probeSets) need only the
 * probes' text: of axios's 300 detectors 249 were compiled whole, 58 ever ran. The catalog's patterns were already
 * checked when it was loaded (load.ts), so a first use cannot fail where construction would not have.
 */
class Compiled {
  private rx: Regexes | null = null;
  private text: ProbeText | null = null;
  private compiledProbes: RE2[] | null = null;
  /** specificity(def): which detector a secret's finding goes to when several match it. */
  readonly rank: number;
  constructor(
    readonly loaded: LoadedDetector,
    readonly def: DetectorDef,
  ) {
    this.rank = specificity(def);
  }
  private get regexes(): Regexes {
    return (this.rx ??= compileRegexes(this.def));
  }
  get re(): RE2 {
    return this.regexes.re;
  }
  get allow(): RE2[] {
    return this.regexes.allow;
  }
  get companions(): Regexes['companions'] {
    return this.regexes.companions;
  }
  /** The probes compiled; none when the pattern has no probe or RE2 refuses one (then `re` runs directly). */
  get probes(): RE2[] {
    return (this.compiledProbes ??= compileProbes(this.probeSources));
  }
  get probeSources(): string[] {
    return this.probeText.sources;
  }
  get bounds(): (StartBound | null)[] {
    return this.probeText.bounds;
  }
  private get probeText(): ProbeText {
    return (this.text ??= probeText(this.def.pattern));
  }
}

function compileRegexes(def: DetectorDef): Regexes {
  return {
    re: new RE2(def.pattern, 'gd'),
    allow: def.allow.map((a) => new RE2(a)),
    companions: def.companions.map((c) => ({ name: c.name, re: new RE2(c.pattern, 'gd'), within: c.within, required: c.required })),
  };
}

interface CachedSet {
  set: InstanceType<typeof RE2.Set>;
  /** Detector of each pattern in the Set, and which of its probes the pattern is (-1: the detector itself). */
  owner: number[];
  probeIdx: number[];
  /** Bytes matched and time taken since the Set warmed up (see probeSets), or before. */
  bytes: number;
  ns: number;
  warm: boolean;
}

/**
 * A Set's first megabytes build its DFA (the catalog's took 12 ms on its first 150 KB of a source map, then ran at
 * ~200 MB/s): its speed is judged on what it matches after them.
 */
const SET_WARMUP_BYTES = 4 << 20;

/** Blobs from this size with at least SET_MIN_DETECTORS candidates are probed with RE2.Sets. */
const SET_MIN_BYTES = 64 << 10;
const SET_MIN_DETECTORS = 6;
/**
 * Probe Sets: fixed groups of this many detectors (in catalog order), each group's Set compiled once, on first use,
 * until WHOLE_SET_AFTER bytes have gone through them (per thread); then one Set of the whole catalog's probes (relaxed, see
 * SET_REPEAT_CAP), unless RE2 refuses it (a larger operator catalog) or retires it. One Set per candidate list (as
 * before groups) was compiled again for nearly every large blob of real code, whose candidate lists all differ a
 * little: on jQuery's releases 48 Sets of ~100 patterns, 2.8 s of a 5.7 s scan. One pass of the whole catalog's Set
 * costs about what one group's does (RE2's DFA reads each byte once whatever the patterns): on 11.7 MB of
 * tsserver.js 23 ms against 225 ms for the 13 groups, on axios' source map 0.8 ms against 7.2 ms; but it compiles in
 * 57–86 ms (a group in 2–3 ms) and its DFA warms up for a few MB, which a small scan does not win back. As written
 * (unrelaxed) it did not compile within RE2's memory budget.
 */
const SET_GROUP = 24;
/**
 * Bytes the groups' Sets match (per thread) before the catalog's Set replaces them: switching pays its compile and
 * warm-up (~80 ms) back after ~10 MB of further Set work (axios' releases on one thread: candidates() 0.97 s
 * switching at once, 1.12 s after 4 MB, 1.17 s after 16 MB, 1.54 s never), and which scans have that much to come is
 * not known in advance, so it switches once the groups have cost about as much as switching would (rent, then
 * buy). After 4 MB, react-dom's releases (8.7 MB of Set work, 4.3 per thread) compiled it for almost nothing: +4 %.
 */
const WHOLE_SET_AFTER = 8 << 20;
/** A group's Set runs when this many of its detectors are candidates; fewer run their probes one by one. */
const SET_GROUP_MIN = 2;
/**
 * A Set only says which probes can match, so it holds each probe relaxed (regex.ts relaxRepeats: `{16,256}` →
 * `{16,}`, `{130,1000}` → `{32,}`), a weaker condition that matches wherever the probe does; the probes that pass
 * still run themselves (startOf). Measured on 4 MB of typescript.js and on bootstrap's and moment's minified
 * bundles: the catalog's 13 Sets compiled in 121–181 ms as written and 17–29 ms relaxed, and matched 2–5× faster,
 * with the same probes passing.
 */
const SET_REPEAT_CAP = 32;

/** Decoded spans up to this size are keyed by their bytes; longer ones by their SHA-256. */
const SPAN_KEY_BYTES = 256;
/** Key bytes scanDecoded remembers before it starts over. */
const SPAN_CACHE_BYTES = 16 << 20;

const LINE_CONTEXT = 512;
const ALLOW_MARKER = 'keyloop:allow';

export { mayHoldStore };

/** Binary content is not scanned, unless it may be an encrypted credential store (stores/content.ts). */
export function skipBinary(buf: Buffer): boolean {
  return isBinary(buf) && !mayHoldStore(buf);
}

/** 1-based line and UTF-16 column for byte offsets, computing newline positions only as far as needed. */
export class LineIndex {
  private readonly newlines: number[] = [];
  private scanned = 0;
  constructor(private readonly data: Buffer) {}

  /** The line `offset` is on (1-based): the line breaks before it, plus one. Breaks are found once, as far as asked. */
  line(offset: number): number {
    while (this.scanned <= offset) {
      const nl = this.data.indexOf(0x0a, this.scanned);
      if (nl === -1) {
        this.scanned = this.data.length + 1;
        break;
      }
      this.newlines.push(nl);
      this.scanned = nl + 1;
    }
    // Number of newlines strictly before offset.
    let lo = 0;
    let hi = this.newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.newlines[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  }

  locate(offset: number): { line: number; column: number; lineStart: number } {
    const line = this.line(offset);
    const lineStart = line === 1 ? 0 : this.newlines[line - 2]! + 1;
    const column = this.data.toString('utf8', lineStart, offset).length + 1;
    return { line, column, lineStart };
  }
}

interface Candidate {
  c: Compiled;
  start: number;
  end: number;
}

export class DetectionEngine implements Engine {
  private readonly compiled: Compiled[];
  private prefilterArgs: ConstructorParameters<typeof Prefilter> | null;
  private built: Prefilter | null = null;
  /** Built on the first scan: a run with nothing to scan (an empty selection) never compiles its RE2.Set. */
  private get prefilter(): Prefilter {
    if (!this.built) {
      this.built = new Prefilter(...this.prefilterArgs!);
      this.prefilterArgs = null;
    }
    return this.built;
  }
  /** Lowercased keywords and the compiled detectors each one triggers. */
  private readonly keywords: { text: string; detectors: number[] }[];
  /** Per-detector stamp of the last candidates() call that ran it (dedupes detectors sharing keywords). */
  private readonly ran: Uint32Array;
  private stamp = 0;
  /** Detectors per probe Set: SET_GROUP, or the whole catalog once WHOLE_SET_AFTER bytes went through the groups. */
  private groupSize = 0;
  /** Bytes probed with Sets so far, and after how many the catalog's Set takes over (Infinity: never, or done). */
  private setBytes = 0;
  private wholeAfter: number;
  /** Per group of `groupSize` detectors: its probe Set (undefined: not built yet; null: RE2 refused it, or retired). */
  private sets: (CachedSet | null | undefined)[] = [];
  readonly decodeDepth: number;
  private readonly decodeBudget: number;
  private readonly reference: boolean;
  /** Last scan's dropped candidates when `explain` is on. */
  rejections: Rejection[] | null = null;
  /** Set during scanVerdict: a store was recognised or a store's keyword seen (the blob is dirty). */
  private storeHint = false;
  /** Set during scanVerdict: a decoded match was dropped for a plain match of its secret (which may lie on another line). */
  private deduped = false;
  /**
   * Set during scanVerdict: the largest `within` of a required companion some candidate failed for want of
   * (everything else about it passed); 0 when none did.
   */
  private companionReach = 0;
  /** Set during scanVerdict: [start, end, within] of each candidate that set companionReach; null: not all known. */
  private lacking: number[] | null = [];
  /** scanDecoded's results by content (key: level, scope, path class and the bytes, or their SHA-256 past SPAN_KEY_BYTES). */
  private readonly spanCache = new Map<string, { matches: Match[]; consumed: number; reach: number }>();
  private spanCacheBytes = 0;
  /** Per keyword: whether it is a store's (stores/content.ts STORE_KEYWORDS). */
  private readonly storeKeyword: Uint8Array;
  /** Key-file detectors (DetectorDef.file_max_bytes), run on every content that small; and the largest bound. */
  private readonly keyFiles: number[];
  private readonly keyFileMax: number;

  constructor(
    readonly catalog: Catalog,
    opts: EngineOptions = {},
  ) {
    this.decodeDepth = opts.decodeDepth ?? DECODE_DEPTH;
    this.decodeBudget = opts.decodeBudget ?? 1 << 20;
    this.reference = opts.reference ?? false;
    this.compiled = catalog.detectors.map((loaded) => new Compiled(loaded, loaded.def));
    this.ran = new Uint32Array(this.compiled.length);
    this.regroup(Math.max(1, opts.setGroup ?? Math.min(SET_GROUP, this.compiled.length)));
    this.wholeAfter = opts.setGroup !== undefined ? Number.POSITIVE_INFINITY : (opts.wholeSetAfter ?? WHOLE_SET_AFTER);
    this.keyFiles = this.compiled.flatMap((c, i) => (c.def.file_max_bytes !== undefined ? [i] : []));
    this.keyFileMax = Math.max(-1, ...this.keyFiles.map((i) => this.compiled[i]!.def.file_max_bytes!));
    const kwIndex = new Map<string, number[]>();
    const spellings = new Map<string, Set<string>>();
    this.compiled.forEach((c, i) => {
      for (const written of c.def.keywords) {
        const kw = foldKeyword(written);
        const list = kwIndex.get(kw) ?? [];
        if (list[list.length - 1] !== i) list.push(i);
        kwIndex.set(kw, list);
        spellings.set(kw, (spellings.get(kw) ?? new Set()).add(written));
      }
    });
    // the stores' own literals ride along in the same prefilter pass, triggering no detector
    for (const kw of STORE_KEYWORDS) {
      if (!kwIndex.has(kw)) kwIndex.set(kw, []);
      spellings.set(kw, (spellings.get(kw) ?? new Set()).add(kw));
    }
    this.keywords = [...kwIndex].map(([text, detectors]) => ({ text, detectors }));
    this.storeKeyword = new Uint8Array(this.keywords.length);
    this.keywords.forEach((k, i) => {
      if (STORE_KEYWORDS.includes(k.text)) this.storeKeyword[i] = 1;
    });
    this.prefilterArgs = [this.keywords.map((k) => k.text), this.keywords.map((k) => [...spellings.get(k.text)!]), this.decodeDepth >= 2];
  }

  scan(data: Buffer, ctx: ScanContext): Match[] {
    if (!ctx.text && skipBinary(data)) return [];
    return this.scanAt(data, ctx, 0, { bytes: this.decodeBudget });
  }

  /**
   * `scan`, plus the verdict delta-aware scanning needs (src/scan/delta-plan.ts). *Dirty*: it has a match, a
   * store's keyword, or it ran out of decode budget (it saw less than it holds). *Reach*: the largest `within` of a
   * required companion that some candidate lacked, and lacked only (0: none). A clean blob of reach 0 can gain, in
   * a delta, only matches of a single-line detector within the delta margin of a changed byte; with reach R, a
   * candidate it already holds gains a match when a companion comes within R of it, so a change lies within R of
   * it. Multiline detectors (PEM blocks, .netrc entries) are the planner's to rule out on the delta's whole bytes
   * (multiline-gate.ts).
   */
  scanVerdict(data: Buffer, ctx: ScanContext): Verdict {
    if (!ctx.text && skipBinary(data)) return { matches: [], dirty: false, reach: 0, complete: true, deduped: false, lacking: [] };
    this.storeHint = false;
    this.deduped = false;
    this.companionReach = 0;
    this.lacking = [];
    const budget: DecodeBudget = { bytes: this.decodeBudget };
    const matches = this.scanAt(data, ctx, 0, budget, true);
    // a scan that ran out of decode budget saw less than its content holds: it vouches for nothing
    const complete = !this.storeHint && budget.short !== true;
    return { matches, dirty: matches.length > 0 || !complete, reach: this.companionReach, complete, deduped: this.deduped, lacking: this.lacking };
  }

  /** Like scan, and records why each candidate was dropped in `this.rejections`. */
  explain(data: Buffer, ctx: ScanContext): { matches: Match[]; rejections: Rejection[] } {
    this.rejections = [];
    try {
      return { matches: this.scan(data, ctx), rejections: this.rejections };
    } finally {
      this.rejections = null;
    }
  }

  /**
   * The regex matches before any filter (no decoding): what `--compare` and the reference test check beyond the
   * findings, so a filter that drops everything cannot hide a candidate the fast path missed.
   */
  rawCandidates(data: Buffer): { detectorId: string; start: number; end: number }[] {
    if (skipBinary(data)) return [];
    const cands = this.reference ? this.referenceCandidates(data) : this.candidates(data, this.prefilter.hits(data, false).keywords);
    return cands.map((c) => ({ detectorId: c.c.def.id, start: c.start, end: c.end }));
  }

  /** `only`: which detectors run (a decoded span's scope, see DecodedSpan.detectors); all when absent. */
  private scanAt(data: Buffer, ctx: ScanContext, depth: number, budget: DecodeBudget, verdict = false, only?: Scope): Match[] {
    const lines = new LineIndex(data);
    const found: Found[] = [];
    // a keyword encoded twice shows no form of itself: runs that look like base64 of text are decoded too, while
    // the decoded text can still be decoded once more
    const twoMore = depth + 1 < this.decodeDepth;
    const hits = this.reference ? { keywords: [], base64: [], nested: [] } : this.prefilter.hits(data, twoMore);
    const base64 = twoMore && hits.nested.length > 0 ? [...hits.base64, ...hits.nested] : hits.base64;
    const cands = this.reference ? this.referenceCandidates(data, only) : this.candidates(data, hits.keywords, only);
    for (const cand of cands) {
      const m = this.evaluate(data, cand, lines, ctx, depth);
      if (m) found.push({ m, end: cand.end, rank: cand.c.rank, generic: cand.c.def.generic });
    }
    // Whole-content stores (DBeaver) hold no keyword until decrypted; a recognised one makes the blob dirty.
    // A store keyword makes the blob dirty too: a delta's changed line alone does not say it is in a manifest.
    const storeHit = this.reference ? containsStoreKeyword(data) : hits.keywords.some((k) => this.storeKeyword[k] === 1);
    const spans: { decoder: string; start: number; end: number; bytes: Buffer; detectors?: DecodedSpan['detectors'] }[] =
      depth === 0 ? storeSpans(data, storeHit) : [];
    if (verdict && depth === 0 && (spans.length > 0 || storeHit)) this.storeHint = true;
    // Decoding keeps ASCII letters of JSON escapes and percent-encoding, so without a keyword in the blob there is
    // nothing to find there; base64 hides them, hence the Set's base64 forms.
    if (depth < this.decodeDepth && (this.reference || base64.length > 0 || hits.keywords.length > 0)) {
      const which = this.reference ? { base64: null, text: true } : { base64, text: hits.keywords.length > 0 };
      // first, so a value both decode is reported as the base64 decoder's (the store spans repeat it with context)
      spans.unshift(...findEncodedSpans(data, budget, which));
    }
    if (spans.length > 0) {
      // a decoded match repeating a plain one (same detector and secret) is dropped, for the path classes in which
      // the plain one holds
      const plain = new Map<string, number>();
      for (const f of found) {
        const key = `${f.m.detectorId}\0${f.m.secret}`;
        plain.set(key, (plain.get(key) ?? 0) | classesOf(f.m));
      }
      // per detector, secret and span: the path classes already taken (one decoded match may come in several
      // pieces with different alsoMatched, one per group of classes)
      const seen = new Map<string, number>();
      const encoded = new Map<string, number>();
      for (const span of spans) {
        const inner = this.scanDecoded(span.bytes, ctx, depth + 1, budget, narrower(only, span.detectors));
        if (inner.length === 0) continue;
        const at = lines.locate(span.start);
        for (const im of inner) {
          const key = `${im.detectorId}\0${im.secret}`;
          const at0 = `${key}\0${span.start}`;
          if (verdict && (classesOf(im) & (plain.get(key) ?? 0)) !== 0) this.deduped = true;
          const classes = classesOf(im) & ~(plain.get(key) ?? 0) & ~(seen.get(at0) ?? 0);
          if (classes === 0) continue;
          seen.set(at0, (seen.get(at0) ?? 0) | classes);
          if (lineAt(data, span.start, span.end).includes(ALLOW_MARKER)) continue;
          const def = this.catalog.byId.get(im.detectorId)?.def;
          found.push({
            m: withClasses({ ...im, offset: span.start, line: at.line, column: at.column, decoded: [span.decoder, ...(im.decoded ?? [])] }, classes),
            end: span.end,
            rank: def ? specificity(def) : 0,
            generic: def?.generic ?? false,
          });
          for (const enc of [`${im.detectorId}\0${span.start}\0${span.end}`, `*\0${span.start}\0${span.end}`])
            encoded.set(enc, (encoded.get(enc) ?? 0) | classes);
        }
      }
      // A plain capture that is exactly an encoded span is the encoding of what was found decoded in it, when the
      // same detector found it (`password: <base64>` in a Secret manifest) or the plain match is a generic guess
      // (`id-token: <base64 of a JWT>`): one finding, the decoded one.
      if (encoded.size > 0) dropEncodedForms(found, encoded);
    }
    return resolveOverlaps(found).sort((a, b) => a.offset - b.offset || a.detectorId.localeCompare(b.detectorId));
  }

  /**
   * scanAt over a decoded span, remembered by content: a release's source map or locale bundle decodes to the same
   * strings as the last one's, thousands of times. A decoded scan's matches depend on its bytes, its decoding level,
   * its scope and the path class it is judged for, and on the budget only through running out of it: a result that
   * did not run out is reused when the budget left covers what it consumed, which it then consumes again, along with
   * the reach it set. Not while explaining (its rejections are wanted).
   */
  private scanDecoded(bytes: Buffer, ctx: ScanContext, depth: number, budget: DecodeBudget, only: Scope | undefined): Match[] {
    if (this.rejections !== null || this.reference) return this.scanAt(bytes, ctx, depth, budget, false, only);
    const head = `${depth}|${only ?? ''}|${ctx.anyPath ? 'any' : pathClass(ctx.path)}|`;
    const key = head + (bytes.length <= SPAN_KEY_BYTES ? bytes.toString('latin1') : createHash('sha256').update(bytes).digest('base64'));
    const hit = this.spanCache.get(key);
    if (hit && budget.bytes >= hit.consumed) {
      budget.bytes -= hit.consumed;
      this.addReach(hit.reach);
      return hit.matches;
    }
    const before = budget.bytes;
    const outerReach = this.companionReach;
    this.companionReach = 0;
    const matches = this.scanAt(bytes, ctx, depth, budget, false, only);
    const reach = this.companionReach;
    this.companionReach = outerReach;
    this.addReach(reach);
    if (budget.short !== true) {
      if (this.spanCacheBytes > SPAN_CACHE_BYTES) {
        this.spanCache.clear();
        this.spanCacheBytes = 0;
      }
      this.spanCache.set(key, { matches, consumed: before - budget.bytes, reach });
      this.spanCacheBytes += key.length;
    }
    return matches;
  }

  /** A decoded scan's reach, as if its candidates had been judged here (they lie in decoded text: positions unknown). */
  private addReach(reach: number): void {
    if (reach === 0) return;
    if (reach > this.companionReach) this.companionReach = reach;
    this.lacking = null;
  }

  private referenceCandidates(data: Buffer, only?: Scope): Candidate[] {
    const out: Candidate[] = [];
    for (const c of this.compiled) if (inScope(c, only) && (c.def.keywords.length > 0 || data.length <= c.def.file_max_bytes!)) this.run(c, data, out);
    return out;
  }

  /**
   * Raw regex matches of the detectors whose keywords occur in `data`: each runs over the whole Buffer, once, and
   * only if one of its probes matches somewhere (a probe is a necessary condition, so nothing is lost).
   */
  private candidates(data: Buffer, hitKeywords: number[], only?: Scope): Candidate[] {
    const out: Candidate[] = [];
    if (hitKeywords.length === 0 && data.length > this.keyFileMax) return out;
    const stamp = (this.stamp = (this.stamp + 1) >>> 0 || 1);
    const todo: number[] = [];
    if (data.length <= this.keyFileMax) {
      for (const d of this.keyFiles) {
        if (data.length > this.compiled[d]!.def.file_max_bytes! || (only && !inScope(this.compiled[d]!, only))) continue;
        this.ran[d] = stamp;
        todo.push(d);
      }
    }
    for (const k of hitKeywords) {
      for (const d of this.keywords[k]!.detectors) {
        if (this.ran[d] === stamp) continue;
        this.ran[d] = stamp;
        if (only && !inScope(this.compiled[d]!, only)) continue;
        todo.push(d);
      }
    }
    // covered: the detectors a group Set has judged; passed: those of them it found a probe (or pattern) of
    const sets = data.length >= SET_MIN_BYTES && todo.length >= SET_MIN_DETECTORS ? this.probeSets(data, todo) : null;
    for (const d of todo) {
      const c = this.compiled[d]!;
      const judged = sets !== null && sets.covered.has(d);
      if (judged && !sets.passed.has(d)) continue;
      if (c.probes.length === 0) {
        this.run(c, data, out, 0);
        continue;
      }
      const from = this.startOf(c, data, judged ? sets.passed.get(d)! : null);
      if (from !== -1) this.run(c, data, out, from);
    }
    return out;
  }

  /**
   * Where `c` can first match in `data`, from its probes' first matches and their prefixes' bounds (regex.ts),
   * or -1 when no probe matches. `only`: the probes known to match (from the Set); the others are not run.
   */
  private startOf(c: Compiled, data: Buffer, only: Set<number> | null): number {
    let from = -1;
    for (let i = 0; i < c.probes.length; i++) {
      if (only && !only.has(i)) continue;
      const m = c.probes[i]!.exec(data);
      if (m === null) continue;
      const bound = c.bounds[i];
      const q = bound ? bound(data, m.index) : 0;
      if (from === -1 || q < from) from = q;
      if (from === 0) break;
    }
    return from;
  }

  /**
   * Large blobs contain most keywords, and one pass per candidate detector adds up: there, one RE2.Set (their
   * group's, or the catalog's: SET_GROUP) says which of them can match. A Set whose automaton outgrows RE2's memory
   * throws, and one much slower than its members is retired: the catalog's Set gives way to the groups' for good, a
   * group's detectors fall back to their own probes.
   */
  private probeSets(data: Buffer, todo: number[]): { covered: Set<number>; passed: Map<number, Set<number>> } {
    if (this.setBytes > this.wholeAfter) {
      this.wholeAfter = Number.POSITIVE_INFINITY;
      this.regroup(this.compiled.length);
    }
    this.setBytes += data.length;
    if (this.groupSize > SET_GROUP && this.groupSet(0) === null) this.retire(0);
    const size = this.groupSize;
    const byGroup = new Map<number, number>();
    for (const d of todo) {
      const g = (d / size) | 0;
      byGroup.set(g, (byGroup.get(g) ?? 0) + 1);
    }
    const covered = new Set<number>();
    const passed = new Map<number, Set<number>>();
    for (const [g, n] of byGroup) {
      if (n < SET_GROUP_MIN) continue;
      const entry = this.groupSet(g);
      if (!entry) continue;
      const t0 = process.hrtime.bigint();
      let hits: number[];
      try {
        hits = entry.set.match(data);
      } catch {
        this.retire(g);
        continue;
      }
      entry.ns += Number(process.hrtime.bigint() - t0);
      entry.bytes += data.length;
      if (!entry.warm && entry.bytes > SET_WARMUP_BYTES) {
        entry.warm = true;
        entry.bytes = entry.ns = 0;
      }
      // Slower than ~100 MB/s on a few MB once warm: the combined automaton thrashes; smaller Sets or the probes one by
      // one are faster (this blob's result stands: it is exact, only slow)
      if (entry.warm && entry.bytes > 4 << 20 && entry.ns > entry.bytes * 10) this.retire(g);
      for (const d of todo) if (((d / size) | 0) === g) covered.add(d);
      for (const i of hits) {
        const d = entry.owner[i]!;
        let probes = passed.get(d);
        if (!probes) passed.set(d, (probes = new Set()));
        probes.add(entry.probeIdx[i]!);
      }
    }
    return { covered, passed };
  }

  /** The catalog's Set gives way to fixed groups of SET_GROUP detectors; a group's Set is dropped. */
  private retire(g: number): void {
    if (this.groupSize > SET_GROUP) this.regroup(SET_GROUP);
    else this.sets[g] = null;
  }

  /** Probe Sets of `size` detectors each from now on, none compiled yet. */
  private regroup(size: number): void {
    this.groupSize = size;
    this.sets = new Array<CachedSet | null | undefined>(Math.ceil(this.compiled.length / size));
  }

  /** Group `g`'s probe Set, compiled on first use; null when RE2 refuses it or it was retired. */
  private groupSet(g: number): CachedSet | null {
    let entry = this.sets[g];
    if (entry !== undefined) return entry;
    const owner: number[] = [];
    const probeIdx: number[] = [];
    const patterns: string[] = [];
    const size = this.groupSize;
    for (let d = g * size; d < Math.min(this.compiled.length, (g + 1) * size); d++) {
      const c = this.compiled[d]!;
      // the probes' text only: a detector is compiled when a probe of it first matches
      const probed = c.probeSources.length > 0;
      const sources = probed ? c.probeSources : [c.def.pattern];
      sources.forEach((p, i) => {
        patterns.push(relaxRepeats(p, SET_REPEAT_CAP));
        owner.push(d);
        probeIdx.push(probed ? i : -1);
      });
    }
    try {
      entry = { set: new RE2.Set(patterns), owner, probeIdx, bytes: 0, ns: 0, warm: false };
    } catch {
      entry = null;
    }
    this.sets[g] = entry;
    return entry;
  }

  /**
   * Every match of `c` over the whole Buffer (leftmost-first, non-overlapping), as RE2 reports them, searching
   * from `from`: no match starts before it, and RE2 still reads the bytes before as context. A single-line
   * detector's matches with a line break inside (not at either end) are not candidates.
   */
  private run(c: Compiled, data: Buffer, out: Candidate[], from = 0): void {
    const re = c.re;
    const oneLine = !c.def.multiline;
    re.lastIndex = from;
    let m: ReturnType<RE2['exec']>;
    while ((m = re.exec(data)) !== null) {
      const whole = m[0];
      if (whole.length === 0) re.lastIndex = m.index + 1;
      if (oneLine) {
        // A single-line detector's match stays on one line: it may take the line breaks either side as context
        // (`(?:^|[^\w])…(?:[^\w]|$)`), never one inside. Such a match is dropped and the search resumes at that
        // line break, so every line's matches depend on that line alone (delta regions rely on it).
        const nl = whole.indexOf(0x0a, 1);
        if (nl !== -1 && nl < whole.length - 1) {
          re.lastIndex = m.index + nl;
          continue;
        }
      }
      const idx = (m as unknown as { indices?: ([number, number] | undefined)[] }).indices?.[1];
      if (!idx || idx[1] <= idx[0]) continue;
      out.push({ c, start: idx[0], end: idx[1] });
    }
  }

  private reject(c: Compiled, reason: string, filter?: string): null {
    this.rejections?.push({ detectorId: c.def.id, reason, ...(filter ? { filter } : {}) });
    return null;
  }

  private evaluate(data: Buffer, cand: Candidate, lines: LineIndex, ctx: ScanContext, depth: number): Match | null {
    const { c, start, end } = cand;
    const def = c.def;
    let secret = data.toString('utf8', start, end);
    if (def.decode) {
      // an obfuscated store value: the password it holds is what filters judge and the finding reports
      const plain = decodeValue(def.decode, secret, { data, start });
      if (plain === null) return this.reject(c, `does not decode as ${def.decode}`);
      secret = plain;
    }
    if (def.entropy !== undefined) {
      const h = shannonEntropy(secret);
      if (h < def.entropy) return this.reject(c, `entropy ${h.toFixed(2)} < ${def.entropy}`);
    }
    if (def.checksum && !validChecksum(def.checksum, secret)) return this.reject(c, `checksum ${def.checksum} fails`);
    for (const a of c.allow) if (a.test(secret)) return this.reject(c, `allow pattern ${a.source}`);
    const { text: line, span } = lineAround(data, start, end);
    if (line.includes(ALLOW_MARKER)) return this.reject(c, 'inline keyloop:allow');
    // for every path class at once (ctx.anyPath), or for this path's
    const verdict = judge(secret, line, def, ctx.anyPath ? undefined : 1 << pathClass(ctx.path), span);
    if (verdict.kept === 0) return this.reject(c, verdict.reason ?? 'filtered', verdict.filter ?? undefined);
    const classes = ctx.anyPath ? verdict.kept : undefined;
    const parts: Record<string, string> = {};
    for (const comp of c.companions) {
      const value = findCompanion(data, comp.re, start, end, comp.within);
      if (value !== null) parts[comp.name] = value;
      else if (comp.required) {
        if (comp.within > this.companionReach) this.companionReach = comp.within;
        // where, in the scanned content (a decoded span's candidate: not there, so unknown)
        if (this.lacking !== null) {
          if (depth === 0) this.lacking.push(start, end, comp.within);
          else this.lacking = null;
        }
        return this.reject(c, `required companion ${comp.name} missing`);
      }
    }
    const { line: ln, column } = lines.locate(start);
    return {
      detectorId: def.id,
      secret,
      parts,
      offset: start,
      line: ln,
      column,
      ...(def.decode ? { decoded: [def.decode] } : {}),
      ...(classes !== undefined ? { pathClasses: classes } : {}),
    };
  }
}

/** What the prefilter reports for STORE_KEYWORDS, found the slow way (the reference scan has no prefilter). */
function containsStoreKeyword(data: Buffer): boolean {
  const folded = data.toString('latin1').toLowerCase();
  return STORE_KEYWORDS.some((kw) => folded.includes(kw));
}

type Scope = NonNullable<DecodedSpan['detectors']> | 'none';

function inScope(c: Compiled, only: Scope | undefined): boolean {
  if (!only) return true;
  if (only === 'none') return false;
  return only === 'multiline' ? c.def.multiline : !c.def.multiline;
}

/** A nested span's scope within its parent's: the detectors both allow. */
function narrower(outer: Scope | undefined, inner: DecodedSpan['detectors']): Scope | undefined {
  if (!outer) return inner;
  if (!inner || inner === outer) return outer;
  return 'none';
}

function foldKeyword(kw: string): string {
  return kw.toLowerCase();
}

function extendBack(data: Buffer, s: number, max: number): number {
  if (s === 0) return 0;
  const floor = Math.max(0, s - max);
  // looked for in [floor, s) only: from s back to the line's start, it read a minified line for every candidate
  const nl = data.subarray(floor, s).lastIndexOf(0x0a);
  return nl === -1 ? floor : floor + nl + 1;
}

function extendForward(data: Buffer, e: number, max: number): number {
  if (e >= data.length) return data.length;
  const ceil = Math.min(data.length, e + max);
  const nl = data.subarray(e, ceil).indexOf(0x0a);
  return nl === -1 ? ceil : e + nl;
}

/** The line holding [start, end), bounded to LINE_CONTEXT bytes either side (minified files), without \r. */
function lineAt(data: Buffer, start: number, end: number): string {
  return lineAround(data, start, end).text;
}

/** `lineAt`, and where [start, end) sits in it (UTF-16 indices): what filters read before and after the value. */
function lineAround(data: Buffer, start: number, end: number): { text: string; span: { start: number; end: number } } {
  const s = extendBack(data, start, LINE_CONTEXT);
  const e = extendForward(data, end, LINE_CONTEXT);
  const at = data.toString('utf8', s, start).length;
  return { text: data.toString('utf8', s, e).replace(/\r$/, ''), span: { start: at, end: at + data.toString('utf8', start, end).length } };
}

/** The companion match closest to the secret within `within` bytes either side, not overlapping it. */
function findCompanion(data: Buffer, re: RE2, start: number, end: number, within: number): string | null {
  const ws = Math.max(0, start - within);
  const we = Math.min(data.length, end + within);
  const sub = data.subarray(ws, we);
  re.lastIndex = 0;
  let best: string | null = null;
  let bestDist = Infinity;
  let m: ReturnType<RE2['exec']>;
  while ((m = re.exec(sub)) !== null) {
    if (m[0].length === 0) re.lastIndex = m.index + 1;
    const idx = (m as unknown as { indices?: ([number, number] | undefined)[] }).indices?.[1];
    if (!idx) continue;
    const cs = ws + idx[0];
    const ce = ws + idx[1];
    if (cs < end && ce > start) continue;
    const dist = ce <= start ? start - ce : cs - end;
    if (dist < bestDist) {
      bestDist = dist;
      best = data.toString('utf8', cs, ce);
    }
  }
  return best;
}

/** A match the engine keeps until overlaps are resolved: its span's end and its detector's specificity. */
interface Found {
  m: Match;
  end: number;
  rank: number;
  generic: boolean;
}

/**
 * One match per secret. Two matches claim one secret when their spans overlap (and, one decoded and one not, the
 * plain text decodes to the other's secret), or when a generic match has the same text as a provider match
 * anywhere in the buffer. The most specific detector (specificity.ts) wins and lists the others as
 * `alsoMatched`; two matches of one detector never replace each other. In a scan for any path this holds per
 * path class: the winner is the most specific match that holds in the class, so a generic match that filters
 * drop in code files loses only where it holds.
 */
function resolveOverlaps(found: Found[]): Match[] {
  const n = found.length;
  if (n < 2) return found.map((f) => f.m);
  const outranks = (a: number, b: number) => compareSpecificity(rankKey(found[a]!), rankKey(found[b]!)) < 0;
  // beaters[i]: the matches that outrank i and claim its secret
  let beaters: number[][] | null = null;
  const beat = (a: number, b: number) => {
    const [w, l] = outranks(a, b) ? [a, b] : [b, a];
    (beaters ??= Array.from({ length: n }, () => []))[l]!.push(w);
  };
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => found[a]!.m.offset - found[b]!.m.offset);
  for (let x = 0; x < n; x++) {
    const a = found[order[x]!]!;
    for (let y = x + 1; y < n; y++) {
      const b = found[order[y]!]!;
      if (b.m.offset >= a.end) break;
      if (a.m.detectorId !== b.m.detectorId && sameClaim(a.m, b.m)) beat(order[x]!, order[y]!);
    }
  }
  if (found.some((f) => f.generic) && found.some((f) => !f.generic)) {
    const providerTexts = new Map<string, number[]>();
    found.forEach((f, i) => {
      if (!f.generic) providerTexts.set(f.m.secret, [...(providerTexts.get(f.m.secret) ?? []), i]);
    });
    found.forEach((f, i) => {
      if (f.generic) for (const p of providerTexts.get(f.m.secret) ?? []) beat(p, i);
    });
  }
  if (beaters === null) return found.map((f) => f.m);
  const lost = beaters as number[][];

  // per path class: who survives, and what each survivor collects from the matches it beat
  let all = 0;
  for (const f of found) all |= classesOf(f.m);
  const kept: Map<string, { classes: number; also: string[] }>[] = Array.from({ length: n }, () => new Map<string, { classes: number; also: string[] }>());
  for (let bit = 1; bit !== 0 && bit <= all; bit <<= 1) {
    if ((all & bit) === 0) continue;
    const holds = (i: number) => (classesOf(found[i]!.m) & bit) !== 0;
    const winner = new Int32Array(n).fill(-1);
    const winnerOf = (i: number): number => {
      let cur = i;
      for (;;) {
        let best = -1;
        for (const j of lost[cur]!) if (holds(j) && (best === -1 || outranks(j, best))) best = j;
        if (best === -1) return cur;
        cur = best;
      }
    };
    const also = new Map<number, Set<string>>();
    for (let i = 0; i < n; i++) {
      if (!holds(i)) continue;
      const w = (winner[i] = winnerOf(i));
      const set = also.get(w) ?? new Set(found[w]!.m.alsoMatched);
      also.set(w, set);
      if (w === i) continue;
      set.add(found[i]!.m.detectorId);
      for (const d of found[i]!.m.alsoMatched ?? []) set.add(d);
    }
    for (let i = 0; i < n; i++) {
      if (winner[i] !== i) continue;
      const list = [...also.get(i)!].filter((d) => d !== found[i]!.m.detectorId).sort();
      const key = list.join(',');
      const g = kept[i]!.get(key);
      if (g) g.classes |= bit;
      else kept[i]!.set(key, { classes: bit, also: list });
    }
  }
  const out: Match[] = [];
  found.forEach((f, i) => {
    for (const { classes, also } of kept[i]!.values()) {
      const { alsoMatched: _, ...rest } = withClasses(f.m, classes);
      out.push(also.length > 0 ? { ...rest, alsoMatched: also } : rest);
    }
  });
  return out;
}

function rankKey(f: Found): { id: string; rank: number } {
  return { id: f.m.detectorId, rank: f.rank };
}

/**
 * Removes, per path class, the plain matches `encoded` names: (detector or `*` for any, start, end) → classes of
 * the decoded matches; `*` applies to generic plain matches only.
 */
function dropEncodedForms(found: Found[], encoded: Map<string, number>): void {
  for (let i = found.length - 1; i >= 0; i--) {
    const f = found[i]!;
    if (f.m.decoded) continue;
    const by = (encoded.get(`${f.m.detectorId}\0${f.m.offset}\0${f.end}`) ?? 0) | (f.generic ? (encoded.get(`*\0${f.m.offset}\0${f.end}`) ?? 0) : 0);
    if (by === 0) continue;
    const classes = classesOf(f.m) & ~by;
    if (classes === 0) found.splice(i, 1);
    else found[i] = { ...f, m: withClasses(f.m, classes) };
  }
}

/** The path classes a match holds in: its mask (a scan for any path), or the one class of a known path. */
function classesOf(m: Match): number {
  return m.pathClasses ?? 1;
}

function withClasses(m: Match, classes: number): Match {
  return m.pathClasses === undefined || m.pathClasses === classes ? m : { ...m, pathClasses: classes };
}

/**
 * Whether overlapping matches claim one secret. Both plain (or both from one decoded span): yes. A plain match
 * over an encoded span claims the decoded match's secret only if its capture decodes to it; otherwise it is a
 * different value that happens to sit in the same JSON string or URL.
 */
function sameClaim(a: Match, b: Match): boolean {
  if (!a.decoded === !b.decoded) return true;
  const [plain, decoded] = a.decoded ? [b, a] : [a, b];
  let text = plain.secret;
  for (const d of decoded.decoded!) text = decodeWith(d, text);
  return text.includes(decoded.secret);
}

/** The probes of `pattern` as text, with their start bounds; none when it has no cheaper necessary condition. */
function probeText(pattern: string): ProbeText {
  try {
    const specs = probeSpecs(pattern);
    return { sources: specs.map((p) => p.source), bounds: specs.map((p) => startBound(p.prefix)) };
  } catch {
    return { sources: [], bounds: [] };
  }
}

/** The probes compiled, or none when RE2 refuses one (the detector then runs its pattern directly). */
function compileProbes(sources: string[]): RE2[] {
  try {
    return sources.map((p) => new RE2(withoutCaptures(p)));
  } catch {
    return [];
  }
}

/** The matches of a scan for any path (ScanContext.anyPath) that hold for `path`, without their class mask. */
export function matchesForPath(matches: Match[], path: string): Match[] {
  const bit = 1 << pathClass(path);
  const out: Match[] = [];
  for (const m of matches) {
    if (m.pathClasses === undefined) out.push(m);
    else if ((m.pathClasses & bit) !== 0) {
      const { pathClasses: _, ...rest } = m;
      out.push(rest);
    }
  }
  return out;
}

export function createEngine(catalog: Catalog, opts?: EngineOptions): DetectionEngine {
  return new DetectionEngine(catalog, opts);
}
