// The filter table (src/detection/filter-table.ts) through the real engine and catalog: for every entry and each of
// its samples, the decoy is reported by nothing and this entry is what dropped it, and the real-looking value
// written in the same place is still found by the sample's detector (the filter costs no recall there).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fill, type FormatLabel } from '../corpus/formats-builder.js';
import { createEngine } from '../src/detection/engine.js';
import { FILTER_TABLE } from '../src/detection/filter-table.js';
import { judge } from '../src/detection/filters.js';
import { loadCatalog } from '../src/detection/load.js';
import { crc32, rng } from '../testkit/token-gen.js';

const catalog = loadCatalog(join(import.meta.dirname, '..', 'detectors'));
const engine = createEngine(catalog);

function filled(template: string, path: string, seed: number): { text: string; secrets: string[] } {
  const labels: FormatLabel[] = [];
  const text = fill(template, 'filters', path, rng(seed), labels);
  return { text, secrets: labels.map((l) => l.secret) };
}

describe('filter table', () => {
  it('has unique ids, a reason and at least one sample per entry, and detectors that exist', () => {
    const ids = new Set<string>();
    for (const e of FILTER_TABLE) {
      expect(ids.has(e.id), e.id).toBe(false);
      ids.add(e.id);
      expect(e.reason.length, e.id).toBeGreaterThan(5);
      expect(e.samples.length, e.id).toBeGreaterThan(0);
      for (const s of e.samples) expect(catalog.byId.has(s.detector), `${e.id}: ${s.detector}`).toBe(true);
    }
  });

  for (const entry of FILTER_TABLE) {
    entry.samples.forEach((sample, j) => {
      it(`${entry.id} [${j}]: decoy dropped by this entry, real value in the same place found`, () => {
        // values seeded by the sample's name, so adding or moving an entry leaves the others' values as they are
        const seed = crc32(`${entry.id}/${j}`);
        const decoy = filled(sample.decoy, sample.path, seed);
        const { matches, rejections } = engine.explain(Buffer.from(decoy.text), { path: sample.path });
        expect(matches.map((m) => `${m.detectorId}: ${m.secret}`)).toEqual([]);
        if (!sample.unreached) expect(rejections.map((r) => r.filter ?? r.reason), 'the decoy must reach this entry').toContain(entry.id);
        const control = filled(sample.control, sample.path, seed + 500);
        expect(control.secrets.length).toBeGreaterThan(0);
        const found = engine.scan(Buffer.from(control.text), { path: sample.path });
        // the value to find is the control's last secret placeholder (any before it are companions)
        const want = control.secrets.at(-1)!;
        expect(
          found.some((m) => m.detectorId === sample.detector && m.secret.includes(want)),
          `${sample.detector} in ${JSON.stringify(control.text.slice(0, 300))}; found ${found.map((m) => m.detectorId).join(', ') || 'nothing'}`,
        ).toBe(true);
      });
    });
  }

  it('judges every path class at once as it judges each alone', () => {
    const def = catalog.byId.get('generic-password-assignment')!.def;
    const line = 'options.auth = { password: proxyUrlAuth[1] };';
    const all = judge('proxyUrlAuth[1]', line, def);
    for (let k = 0; k < 8; k++) expect((all.kept >> k) & 1, `class ${k}`).toBe(judge('proxyUrlAuth[1]', line, def, 1 << k).kept === 0 ? 0 : 1);
    // kept in a README (code expressions only drop outside quotes in code), dropped in code
    expect(all.kept & 1).toBe(1);
    expect(all.kept & 2).toBe(0);
  });
});
