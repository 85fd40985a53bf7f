// Encoded spans worth rescanning: base64/base64url runs (Kubernetes Secret `data:`), percent-encoding (URLs,
// form bodies) and JSON/JS string escapes (notebooks, minified bundles). Each decoder finds candidate spans in
// a Buffer and returns the decoded bytes; the engine rescans them with the same detectors.
import RE2 from 're2';
import { decodeValue, isValueDecoder } from './stores/value.js';

export type DecoderName = 'base64' | 'base64url' | 'percent' | 'json-string';

export interface DecodedSpan {
  decoder: DecoderName;
  /** Byte range of the encoded text in the scanned buffer. */
  start: number;
  end: number;
  bytes: Buffer;
  /** Which detectors rescan the decoded bytes (default: all). */
  detectors?: 'single-line' | 'multiline';
}

/**
 * Base64 of base64 (or of any ASCII text): every 4-character group encodes 3 bytes in 0x2B–0x7A, so its first
 * character is one of K–e and its second one of C–H, S–X, i–n, y–3. Eight groups in a row (32 characters) mark a
 * run worth decoding even when no keyword form shows through (a keyword encoded twice shows none of them); the
 * decoded text is base64 again, whose forms the next level finds. A gate only: runs of random data match it by
 * chance about once per 300 KB, and decode to bytes looksLikeText rejects.
 */
export const NESTED_BASE64_SIGNATURE = '(?:[K-Za-e][C-HS-Xi-ny-z0-3][A-Za-z0-9+/_-]{2}){8}';

/** Decoding levels by default (EngineOptions.decodeDepth): a base64 value inside a JSON string is read. */
export const DECODE_DEPTH = 2;

// Long enough to hold a 15-byte secret; shorter runs are mostly identifiers.
const BASE64_RUN = new RE2('[A-Za-z0-9+/]{20,}={0,2}', 'g');
const BASE64URL_RUN = new RE2('[A-Za-z0-9_-]{20,}', 'g');
const PERCENT_RUN = new RE2('[^\\s"\'<>`]*%[0-9A-Fa-f]{2}[^\\s"\'<>`]*', 'g');
// Runs of adjacent string literals (`"a\n", "b\n"` as in notebook cells) whose first literal holds an escape:
// across lines (for multiline detectors: a PEM block in a notebook cell), and within one line (for the others).
const JSON_LITERAL = '"(?:[^"\\\\\\r\\n]|\\\\.)*"';
const JSON_FIRST = '"(?:[^"\\\\\\r\\n]|\\\\.)*\\\\(?:[^"\\\\\\r\\n]|\\\\.)*"';
const JSON_STRINGS = new RE2(`${JSON_FIRST}(?:\\s*,\\s*${JSON_LITERAL})*`, 'g');
const JSON_LINE = new RE2(JSON_STRINGS.source);
// The same runs kept within one line (separators `[ \t]*`): oneLineJsonRuns reads them byte by byte, asking RE2 when unsure.
const JSON_STRINGS_1L = new RE2(`${JSON_FIRST}(?:[ \\t]*,[ \\t]*${JSON_LITERAL})*`, 'g');
const HAS_ESCAPE = new RE2('\\\\(?:[nrt"/\\\\]|u[0-9A-Fa-f]{4})');
/**
 * A separator between two literals that holds a line break or another byte `\s` takes and `[ \t]` does not: without
 * one in the content, JSON_STRINGS and JSON_STRINGS_1L find the same runs (their only difference).
 */
const SEPARATOR_BREAK = new RE2('"[ \\t]*(?:[\\n\\r\\f]\\s*,|,[ \\t]*[\\n\\r\\f])\\s*"');
/** Whether `data` may hold a run JSON_STRINGS finds and JSON_STRINGS_1L does not (else both find the same runs). */
export function hasSeparatorBreak(data: Buffer): boolean {
  return SEPARATOR_BREAK.test(data);
}

/** Two adjacent literals on different lines: the separator of a run that crosses lines (JSON_STRINGS' `\s*,\s*`). */
const LINE_CONTINUATION = new RE2('"[^\\S\\n]*(?:\\n\\s*,|,[^\\S\\n]*\\n)\\s*"');

/** Text, not binary noise: no NUL/control bytes except whitespace, at most a few invalid UTF-8 sequences. */
export function looksLikeText(b: Buffer): boolean {
  if (b.length === 0) return false;
  let bad = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
    if (c === 0x7f) bad++;
  }
  if (bad > 0) return false;
  // Random bytes are almost never valid UTF-8; base64 of text always is.
  const s = b.toString('utf8');
  let repl = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 0xfffd) repl++;
  return repl === 0;
}

export function runs(re: RE2, data: Buffer): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  re.lastIndex = 0;
  let m: ReturnType<RE2['exec']>;
  while ((m = re.exec(data)) !== null) {
    const start = m.index;
    const end = start + m[0].length;
    out.push({ start, end });
    if (end === start) re.lastIndex = end + 1;
  }
  return out;
}

const B64_STD = alphabet('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
const B64_URL = alphabet('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');
function alphabet(chars: string): Uint8Array {
  const t = new Uint8Array(256);
  for (const c of chars) t[c.charCodeAt(0)] = 1;
  return t;
}

/** The maximal runs of `alpha` bytes (≥ 20, plus `=` padding) containing each offset, deduped, in order. */
function runsAround(data: Buffer, offsets: number[], alpha: Uint8Array): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let covered = -1;
  for (const p of [...offsets].sort((a, b) => a - b)) {
    if (p < covered || !alpha[data[p]!]) continue;
    let s = p;
    while (s > 0 && alpha[data[s - 1]!]) s--;
    let e = p;
    while (e < data.length && alpha[data[e]!]) e++;
    covered = e;
    while (e < data.length && e - covered < 2 && data[e] === 0x3d) e++;
    if (covered - s >= 20) out.push({ start: s, end: e });
  }
  return out;
}

const DIGIT_PLUS_SLASH = alphabet('0123456789+/');
const DASH_UNDERSCORE = alphabet('-_');

/** Whether data[start, end) holds a byte of `table`. */
function hasByteOf(data: Buffer, start: number, end: number, table: Uint8Array): boolean {
  for (let i = start; i < end; i++) if (table[data[i]!]) return true;
  return false;
}

/**
 * Whether data[start, end) has an uppercase letter, later a lowercase one, later an uppercase one: one pass. (The
 * JS RegExp `/[A-Z].*[a-z].*[A-Z]/` it replaces backtracked: 53 s on a run of 4,000 `A` then 4,000 `a`, which a
 * hostile file can hand to the decoder next to a keyword's base64 form.)
 */
export function upperLowerUpper(data: Buffer, start: number, end: number): boolean {
  let seen = 0;
  for (let i = start; i < end; i++) {
    const c = data[i]!;
    const upper = c >= 0x41 && c <= 0x5a;
    if (seen === 1 ? c >= 0x61 && c <= 0x7a : upper) seen++;
    if (seen === 3) return true;
  }
  return false;
}

/** ASCII bytes PERCENT_RUN's class excludes (`\s` is [\t\n\f\r ] in RE2): no match contains one. */
const PERCENT_STOP = new Uint8Array(256);
for (const c of '\t\n\f\r "\'<>`') PERCENT_STOP[c.charCodeAt(0)] = 1;
const HEX = alphabet('0123456789ABCDEFabcdef');

/**
 * PERCENT_RUN's matches over `data`, found without running it over the whole buffer (its leading `[^…]*` has
 * no literal for RE2 to skip to, ≈ 0.5 GB/s): every match holds a `%XX` and never crosses a stop byte, so it
 * lies inside the stop-delimited window around a `%XX` (memchr for `%`). A window starts just after a stop byte
 * (or at 0), where the whole-buffer scan would also start afresh, so RE2 over each window reports exactly the
 * whole-buffer matches (test/detection-decoders.test.ts checks it against `runs` on fuzzed bytes).
 */
export function percentRuns(data: Buffer): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let covered = 0;
  for (let p = data.indexOf(0x25); p !== -1 && p + 2 < data.length; p = data.indexOf(0x25, p + 1)) {
    if (p < covered || !HEX[data[p + 1]!] || !HEX[data[p + 2]!]) continue;
    let s = p;
    while (s > covered && !PERCENT_STOP[data[s - 1]!]) s--;
    let e = p + 3;
    while (e < data.length && !PERCENT_STOP[data[e]!]) e++;
    for (const r of runs(PERCENT_RUN, data.subarray(s, e))) out.push({ start: s + r.start, end: s + r.end });
    covered = e;
  }
  return out;
}

/**
 * JSON_STRINGS's matches over `data` (with `oneLine`, JSON_STRINGS_1L's: oneLineJsonRuns), running the regex only
 * from lines that can start one. A match's first literal holds an escape and no line break, so it starts on a line with a
 * backslash after it: the scan skips to the line of the next backslash, asks RE2 whether a match starts on that
 * line (the line alone suffices, the first literal lying within it), and only then runs the whole-buffer regex
 * from there (JSON_STRINGS' continuations cross lines), exactly where the whole-buffer scan's next match starts.
 */
export function jsonStringRuns(data: Buffer, oneLine = false): { start: number; end: number }[] {
  if (oneLine) return oneLineJsonRuns(data);
  const whole = JSON_STRINGS;
  const line = JSON_LINE;
  const out: { start: number; end: number }[] = [];
  let p = 0;
  // The end of the line of the last backslash, kept while later backslashes lie on that line: a minified bundle is
  // one line with thousands of string runs, and finding both ends of the line anew for each one was quadratic.
  let le = -1;
  while (p < data.length) {
    const b = data.indexOf(0x5c, p);
    if (b === -1) break;
    // the line's start, but never before p (where the previous match ended): look back over [p, b) only
    const nl = b === p ? -1 : data.subarray(p, b).lastIndexOf(0x0a);
    const ls = nl === -1 ? p : p + nl + 1;
    if (b > le) {
      const e = data.indexOf(0x0a, b);
      le = e === -1 ? data.length : e;
    }
    line.lastIndex = 0;
    if (!line.test(data.subarray(ls, le))) {
      p = le + 1;
      continue;
    }
    whole.lastIndex = ls;
    const m = whole.exec(data);
    if (m === null) break; // cannot happen: a match starts on this line
    const end = m.index + m[0].length;
    out.push({ start: m.index, end });
    p = end;
  }
  return out;
}

/**
 * JSON_STRINGS_1L's matches over `data`, read byte by byte where the regex's answer is certain, by RE2 where not:
 * RE2 alone found them at ~25 MB/s on minified bundles (microseconds per match, thousands of matches per release
 * of a locale bundle). What RE2 answers follows from the regex's shape, `"` A* `\\` A* `"` then `[ \t]*,[ \t]*`
 * `"` A* `"` repeated, A being a byte other than `"`, `\\`, CR and LF, or `\\` and any byte but LF (RE2 reads a
 * UTF-8 sequence as one character). From an opening quote the A's are fixed (readTokens) up to a stop; leftmost-first,
 * the first literal ends where the `\\` the regex requires is the latest backslash that lets the rest match: the last
 * escape's, after which the A's run on as they did when the byte it escapes is plain (the literal ends at the stop,
 * if that is a quote), and end at once when that byte is a quote. Anything else (that byte a backslash or CR, a
 * stop other than a quote after an escape of a quote or backslash, non-ASCII that is not well-formed UTF-8, which
 * RE2 reads its own way) is left to RE2 from that quote. Lines do not matter: no match crosses a line break.
 */
function oneLineJsonRuns(data: Buffer): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  if (data.indexOf(0x5c) === -1) return out;
  const t: Tokens = { stop: 0, kind: OTHER, lastEscape: -1, risky: false };
  for (let q = data.indexOf(0x22); q !== -1;) {
    let end = firstLiteral(data, q, t);
    if (end === NO_LITERAL) {
      q = data.indexOf(0x22, q + 1);
      continue;
    }
    for (let j = end; end !== UNSURE_LITERAL;) {
      while (data[j] === 0x20 || data[j] === 0x09) j++;
      if (data[j] !== 0x2c) break;
      j++;
      while (data[j] === 0x20 || data[j] === 0x09) j++;
      if (data[j] !== 0x22) break;
      readTokens(data, j + 1, t);
      if (t.kind === UNSURE) end = UNSURE_LITERAL;
      else if (t.kind === QUOTE) j = end = t.stop + 1;
      else break;
    }
    if (end === UNSURE_LITERAL) {
      JSON_STRINGS_1L.lastIndex = q;
      const m = JSON_STRINGS_1L.exec(data);
      if (m === null) break;
      out.push({ start: m.index, end: m.index + m[0].length });
      q = data.indexOf(0x22, m.index + m[0].length);
      continue;
    }
    out.push({ start: q, end });
    q = data.indexOf(0x22, end);
  }
  return out;
}

const QUOTE = 0;
const OTHER = 1;
const UNSURE = 2;
const NO_LITERAL = -1;
const UNSURE_LITERAL = -2;

/** What readTokens found: where the A's stopped and on what, the last escape's backslash (-1: none), any `\\"` or `\\\\`. */
interface Tokens {
  stop: number;
  /** QUOTE: a `"`; OTHER: CR, LF, the end, or `\\` before LF or the end; UNSURE: bytes RE2 may read otherwise. */
  kind: number;
  lastEscape: number;
  risky: boolean;
}

/** Reads A's from `i` (see oneLineJsonRuns) into `t`. */
function readTokens(data: Buffer, i: number, t: Tokens): void {
  const n = data.length;
  let lastEscape = -1;
  let risky = false;
  let kind = OTHER;
  while (i < n) {
    const c = data[i]!;
    if (c === 0x22) {
      kind = QUOTE;
      break;
    }
    if (c === 0x0a || c === 0x0d) break;
    if (c === 0x5c) {
      if (i + 1 >= n || data[i + 1] === 0x0a) break;
      const d = data[i + 1]!;
      const len = d < 0x80 ? 1 : utf8Length(data, i + 1, n);
      if (len === 0) {
        kind = UNSURE;
        break;
      }
      lastEscape = i;
      if (d === 0x22 || d === 0x5c) risky = true;
      i += 1 + len;
    } else if (c < 0x80) i++;
    else {
      const len = utf8Length(data, i, n);
      if (len === 0) {
        kind = UNSURE;
        break;
      }
      i += len;
    }
  }
  t.stop = i;
  t.kind = kind;
  t.lastEscape = lastEscape;
  t.risky = risky;
}

/** End of the first literal JSON_STRINGS_1L matches from the quote at `q`: NO_LITERAL, or UNSURE_LITERAL (ask RE2). */
function firstLiteral(data: Buffer, q: number, t: Tokens): number {
  readTokens(data, q + 1, t);
  if (t.kind === UNSURE) return UNSURE_LITERAL;
  if (t.kind === OTHER) return t.risky ? UNSURE_LITERAL : NO_LITERAL;
  if (t.lastEscape === -1) return NO_LITERAL;
  const x = data[t.lastEscape + 1]!;
  if (x === 0x22) return t.lastEscape + 2;
  if (x === 0x0d) return UNSURE_LITERAL;
  if (x !== 0x5c) return t.stop + 1;
  // the escaped backslash starts the A's after the required one: they pair the bytes after it otherwise
  readTokens(data, t.lastEscape + 1, t);
  return t.kind === QUOTE ? t.stop + 1 : UNSURE_LITERAL;
}

function decodePercent(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && isHex(s, i + 1, 2)) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === 0x2b) out.push(0x20);
    else for (const b of Buffer.from(s[i]!, 'utf8')) out.push(b);
  }
  return Buffer.from(out);
}

const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', v: '\v', '0': '\0', '/': '/', '\\': '\\', '"': '"', "'": "'" };

/**
 * Decodes a run of adjacent JSON/JS string literals into their concatenated value: each `"…"` (no raw line break
 * inside; `\` escapes any character but a line terminator), separators skipped. A literal that breaks those rules
 * is not one: the search resumes at the next quote after its opening one. By hand, not with a JS RegExp: scanned
 * content goes through RE2 only, and a loop over the string is faster than a regex with a replace callback.
 */
export function decodeJsonStrings(s: string): Buffer {
  let out = '';
  for (let open = s.indexOf('"'); open !== -1;) {
    const lit = literalAt(s, open + 1);
    if (lit === null) {
      open = s.indexOf('"', open + 1);
      continue;
    }
    out += lit.value;
    open = s.indexOf('"', lit.end + 1);
  }
  return Buffer.from(out, 'utf8');
}

/**
 * `decodeJsonStrings` of data[start, end) read as UTF-8, decoded byte by byte when the run is well-formed UTF-8
 * and escapes no surrogate (nearly every run of a bundle or source map), which yields the same bytes without
 * building strings; otherwise through the string decoder.
 */
export function decodeJsonRun(data: Buffer, start: number, end: number): Buffer {
  return decodeJsonBytes(data, start, end) ?? decodeJsonStrings(data.toString('utf8', start, end));
}

/** BYTE_ESCAPES[c]: the byte `\c` stands for (SIMPLE_ESCAPES, or c itself). */
const BYTE_ESCAPES = new Uint8Array(128).map((_, c) => (SIMPLE_ESCAPES[String.fromCharCode(c)] ?? String.fromCharCode(c)).charCodeAt(0));

function hexAt(data: Buffer, from: number, n: number, end: number): number {
  if (from + n > end) return -1;
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = data[i]!;
    if (!HEX[c]) return -1;
    v = v * 16 + (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57);
  }
  return v;
}

/**
 * decodeJsonStrings over bytes, as bytes: well-formed UTF-8 is copied as it is, escapes are written as UTF-8. null
 * (the string decoder decides) on ill-formed UTF-8, which the string decoder replaces, and on escapes of UTF-16
 * surrogates, which it may pair across escapes and literals.
 */
export function decodeJsonBytes(data: Buffer, start: number, end: number): Buffer | null {
  const out = Buffer.allocUnsafe(end - start);
  let n = 0;
  let open = data.indexOf(0x22, start);
  while (open !== -1 && open < end) {
    // one literal from open + 1: its bytes go out only once its closing quote is found
    const mark = n;
    let j = open + 1;
    let closed = -1;
    while (j < end) {
      const c = data[j]!;
      if (c === 0x22) {
        closed = j;
        break;
      }
      if (c === 0x0a || c === 0x0d) break;
      if (c >= 0x80) {
        const len = utf8Length(data, j, end);
        if (len === 0) return null;
        n += data.copy(out, n, j, j + len);
        j += len;
        continue;
      }
      if (c !== 0x5c) {
        out[n++] = c;
        j++;
        continue;
      }
      if (j + 1 >= end) break;
      const e = data[j + 1]!;
      if (e === 0x0a || e === 0x0d) break;
      if (e >= 0x80) {
        // a backslash before a character stands for that character, but before U+2028/U+2029 (line terminators)
        const len = utf8Length(data, j + 1, end);
        if (len === 0) return null;
        if (len === 3 && e === 0xe2 && data[j + 2] === 0x80 && (data[j + 3] === 0xa8 || data[j + 3] === 0xa9)) break;
        n += data.copy(out, n, j + 1, j + 1 + len);
        j += 1 + len;
        continue;
      }
      const hex = e === 0x75 ? 4 : e === 0x78 ? 2 : 0;
      const v = hex > 0 ? hexAt(data, j + 2, hex, end) : -1;
      if (v >= 0xd800 && v <= 0xdfff) return null;
      if (v >= 0) {
        n = writeUtf8(out, n, v);
        j += 2 + hex;
      } else {
        out[n++] = BYTE_ESCAPES[e]!;
        j += 2;
      }
    }
    if (closed === -1) {
      // not a literal: the search resumes at the next quote after its opening one
      n = mark;
      open = data.indexOf(0x22, open + 1);
    } else open = data.indexOf(0x22, closed + 1);
  }
  return out.subarray(0, n);
}

/** Length of the well-formed UTF-8 sequence at data[i] (a byte >= 0x80) within `end`; 0 if ill-formed (overlong, a surrogate, past U+10FFFF). */
function utf8Length(data: Buffer, i: number, end: number): number {
  const c = data[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < end && data[i + k]! >= lo && data[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/** Writes code point `v` (< 0x10000, not a surrogate) as UTF-8 at out[n]; returns the new length. */
function writeUtf8(out: Buffer, n: number, v: number): number {
  if (v < 0x80) out[n++] = v;
  else if (v < 0x800) {
    out[n++] = 0xc0 | (v >> 6);
    out[n++] = 0x80 | (v & 0x3f);
  } else {
    out[n++] = 0xe0 | (v >> 12);
    out[n++] = 0x80 | ((v >> 6) & 0x3f);
    out[n++] = 0x80 | (v & 0x3f);
  }
  return n;
}

/** The literal whose content starts at `from`: its decoded value and its closing quote's index; null if malformed. */
function literalAt(s: string, from: number): { value: string; end: number } | null {
  let value = '';
  let chunk = from;
  for (let j = from; j < s.length;) {
    const c = s.charCodeAt(j);
    if (c === 0x22) return { value: value + s.slice(chunk, j), end: j };
    if (c === 0x0a || c === 0x0d) return null;
    if (c !== 0x5c) {
      j++;
      continue;
    }
    const e = s.charCodeAt(j + 1);
    if (Number.isNaN(e) || e === 0x0a || e === 0x0d || e === 0x2028 || e === 0x2029) return null;
    value += s.slice(chunk, j);
    const hex = e === 0x75 ? 4 : e === 0x78 ? 2 : 0;
    if (hex > 0 && isHex(s, j + 2, hex)) {
      value += String.fromCharCode(parseInt(s.slice(j + 2, j + 2 + hex), 16));
      j += 2 + hex;
    } else {
      const ch = s[j + 1]!;
      value += SIMPLE_ESCAPES[ch] ?? ch;
      j += 2;
    }
    chunk = j;
  }
  return null;
}

function isHex(s: string, from: number, n: number): boolean {
  if (from + n > s.length) return false;
  for (let i = from; i < from + n; i++) if (!HEX[s.charCodeAt(i)]) return false;
  return true;
}

/**
 * Bytes of decoded output one scan may still produce. `short` is set once a span is refused for want of it: the
 * scan then saw less than its content holds (a delta-aware verdict must not vouch for such a blob, see
 * Engine.scanVerdict).
 */
export interface DecodeBudget {
  bytes: number;
  short?: boolean;
}

/**
 * Candidate encoded spans of `data`, decoded, within `budget.bytes` of decoded output (decremented; the first span
 * that does not fit ends the search and sets `budget.short`).
 * Only spans that decode to text differing from the original are returned.
 */
export function findEncodedSpans(
  data: Buffer,
  budget: DecodeBudget,
  /** Offsets inside base64 runs worth decoding (null: find every run), and whether to try the text decoders. */
  which: { base64: number[] | null; text: boolean } = { base64: null, text: true },
): DecodedSpan[] {
  const out: DecodedSpan[] = [];
  const push = (span: DecodedSpan): boolean => {
    if (budget.bytes - span.bytes.length < 0) {
      budget.short = true;
      return false;
    }
    budget.bytes -= span.bytes.length;
    out.push(span);
    return true;
  };
  const seenB64 = new Set<number>();
  const b64Runs = which.base64 === null ? runs(BASE64_RUN, data) : runsAround(data, which.base64, B64_STD);
  const b64UrlRuns = which.base64 === null ? runs(BASE64URL_RUN, data) : runsAround(data, which.base64, B64_URL);
  for (const { start, end } of b64Runs) {
    // Mostly-letter runs are identifiers, not base64: real encodings mix digits or both cases densely.
    if (!hasByteOf(data, start, end, DIGIT_PLUS_SLASH) && !upperLowerUpper(data, start, end)) continue;
    const bytes = Buffer.from(data.toString('latin1', start, end), 'base64');
    if (bytes.length < 12 || !looksLikeText(bytes)) continue;
    seenB64.add(start);
    if (!push({ decoder: 'base64', start, end, bytes })) return out;
  }
  for (const { start, end } of b64UrlRuns) {
    if (seenB64.has(start)) continue;
    if (!hasByteOf(data, start, end, DASH_UNDERSCORE)) continue; // plain base64 handled above
    const bytes = Buffer.from(data.toString('latin1', start, end), 'base64url');
    if (bytes.length < 12 || !looksLikeText(bytes)) continue;
    if (!push({ decoder: 'base64url', start, end, bytes })) return out;
  }
  if (!which.text) return out;
  if (data.includes(0x25)) {
    for (const { start, end } of percentRuns(data)) {
      const bytes = decodePercent(data.toString('utf8', start, end));
      if (!looksLikeText(bytes)) continue;
      if (!push({ decoder: 'percent', start, end, bytes })) return out;
    }
  }
  if (HAS_ESCAPE.test(data)) {
    // Single-line detectors read runs within one line, so their decoded matches depend on that line alone, like
    // plain ones (delta regions rely on it); multiline detectors read the runs that cross lines. A run within one
    // line is both and is decoded once, for all.
    // (no separator breaks a line, as in a minified bundle: the runs are the same, found once, line by line)
    const broken = hasSeparatorBreak(data);
    const within = jsonStringRuns(data, true);
    const across = broken ? jsonStringRuns(data) : within;
    let spans: { start: number; end: number; detectors?: DecodedSpan['detectors'] }[] = across;
    if (within !== across) {
      spans = [];
      const same = new Set(across.map((r) => `${r.start}:${r.end}`));
      for (const r of within) spans.push(same.has(`${r.start}:${r.end}`) ? r : { ...r, detectors: 'single-line' });
      for (const r of across) if (data.subarray(r.start, r.end).includes(0x0a)) spans.push({ ...r, detectors: 'multiline' });
      spans.sort((a, b) => a.start - b.start || a.end - b.end);
    }
    for (const { start, end, detectors } of spans) {
      const bytes = decodeJsonRun(data, start, end);
      if (bytes.length === 0) continue;
      if (!push({ decoder: 'json-string', start, end, bytes, ...(detectors ? { detectors } : {}) })) return out;
    }
  }
  return out;
}

/**
 * The decoded values of the JSON string runs that cross a line break (`"a\n",` then `"b"` on the next line, as in
 * notebook cells): the only decoded text whose matches do not depend on one line alone. findEncodedSpans hands
 * them to multiline detectors; the multiline gate (multiline-gate.ts) tests them.
 */
export function decodedAcrossLines(data: Buffer): Buffer[] {
  // literals hold no line break, so a run crosses lines only at a separator (`",` line break `"`): without one
  // (a minified bundle, a source map: one line) there is nothing to decode
  if (!HAS_ESCAPE.test(data) || !LINE_CONTINUATION.test(data)) return [];
  const out: Buffer[] = [];
  for (const { start, end } of jsonStringRuns(data)) {
    if (data.subarray(start, end).includes(0x0a)) out.push(decodeJsonRun(data, start, end));
  }
  return out;
}

/** Decodes `text` with the named decoder as a whole (for comparing an encoded capture with a decoded secret). */
export function decodeWith(decoder: string, text: string): string {
  switch (decoder) {
    case 'base64':
    case 'kubernetes-secret':
      return Buffer.from(text, 'base64').toString('utf8');
    case 'base64url':
      return Buffer.from(text, 'base64url').toString('utf8');
    case 'percent':
      return decodePercent(text).toString('utf8');
    case 'json-string':
      return decodeJsonStrings(`"${text}"`).toString('utf8');
    default:
      // a store value decoded by its detector (stores/value.ts): the plain capture over it claims the same secret
      return isValueDecoder(decoder) ? (decodeValue(decoder, text) ?? text) : text;
  }
}
