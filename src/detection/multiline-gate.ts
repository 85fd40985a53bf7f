// Whether a blob may hold a match of a multiline detector anywhere: delta-aware scanning (src/scan/delta-plan.ts)
// scans a delta of a clean base only around the lines it changed, which holds for single-line detectors (their
// matches depend on one line alone); a multiline detector's match can reach lines the delta did not touch, so a
// target this gate passes is scanned whole. A superset test, never a guess: every pattern of every multiline
// detector over the raw bytes (one RE2.Set pass) and over the decoded JSON string runs that cross lines.
import RE2 from 're2';
import { decodedAcrossLines } from './decoders.js';
import type { Catalog } from './types.js';

/** true: the blob may hold a multiline detector's match (scan it whole); false: it holds none. */
export type MultilineGate = (data: Buffer) => boolean;

/**
 * What a second decoding level reads inside decoded text (base64 runs of 20+ characters, percent and backslash
 * escapes): inside a run that crosses lines its pieces may come from different lines, so the gate does not judge it.
 */
const NESTED_ENCODING = new RE2('[A-Za-z0-9+/_-]{20,}|%[0-9A-Fa-f]{2}|\\\\');

export function multilineGate(catalog: Catalog): MultilineGate {
  const patterns = catalog.detectors.filter((d) => d.def.multiline).map((d) => d.def.pattern);
  if (patterns.length === 0) return () => false;
  const test = anyOf(patterns);
  return (data) => {
    try {
      if (test(data)) return true;
      for (const decoded of decodedAcrossLines(data)) if (test(decoded) || NESTED_ENCODING.test(decoded)) return true;
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
