// The keyword prefilter (src/detection/prefilter.ts): base64 forms computed bit by bit agree with encoding padded
// copies, and the Set finds each keyword in any case and each base64 form only as written.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64Forms, Prefilter } from '../src/detection/prefilter.js';

/** The definition: encode the keyword behind 0, 1 and 2 zero bytes; keep the characters made of its bits only. */
function referenceForms(kw: string): string[] {
  const bytes = Buffer.from(kw, 'utf8');
  const out = new Set<string>();
  for (const a of [0, 1, 2]) {
    const enc = Buffer.concat([Buffer.alloc(a), bytes])
      .toString('base64')
      .replace(/=+$/, '');
    let s = '';
    for (let j = 0; j < enc.length; j++) if (6 * j >= 8 * a && 6 * j + 6 <= 8 * (a + bytes.length)) s += enc[j];
    if (s.length >= 3) {
      out.add(s);
      out.add(s.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  return [...out];
}

describe('base64Forms', () => {
  it('equals encoding padded copies, for any text (ASCII, UTF-8, bytes that give + and /)', () => {
    for (const kw of ['ghp_', 'token', 'AKIA', 'password', '://', 'ÿþ~~~', 'Ωmega-ключ']) expect(base64Forms(kw)).toEqual(referenceForms(kw));
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }), (kw) => {
        expect(base64Forms(kw)).toEqual(referenceForms(kw));
      }),
      { numRuns: 500 },
    );
  });

  it('gives forms found in the base64 of any text holding the keyword', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), (before, after) => {
        const enc = Buffer.from(`${before}secret_key${after}`).toString('base64');
        expect(base64Forms('secret_key').some((f) => enc.includes(f))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('Prefilter', () => {
  const pf = new Prefilter(['token', 'akia'], [['token'], ['AKIA']]);

  it('finds keywords in any case', () => {
    expect(pf.hits(Buffer.from('const TOKEN = 1')).keywords).toEqual([0]);
    expect(pf.hits(Buffer.from('AkIa and ToKeN')).keywords.sort()).toEqual([0, 1]);
    expect(pf.hits(Buffer.from('nothing here')).keywords).toEqual([]);
  });

  it('finds base64 forms only in their exact case, at their offsets', () => {
    const enc = Buffer.from('my token is 1234').toString('base64');
    const text = `x=${enc}`;
    expect(pf.hits(Buffer.from(text)).base64.length).toBeGreaterThan(0);
    expect(pf.hits(Buffer.from(text.toLowerCase())).base64).toEqual([]);
    for (const p of pf.hits(Buffer.from(text)).base64) expect(p).toBeGreaterThanOrEqual(2);
  });
});
