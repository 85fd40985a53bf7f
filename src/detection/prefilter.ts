// One keyword pass per blob: an RE2.Set says which keywords occur (≈ 500 MB/s on Buffers), then a cached
// case-insensitive alternation of only those keywords finds where. The Set also holds each keyword's base64
// forms, so base64 decoding runs only on blobs that may hide a keyword in base64.
import RE2 from 're2';
import { NESTED_BASE64_SIGNATURE } from './decoders.js';
import { escapeRe2 } from './regex.js';

export interface KeywordHits {
  /** Indexes (into `keywords`) of the keywords present. */
  keywords: number[];
  /** Byte offsets where a base64 form of a keyword occurs (exact case): where base64 may hide a keyword. */
  base64: number[];
  /**
   * Byte offsets inside runs that look like base64 of text (decoders.ts NESTED_BASE64_SIGNATURE): where a keyword
   * encoded more than once may hide. Only looked for when the prefilter was built with `nested`.
   */
  nested: number[];
}

const MAX_CACHED_ALTERNATIONS = 512;
const FEW_HITS = 64;
/**
 * Keywords of 3 bytes (`://`) give base64 forms of 3–4 characters, which occur by chance now and then; decoding
 * runs only around them, so that costs little, and without them a base64-encoded `rnd_…` token would be missed.
 */
const MIN_FORM = 3;
const MIN_KEYWORD = 3;
const MAX_BASE64_HITS = 4096;

/**
 * Base64 substrings that any base64 encoding of `kw` contains, whatever its alignment (0, 1 or 2 bytes into a
 * 3-byte group): the characters whose 6 bits come only from the keyword's bytes.
 */
export function base64Forms(kw: string): string[] {
  const bytes = Buffer.from(kw, 'utf8');
  const n = bytes.length;
  const out = new Set<string>();
  // Computed bit by bit rather than by encoding padded copies: the catalog has ~3,500 forms, and building them
  // with Buffer.concat + toString('base64') was the largest part of the engine's start-up.
  for (const a of [0, 1, 2]) {
    let s = '';
    // character j of the encoding covers bits 6j..6j+5 of (a zero bytes, then kw): keep those inside kw
    for (let j = Math.ceil((8 * a) / 6); 6 * j + 6 <= 8 * (a + n); j++) {
      const bit = 6 * j - 8 * a;
      const word = (bytes[bit >> 3]! << 8) | (bytes[(bit >> 3) + 1] ?? 0);
      s += BASE64[(word >> (10 - (bit & 7))) & 63];
    }
    if (s.length >= MIN_FORM) {
      out.add(s);
      out.add(s.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  return [...out];
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export class Prefilter {
  private readonly set: InstanceType<typeof RE2.Set> | null;
  private readonly b64Start: number;
  private readonly forms: Buffer[];
  private readonly alternations = new Map<string, RE2>();
  /** Finds runs that look like base64 of text; null when not asked for. Its own pass: in the Set it blows up the DFA. */
  private readonly nestedRe: RE2 | null;

  /**
   * `keywords` are case-insensitive literals, lowercased; `spellings[i]` are keyword i as detectors wrote it
   * ("AKCp"), whose base64 forms are searched too.
   */
  constructor(
    readonly keywords: readonly string[],
    spellings: readonly (readonly string[])[] = [],
    /** Also mark runs that may hold base64 within base64 (the engine decodes more than one level deep). */
    nested = false,
  ) {
    const forms = new Set<string>();
    // Case variants: base64 of "Token" and "token" differ in more than case.
    keywords.forEach((kw, i) => {
      if (Buffer.byteLength(kw) < MIN_KEYWORD) return;
      const variants = new Set([kw, kw.toUpperCase(), kw[0]!.toUpperCase() + kw.slice(1), ...(spellings[i] ?? [])]);
      for (const v of variants) for (const f of base64Forms(v)) forms.add(f);
    });
    this.b64Start = keywords.length;
    this.forms = [...forms].map((f) => Buffer.from(f, 'latin1'));
    // Base64 is case-sensitive: its forms are matched exactly, the keywords each in a case-insensitive group. (The
    // same Set written with the 'i' flag and `(?-i:…)` around each form finds the same, but compiles ~30 % slower
    // and matches 10–40 % slower.)
    const patterns = [...keywords.map((k) => `(?i:${escapeRe2(k)})`), ...[...forms].map(escapeRe2)];
    this.nestedRe = nested ? new RE2(NESTED_BASE64_SIGNATURE, 'g') : null;
    this.set = patterns.length ? new RE2.Set(patterns) : null;
  }

  /** `withNested`: also look for runs of base64 of text (when the caller can still decode two levels). */
  hits(data: Buffer, withNested = true): KeywordHits {
    if (!this.set) return { keywords: [], base64: [], nested: [] };
    const all = this.set.match(data);
    const keywords: number[] = [];
    const base64: number[] = [];
    const nested: number[] = [];
    for (const i of all) {
      if (i < this.b64Start) keywords.push(i);
      else {
        const form = this.forms[i - this.b64Start]!;
        for (let p = data.indexOf(form); p !== -1 && base64.length < MAX_BASE64_HITS; p = data.indexOf(form, p + 1)) base64.push(p);
      }
    }
    const re = withNested ? this.nestedRe : null;
    if (re) {
      re.lastIndex = 0;
      for (let m = re.exec(data); m !== null && nested.length < MAX_BASE64_HITS; m = re.exec(data)) nested.push(m.index);
    }
    return { keywords, base64, nested };
  }

  /**
   * Calls `onHit(keywordIndex, offset)` for every occurrence of the given keywords (case-insensitive), including
   * overlapping ones and keywords that are prefixes of one another.
   */
  positions(data: Buffer, hit: readonly number[], onHit: (keyword: number, offset: number) => void): void {
    if (hit.length === 0) return;
    const sorted = [...hit].sort((a, b) => this.keywords[b]!.length - this.keywords[a]!.length);
    const sig = sorted.join(',');
    let re = this.alternations.get(sig);
    if (!re) {
      if (this.alternations.size >= MAX_CACHED_ALTERNATIONS) this.alternations.clear();
      // Longest first: RE2 picks the first alternative that matches, so a prefix keyword never hides a longer one.
      re = new RE2(sorted.map((k) => escapeRe2(this.keywords[k]!)).join('|'), 'gi');
      this.alternations.set(sig, re);
    }
    // Each RE2 exec costs microseconds: fine for a few hits, far too slow for a minified bundle that says
    // "token" 100k times. Past FEW_HITS, fold the blob once and use indexOf (native, ns per hit).
    const found: number[] = [];
    re.lastIndex = 0;
    let m: ReturnType<RE2['exec']>;
    while ((m = re.exec(data)) !== null) {
      const p = m.index;
      const text = m[0].toString('utf8').toLowerCase();
      for (const k of sorted) if (text.startsWith(this.keywords[k]!)) found.push(k, p);
      if (found.length > 2 * FEW_HITS) break;
      // Resume one byte later so overlapping keywords are found too.
      re.lastIndex = p + 1;
    }
    if (found.length <= 2 * FEW_HITS) {
      for (let i = 0; i < found.length; i += 2) onHit(found[i]!, found[i + 1]!);
      return;
    }
    // latin1 keeps one character per byte, so string offsets are byte offsets.
    const folded = data.toString('latin1').toLowerCase();
    for (const k of hit) {
      const needle = Buffer.from(this.keywords[k]!, 'utf8').toString('latin1');
      for (let p = folded.indexOf(needle); p !== -1; p = folded.indexOf(needle, p + 1)) onHit(k, p);
    }
  }
}
