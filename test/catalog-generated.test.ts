// Every detector against freshly generated secrets in its own format (testkit/token-gen.ts), not just the
// committed samples: catches keywords that miss a pattern's alternatives, entropy floors above what the format
// produces, and filters that eat real tokens. Seeded, so a failure reproduces.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../src/detection/engine.js';
import { loadCatalog } from '../src/detection/load.js';
import { crc32, generateSample, rng, validateCrc32ForTest } from '../testkit/token-gen.js';

const catalog = loadCatalog(join(import.meta.dirname, '..', 'detectors'));
const engine = createEngine(catalog);
const SAMPLES = 6;

function found(text: string, detector: string, secret: string, path = 'config/app.env'): boolean {
  return engine.scan(Buffer.from(text, 'utf8'), { path }).some((m) => m.detectorId === detector && m.secret === secret);
}

describe('generated secrets', () => {
  it('token-gen produces GitHub/npm tokens whose CRC32 tail validates, and breaks it on one flipped char', () => {
    const rand = rng(7);
    const gh = catalog.byId.get('github-pat-classic')!.def;
    for (let i = 0; i < 20; i++) {
      const { secret } = generateSample(gh, rand);
      expect(validateCrc32ForTest(secret)).toBe(true);
      expect(validateCrc32ForTest(secret.slice(0, -1) + (secret.endsWith('0') ? '1' : '0'))).toBe(false);
    }
  });

  it('finds every detector’s generated secrets, alone and inside a CRLF file with neighbours', () => {
    const failures: string[] = [];
    for (const { def } of catalog.detectors) {
      // one stream per detector: adding a detector does not change the samples of the others
      const rand = rng((0x5ca1ab1e ^ crc32(def.id)) >>> 0);
      let misses = 0;
      let first = '';
      for (let i = 0; i < SAMPLES; i++) {
        const { text, secret } = generateSample(def, rand);
        if (def.file_max_bytes !== undefined) {
          // a key-file detector reads a small content that is the key and nothing else, never a line of a file
          const inFile = ['# service configuration', 'LOG_LEVEL=info', text, ''].join('\r\n');
          if (!found(text, def.id, secret) || found(inFile, def.id, secret)) {
            misses++;
            first ||= JSON.stringify(text).slice(0, 160);
          }
          continue;
        }
        const embedded = ['# service configuration', 'LOG_LEVEL=info', text, 'TIMEOUT_MS=5000', ''].join('\r\n');
        // A second secret of the same kind on the next line must not hide behind the first one's terminator.
        const next = generateSample(def, rand);
        const pair = `${text}\n${next.text}\n`;
        const ok = found(text, def.id, secret) && found(embedded, def.id, secret) && found(pair, def.id, secret) && found(pair, def.id, next.secret);
        if (!ok) {
          misses++;
          first ||= JSON.stringify(text).slice(0, 160);
        }
      }
      if (misses > 0) failures.push(`${def.id}: ${misses}/${SAMPLES} generated samples not found, e.g. ${first}`);
    }
    expect(failures).toEqual([]);
  });
});
