// RE2 helpers shared by the loader, the checker and the engine: capture-group counting and literal prefixes.
import RE2 from 're2';

/**
 * Number of capturing groups in an RE2 pattern. Skips escapes (`\(`), character classes (`[(]`, `[]()]`,
 * `[[:alpha:]]`), `\Q…\E` quoting and non-capturing forms (`(?:`, `(?i)`, `(?i:`); counts `(?P<n>`, `(?<n>`.
 */
export function countCaptureGroups(pattern: string): number {
  let n = 0;
  for (let i = 0; i < pattern.length; i = tokenEnd(pattern, i)) {
    if (pattern[i] !== '(') continue;
    if (pattern[i + 1] !== '?') n++;
    else if (pattern[i + 2] === 'P' && pattern[i + 3] === '<') n++;
    else if (pattern[i + 2] === '<' && pattern[i + 3] !== '=' && pattern[i + 3] !== '!') n++;
  }
  return n;
}

/**
 * Index just past the token of `p` at `i`: an escape (`\d`, `\x{41}`, `\p{Greek}`, `\Q…\E` quoting), a character
 * class, or else that one character.
 */
function tokenEnd(p: string, i: number): number {
  const c = p[i];
  if (c === '[') return skipClass(p, i);
  if (c !== '\\') return i + 1;
  const e = p[i + 1];
  if (e === 'Q') {
    const end = p.indexOf('\\E', i + 2);
    return end < 0 ? p.length : end + 2;
  }
  if ((e === 'x' || e === 'p' || e === 'P') && p[i + 2] === '{') {
    const end = p.indexOf('}', i + 3);
    return end < 0 ? p.length : end + 1;
  }
  return i + 2;
}

/** The counted repetition (`{m}`, `{m,}`, `{m,n}`) at `i` of `p`: its minimum and its end, or null. */
function repeatAt(p: string, i: number): { min: number; end: number } | null {
  if (p[i] !== '{') return null;
  let j = i + 1;
  while (p[j]! >= '0' && p[j]! <= '9') j++;
  if (j === i + 1) return null;
  const min = Number(p.slice(i + 1, j));
  if (p[j] === ',') {
    j++;
    while (p[j]! >= '0' && p[j]! <= '9') j++;
  }
  return p[j] === '}' ? { min, end: j + 1 } : null;
}

/**
 * A weaker pattern: every counted repetition `{m,n}` (or `{m}`, `{m,}`) becomes `{min(m, cap),}`. Each allows at
 * least the counts it replaces, so whatever `pattern` matches, the result matches too, at the same place: a
 * necessary condition (the probe Sets', engine.ts). RE2 compiles `x{16,256}` as 256 copies of `x`, so the weaker
 * form compiles into a far smaller program, and a Set of them builds far smaller DFA states.
 */
export function relaxRepeats(pattern: string, cap: number): string {
  let out = '';
  for (let i = 0; i < pattern.length;) {
    const r = repeatAt(pattern, i);
    if (r) {
      out += `{${Math.min(r.min, cap)},}`;
      i = r.end;
    } else {
      const end = tokenEnd(pattern, i);
      out += pattern.slice(i, end);
      i = end;
    }
  }
  return out;
}

/** Index just past the character class opening at `start`. */
function skipClass(p: string, start: number): number {
  let i = start + 1;
  if (p[i] === '^') i++;
  if (p[i] === ']') i++; // a leading ] is literal
  while (i < p.length) {
    const c = p[i];
    if (c === '\\') i += 2;
    else if (c === '[' && p[i + 1] === ':') {
      const end = p.indexOf(':]', i + 2);
      i = end < 0 ? i + 1 : end + 2;
    } else if (c === ']') return i + 1;
    else i++;
  }
  return i;
}

/**
 * The case-sensitive literal every match starts with (after `\b` and opening groups), or '' when the pattern
 * has alternation, inline flags or no literal lead. RE2 scans a whole Buffer for such a prefix at GB/s.
 */
export function leadingLiteral(pattern: string): string {
  if (pattern.includes('|') || pattern.includes('(?i')) return '';
  let i = 0;
  for (;;) {
    if (pattern.startsWith('\\b', i)) i += 2;
    else if (pattern.startsWith('(?:', i)) i += 3;
    else if (pattern.startsWith('(?P<', i) || pattern.startsWith('(?<', i)) {
      const end = pattern.indexOf('>', i);
      if (end < 0) return '';
      i = end + 1;
    } else if (pattern[i] === '(' && pattern[i + 1] !== '?') i += 1;
    else break;
  }
  let lit = '';
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (/[A-Za-z0-9_\-:/.@=]/.test(c) && c !== '.') lit += c;
    else if (c === '\\' && /[-_./]/.test(pattern[i + 1] ?? '')) {
      lit += pattern[i + 1];
      i++;
    } else break;
    i++;
  }
  // A quantifier after the literal makes its last character optional or repeated; after a closing group, the
  // whole literal.
  const rest = pattern.slice(i);
  if (/^\)+[?*{]/.test(rest)) return '';
  if (/^[?*{]/.test(rest)) lit = lit.slice(0, -1);
  return lit;
}

/** Compiles with RE2; the error message names what RE2 refused. */
export function compileRe2(pattern: string, flags = ''): RE2 {
  return new RE2(pattern, flags);
}

export function escapeRe2(literal: string): string {
  return literal.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

// ---------------------------------------------------------------------------------------------------------------
// Probes: cheap necessary conditions of a pattern.
//
// A pattern E1·E2·…·En matches only where some suffix Ek·…·En matches too, so a suffix is a necessary condition
// that may be far cheaper to search: `\b(ghp_…)` has no literal prefix for RE2 to memchr for (≈ 0.5 GB/s), while
// `ghp_…` does (≈ 5 GB/s). The engine runs a detector's probes over a blob and the detector itself only when one
// of them matches, so results are exactly those of the detector over the whole blob.

interface Elem {
  src: string;
  /** Zero-width (`\b`, `^`…) or quantified with a minimum of 0: a poor place to start a probe. */
  optional: boolean;
  /** An inline flag group `(?i)`, which must stay in front of whatever follows it. */
  flags: boolean;
  /** Unquantified plain or capturing group: its body may be spliced into the sequence. */
  body?: string;
  /** The element without its quantifier, and the most repetitions the quantifier allows. */
  atom: string;
  max: number;
  zeroWidth: boolean;
}

/** The pattern text of a run of elements. */
function sourceOf(elems: Elem[]): string {
  return elems.map((e) => e.src).join('');
}

/** Index just past the group opening at `start` (which holds '('), skipping escapes and classes. */
function skipGroup(p: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < p.length) {
    const c = p[i];
    if (c === '\\') i += 2;
    else if (c === '[') i = skipClass(p, i);
    else {
      if (c === '(') depth++;
      else if (c === ')' && --depth === 0) return i + 1;
      i++;
    }
  }
  return -1;
}

/** Top-level alternatives of `p`, each split into elements; null when the syntax is beyond this parser. */
function splitPattern(p: string): Elem[][] | null {
  const alts: Elem[][] = [[]];
  let i = 0;
  while (i < p.length) {
    const c = p[i]!;
    if (c === '|') {
      alts.push([]);
      i++;
      continue;
    }
    const start = i;
    let zeroWidth = false;
    let flags = false;
    let body: string | undefined;
    if (c === '\\') {
      const n = p[i + 1];
      if (n === undefined || n === 'Q' || /[0-9]/.test(n)) return null;
      if ((n === 'p' || n === 'P' || n === 'x') && p[i + 2] === '{') {
        const end = p.indexOf('}', i);
        if (end < 0) return null;
        i = end + 1;
      } else if (n === 'x') i += 4;
      else if (n === 'p' || n === 'P') i += 3;
      else {
        zeroWidth = /[bBAz]/.test(n);
        i += 2;
      }
    } else if (c === '[') {
      i = skipClass(p, i);
    } else if (c === '(') {
      const end = skipGroup(p, i);
      if (end < 0) return null;
      const inner = p.slice(i + 1, end - 1);
      if (/^\?[A-Za-z-]*\)?$/.test(p.slice(i + 1, end))) flags = true;
      else if (!inner.startsWith('?')) body = inner;
      else if (inner.startsWith('?:')) body = inner.slice(2);
      else if (/^\?P?<[A-Za-z_]\w*>/.test(inner)) body = inner.replace(/^\?P?<[A-Za-z_]\w*>/, '');
      else if (!/^\?[A-Za-z-]+:/.test(inner)) return null;
      i = end;
    } else if (c === ')') {
      return null;
    } else {
      zeroWidth = c === '^' || c === '$';
      i++;
    }
    // Quantifier (RE2 reads a `{` that is not a valid repeat as a literal).
    const atomEnd = i;
    let min = 1;
    let max = 1;
    let quantified = false;
    const q = p[i];
    if (q === '*' || q === '+' || q === '?') {
      min = q === '+' ? 1 : 0;
      max = q === '?' ? 1 : Infinity;
      quantified = true;
      i++;
    } else if (q === '{') {
      const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(p.slice(i));
      if (m) {
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] ? Number(m[3]) : Infinity;
        quantified = true;
        i += m[0].length;
      }
    }
    if (quantified && p[i] === '?') i++; // lazy
    alts[alts.length - 1]!.push({
      src: p.slice(start, i),
      optional: zeroWidth || min === 0,
      flags,
      body: quantified ? undefined : body,
      atom: p.slice(start, atomEnd),
      max,
      zeroWidth,
    });
  }
  return alts;
}

const MAX_PROBES = 4;

/**
 * A probe and the regex of what the pattern matches before it on the same path (`prefix`): a match of the
 * pattern starts where `prefix` matches, ending where the probe matches.
 */
export interface ProbeSpec {
  source: string;
  prefix: string;
}

/** Probes for the sequence `elems` under the leading flag groups `flags`, after the path prefix `prefix`. */
function probesOf(elems: Elem[], flags: string, budget: number, depth: number, prefix: string): ProbeSpec[] | null {
  let k = 0;
  let f = flags;
  let pre = prefix;
  // Skip zero-width and optional leading elements, keeping inline flag groups.
  while (k < elems.length && (elems[k]!.optional || elems[k]!.flags)) {
    if (elems[k]!.flags) f += elems[k]!.src;
    pre += elems[k]!.src;
    k++;
  }
  if (k >= elems.length) return null;
  const first = elems[k]!;
  const rest = elems.slice(k + 1);
  if (first.body !== undefined && depth < 4) {
    const inner = splitPattern(first.body);
    // Flags set inside a group end with it: spliced into the sequence they would reach past it.
    if (inner && inner.some((alt) => alt.some((e) => e.flags))) return [{ source: f + sourceOf(elems.slice(k)), prefix: pre }];
    if (inner && inner.length === 1) return probesOf([...inner[0]!, ...rest], f, budget, depth + 1, pre);
    if (inner && inner.length > 1 && inner.length <= budget) {
      const out: ProbeSpec[] = [];
      for (const alt of inner) {
        const sub = probesOf([...alt, ...rest], f, Math.max(1, Math.floor(budget / inner.length)), depth + 1, pre);
        if (!sub) return null;
        out.push(...sub);
      }
      return out.length <= MAX_PROBES ? out : null;
    }
  }
  // A literal is what RE2 can memchr for: start at the first run of two or more (`://` rather than the scheme
  // before it; a lone `=` would stop the search everywhere in code).
  let j = k;
  while (j + 1 < elems.length && !(isLiteral(elems[j]!) && isLiteral(elems[j + 1]!))) j++;
  if (j + 1 >= elems.length) j = elems.length;
  if (j === elems.length) j = k;
  for (let x = k; x < j; x++) if (elems[x]!.flags) f += elems[x]!.src;
  return [{ source: f + sourceOf(elems.slice(j)), prefix: pre + sourceOf(elems.slice(k, j)) }];
}

/** A single unquantified literal character (plain or an escaped punctuation mark). */
function isLiteral(e: Elem): boolean {
  return !e.optional && !e.flags && (/^[A-Za-z0-9_:/@=,;'"<>%&#~!-]$/.test(e.src) || /^\\[-./+*?()[\]{}|^$]$/.test(e.src));
}

/**
 * Necessary conditions of `pattern` that RE2 can search faster (leading `\b`, optional prefixes and anchors
 * dropped; a leading alternation of up to four branches split into one probe each), or [] when there is nothing
 * cheaper than the pattern itself.
 */
export function probePatterns(pattern: string): string[] {
  return probeSpecs(pattern).map((s) => s.source);
}

/**
 * `pattern` with every capturing group made non-capturing: same matches, and RE2 finds a match's bounds with
 * its DFAs alone instead of also tracking submatches (where a probe matches is all the engine asks).
 */
export function withoutCaptures(pattern: string): string {
  let out = '';
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      if (pattern[i + 1] === 'Q') {
        const end = pattern.indexOf('\\E', i + 2);
        const stop = end < 0 ? pattern.length : end + 2;
        out += pattern.slice(i, stop);
        i = stop;
      } else {
        out += pattern.slice(i, i + 2);
        i += 2;
      }
    } else if (c === '[') {
      const end = skipClass(pattern, i);
      out += pattern.slice(i, end);
      i = end;
    } else if (c === '(' && pattern[i + 1] !== '?') {
      out += '(?:';
      i++;
    } else if (c === '(' && /^\(\?P?<[A-Za-z_]\w*>/.test(pattern.slice(i))) {
      out += '(?:';
      i = pattern.indexOf('>', i) + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/**
 * Literal strings that every match of `pattern` contains, each of them (case-sensitive; [] when none is known):
 * the runs of plain characters of its top-level sequence, with groups of one alternative spliced in. A run goes
 * on across zero-width elements (`\b`, `^`) and stops at anything else (a class, an escape of a letter, an
 * alternation, a quantified element). Nothing is read from a pattern with an alternation at its top level or a
 * case-insensitive flag anywhere (its literals may match in another case).
 */
export function requiredLiterals(pattern: string): string[] {
  if (/\(\?[A-Za-z]*i/.test(pattern)) return [];
  const alts = splitPattern(pattern);
  if (!alts || alts.length !== 1) return [];
  const runs: string[] = [];
  let run = '';
  for (const e of spliced(alts[0]!, 0)) {
    const c = literalChar(e);
    if (c !== null) run += c;
    else if (!(e.zeroWidth || e.flags) || e.src !== e.atom) {
      if (run) runs.push(run);
      run = '';
    }
  }
  if (run) runs.push(run);
  return runs;
}

/** `elems` with every unquantified group of one alternative replaced by its elements (the same sequence). */
function spliced(elems: Elem[], depth: number): Elem[] {
  const out: Elem[] = [];
  for (const e of elems) {
    const inner = e.body !== undefined && depth < 8 ? splitPattern(e.body) : null;
    if (inner && inner.length === 1 && !inner[0]!.some((x) => x.flags)) out.push(...spliced(inner[0]!, depth + 1));
    else out.push(e);
  }
  return out;
}

/** The one character an unquantified element matches (printable ASCII, plain or escaped punctuation), or null. */
function literalChar(e: Elem): string | null {
  if (e.src !== e.atom || e.optional) return null;
  if (/^[\x20-\x7e]$/.test(e.src) && !/[.[\](){}|^$*+?\\]/.test(e.src)) return e.src;
  if (/^\\[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]$/.test(e.src)) return e.src[1]!;
  return null;
}

/** probePatterns with each probe's path prefix. */
export function probeSpecs(pattern: string): ProbeSpec[] {
  const alts = splitPattern(pattern);
  if (!alts || alts.length !== 1) return [];
  const probes = probesOf(alts[0]!, '', MAX_PROBES, 0, '');
  if (!probes || (probes.length === 1 && probes[0]!.source === pattern)) return [];
  return probes;
}

// ---------------------------------------------------------------------------------------------------------------
// Where a match can start, given where its probe matches first.
//
// A probe's first match at t0 bounds every match of the pattern along that path: the probe part starts at some
// t >= t0, and the prefix before it ends at t, so the match starts no earlier than `back(t0)`, where `back` walks
// the prefix right to left: a bounded element steps back by its longest byte length, an unbounded single-character
// repetition (`\s+`) by the run of bytes it could match that ends there (bytes >= 0x80 counted in, conservatively),
// an alternation takes its furthest alternative. Each step is monotone and never moves forward, so the bound holds
// for every t >= t0. Running the detector from there (RE2 still sees the bytes before as context for `\b` and
// `^`) reports exactly its whole-buffer matches.

/** Lowest byte offset where a match can start whose probe part starts at or after `pos`. */
export type StartBound = (data: Buffer, pos: number) => number;

/** The prefix's start bound, or null when it has a shape this cannot bound (then run from the buffer's start). */
export function startBound(prefix: string): StartBound | null {
  if (prefix === '') return (_d, pos) => pos;
  const b = backOf(prefix, '');
  return b && ((data, pos) => Math.max(0, b(data, pos)));
}

function backOf(src: string, flags: string): StartBound | null {
  const alts = splitPattern(src);
  if (!alts) return null;
  const seqs: StartBound[][] = [];
  for (const alt of alts) {
    let f = flags;
    const seq: StartBound[] = [];
    for (const e of alt) {
      if (e.flags) {
        // `(?i)` applies to what follows; `(?i:…)` is a group this does not look into.
        if (!/^\(\?[A-Za-z-]*\)$/.test(e.src)) return null;
        f += e.src;
        continue;
      }
      const b = elemBack(e, f);
      if (!b) return null;
      seq.push(b);
    }
    seqs.push(seq.reverse());
  }
  return (data, pos) => {
    let best = pos;
    for (const seq of seqs) {
      let p = pos;
      for (const b of seq) p = b(data, p);
      if (p < best) best = p;
    }
    return best;
  };
}

function elemBack(e: Elem, flags: string): StartBound | null {
  if (e.zeroWidth) return (_d, pos) => pos;
  const a = e.atom;
  if (a.startsWith('(')) {
    let body: string;
    if (a.startsWith('(?:')) body = a.slice(3, -1);
    else if (/^\(\?P?<[A-Za-z_]\w*>/.test(a)) body = a.slice(a.indexOf('>') + 1, -1);
    else if (!a.startsWith('(?')) body = a.slice(1, -1);
    else return null;
    if (!Number.isFinite(e.max)) return null;
    const inner = backOf(body, flags);
    if (!inner) return null;
    const n = e.max;
    return (data, pos) => {
      let p = pos;
      for (let i = 0; i < n; i++) p = inner(data, p);
      return p;
    };
  }
  if (Number.isFinite(e.max)) {
    // One character: one byte when it is an ASCII literal, else up to four (UTF-8).
    const width = /^(?:[\x20-\x7e]|\\[^A-Za-z0-9])$/.test(a) && a !== '.' ? 1 : 4;
    const n = e.max * width;
    return (_d, pos) => pos - n;
  }
  // Unbounded repetition of one character: back over the run of bytes it can match.
  let re: RE2;
  try {
    re = new RE2(`${flags}^(?:${a})$`);
  } catch {
    return null;
  }
  const member = new Uint8Array(256).fill(1);
  for (let c = 0; c < 0x80; c++) member[c] = re.test(Buffer.from([c])) ? 1 : 0;
  return (data, pos) => {
    let p = pos;
    while (p > 0 && member[data[p - 1]!]) p--;
    return p;
  };
}
