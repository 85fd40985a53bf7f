// The engine remembers its scans of decoded spans by content (engine.ts scanDecoded): a scan that reuses one must
// report exactly what an engine that never saw it reports, whatever the budget left, the path and the reach.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine, type EngineOptions } from '../src/detection/engine.js';
import { loadCatalog } from '../src/detection/load.js';
import type { Catalog, ScanContext } from '../src/detection/types.js';
import { PAIRED_VALUE, pairedCatalog } from '../testkit/paired-catalog.js';
import { generateSample, rng } from '../testkit/token-gen.js';

const catalog = loadCatalog(join(import.meta.dirname, '..', 'detectors'));
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Each content scanned by one engine in turn, and each by an engine of its own: the verdicts must agree. */
function sameAsFresh(cat: Catalog, contents: { text: string; path: string }[], opts: EngineOptions = {}) {
  const shared = createEngine(cat, opts);
  return contents.map(({ text, path }) => {
    const ctx: ScanContext = { path };
    const seen = shared.scanVerdict(Buffer.from(text), ctx);
    const fresh = createEngine(cat, opts).scanVerdict(Buffer.from(text), ctx);
    expect(seen, `${path}: ${text.slice(0, 60)}`).toEqual(fresh);
    return seen;
  });
}

describe('decoded spans scanned once per content', () => {
  it('reuses a span only when the budget left covers what its scan decoded', () => {
    const token = generateSample(catalog.byId.get('github-pat-classic')!.def, rng(5)).secret;
    // a span whose scan decodes a second level (the token, base64 inside base64): it consumes budget of its own
    const inner = `export GITHUB_TOKEN=${token}`;
    const outer = `note: ${b64(inner)}`;
    const span = `  blob: ${b64(outer)}`;
    const notes = Array.from({ length: 24 }, (_, i) => `ghp_ marks a classic token; note ${i} of the setup guide`);
    const noise = notes.map((n, i) => `  n${i}: ${b64(n)}`);
    // enough for the noise and the span's first level, one byte short of its second
    const budget = notes.reduce((n, t) => n + t.length, 0) + outer.length + inner.length - 1;
    const [first, second] = sameAsFresh(
      catalog,
      [
        { text: `${span}\n`, path: 'ci/a.yaml' },
        // the same span after noise that leaves too little budget for its second level
        { text: `${noise.join('\n')}\n${span}\n`, path: 'ci/b.yaml' },
      ],
      { decodeBudget: budget },
    );
    // the fixture is meaningful: the first finds the token two levels down, the second runs out before it
    expect(first!.matches.map((m) => m.decoded)).toEqual([['base64', 'base64']]);
    expect(second!.complete).toBe(false);
  });

  it('a reused span consumes the budget its scan consumed', () => {
    const token = generateSample(catalog.byId.get('github-pat-classic')!.def, rng(6)).secret;
    // spans of two levels (as in the first test): every first level is decoded before any second one, so the
    // second span's second level is what the first span's second level leaves of the budget
    const twoLevels = (t: string) => b64(`note: ${b64(`export GITHUB_TOKEN=${t}`)}`);
    const span = `  blob: ${twoLevels(generateSample(catalog.byId.get('github-pat-classic')!.def, rng(7)).secret)}`;
    const after = `${span}\n  tail: ${twoLevels(token)}\n`;
    // the least budget with which a fresh engine reaches the token after the span; one byte less falls short
    const finds = (b: number) =>
      createEngine(catalog, { decodeBudget: b })
        .scan(Buffer.from(after), { path: 'ci/b.yaml' })
        .some((m) => m.secret === token);
    let budget = 64;
    while (!finds(budget)) budget += 1;
    const [, second] = sameAsFresh(
      catalog,
      [
        { text: `${span}\n`, path: 'ci/a.yaml' },
        { text: after, path: 'ci/b.yaml' },
      ],
      { decodeBudget: budget - 1 },
    );
    expect(second!.matches.some((m) => m.secret === token)).toBe(false);
    expect(second!.complete).toBe(false);
  });

  it('a reused span gives its reach again, and its candidates count as placed nowhere', () => {
    const paired = pairedCatalog(700);
    const span = `  blob: ${b64(`pairsecret=${PAIRED_VALUE} and nothing else`)}`;
    const verdicts = sameAsFresh(paired, [
      { text: `${span}\n`, path: 'a.txt' },
      { text: `other = 1\n${span}\n`, path: 'b.txt' },
    ]);
    expect(verdicts.map((v) => [v.reach, v.lacking])).toEqual([
      [700, null],
      [700, null],
    ]);
  });

  it('keeps apart what the path class changes', () => {
    // in code, an expression is not a password (filter-table `code-shape`); in a text file it is reported
    const span = `  blob: ${b64("const urlPassword = urlAuth[1] || '';")}`;
    const [code, text] = sameAsFresh(catalog, [
      { text: `${span}\n`, path: 'lib/http.js' },
      { text: `${span}\n`, path: 'docs/http.md' },
    ]);
    expect(code!.matches).toEqual([]);
    expect(text!.matches.map((m) => [m.detectorId, m.decoded])).toEqual([['generic-password-assignment', ['base64']]]);
  });
});
