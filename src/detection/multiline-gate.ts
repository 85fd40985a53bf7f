// Whether a blob may hold a match of a multiline detector anywhere: delta-aware scanning (src/scan/delta-plan.ts)
// scans a delta of a clean base only around the lines it changed, which holds for single-line detectors (their
// matches depend on one line alone); a multiline detector's match can reach lines the delta did not touch, so a
// target this gate passes is scanned whole. A superset test, never a guess: every pattern of every multiline
// detector over the raw bytes (one RE2.Set pass), over the decoded JSON string runs that cross lines, and over what
// the engine's further decoding levels read inside those.
import RE2 from 're2';
import { DECODE_DEPTH, decodedAcrossLines, findEncodedSpans } from './decoders.js';
import type { Catalog } from './types.js';

/** true: the blob may hold a multiline detector's match (scan it whole); false: it holds none. */
export type MultilineGate = (data: Buffer) => boolean;

/**
 * `decodeDepth`: the engine's (EngineOptions.decodeDepth). A run that crosses lines is decoded at the first level and
 * its decoded text decoded again by the levels left, exactly as the engine reads it; a match there depends on lines
 * the delta may not have touched, so every level is tested.
 */
export function multilineGate(catalog: Catalog, decodeDepth = DECODE_DEPTH): MultilineGate {
  const patterns = catalog.detectors.filter((d) => d.def.multiline).map((d) => d.def.pattern);
  if (patterns.length === 0) return () => false;
  const test = anyOf(patterns);
  // what the engine reads in decoded text `d` with `more` levels of decoding left: `d`, then each span it decodes
  // (every base64 run, the reference engine's way: the same runs and bytes as wherever the prefilter hits; the
  // text decoders as if a keyword had hit); no budget
  const holds = (d: Buffer, more: number): boolean => {
    if (test(d)) return true;
    if (more <= 0) return false;
    for (const span of findEncodedSpans(d, { bytes: Number.POSITIVE_INFINITY }, { base64: null, text: true })) if (holds(span.bytes, more - 1)) return true;
    return false;
  };
  return (data) => {
    try {
      if (test(data)) return true;
      if (decodeDepth < 1) return false;
      for (const decoded of decodedAcrossLines(data)) if (holds(decoded, decodeDepth - 1)) return true;
      return false;
    } catch {
      // RE2 out of memory on this input: the gate cannot vouch for it
      return true;
    }
  };
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
