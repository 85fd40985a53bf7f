// The formats corpus (corpus/formats/: hand-written files in the real syntax of credential formats, values filled
// at build time) committed to a git history and scanned by `scanPath`, as `npm run bench:accuracy` does: every
// planted credential must be found (by a provider detector where the template asks for one) and nothing else
// reported, in the files with secrets or in those without. An accuracy regression test on a fixed corpus.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scoreFormats } from '../bench/formats-score.js';
import { buildFormatsCorpus } from '../corpus/formats-builder.js';
import { loadCatalog } from '../src/detection/load.js';
import { scanPath } from '../src/run/scan.js';
import { silentLogger } from '../src/util/logger.js';
import { SecretRegistry } from '../src/util/redact.js';

const work = mkdtempSync(join(tmpdir(), 'keyloop-formats-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('formats corpus', () => {
  it('finds every planted credential and reports nothing else', async () => {
    const catalog = loadCatalog(join(import.meta.dirname, '..', 'detectors'));
    const manifest = buildFormatsCorpus(join(work, 'repo'), { seed: 0x666d7473 });
    expect(manifest.families.length).toBeGreaterThanOrEqual(29);
    expect(manifest.files.filter((f) => f.negative).length).toBeGreaterThanOrEqual(15);
    const { result } = await scanPath({
      path: manifest.dir,
      cwd: manifest.dir,
      env: {},
      history: true,
      gitBackend: 'auto',
      maxBlobSize: 64 << 20,
      registry: new SecretRegistry(),
      logger: silentLogger,
    });
    const r = scoreFormats(manifest, result.findings, catalog);
    expect(r.byFamily.filter((f) => f.planted === 0).map((f) => f.family)).toEqual([]);
    expect(r.missed.map((m) => `${m.path}${m.generic.length ? ` (only ${m.generic.join(', ')})` : ''}`)).toEqual([]);
    expect(r.unexpected.map((u) => `${u.detector} ${u.redacted} in ${u.path}`)).toEqual([]);
  });
});
