// Synthetic secrets generated at test time from each detector's own pattern, so tests and the accuracy corpus
// never depend on committed credential-looking strings. Checksummed formats (GitHub, npm) get a valid CRC32 tail.
import { createHash } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import RE2 from 're2';
import type { DetectorDef } from '../src/detection/schema.js';
import { encodeStoreValue, randomPassword } from './store-encoders.js';

/** Seeded PRNG (mulberry32): a corpus built twice from one seed is byte-identical. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function crc32(s: string): number {
  return zlibCrc32(s);
}

export function base62(n: number, width: number): string {
  let out = '';
  do {
    out = BASE62[n % 62]! + out;
    n = Math.floor(n / 62);
  } while (n > 0);
  return out.padStart(width, '0');
}

/** GitHub/npm token: prefix + 30 base62 chars + base62(crc32(those 30 chars)) padded to 6. */
export function withCrc32Tail(prefix: string, body30: string): string {
  return prefix + body30 + base62(crc32(body30), 6);
}

// ---------------------------------------------------------------------------------------------------------------
// A generator for the regex subset the catalog uses: literals, escapes, classes, groups, alternation, quantifiers.

type Node =
  | { t: 'lit'; chars: string[] }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; options: Node[] }
  | { t: 'group'; capture: boolean; body: Node }
  | { t: 'rep'; body: Node; min: number; max: number }
  | { t: 'boundary' }
  | { t: 'empty' };

const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
const range = (a: string, b: string): string[] =>
  Array.from({ length: b.charCodeAt(0) - a.charCodeAt(0) + 1 }, (_, i) => String.fromCharCode(a.charCodeAt(0) + i));
const DIGIT = range('0', '9');
const WORD = [...range('a', 'z'), ...range('A', 'Z'), ...DIGIT, '_'];
const SPACE = [' '];

class Parser {
  private i = 0;
  constructor(private readonly src: string) {}

  parse(): Node {
    const n = this.alt();
    if (this.i < this.src.length) throw new Error(`token-gen: unexpected '${this.src[this.i]}' at ${this.i}`);
    return n;
  }

  private alt(): Node {
    const options = [this.seq()];
    while (this.src[this.i] === '|') {
      this.i++;
      options.push(this.seq());
    }
    return options.length === 1 ? options[0]! : { t: 'alt', options };
  }

  private seq(): Node {
    const items: Node[] = [];
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') {
      const atom = this.atom();
      items.push(this.quant(atom));
    }
    return { t: 'seq', items };
  }

  private quant(atom: Node): Node {
    const c = this.src[this.i];
    let min: number;
    let max: number;
    if (c === '*') [min, max] = [0, 3];
    else if (c === '+') [min, max] = [1, 3];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{' && /^\{\d+(,\d*)?\}/.test(this.src.slice(this.i))) {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i))!;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? min + 4 : Number(m[3]);
      this.i += m[0].length - 1;
    } else return atom;
    this.i++;
    // A lazy filler (`[\w.-]{0,20}?` between a provider name and "key") is short in real text: keep it minimal.
    if (this.src[this.i] === '?') {
      this.i++;
      max = Math.min(max, min + 1);
    }
    return { t: 'rep', body: atom, min, max };
  }

  private atom(): Node {
    const c = this.src[this.i++]!;
    if (c === '(') {
      let capture = true;
      if (this.src[this.i] === '?') {
        const flags = /^\?([imsU-]*)(:|\))/.exec(this.src.slice(this.i));
        const named = /^\?P?<[A-Za-z_]\w*>/.exec(this.src.slice(this.i));
        if (flags) {
          this.i += flags[0].length;
          if (flags[2] === ')') return { t: 'empty' };
          capture = false;
        } else if (named) this.i += named[0].length;
        else throw new Error(`token-gen: unsupported group at ${this.i}`);
      }
      const body = this.alt();
      if (this.src[this.i++] !== ')') throw new Error('token-gen: missing )');
      return { t: 'group', capture, body };
    }
    if (c === '[') return { t: 'lit', chars: this.cls() };
    if (c === '.') return { t: 'lit', chars: WORD.slice(0, 62) };
    if (c === '^' || c === '$') return { t: 'empty' };
    if (c === '\\') return this.escape(false) as Node;
    return { t: 'lit', chars: [c] };
  }

  private escape(inClass: boolean): Node | string[] {
    const e = this.src[this.i++]!;
    const set = (chars: string[]): Node | string[] => (inClass ? chars : { t: 'lit', chars });
    switch (e) {
      case 'd':
        return set(DIGIT);
      case 'w':
        return set(WORD);
      case 's':
        return set(SPACE);
      case 'n':
        return set(['\n']);
      case 'r':
        return set(['\r']);
      case 't':
        return set(['\t']);
      case 'b':
        return inClass ? ['\b'] : { t: 'boundary' };
      case 'B':
      case 'A':
      case 'z':
        return inClass ? [] : { t: 'empty' };
      case 'S':
      case 'W':
      case 'D':
        return set(e === 'D' ? WORD.filter((x) => !DIGIT.includes(x)) : e === 'W' ? ['-', '.', ':'] : WORD.slice(0, 62));
      case 'x': {
        const hex = this.src.slice(this.i, this.i + 2);
        this.i += 2;
        return set([String.fromCharCode(parseInt(hex, 16))]);
      }
      default:
        return set([e]);
    }
  }

  private cls(): string[] {
    let negate = false;
    if (this.src[this.i] === '^') {
      negate = true;
      this.i++;
    }
    const chars = new Set<string>();
    let first = true;
    while (this.i < this.src.length && (this.src[this.i] !== ']' || first)) {
      first = false;
      let lo: string | string[];
      if (this.src[this.i] === '\\') {
        this.i++;
        lo = this.escape(true) as string[];
      } else if (this.src.startsWith('[:', this.i)) {
        const m = /^\[:(\w+):\]/.exec(this.src.slice(this.i))!;
        this.i += m[0].length;
        lo = m[1] === 'alnum' ? WORD.slice(0, 62) : m[1] === 'xdigit' ? [...DIGIT, ...range('a', 'f')] : WORD;
      } else lo = this.src[this.i++]!;
      if (typeof lo === 'string' && this.src[this.i] === '-' && this.src[this.i + 1] !== ']') {
        this.i++;
        let hi = this.src[this.i++]!;
        if (hi === '\\') hi = this.src[this.i++]!;
        for (const ch of range(lo, hi)) chars.add(ch);
      } else for (const ch of typeof lo === 'string' ? [lo] : lo) chars.add(ch);
    }
    this.i++; // ]
    if (!negate) return [...chars];
    // A negated class: prefer word characters so generated text stays realistic.
    const pool = WORD.filter((ch) => !chars.has(ch));
    return pool.length > 0 ? pool : PRINTABLE.filter((ch) => !chars.has(ch));
  }
}

interface GenState {
  rand: () => number;
  captures: string[];
  out: string;
}

const WORD_CHAR = /\w/;

function emit(n: Node, st: GenState): void {
  switch (n.t) {
    case 'empty':
      return;
    case 'boundary':
      // A word boundary between two word characters needs a separator; elsewhere it holds already.
      if (st.out.length > 0 && WORD_CHAR.test(st.out[st.out.length - 1]!)) st.out += ' ';
      return;
    case 'lit':
      st.out += n.chars[Math.floor(st.rand() * n.chars.length)] ?? '';
      return;
    case 'seq':
      for (const x of n.items) emit(x, st);
      return;
    case 'alt':
      emit(n.options[Math.floor(st.rand() * n.options.length)]!, st);
      return;
    case 'rep': {
      const count = n.min + Math.floor(st.rand() * (n.max - n.min + 1));
      for (let k = 0; k < count; k++) emit(n.body, st);
      return;
    }
    case 'group': {
      if (!n.capture) return emit(n.body, st);
      const slot = st.captures.length;
      st.captures.push('');
      const start = st.out.length;
      emit(n.body, st);
      st.captures[slot] = st.out.slice(start);
      return;
    }
  }
}

/** Text matching `pattern` and what its first capture group captured. */
export function generateFromPattern(pattern: string, rand: () => number): { text: string; secret: string } {
  const tree = new Parser(pattern).parse();
  const st: GenState = { rand, captures: [], out: '' };
  emit(tree, st);
  return { text: st.out, secret: st.captures[0] ?? st.out };
}

export function shannon(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

function b64url(s: string | Buffer): string {
  return Buffer.from(s).toString('base64url');
}

/** A structurally valid HS256 JWT (header/payload are JSON), signature from a throwaway key. */
export function makeJwt(rand: () => number): string {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = b64url(JSON.stringify({ sub: `user-${Math.floor(rand() * 1e9)}`, iat: 1700000000 + Math.floor(rand() * 1e6) }));
  const sig = createHash('sha256').update(`${header}.${payload}.${rand()}`).digest('base64url');
  return `${header}.${payload}.${sig}`;
}

/**
 * A structurally valid PyPI API token: `pypi-` + base64url of a v2 binary macaroon (location, id, then one section
 * per caveat — its identifier is the caveat's JSON, as warehouse writes it — and the signature).
 */
export function makePypiToken(location: string, rand: () => number, caveats: string[] = []): string {
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
  const loc = Buffer.from(location);
  const sections = caveats.map((c) => {
    const b = Buffer.from(c);
    if (b.length > 127) throw new Error('token-gen: caveat longer than a one-byte varint');
    return Buffer.concat([Buffer.from([2, b.length]), b, Buffer.from([0])]);
  });
  const body = Buffer.concat([Buffer.from([2, 1, loc.length]), loc, Buffer.from([2, 32]), bytes(32), Buffer.from([0]), ...sections, Buffer.from([0, 6, 32]), bytes(32)]);
  return `pypi-${body.toString('base64url')}`;
}

const MASK_RUN = /x{4,}|\*{3,}|\.{3,}|#{4,}|_{5,}/i;

export interface GeneratedSample {
  /** Text that the detector must report (keyword, secret and required companions included). */
  text: string;
  secret: string;
}

/**
 * A fresh secret in the format of `def`, wrapped in the minimal text its pattern needs. Throws when 200 tries
 * cannot satisfy the pattern, entropy floor and allow-list: that is a bug in the detector or in this generator.
 */
export function generateSample(def: DetectorDef, rand: () => number): GeneratedSample {
  const re = new RE2(def.pattern);
  const allow = def.allow.map((a) => new RE2(a));
  for (let attempt = 0; attempt < 200; attempt++) {
    let { text, secret } = generateFromPattern(def.pattern, rand);
    if (def.checksum === 'github-crc32' || def.checksum === 'npm-crc32') {
      const m = /^(gh[pousr]_|npm_)([A-Za-z0-9]{36})$/.exec(secret);
      if (!m) continue;
      const fixed = withCrc32Tail(m[1]!, m[2]!.slice(0, 30));
      text = text.replace(secret, fixed);
      secret = fixed;
    } else if (def.checksum === 'pypi-macaroon') {
      const token = makePypiToken(secret.startsWith('pypi-AgENdGVzdC5weXBp') ? 'test.pypi.org' : 'pypi.org', rand);
      text = text.replace(secret, token);
      secret = token;
    } else if (def.checksum === 'jwt') {
      const jwt = makeJwt(rand);
      text = text.replace(secret, jwt);
      secret = jwt;
    }
    let capture = secret;
    if (def.decode) {
      // an obfuscated store value: the detector captures the encoding of a fresh password and reports the password
      const plain = def.decode === 'basic-auth' ? `svc-${Math.floor(rand() * 1e4)}:${randomPassword(rand)}` : randomPassword(rand);
      capture = encodeStoreValue(def.decode, plain, rand);
      text = text.replace(secret, capture);
      secret = plain;
    }
    const m = re.exec(text);
    if (!m || m[1] !== capture) continue;
    // masking runs (xxxx, ***, ..., ####, _____) mark placeholders for every detector (detection/filters.ts): a real
    // token holds one about once in 10^4, which the filters accept; a sample must not be that one
    if (MASK_RUN.test(secret)) continue;
    if (def.entropy !== undefined && shannon(secret) < def.entropy) continue;
    if (allow.some((a) => a.test(secret))) continue;
    for (const c of def.companions.filter((x) => x.required)) {
      text += `\n${generateFromPattern(c.pattern, rand).text}`;
    }
    return { text, secret };
  }
  throw new Error(`token-gen: could not generate a sample for ${def.id}`);
}

/** The CRC32 rule of GitHub/npm tokens, restated independently of src/detection/checksums.ts. */
export function validateCrc32ForTest(token: string): boolean {
  const m = /^(?:gh[pousr]_|npm_)([A-Za-z0-9]{30})([A-Za-z0-9]{6})$/.exec(token);
  return !!m && base62(crc32(m[1]!), 6) === m[2];
}
