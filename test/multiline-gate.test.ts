// The multiline gate searches a blob for a few literals before running its patterns, and a delta of a blob clear of
// them only around what the delta changed: both must be necessary conditions, never guesses. Checked against each
// pattern's matches (requiredLiterals), and the delta shortcut against a search of the whole target.
import { join } from 'node:path';
import fc from 'fast-check';
import RE2 from 're2';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../src/detection/load.js';
import { gateLiterals, multilineGate } from '../src/detection/multiline-gate.js';
import { requiredLiterals } from '../src/detection/regex.js';
import { changedRanges } from '../src/scan/delta-plan.js';
import { generateSample, rng } from '../testkit/token-gen.js';

const catalog = loadCatalog(join(import.meta.dirname, '..', 'detectors'));
const multiline = catalog.detectors.filter((d) => d.def.multiline).map((d) => d.def.pattern);

describe('requiredLiterals', () => {
  it('reads the runs of plain characters of the top-level sequence, through zero-width elements and groups of one alternative', () => {
    const cases: [string, string[]][] = [
      ['-----BEGIN RSA PRIVATE KEY-----[\\s\\S]{64,}?-----END', ['-----BEGIN RSA PRIVATE KEY-----', '-----END']],
      ['\\bpass(?:word)\\s*[:=]\\s*(\\S+)', ['password']],
      ['(?m)^\\s*machine\\s+\\S+\\s+password', ['machine', 'password']],
      ['ab\\bcd', ['abcd']],
      ['a\\.b\\-c\\\\d', ['a.b-c\\d']],
      // quantified, optional, classes, letter escapes and alternations stop a run
      ['abc?d', ['ab', 'd']],
      ['ab{2}c', ['a', 'c']],
      ['x(?:ab|cd)y', ['x', 'y']],
      ['x(?:ab)?y', ['x', 'y']],
      ['x(ab)*y', ['x', 'y']],
      ['a\\nb\\tc', ['a', 'b', 'c']],
      ['a[b]c', ['a', 'c']],
      ['a.c', ['a', 'c']],
      // nothing is sure under a top-level alternation or a case-insensitive flag
      ['abc|def', []],
      ['(?i)password', []],
      ['x(?i:abc)y', []],
      ['\\Qabc\\E', []],
    ];
    for (const [p, want] of cases) expect([p, requiredLiterals(p)]).toEqual([p, want]);
  });

  it("every match of every detector of the catalog holds each of its pattern's required literals", () => {
    const rand = rng(17);
    let checked = 0;
    for (const { def } of catalog.detectors) {
      const lits = requiredLiterals(def.pattern);
      const re = new RE2(def.pattern, 'gu');
      for (let k = 0; k < 3; k++) {
        const text = `x = 1; ${generateSample(def, rand).text} // end`;
        re.lastIndex = 0;
        for (let m = re.exec(text); m; m = re.exec(text)) {
          for (const l of lits) expect(m[0], `${def.id}: ${JSON.stringify(l)}`).toContain(l);
          checked += lits.length;
          re.lastIndex = m.index + 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(catalog.detectors.length);
  });

  it('random patterns: every match holds every required literal', () => {
    const atom = fc.constantFrom('a', 'b', 'c', ' ', '-', '\\-', '[ab]', '(?:ab|b)', '(?:ab)', '(a)', '\\b', '^', '.', '\\s');
    const repeat = fc.constantFrom('', '', '', '?', '*', '+', '{2}', '{0,2}');
    const pattern = fc.array(fc.tuple(atom, repeat).map(([a, r]) => (a === '\\b' || a === '^' ? a : a + r)), { minLength: 1, maxLength: 8 }).map((p) => p.join(''));
    fc.assert(
      fc.property(pattern, fc.stringMatching(/^[abc -]{0,40}$/), (p, text) => {
        const re = new RE2(p, 'g');
        const lits = requiredLiterals(p);
        for (let m = re.exec(text); m; m = re.exec(text)) {
          if (!lits.every((l) => m[0].includes(l))) return false;
          re.lastIndex = m.index + 1;
        }
        return true;
      }),
      { numRuns: 4000 },
    );
  });
});

describe('gateLiterals', () => {
  it("covers each of the catalog's multiline patterns with a literal of its own, but for those it cannot", () => {
    const { literals, uncovered } = gateLiterals(multiline);
    // a handful of searches, not one per detector
    expect(literals.length).toBeLessThanOrEqual(4);
    for (const p of multiline) {
      const runs = requiredLiterals(p);
      const covered = literals.some((l) => runs.some((r) => r.includes(l)));
      expect(covered || uncovered.includes(p), p).toBe(true);
    }
    // the Rails master key file is a whole-content pattern with no literal: tested on its own, on every blob
    expect(uncovered).toEqual([catalog.byId.get('rails-master-key')!.def.pattern]);
  });
});

describe('multilineGate', () => {
  const gate = multilineGate(catalog);
  const rand = rng(3);
  const pem = generateSample(catalog.byId.get('private-key-rsa')!.def, rand).text;
  const netrc = generateSample(catalog.byId.get('netrc-password')!.def, rand).text;

  it('passes blobs holding a match, clears blobs holding none of its literals, and says false for a literal without a match', () => {
    const code = 'export default function run(machine) { return machine.repository; }\n'.repeat(50);
    expect(gate(Buffer.from(code))).toBe('clear');
    expect(gate(Buffer.from(code + pem + '\n'))).toBe(true);
    expect(gate(Buffer.from(code + netrc + '\n'))).toBe(true);
    expect(gate(Buffer.from(code + 'const password = input();\n'))).toBe(false);
    // the pattern without a literal: a Rails master key file, whole
    const key = Array.from({ length: 32 }, (_, i) => '0123456789abcdef'[(i * 7) % 16]).join('');
    expect(gate(Buffer.from(`${key}\n`))).toBe(true);
    expect(gate(Buffer.from(`key: ${key}\n`))).toBe('clear');
  });

  it('on a delta of a clear blob, searching around its changes answers as a search of the whole target', () => {
    // pieces of the literals, so that copies and insertions put them together across seams
    const piece = fc.constantFrom('-----', 'BEGIN ', '-----BEGIN ', 'pass', 'word', 'password', 'PuTTY-User-', 'Key-File-', ' x', '\n', 'abc def ');
    const text = fc.array(piece, { maxLength: 30 }).map((a) => a.join(''));
    // a target: copies of base ranges and inserted text, in any order
    const step = fc.oneof(
      fc.tuple(fc.constant('copy' as const), fc.nat(), fc.nat(40)),
      fc.tuple(fc.constant('insert' as const), text, fc.constant(0)),
    );
    let meaningful = 0;
    fc.assert(
      fc.property(text, fc.array(step, { maxLength: 8 }), (baseText, steps) => {
        const base = Buffer.from(baseText);
        if (gate(base) !== 'clear') return true;
        const parts: Buffer[] = [];
        const copies: number[] = [];
        let at = 0;
        for (const [kind, a, b] of steps) {
          let bytes: Buffer;
          if (kind === 'copy') {
            if (base.length === 0) continue;
            const s = a % base.length;
            bytes = base.subarray(s, Math.min(base.length, s + b + 1));
            copies.push(at, at + bytes.length, s);
          } else bytes = Buffer.from(a);
          parts.push(bytes);
          at += bytes.length;
        }
        const target = Buffer.concat(parts);
        const changed = changedRanges(target.length, base.length, copies);
        const whole = gate(target);
        if (whole !== 'clear') meaningful++;
        return gate(target, changed) === whole;
      }),
      { numRuns: 3000 },
    );
    // many targets gained a literal the base did not hold
    expect(meaningful).toBeGreaterThan(300);
  });
});
