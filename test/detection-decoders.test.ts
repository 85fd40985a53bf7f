// The decoders' span finders skip most of a buffer (percent: windows around `%XX`; JSON strings: only lines that
// can start a literal with an escape, or, within one line, a byte reader that asks RE2 only where unsure). They
// must report exactly what the plain regexes report over the whole
// buffer: checked here on fuzzed bytes dense in the characters that matter (delimiters, escapes, line breaks,
// invalid UTF-8) and on real source.
import { join } from 'node:path';
import RE2 from 're2';
import { describe, expect, it } from 'vitest';
import { loadSample } from '../bench/engine-bench.js';
import { decodeJsonBytes, decodeJsonRun, decodeJsonStrings, hasSeparatorBreak, jsonStringRuns, percentRuns, runs } from '../src/detection/decoders.js';
import { rng } from '../testkit/token-gen.js';

// The same sources as decoders.ts, compiled here so the comparison does not share state with the code under test.
const PERCENT_RUN = new RE2('[^\\s"\'<>`]*%[0-9A-Fa-f]{2}[^\\s"\'<>`]*', 'g');
const JSON_STRINGS = new RE2('"(?:[^"\\\\\\r\\n]|\\\\.)*\\\\(?:[^"\\\\\\r\\n]|\\\\.)*"(?:\\s*,\\s*"(?:[^"\\\\\\r\\n]|\\\\.)*")*', 'g');
// The same runs kept within one line (what single-line detectors rescan).
const JSON_STRINGS_1L = new RE2('"(?:[^"\\\\\\r\\n]|\\\\.)*\\\\(?:[^"\\\\\\r\\n]|\\\\.)*"(?:[ \\t]*,[ \\t]*"(?:[^"\\\\\\r\\n]|\\\\.)*")*', 'g');

const PIECES = [
  '%',
  '%2F',
  '%4',
  '%zz',
  '%aF',
  '\\',
  '\\n',
  '\\"',
  '\\\\',
  '"',
  "'",
  ',',
  ' ',
  '\t',
  '\n',
  '\r\n',
  '\f',
  '\v',
  '<',
  '>',
  '`',
  'a',
  'Z',
  '9',
  '+',
  '=',
  'é',
  '€',
];
const RAW = [0x80, 0xc3, 0xe2, 0xff, 0x00];
// UTF-8 RE2 reads as one character though it is not well-formed (a surrogate, overlong, past U+10FFFF), one it does
// not (C0 80), and well-formed four-byte and three-byte sequences: the byte reader asks RE2 where they differ.
const RAW_SEQUENCES = [
  [0xed, 0xa0, 0x80],
  [0xe0, 0x80, 0x80],
  [0xf0, 0x80, 0x80, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xc0, 0x80],
  [0xf0, 0x9f, 0x98, 0x80],
  [0xef, 0xbf, 0xbf],
];

function fuzz(rand: () => number, n: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.04) parts.push(Buffer.from([RAW[Math.floor(rand() * RAW.length)]!]));
    else if (r < 0.06) parts.push(Buffer.from(RAW_SEQUENCES[Math.floor(rand() * RAW_SEQUENCES.length)]!));
    else parts.push(Buffer.from(PIECES[Math.floor(rand() * PIECES.length)]!, 'utf8'));
  }
  return Buffer.concat(parts);
}

describe('decoder span finders = whole-buffer regex', () => {
  it('on fuzzed bytes', () => {
    const rand = rng(4242);
    let percent = 0;
    let json = 0;
    let breaks = 0;
    let unbroken = 0;
    for (let k = 0; k < 3000; k++) {
      const data = fuzz(rand, 5 + Math.floor(rand() * 120));
      const p = percentRuns(data);
      expect(p, data.toString('latin1')).toEqual(runs(PERCENT_RUN, data));
      const j = jsonStringRuns(data);
      expect(j, data.toString('latin1')).toEqual(runs(JSON_STRINGS, data));
      const j1 = jsonStringRuns(data, true);
      expect(j1, data.toString('latin1')).toEqual(runs(JSON_STRINGS_1L, data));
      for (const r of j1) expect(data.subarray(r.start, r.end).includes(0x0a)).toBe(false);
      // findEncodedSpans finds the runs once when no separator between literals breaks a line
      if (hasSeparatorBreak(data)) breaks++;
      else {
        expect(j1, data.toString('latin1')).toEqual(j);
        if (j.length > 0) unbroken++;
      }
      percent += p.length;
      json += j.length;
    }
    // The fuzz reaches both finders' interesting cases, not only empty results.
    expect(percent).toBeGreaterThan(1000);
    expect(json).toBeGreaterThan(1000);
    expect(breaks).toBeGreaterThan(0);
    expect(unbroken).toBeGreaterThan(1000);
    // where a separator breaks a line, the runs differ: the check is needed
    for (const sep of [',\n', '\r,', ' ,\f ']) {
      const data = Buffer.from(`x = ["a\\n"${sep}"b"]`);
      expect(hasSeparatorBreak(data)).toBe(true);
      expect(jsonStringRuns(data)).not.toEqual(jsonStringRuns(data, true));
    }
    expect(hasSeparatorBreak(Buffer.from('x = ["a\\n", \t"b"]\n'))).toBe(false);
  });

  it('on long lines (a minified bundle: many runs and stray backslashes on one line, then a few lines)', () => {
    const rand = rng(777);
    let json = 0;
    for (let k = 0; k < 40; k++) {
      const data = fuzz(rand, 3000);
      // mostly one line: keep one line break in 200
      for (let i = 0; i < data.length; i++) if (data[i] === 0x0a && rand() > 0.005) data[i] = 0x20;
      const j = jsonStringRuns(data);
      expect(j).toEqual(runs(JSON_STRINGS, data));
      expect(jsonStringRuns(data, true)).toEqual(runs(JSON_STRINGS_1L, data));
      json += j.length;
    }
    expect(json).toBeGreaterThan(1000);
  });

  it('on real source', () => {
    const files = loadSample(join(import.meta.dirname, '..', 'node_modules'), 50_000_000);
    let found = 0;
    for (const f of files) {
      const p = percentRuns(f.data);
      const j = jsonStringRuns(f.data);
      expect(p, f.path).toEqual(runs(PERCENT_RUN, f.data));
      expect(j, f.path).toEqual(runs(JSON_STRINGS, f.data));
      expect(jsonStringRuns(f.data, true), f.path).toEqual(runs(JSON_STRINGS_1L, f.data));
      found += p.length + j.length;
    }
    expect(found).toBeGreaterThan(500);
  });
});

// What decodeJsonStrings did with two JS RegExps until it became a loop (scanned content goes through RE2 only):
// the oracle the loop must equal on any string.
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', v: '\v', '0': '\0', '/': '/', '\\': '\\', '"': '"', "'": "'" };
function regexDecode(s: string): Buffer {
  let out = '';
  const literal = /"((?:[^"\\\r\n]|\\.)*)"/g;
  let m: RegExpExecArray | null;
  while ((m = literal.exec(s)) !== null) {
    out += m[1]!.replace(/\\(u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|.)/g, (_, e: string) =>
      e.length > 1 ? String.fromCharCode(parseInt(e.slice(1), 16)) : (ESCAPES[e] ?? e),
    );
  }
  return Buffer.from(out, 'utf8');
}

describe('decodeJsonStrings', () => {
  it('decodes escapes, joins adjacent literals and skips separators', () => {
    const run = String.raw`"a\nb\t\"q\u0041\x42\u00e9\/", "\uD83D\uDE00",` + '\n  "next\\\\line"';
    expect(decodeJsonStrings(run).toString('utf8')).toBe('a\nb\t"qAB\u00e9/\u{1F600}next\\line');
  });

  it('equals the regex decoder it replaced, on fuzzed strings dense in quotes, escapes and line terminators', () => {
    const rand = rng(99);
    const pieces = ['"', '\\', '\\u', '\\x', 'u', 'x', '0', '4', '1', 'a', 'F', 'g', ',', ' ', '\n', '\r', '\u2028', '\uD83D', 'é', 'n', "'", '/'];
    let nonEmpty = 0;
    for (let k = 0; k < 20000; k++) {
      let s = '';
      for (let i = 0, n = 1 + Math.floor(rand() * 40); i < n; i++) s += pieces[Math.floor(rand() * pieces.length)]!;
      const got = decodeJsonStrings(s);
      expect(got, JSON.stringify(s)).toEqual(regexDecode(s));
      if (got.length > 0) nonEmpty++;
    }
    // the fuzz decodes something in about one string of eight, not only malformed input
    expect(nonEmpty).toBeGreaterThan(2000);
  });

  it('decodes a run byte by byte exactly as the string decoder does, and takes the byte path unless the run is ill-formed UTF-8 or escapes a surrogate', () => {
    const rand = rng(123);
    const ascii = ['"', '\\', '\\u', '\\x', 'u', 'x', '0', '4', '7', '8', 'e', '9', '1', 'a', 'F', 'd', 'D', ',', ' ', '\n', '\r', 'n', "'", '/', '\t'];
    const wide = [...ascii, 'é', '€', '\u2028', '\u2029', '\u{1F600}', '\\u00e9', '\\u20ac', '\\xff', '\\ud83d', '\\ude00', '\\é', '\\\u2028'];
    // ill-formed UTF-8: stray continuation, truncated leads, overlong, surrogate, above U+10FFFF
    const raw = [[0x80], [0xc3], [0xe2, 0x82], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff]];
    let fast = 0;
    let slow = 0;
    for (let k = 0; k < 30000; k++) {
      const alphabet = k % 3 === 0 ? ascii : wide;
      const parts: Buffer[] = [Buffer.from('x = ')];
      for (let i = 0, n = 1 + Math.floor(rand() * 40); i < n; i++) {
        if (k % 3 === 2 && rand() < 0.03) parts.push(Buffer.from(raw[Math.floor(rand() * raw.length)]!));
        else parts.push(Buffer.from(alphabet[Math.floor(rand() * alphabet.length)]!, 'utf8'));
      }
      parts.push(Buffer.from(' ;'));
      const data = Buffer.concat(parts);
      const start = 4;
      const end = data.length - 2;
      const want = decodeJsonStrings(data.toString('utf8', start, end));
      expect(decodeJsonRun(data, start, end), data.toString('latin1')).toEqual(want);
      const bytes = decodeJsonBytes(data, start, end);
      if (bytes === null) slow++;
      else {
        fast++;
        expect(bytes, data.toString('latin1')).toEqual(want);
      }
      // well-formed text without surrogate escapes always takes the byte path
      if (k % 3 !== 2 && !/\\u[dD][89a-fA-F]/.test(data.toString('latin1'))) expect(bytes, data.toString('latin1')).not.toBeNull();
    }
    expect(fast).toBeGreaterThan(15000);
    expect(slow).toBeGreaterThan(2000);
  });
});
