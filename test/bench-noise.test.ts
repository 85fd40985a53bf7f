// The noise bench's offline parts: the tarball integrity check, splitting findings by package and classifying them
// from the label file, and the label file's own shape (hashes only). The download and scan need the network and
// run only in `npm run bench:noise`.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { integrityHolds, perPackage, reclassify, secretHash, slug, summary, type NoiseReport } from '../bench/noise.js';
import { NOISE_LABELS } from '../bench/noise-labels.js';
import { NOISE_PACKAGES } from '../bench/noise-packages.js';
import type { RawFinding } from '../src/core/model.js';

const loc = (path: string, line = 1) => ({ commit: null, author: null, date: null, path, line, column: 1, blob: null });

function finding(secret: string, paths: string[], confidence: RawFinding['confidence'] = 'low'): RawFinding {
  return {
    detector: 'generic-secret-assignment',
    name: 'Generic secret',
    provider: 'generic',
    severity: 'medium',
    confidence,
    fingerprint: 'f',
    redacted: '…',
    secret,
    parts: {},
    locations: paths.map((p) => loc(p)),
  };
}

describe('bench:noise', () => {
  it('checks a tarball against the registry integrity string', () => {
    const data = Buffer.from('a tarball');
    const sri = `sha512-${createHash('sha512').update(data).digest('base64')}`;
    expect(integrityHolds(sri, data)).toBe(true);
    expect(integrityHolds(sri, Buffer.from('another tarball'))).toBe(false);
    expect(integrityHolds('md5-abc', data)).toBe(false);
  });

  it('counts a secret once per package it occurs in, classified from the labels by package and hash', () => {
    const a = 'value-in-two-packages-0001';
    const b = 'value-in-one-package-0002';
    const labels = [
      { pkg: 'p@1.0.0', hash: secretHash(a), cls: 'junk' as const, note: 'n' },
      { pkg: 'q@2.0.0', hash: secretHash(a), cls: 'example' as const, note: 'n' },
    ];
    const out = perPackage([finding(a, ['p@1.0.0/package/x.js', 'q@2.0.0/package/README.md', 'p@1.0.0/package/y.js']), finding(b, ['q@2.0.0/package/z.js'])], labels);
    expect(out.map((f) => [f.pkg, f.cls, f.locations, f.where])).toEqual([
      ['p@1.0.0', 'junk', 2, 'package/x.js:1:1'],
      ['q@2.0.0', 'example', 1, 'package/README.md:1:1'],
      ['q@2.0.0', 'unlabelled', 1, 'package/z.js:1:1'],
    ]);
    const report: NoiseReport = { packages: [], bytes: 2e9, unpackedBytes: 2e9, files: 3, scanMs: 1, findings: out };
    expect(summary(report).at(-1)).toMatch(/target junk ≤ 1 per GB .*: met \(0\.50\/GB\); 1 finding\(s\) unlabelled/);
    // labelled later: a saved report is classified again without scanning
    const again = reclassify({ ...report, packages: [{ pkg: 'q@2.0.0', bytes: 1, findings: 2, junk: 0 }] }, [...labels, { pkg: 'q@2.0.0', hash: secretHash(b), cls: 'junk', note: 'n' }]);
    expect(again.findings.map((f) => f.cls)).toEqual(['junk', 'example', 'junk']);
    expect(again.packages[0]!.junk).toBe(1);
    expect(summary(again).at(-1)).toMatch(/: met \(1\.00\/GB\)$/);
  });

  it('keeps labels as hashes of pinned packages, one label per package and hash', () => {
    const pinned = new Set(NOISE_PACKAGES.map(([n, v]) => slug(n, v)));
    const keys = new Set<string>();
    for (const l of NOISE_LABELS) {
      expect(l.hash).toMatch(/^[0-9a-f]{16}$/);
      expect(pinned.has(l.pkg), l.pkg).toBe(true);
      expect(keys.has(`${l.pkg} ${l.hash}`), `${l.pkg} ${l.hash}`).toBe(false);
      keys.add(`${l.pkg} ${l.hash}`);
    }
  });
});
