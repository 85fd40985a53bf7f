// relaxRepeats (regex.ts): the weaker patterns the engine's probe Sets hold must match wherever the written ones
// do, at the same place, or a Set would skip a detector that matches.
import { join } from 'node:path';
import fc from 'fast-check';
import RE2 from 're2';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../src/detection/load.js';
import { countCaptureGroups, probeSpecs, relaxRepeats } from '../src/detection/regex.js';
import { generateSample, rng } from '../testkit/token-gen.js';

const catalog = loadCatalog(join(import.meta.dirname, '..', 'detectors'));

/** Whether `re` matches `text` starting exactly at `at`. */
function matchesAt(re: RE2, text: string, at: number): boolean {
  re.lastIndex = at;
  return re.exec(text)?.index === at;
}

describe('relaxRepeats', () => {
  it('relaxes counted repetitions only, never an escape, a class, quoted text or a literal brace', () => {
    const cases: [string, string][] = [
      ['a{2,5}', 'a{2,}'],
      ['a{7}', 'a{7,}'],
      ['a{3,}', 'a{3,}'],
      ['[A-Za-z0-9_-]{130,1000}', '[A-Za-z0-9_-]{32,}'],
      ['[^\\s]{0,400}?x', '[^\\s]{0,}?x'],
      ['[{]{1,2}', '[{]{1,}'],
      ['[]{]{2,3}', '[]{]{2,}'],
      ['\\x{41}{3}', '\\x{41}{3,}'],
      ['\\p{Greek}{2,4}', '\\p{Greek}{2,}'],
      ['\\Q{1,2}\\E{1,2}', '\\Q{1,2}\\E{1,}'],
      ['\\{1,2}', '\\{1,2}'],
      ['a{,3}', 'a{,3}'],
      ['a{x}', 'a{x}'],
      ['(?i)(?:ab){2,9}(c)', '(?i)(?:ab){2,}(c)'],
    ];
    for (const [pattern, relaxed] of cases) expect([pattern, relaxRepeats(pattern, 32)]).toEqual([pattern, relaxed]);
    // the same tokenizer counts capture groups
    expect(countCaptureGroups('\\x{28}(a)[(](?:b)(?P<n>c)\\Q(\\E')).toBe(2);
  });

  it("every probe Set pattern of the catalog, relaxed, compiles and matches each detector's samples where the written one does", () => {
    const rand = rng(7);
    let checked = 0;
    for (const { def } of catalog.detectors) {
      const sources = probeSpecs(def.pattern).map((s) => s.source);
      if (sources.length === 0) sources.push(def.pattern);
      const pairs = sources.map((s) => [new RE2(s, 'gu'), new RE2(relaxRepeats(s, 32), 'gu')] as const);
      expect(() => new RE2.Set(sources.map((s) => relaxRepeats(s, 32)))).not.toThrow();
      for (let k = 0; k < 3; k++) {
        const { text } = generateSample(def, rand);
        const padded = `x = 1; ${text} // end`;
        for (const [written, relaxed] of pairs) {
          written.lastIndex = 0;
          for (let m = written.exec(padded); m; m = written.exec(padded)) {
            expect(matchesAt(relaxed, padded, m.index), `${def.id}: ${relaxed.source} at ${m.index}`).toBe(true);
            checked++;
            written.lastIndex = m.index + 1;
          }
        }
      }
    }
    // the samples exercise the probes: most detectors' probes match their own samples
    expect(checked).toBeGreaterThan(catalog.detectors.length);
  });

  it('random patterns: wherever the written pattern matches, the relaxed one matches at the same place', () => {
    const atom = fc.constantFrom('a', 'b', '[ab]', '[^a]', '(?:ab|b)', '(?:a|ba)', '\\x{61}', '.');
    const repeat = fc.oneof(
      fc.constant(''),
      fc.tuple(fc.nat(6), fc.nat(4)).map(([m, d]) => `{${m},${m + d}}`),
      fc.nat(6).map((m) => `{${m}}`),
      fc.nat(6).map((m) => `{${m},}`),
      fc.constant('?'),
      fc.constant('*'),
    );
    const pattern = fc
      .array(
        fc.tuple(atom, repeat).map(([a, r]) => a + r),
        { minLength: 1, maxLength: 5 },
      )
      .map((p) => p.join(''));
    fc.assert(
      fc.property(pattern, fc.stringMatching(/^[abc]{0,30}$/), fc.integer({ min: 0, max: 6 }), (p, text, cap) => {
        const written = new RE2(p, 'g');
        const relaxed = new RE2(relaxRepeats(p, cap), 'g');
        for (let m = written.exec(text); m; m = written.exec(text)) {
          if (!matchesAt(relaxed, text, m.index)) return false;
          written.lastIndex = m.index + 1;
        }
        return true;
      }),
      { numRuns: 3000 },
    );
  });
});
