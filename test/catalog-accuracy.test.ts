// The accuracy corpus end to end, as `npm run bench:accuracy` runs it but smaller: a real git history with every
// detector planted in every carrier plus all decoy families, scanned by `scanPath`. Guards the headline figures.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { score, sharedSpans } from '../bench/accuracy.js';
import type { RawFinding } from '../src/core/model.js';
import { buildCorpus } from '../corpus/builder.js';
import { loadCatalog } from '../src/detection/load.js';
import { scanPath } from '../src/run/scan.js';
import { silentLogger } from '../src/util/logger.js';
import { SecretRegistry } from '../src/util/redact.js';

const work = mkdtempSync(join(tmpdir(), 'keyloop-acc-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('accuracy corpus', () => {
  it('finds ≥ 98 % of planted secrets, every detector at least once, and nothing in any decoy', async () => {
    const catalog = loadCatalog(join(import.meta.dirname, '..', 'detectors'));
    const manifest = buildCorpus(join(work, 'repo'), catalog, { seed: 1234, largeMiB: 1 });
    expect(new Set(manifest.labels.map((l) => l.detector)).size).toBe(catalog.detectors.length);
    expect(new Set(manifest.decoys.map((d) => d.family)).size).toBeGreaterThanOrEqual(15);
    const scan = (extra: Partial<Parameters<typeof scanPath>[0]> = {}) =>
      scanPath({
        path: manifest.dir,
        cwd: manifest.dir,
        env: {},
        history: true,
        gitBackend: 'auto',
        maxBlobSize: 64 << 20,
        registry: new SecretRegistry(),
        logger: silentLogger,
        ...extra,
      });
    const { result } = await scan();
    const r = score(manifest, result.findings);
    expect(r.decoyFindings).toEqual([]);
    // one finding per secret: no two findings report one secret span
    expect(sharedSpans(result.findings)).toEqual([]);
    expect(r.recall).toBeGreaterThanOrEqual(0.98);
    expect(r.byDetector.filter((d) => d.found === 0).map((d) => d.detector)).toEqual([]);
    // Service files (a third of them deleted at the tip, so only in history) are all found.
    const deleted = manifest.labels.filter((l) => l.path.startsWith('services/'));
    expect(deleted.filter((l) => r.missed.some((m) => m.path === l.path && m.detector === l.detector))).toEqual([]);

    // The pack fast path (prescan for any path on workers, delta-aware) resolves overlaps exactly like the
    // whole-blob scan above: same findings, same alsoMatched, same locations.
    execFileSync('git', ['-C', manifest.dir, 'repack', '-adq'], { env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null' } });
    let fastPath = false;
    const fast = await scan({ jobs: 2, packPoolMinBytes: 0, onPackStats: (s) => (fastPath = s.prescan === true) });
    expect(fastPath).toBe(true);
    expect(summary(fast.result.findings)).toEqual(summary(result.findings));
  });
});

function summary(findings: RawFinding[]): unknown[] {
  return findings
    .map((f) => ({ detector: f.detector, secret: f.secret, alsoMatched: f.alsoMatched, locations: f.locations.map((l) => `${l.blob}:${l.path}:${l.line}:${l.column}`).sort() }))
    .sort((a, b) => `${a.detector}\0${a.secret}`.localeCompare(`${b.detector}\0${b.secret}`));
}
