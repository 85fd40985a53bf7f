// One finding per secret across blobs: where the engine saw detector X beat Y on a secret, Y's finding of that
// same secret in another blob (where X did not match) joins X's finding.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { scanSource, type ContentSource } from '../src/core/content.js';
import { inThreadStage } from '../src/scan/stage.js';
import { createEngine } from '../src/detection/engine.js';
import { loadCatalog } from '../src/detection/load.js';

const dir = mkdtempSync(join(tmpdir(), 'keyloop-dedupe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const token = () => `acme_${Array.from(randomBytes(32), (b) => ALNUM[b % 62]).join('')}`;

function source(blobs: Record<string, string>): ContentSource {
  const items = Object.keys(blobs).map((id) => ({
    id,
    blob: id,
    size: blobs[id]!.length,
    origins: [{ commit: `c-${id}`, author: { name: 'A', email: 'a@x' }, date: '2024-01-01T00:00:00Z', subject: 's', path: `${id}.txt` }],
  }));
  return {
    items,
    problems: [],
    async *read(ids) {
      for (const id of ids) yield { id, data: Buffer.from(blobs[id]!) };
    },
  };
}

describe('one finding per secret across blobs', () => {
  // `one` matches only after "k=", `two` anywhere; `one` has a liveness check, so it is the more specific.
  writeFileSync(
    join(dir, 'one.yaml'),
    `provider: { id: one, name: One }
detectors:
  - id: one-token
    name: one token
    keywords: [acme_]
    pattern: 'k=(acme_[A-Za-z0-9]{32})\\b'
    verify: { kind: http, issuer: one, base_url: 'https://api.one.test', path: /me, live: [{ status: [200] }], dead: [{ status: [401] }] }
    examples: ['k=acme_Q3v9LmT2xK8pR4sW7yZ1bN6cD0fH5jG2']
`,
  );
  writeFileSync(
    join(dir, 'two.yaml'),
    `provider: { id: two, name: Two }
detectors:
  - id: two-token
    name: two token
    keywords: [acme_]
    pattern: '\\b(acme_[A-Za-z0-9]{32})\\b'
    examples: ['acme_Q3v9LmT2xK8pR4sW7yZ1bN6cD0fH5jG2']
`,
  );
  const engine = createEngine(loadCatalog(dir));

  test("the less specific detector's finding elsewhere joins the winner's, with its locations", async () => {
    const [tok, other] = [token(), token()];
    const r = await scanSource(source({ a: `k=${tok}\n`, b: `j=${tok}\n`, c: `j=${other}\n` }), inThreadStage(engine), { maxBlobSize: 1 << 20 });
    expect(r.findings.map((f) => [f.detector, f.secret, f.alsoMatched, f.locations.map((l) => l.path).sort()])).toEqual([
      ['one-token', tok, ['two-token'], ['a.txt', 'b.txt']],
      ['two-token', other, undefined, ['c.txt']],
    ]);
  });

  test('without a blob where both matched, the findings stay apart', async () => {
    const tok = token();
    const r = await scanSource(source({ b: `j=${tok}\n` }), inThreadStage(engine), { maxBlobSize: 1 << 20 });
    expect(r.findings.map((f) => [f.detector, f.alsoMatched])).toEqual([['two-token', undefined]]);
  });
});
