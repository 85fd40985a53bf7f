// Scanned content is hostile: nothing on the detection path may take time beyond linear in what it reads. The
// base64 decoder's "is this run mixed-case enough to be an encoding" check was a JS RegExp,
// `/[A-Z].*[a-z].*[A-Z]/`, which backtracks cubically on a run of capitals then lowercase: 53 s on 8,000 bytes.
// A file can put such a run right after a keyword's base64 form, where the engine decodes. The check is one pass
// now; these tests hand the engine runs that the RegExp would have taken hours on (vitest's test timeout is 600 s).
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findEncodedSpans, upperLowerUpper } from '../../src/detection/decoders.js';
import { createEngine } from '../../src/detection/engine.js';
import { loadCatalog } from '../../src/detection/load.js';
import { base64Forms } from '../../src/detection/prefilter.js';

const catalog = loadCatalog(join(import.meta.dirname, '..', '..', 'detectors'));
const engine = createEngine(catalog);

/** A catalog keyword with a base64 form of capitals then lowercase only: it makes the engine decode the run it sits in. */
function capitalsThenLowercaseForm(): string {
  for (const d of catalog.detectors) {
    for (const k of d.def.keywords) for (const f of base64Forms(k)) if (/^[A-Z]+[a-z]+$/.test(f)) return f;
  }
  throw new Error('no keyword has such a base64 form');
}

describe('the base64 decoder on runs built to make a backtracking check explode', () => {
  it('decodes around a keyword form followed by 60,000 lowercase letters, and around capitals then lowercase', () => {
    const form = capitalsThenLowercaseForm();
    for (const run of [form + 'a'.repeat(60_000), 'A'.repeat(30_000) + form + 'a'.repeat(30_000)]) {
      const data = Buffer.from(`value: ${run}\n`);
      // the engine reaches the decoder here: the keyword form is where the prefilter sends it
      const spans = findEncodedSpans(data, { bytes: 1 << 20 }, { base64: [data.indexOf(form)], text: false });
      // no digit, no +/, no capital after a lowercase letter: an identifier, not an encoding
      expect(spans).toEqual([]);
      expect(engine.scan(data, { path: 'config/values.yaml' })).toEqual([]);
    }
  });

  it('the one-pass check says what the RegExp said, on any run of base64 characters (no line breaks: a run has none)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'AZazMm09+/=_-'.split('')), maxLength: 60 }), (s) => {
        const b = Buffer.from(s, 'latin1');
        expect(upperLowerUpper(b, 0, b.length)).toBe(/[A-Z].*[a-z].*[A-Z]/.test(s));
      }),
      { numRuns: 5000 },
    );
  });
});
