// The catalog version (src/detection/catalog-version.ts) that scanned blobs are recorded under: it changes when
// anything that decides what a scan finds changes, and only then (or every catalog change would rescan an org).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { catalogVersion } from '../src/detection/catalog-version.js';
import { loadCatalog, writeCompiledCatalog } from '../src/detection/load.js';
import type { DetectorDef } from '../src/detection/schema.js';
import type { Catalog } from '../src/detection/types.js';

const DIR = join(import.meta.dirname, '..', 'detectors');
const tmp = mkdtempSync(join(tmpdir(), 'keyloop-version-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const base = loadCatalog(DIR, join(tmp, 'none.json'));
/** The catalog with detector `i`'s definition changed. */
const edited = (i: number, change: Partial<DetectorDef>): Catalog => {
  const detectors = base.detectors.map((d, j) => (j === i ? { ...d, def: { ...d.def, ...change } } : d));
  return { detectors, byId: new Map(detectors.map((d) => [d.def.id, d])), providers: base.providers };
};
const withCompanion = base.detectors.findIndex((d) => d.def.companions.length > 0);

describe('catalog version', () => {
  it('is a sha256 digest, the same from the YAML files and from the compiled catalog', () => {
    const compiled = join(tmp, 'catalog.generated.json');
    writeCompiledCatalog(DIR, compiled);
    expect(catalogVersion(base)).toMatch(/^[0-9a-f]{64}$/);
    expect(catalogVersion(loadCatalog(DIR, compiled))).toBe(catalogVersion(base));
  });

  it.each<[string, Partial<DetectorDef> | ((d: DetectorDef) => Partial<DetectorDef>)]>([
    ['the pattern', (d) => ({ pattern: d.pattern + '(?:)' })],
    ['the keywords', (d) => ({ keywords: [...d.keywords, 'zz-extra'] })],
    ['an allow pattern', (d) => ({ allow: [...d.allow, '^EXAMPLE'] })],
    ['the entropy floor', (d) => ({ entropy: (d.entropy ?? 0) + 0.5 })],
    ['the checksum', () => ({ checksum: 'luhn' })],
    ['generic', (d) => ({ generic: !d.generic })],
    ['multiline', (d) => ({ multiline: !d.multiline })],
    ['the id', (d) => ({ id: d.id + '-renamed' })],
    ['the severity (which detector wins a secret two match)', (d) => ({ severity: d.severity === 'low' ? 'high' : 'low' })],
  ])('changes with %s', (_what, change) => {
    const d = base.detectors[0]!.def;
    expect(catalogVersion(edited(0, typeof change === 'function' ? change(d) : change))).not.toBe(catalogVersion(base));
  });

  it('changes with a companion, and with a detector added or removed', () => {
    const c = base.detectors[withCompanion]!.def;
    expect(catalogVersion(edited(withCompanion, { companions: c.companions.map((x) => ({ ...x, within: x.within + 1 })) }))).not.toBe(catalogVersion(base));
    const fewer = base.detectors.slice(1);
    expect(catalogVersion({ detectors: fewer, byId: new Map(fewer.map((d) => [d.def.id, d])), providers: base.providers })).not.toBe(catalogVersion(base));
  });

  it('does not change with names, samples, references, or the order of the files', () => {
    const d = base.detectors[0]!.def;
    const same = edited(0, {
      name: d.name + ' (renamed)',
      examples: [...d.examples, 'another sample'],
      negative_examples: ['x'],
      references: ['https://example.test/'],
    });
    expect(catalogVersion(same)).toBe(catalogVersion(base));
    const reversed = [...base.detectors].reverse();
    expect(catalogVersion({ detectors: reversed, byId: base.byId, providers: base.providers })).toBe(catalogVersion(base));
  });
});
