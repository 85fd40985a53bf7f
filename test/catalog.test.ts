// The shipped catalog (detectors/*.yaml): every sample behaves under the real engine, and the catalog keeps its
// promised breadth. A detector added without examples, or whose samples stop matching, fails here.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCatalog, formatProblem } from '../src/detection/check.js';
import { loadCatalog } from '../src/detection/load.js';

const DIR = join(import.meta.dirname, '..', 'detectors');

describe('detector catalog', () => {
  const catalog = loadCatalog(DIR);

  it('passes `detectors check`: ids, RE2, one capture group, every example found, no negative found', () => {
    expect(checkCatalog(DIR).map(formatProblem)).toEqual([]);
  });

  it('names every provider file after its provider id', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && !f.startsWith('_') && f !== 'contexts.yaml');
    expect(files.map((f) => f.replace(/\.yaml$/, '')).sort()).toEqual([...catalog.providers.keys()].sort());
  });

  it('gives every detector at least one example and one negative example', () => {
    const missing = catalog.detectors.filter((d) => d.def.examples.length === 0 || d.def.negative_examples.length === 0);
    expect(missing.map((d) => d.def.id)).toEqual([]);
  });

  it('has at least 150 detectors, 40 of them verifiable, and a rotation guide per provider', () => {
    expect(catalog.detectors.length).toBeGreaterThanOrEqual(150);
    const verifiable = catalog.detectors.filter((d) => d.def.verify);
    expect(verifiable.length).toBeGreaterThanOrEqual(40);
    expect(new Set(verifiable.map((d) => d.def.verify!.issuer)).size).toBeGreaterThanOrEqual(40);
    expect([...catalog.providers.values()].filter((p) => !p.rotation).map((p) => p.id)).toEqual([]);
  });

  it('sends each key only to https issuer endpoints, and pins data-derived hosts', () => {
    for (const { def } of catalog.detectors) {
      const v = def.verify;
      if (!v || v.kind !== 'http') continue;
      expect(v.base_url, def.id).toMatch(/^https:\/\//);
      if (v.base_url.includes('{{')) expect(v.allowed_hosts?.length ?? 0, def.id).toBeGreaterThan(0);
    }
  });

  it('marks checksummed GitHub and npm tokens so look-alikes with a bad CRC are dropped', () => {
    for (const id of ['github-pat-classic', 'github-oauth-token', 'github-user-to-server-token', 'github-server-to-server-token', 'github-refresh-token']) {
      expect(catalog.byId.get(id)?.def.checksum, id).toBe('github-crc32');
    }
    expect(catalog.byId.get('npm-access-token')?.def.checksum).toBe('npm-crc32');
  });
});
