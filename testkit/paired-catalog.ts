// A one-detector catalog whose detector needs a companion within `within` bytes (`pairsecret=` beside `pairid=`),
// written to a temp dir: what tests of companions, reach and where its candidates lie load instead of the real
// catalog, so no other detector gets in the way.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCatalog } from '../src/detection/load.js';
import type { Catalog } from '../src/detection/types.js';

/** A secret value the paired detector matches (`pairsecret=` + this), and a companion id (`pairid=` + this). */
export const PAIRED_VALUE = ['q1w2e', '3r4t5', 'y6u7i', '8o9p0'].join('');
export const PAIRED_ID = ['a1s2d', '3f4g5'].join('');

export function pairedCatalog(within: number, keywords = 'pairsecret'): Catalog {
  const dir = mkdtempSync(join(tmpdir(), 'keyloop-companion-'));
  writeFileSync(
    join(dir, 'paired.yaml'),
    [
      'provider: { id: paired, name: Paired }',
      'detectors:',
      '  - id: paired-secret',
      '    name: Paired secret',
      `    keywords: [ ${keywords} ]`,
      "    pattern: 'pairsecret=([a-z0-9]{20})'",
      '    companions:',
      `      - { name: pair_id, pattern: 'pairid=([a-z0-9]{10})', within: ${within}, required: true }`,
      `    examples: [ "pairsecret=${PAIRED_VALUE} pairid=${PAIRED_ID}" ]`,
      '',
    ].join('\n'),
  );
  return loadCatalog(dir);
}
