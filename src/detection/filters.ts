// The engine's false-positive filters: runs the filter table (filter-table.ts: each rule as data, with the samples
// that motivated it) over every candidate secret, for one path class or for all of them at once. Rules that could
// hide a real key apply only to generic (keyword/assignment) detectors: a provider-format token is dropped only
// when it is a placeholder, a documented example, sits inside a public key, data: URI or integrity hash, or is a
// key block with no key material in it.
import RE2 from 're2';
import { FILTER_TABLE, type FilterCheck, type FilterEntry, type PathClassName } from './filter-table.js';
import type { DetectorDef } from './schema.js';

/** Where a value sits in its line (UTF-16 indices): [start, end). */
export interface LineSpan {
  start: number;
  end: number;
}

export interface FilterContext {
  /** The full line containing the secret (decoded text when found inside a decoded span). */
  line: string;
  /** What the filters know of the content's path: `pathClass(path)`. */
  pathClass: number;
  detector: DetectorDef;
}

/** Path class bits: all the filters ever look at in a path. */
export const PATH_LOCKFILE = 1;
export const PATH_CODE = 2;
export const PATH_MINIFIED = 4;
/** Number of distinct path classes (every combination of the bits). */
export const PATH_CLASSES = 8;

/**
 * The class of a path: whether it is a lockfile, a code file, a minified bundle. Filters read a path only through
 * this, and each bit only adds reasons to drop a candidate; so matches found for class 0 (no path) include those
 * of every path, and a scan can run before paths are known (src/scan/pack-path.ts) and keep, per match,
 * the classes it holds in.
 */
export function pathClass(path: string): number {
  return (LOCKFILE.test(path) ? PATH_LOCKFILE : 0) | (CODE_FILE.test(path) ? PATH_CODE : 0) | (MINIFIED_PATH.test(path) ? PATH_MINIFIED : 0);
}

/** Keys whose values are chosen by people: judged by the password detector's floor, not randomness floors. */
const HUMAN_KEY = /passw|pwd|passphrase/i;
const CODE_FILE = /\.(?:[cm]?[jt]sx?|java|kt|kts|cs|go|py|rb|php|swift|scala|rs|c|cc|cpp|h|hpp|groovy|dart|coffee|[cm]?[jt]sx?\.map)$/i;
const LOCKFILE =
  /(?:^|\/)(?:package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.ya?ml|bun\.lockb?|go\.sum|Cargo\.lock|poetry\.lock|Pipfile\.lock|uv\.lock|Gemfile\.lock|composer\.lock|packages\.lock\.json|flake\.lock|mix\.lock|pubspec\.lock|Podfile\.lock|gradle\.lockfile|.+\.lock)$/;
const MINIFIED_PATH = /(?:\.min\.(?:js|mjs|css)|[.-](?:bundle|chunk)\.m?js|[.-][0-9a-f]{8,20}\.m?js|\.js\.map)$/i;
/** A line this long is a minified bundle's, whatever the file is called. */
const MINIFIED_LINE = 1000;

// The checks of the filter table that a pattern cannot express; they run on RE2 too (the line is scanned content).
const DATA_URI = new RE2(String.raw`data:[a-z]+/[a-z0-9.+-]+(?:;[a-z0-9-]+=[^;,]*)*;base64,[A-Za-z0-9+/=]+`, 'gi');
const PUBLIC_KEY_LINE = new RE2(String.raw`(?:^|\s|["'])(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) AAAA[A-Za-z0-9+/]+={0,3}`);
const SSH_BLOB = new RE2(String.raw`AAAA[A-Za-z0-9+/]+={0,3}`);
const PATH_LIKE = new RE2(String.raw`^[\w.-]+(?:/[\w.-]+){3,}$`);
const PATH_WORD = new RE2(String.raw`^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$`);
const ESCAPED_BREAK = new RE2(String.raw`\\+[nrt]`, 'g');
const STRING_JOIN = new RE2(String.raw`["'` + '`' + String.raw`]\s*[+,]?\s*["'` + '`' + String.raw`]`, 'g');
const BLOCK_CARRIER = new RE2(String.raw`^[\s'"` + '`' + String.raw`+,(\[#*>;/|]+|[\s'"` + '`' + String.raw`+,;)\]\\|]+$`, 'g');
const SPACE_OR_BACKSLASH = new RE2(String.raw`[\s\\]+`, 'g');
/** RFC 1421 headers of an encrypted PEM key, wherever they sit (a generated or flattened key puts them inline). */
const PEM_HEADERS = new RE2(String.raw`Proc-Type:\s*\d+,[A-Z]+|DEK-Info:\s*[\w-]+,[0-9A-Fa-f]+`, 'g');
const BLOCK_HEADER = new RE2(String.raw`^[A-Za-z][\w-]*:`);
const BASE64_LINE = new RE2('^[A-Za-z0-9+/=]+$');

function occursIn(secret: string, line: string, re: RE2): boolean {
  re.lastIndex = 0;
  for (const m of line.matchAll(re)) if (m[0].includes(secret)) return true;
  return false;
}

/** Half or more adjacent pairs step by ±1 ("1234567890abcdef1234…"): typed by a person, never generated. */
function mostlySequential(s: string): boolean {
  if (s.length < 12) return false;
  let steps = 0;
  for (let i = 1; i < s.length; i++) if (Math.abs(s.charCodeAt(i) - s.charCodeAt(i - 1)) === 1) steps++;
  return steps >= (s.length - 1) / 2;
}

/** A run of one character, or an ascending/descending run of the alphabet or digits ("abcdef…", "123456…"). */
function trivialSequence(s: string): boolean {
  if (s.length > 0 && [...s].every((c) => c === s[0])) return true;
  if (s.length < 6) return false;
  let up = 0;
  let down = 0;
  for (let i = 1; i < s.length; i++) {
    const d = s.charCodeAt(i) - s.charCodeAt(i - 1);
    if (d === 1) up++;
    else if (d === -1) down++;
  }
  return Math.max(up, down) >= s.length - 2;
}

/**
 * Whether a private-key block holds something other than key material: its body, once the carrier is taken away
 * (quotes and `+`/`,` joining string pieces, escaped or real line breaks, indentation and comment markers) and its
 * header lines (`Proc-Type:`, `DEK-Info:`, `Comment:`), must be base64 lines. Code that writes the armor, or an
 * example cut short with `…`/`.`, is not a key.
 */
function notKeyMaterial(secret: string): boolean {
  if (!secret.startsWith('-----BEGIN ') || !secret.includes('PRIVATE KEY')) return false;
  const headerEnd = secret.indexOf('-----', 11);
  if (headerEnd === -1) return false;
  const end = secret.lastIndexOf('-----END ');
  const body = secret
    .slice(headerEnd + 5, end > headerEnd ? end : undefined)
    .replace(ESCAPED_BREAK, '\n')
    .replace(STRING_JOIN, '')
    .replace(PEM_HEADERS, '');
  let material = 0;
  for (const raw of body.split('\n')) {
    const line = raw.replace(BLOCK_CARRIER, '').replace(SPACE_OR_BACKSLASH, '');
    if (line === '' || BLOCK_HEADER.test(line)) continue;
    if (!BASE64_LINE.test(line)) return true;
    material += line.length;
  }
  return material === 0;
}

/** `my_encryptionKeyShutdownDuration` under `encryptionKeyShutdownDuration`: the value is its key's name. */
function repeatsKey(value: string, key: string): boolean {
  const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const k = norm(key);
  return k.length >= 4 && norm(value).replace(/^(?:my|your|the|some|example)/, '') === k;
}

/** The quote right before `before`'s end closes a string (an even count of that quote, unescaped, on the line). */
function afterClosingQuote(before: string): boolean {
  const q = before.at(-1);
  if (q !== '"' && q !== "'" && q !== '`') return false;
  let n = 0;
  for (let i = 0; i < before.length; i++) if (before[i] === q && before[i - 1] !== '\\') n++;
  return n % 2 === 0;
}

// ---------------------------------------------------------------------------------------------------------------
// The table, compiled.

interface CompiledEntry {
  entry: FilterEntry;
  value?: RE2;
  notValue?: RE2;
  values?: ReadonlySet<string>;
  key?: RE2;
  notKey?: RE2;
  before?: RE2;
  after?: RE2;
  line?: RE2;
  /** Path classes (bit k: class k) its path condition holds for. */
  classes: number;
}

const ALL_CLASSES = (1 << PATH_CLASSES) - 1;
const CLASS_BIT: Record<PathClassName, number> = { lockfile: PATH_LOCKFILE, code: PATH_CODE, minified: PATH_MINIFIED };

function classesFor(e: FilterEntry): number {
  let mask = 0;
  for (let k = 0; k < PATH_CLASSES; k++) {
    const byPath = !e.paths || e.paths.some((p) => (k & CLASS_BIT[p]) !== 0);
    const byMinified = !e.minified || (k & PATH_MINIFIED) !== 0;
    if (byPath && byMinified) mask |= 1 << k;
  }
  return mask;
}

function compile(e: FilterEntry): CompiledEntry {
  const re = (field: string, src: string | undefined) => {
    if (src === undefined) return undefined;
    try {
      return new RE2(src);
    } catch (err) {
      throw new Error(`filter ${e.id}: ${field} does not compile on RE2: ${(err as Error).message}`, { cause: err });
    }
  };
  return {
    entry: e,
    value: re('value', e.value),
    notValue: re('notValue', e.notValue),
    values: e.values ? new Set(e.values) : undefined,
    key: re('key', e.key),
    notKey: re('notKey', e.notKey),
    before: re('before', e.before),
    after: re('after', e.after),
    line: re('line', e.line),
    classes: classesFor(e),
  };
}

const COMPILED = FILTER_TABLE.map(compile);

/** What the table's conditions read of one candidate, each computed once and only when asked. */
class Candidate {
  readonly bare: string;
  readonly before: string;
  readonly after: string;
  private _key?: string;
  /** `span`: where the value sits in `line`; without it, its first occurrence there (or nowhere: a decoded value). */
  constructor(
    readonly secret: string,
    readonly line: string,
    span?: LineSpan,
  ) {
    this.bare = secret.replace(/^["'`]|["'`]$/g, '');
    const i = span ? span.start : line.indexOf(secret);
    this.before = i === -1 ? line : line.slice(0, i);
    this.after = span ? line.slice(span.end) : i === -1 ? '' : line.slice(i + secret.length);
  }
  get key(): string {
    return (this._key ??= keyBefore(this.before));
  }
  get quoted(): boolean {
    return /["'`]$/.test(this.before);
  }
  get human(): boolean {
    return HUMAN_KEY.test(this.key);
  }
}

function runCheck(check: FilterCheck, c: Candidate): string | null | true {
  switch (check) {
    case 'trivial-sequence':
      return trivialSequence(c.bare) || null;
    case 'typed-sequence':
      return mostlySequential(c.bare) || null;
    case 'entropy-floor':
      return randomnessFloor(c.bare);
    case 'data-uri':
      return occursIn(c.secret, c.line, DATA_URI) || null;
    case 'ssh-public-key': {
      if (!PUBLIC_KEY_LINE.test(c.line) || c.secret.includes('PRIVATE KEY')) return null;
      const blob = SSH_BLOB.exec(c.line)?.[0] ?? '';
      return blob.includes(c.secret) || c.secret.includes(blob) || null;
    }
    case 'path-like':
      return (PATH_LIKE.test(c.bare) && c.bare.split('/').filter((seg) => seg.length >= 3 && PATH_WORD.test(seg)).length >= 2) || null;
    case 'repeats-key':
      return repeatsKey(c.bare, c.key) || null;
    case 'key-block-body':
      return notKeyMaterial(c.secret) || null;
    case 'after-closing-quote':
      // the line may start mid-string (a minified line cut to its context): brackets after `+name` say code too
      return afterClosingQuote(c.before) || /[(){}]/.test(c.bare) || null;
  }
}

/** The entry's reason when every one of its conditions holds for `c`, else null. */
function hit(ce: CompiledEntry, c: Candidate): string | null {
  const e = ce.entry;
  if (e.quoted !== undefined && c.quoted !== e.quoted) return null;
  if (e.human !== undefined && c.human !== e.human) return null;
  if (ce.values && !ce.values.has(c.bare)) return null;
  if (e.contains && !e.contains.some((p) => c.bare.includes(p))) return null;
  if (ce.value && !ce.value.test(c.bare)) return null;
  if (ce.notValue && ce.notValue.test(c.bare)) return null;
  if (ce.key && !ce.key.test(c.key)) return null;
  if (ce.notKey && ce.notKey.test(c.key)) return null;
  if (ce.before && !ce.before.test(c.before)) return null;
  if (ce.after && !ce.after.test(c.after)) return null;
  if (ce.line && !ce.line.test(c.line)) return null;
  if (e.check) {
    const r = runCheck(e.check, c);
    if (r === null) return null;
    return r === true ? e.reason : r;
  }
  return e.reason;
}

/** Which path classes a candidate holds in, and why it was dropped from the first of `classes` that drops it. */
export interface Verdict {
  /** Bit k set: kept for paths of class k (pathClass). */
  kept: number;
  reason: string | null;
  /** The filter table entry that gave `reason`. */
  filter: string | null;
}

/**
 * Runs the filter table over a candidate for each path class in `classes` (bit k: class k) at once: each entry
 * is tried once, against the classes its path condition holds for that are still undecided; the first entry that
 * holds drops the candidate for those classes.
 */
export function judge(secret: string, line: string, detector: DetectorDef, classes: number = ALL_CLASSES, span?: LineSpan): Verdict {
  const c = new Candidate(secret, line, span);
  const lowest = classes & -classes;
  let open = classes;
  let reason: string | null = null;
  let filter: string | null = null;
  for (const ce of COMPILED) {
    const scope = ce.entry.scope;
    if (scope !== 'all' && (scope === 'generic') !== detector.generic) continue;
    const applies = (ce.entry.minified && line.length > MINIFIED_LINE ? ALL_CLASSES : ce.classes) & open;
    if (applies === 0) continue;
    const r = hit(ce, c);
    if (r === null) continue;
    open &= ~applies;
    if (reason === null && (applies & lowest) !== 0) [reason, filter] = [r, ce.entry.id];
    if (open === 0) break;
  }
  return { kept: open, reason, filter };
}

/** A reason the candidate is not a real secret for a path of class `ctx.pathClass`, or null to keep it. */
export function falsePositiveReason(secret: string, ctx: FilterContext): string | null {
  const v = judge(secret, ctx.line, ctx.detector, 1 << ctx.pathClass);
  return v.kept === 0 ? v.reason : null;
}

/**
 * Per-charset entropy floors for generic matches, in bits per character. A random string of length n over an
 * alphabet of k symbols has an expected Shannon entropy of about log2(k) − (k−1)/(2n·ln 2), capped by log2(n):
 *   hex (k=16):     n=16 → 3.3, n=32 → 3.7, n=64 → 3.8      floor 3.0
 *   alnum (k=62):   n=16 → 3.8, n=24 → 4.2, n=32 → 4.6      floor min(3.5, log2(n) − 0.5)
 *   base64 (k≥64):  n=20 → 4.1, n=32 → 4.6, n=44 → 5.0      floor min(4.0, log2(n) − 0.5)
 * The floors sit ~0.5 bit under those expectations (≥ 98 % of random values pass) and above what words,
 * identifiers and paths score (English text ≈ 2.5–3.3 on short strings). Hex is judged separately because its
 * 16-symbol alphabet caps it at 4 bits: a hex key would fail a base64 floor. Human passwords are not random and
 * are judged by their detector's lower floor (2.5) plus the placeholder lists instead.
 */
export function randomnessFloor(value: string): string | null {
  const n = value.length;
  if (n < 8) return 'too short for a generated secret';
  const h = shannon(value);
  let floor: number;
  let kind: string;
  if (/^[0-9a-fA-F]+$/.test(value)) {
    [floor, kind] = [3.0, 'hex'];
  } else if (/^[A-Za-z0-9]+$/.test(value)) {
    [floor, kind] = [Math.min(3.5, Math.log2(n) - 0.5), 'alphanumeric'];
  } else {
    [floor, kind] = [Math.min(4.0, Math.log2(n) - 0.5), 'base64/symbol'];
  }
  return h < floor ? `entropy ${h.toFixed(2)} below the ${kind} floor ${floor.toFixed(2)}` : null;
}

function shannon(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) h -= (c / s.length) * Math.log2(c / s.length);
  return h;
}

const KEY_BEFORE_VALUE = new RE2(String.raw`([\w.-]+)["']?\s*[:=]+>?\s*["']?$`);

/** The key of the assignment whose value follows `before`: the last word before the value on the line. */
function keyBefore(before: string): string {
  return KEY_BEFORE_VALUE.exec(before)?.[1] ?? before.slice(-40);
}
