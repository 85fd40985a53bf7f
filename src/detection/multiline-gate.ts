// Whether a blob may hold a match of a multiline detector anywhere: delta-aware scanning (src/scan/delta-plan.ts)
// scans a delta of a clean base only around the lines it changed, which holds for single-line detectors (their
// matches depend on one line alone); a multiline detector's match can reach lines the delta did not touch, so a
// target this gate passes is scanned whole. A superset test, never a guess: every pattern of every multiline
// detector over the raw bytes (one RE2.Set pass), over the decoded JSON string runs that cross lines, and over what
// the engine's further decoding levels read inside those.
//
// The raw pass is the gate's cost (RE2's DFA at ~0.6 GB/s over every delta target: 2.4 s of a TypeScript history),
// so it runs only where a match can be: every match of a pattern contains that pattern's literals (regex.ts
// requiredLiterals), so a blob holding none of a few chosen literals (`-----BEGIN `, `password`…) can match only the
// patterns without one (tested on their own). And a delta of a blob that held none of them can hold one only where
// it changed the base: a literal lying whole inside one copy is a literal of the base. So a delta is searched only
// around its changes (changed ranges widened by the longest literal), and a chain of deltas is searched whole once.
import RE2 from 're2';
import { DECODE_DEPTH, decodedAcrossLines, findEncodedSpans } from './decoders.js';
import { requiredLiterals } from './regex.js';
import type { Catalog } from './types.js';

/**
 * What the gate says of a blob: true, it may hold a multiline detector's match (scan it whole); false, it holds
 * none; 'clear', it holds none and none of the gate's literals either (its deltas need only be searched around
 * their changes).
 */
export type GateAnswer = boolean | 'clear';

/**
 * `changed`: given when `data` is a delta of a blob the gate found 'clear', the target's changed ranges (flat
 * [start, end…], inserted bytes and seams as empty ranges: delta-plan.ts changedRanges); every byte outside them
 * lies in a copy of the base.
 */
export type MultilineGate = (data: Buffer, changed?: ArrayLike<number>) => GateAnswer;

/** Changed windows closer than this are searched as one. */
const WINDOW_GAP = 1024;

/** Literals shorter than this are not searched for (a pattern left without one is tested on every blob). */
const MIN_LITERAL = 4;

/**
 * A few literals that between them cover the patterns (each pattern's match contains one of `literals`), chosen
 * greedily among each pattern's required literals and their space-separated words, those covering most patterns
 * first (then the longest); `uncovered`: the patterns no literal of MIN_LITERAL characters covers.
 */
export function gateLiterals(patterns: string[]): { literals: string[]; uncovered: string[] } {
  const runs = patterns.map((p) => requiredLiterals(p));
  const candidates = new Set<string>();
  for (const rs of runs) for (const r of rs) for (const c of [r, ...r.split(' ')]) if (c.length >= MIN_LITERAL) candidates.add(c);
  const covers = (c: string, i: number) => runs[i]!.some((r) => r.includes(c));
  let left = patterns.map((_, i) => i).filter((i) => [...candidates].some((c) => covers(c, i)));
  const uncovered = patterns.filter((_, i) => !left.includes(i));
  const literals: string[] = [];
  while (left.length > 0) {
    let best = '';
    let bestN = 0;
    for (const c of candidates) {
      const n = left.filter((i) => covers(c, i)).length;
      if (n > bestN || (n === bestN && c.length > best.length)) [best, bestN] = [c, n];
    }
    literals.push(best);
    left = left.filter((i) => !covers(best, i));
  }
  return { literals, uncovered };
}

/**
 * `decodeDepth`: the engine's (EngineOptions.decodeDepth). A run that crosses lines is decoded at the first level and
 * its decoded text decoded again by the levels left, exactly as the engine reads it; a match there depends on lines
 * the delta may not have touched, so every level is tested.
 */
export function multilineGate(catalog: Catalog, decodeDepth = DECODE_DEPTH): MultilineGate {
  const patterns = catalog.detectors.filter((d) => d.def.multiline).map((d) => d.def.pattern);
  if (patterns.length === 0) return () => 'clear';
  const test = anyOf(patterns);
  const { literals, uncovered } = gateLiterals(patterns);
  const testUncovered = anyOfAnchored(uncovered);
  const needles = literals.map((l) => Buffer.from(l));
  // an occurrence not lying whole inside one copy meets a changed range: it starts at most this much before one
  const reach = Math.max(0, ...literals.map((l) => l.length)) - 1;
  const holdsLiteral = (data: Buffer, changed?: ArrayLike<number>): boolean => {
    if (!changed) return needles.some((l) => data.includes(l));
    const found = (s: number, e: number): boolean => {
      const w = data.subarray(s, e);
      return needles.some((l) => w.includes(l));
    };
    // the window being gathered; none yet
    let s = -1;
    let e = -1;
    // changed ranges come in order (thousands in a delta between two releases): windows closer than WINDOW_GAP are
    // searched as one, the bytes between costing less than a search each
    for (let k = 0; k < changed.length; k += 2) {
      const ws = Math.max(0, changed[k]! - reach);
      const we = Math.min(data.length, changed[k + 1]! + reach);
      if (s >= 0 && ws <= e + WINDOW_GAP) {
        e = Math.max(e, we);
        continue;
      }
      if (s >= 0 && found(s, e)) return true;
      [s, e] = [ws, we];
    }
    return s >= 0 && found(s, e);
  };
  // what the engine reads in decoded text `d` with `more` levels of decoding left: `d`, then each span it decodes
  // (every base64 run, the reference engine's way: the same runs and bytes as wherever the prefilter hits; the
  // text decoders as if a keyword had hit); no budget
  const holds = (d: Buffer, more: number): boolean => {
    if (test(d)) return true;
    if (more <= 0) return false;
    for (const span of findEncodedSpans(d, { bytes: Number.POSITIVE_INFINITY }, { base64: null, text: true })) if (holds(span.bytes, more - 1)) return true;
    return false;
  };
  return (data, changed) => {
    try {
      const literal = holdsLiteral(data, changed);
      if (literal ? test(data) : testUncovered(data)) return true;
      if (decodeDepth >= 1) for (const decoded of decodedAcrossLines(data)) if (holds(decoded, decodeDepth - 1)) return true;
      return literal ? false : 'clear';
    } catch {
      // RE2 out of memory on this input: the gate cannot vouch for it
      return true;
    }
  };
}

/**
 * anyOf, but a pattern anchored at the start (`\A`) is tested on its own: RE2 then tries only the start (0.06 ms on
 * 40 MB), while a Set runs its DFA over the whole blob whatever the anchor (60 ms).
 */
function anyOfAnchored(patterns: string[]): (data: Buffer) => boolean {
  const anchored = patterns.filter((p) => p.startsWith('\\A')).map((p) => new RE2(p));
  const rest = patterns.filter((p) => !p.startsWith('\\A'));
  const others = rest.length > 0 ? anyOf(rest) : () => false;
  return (data) => anchored.some((re) => re.test(data)) || others(data);
}

/** One RE2.Set pass over all patterns; one regex each when RE2 refuses the Set. */
function anyOf(patterns: string[]): (data: Buffer) => boolean {
  try {
    const set = new RE2.Set(patterns);
    return (data) => set.test(data);
  } catch {
    const each = patterns.map((p) => new RE2(p));
    return (data) => each.some((re) => re.test(data));
  }
}
