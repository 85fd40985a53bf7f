// Encoding twice must not hide a secret. The decode depth is 2, but a secret base64-encoded twice was missed: the
// prefilter decodes base64 only around base64 forms of keywords, and a keyword encoded twice shows none. Runs
// that look like base64 of text (decoders.ts NESTED_BASE64_SIGNATURE) now open the first level too, within the
// same decode budget; the fast engine agrees with the brute-force reference on such content.
import { join } from 'node:path';
import fc from 'fast-check';
import RE2 from 're2';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/detection/engine.js';
import { NESTED_BASE64_SIGNATURE } from '../../src/detection/decoders.js';
import { loadCatalog } from '../../src/detection/load.js';
import { buildRepo } from '../../testkit/git-repo.js';
import { runCli } from '../helpers/run-cli.js';
import { scanReport } from '../helpers/scan-report.js';
import { rng } from '../../testkit/token-gen.js';

const DETECTORS = join(import.meta.dirname, '..', 'fixtures', 'detectors', 'basic');
const catalog = loadCatalog(DETECTORS);
const fast = createEngine(catalog);
const reference = createEngine(catalog, { reference: true });
const rand = rng(2);
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const token = () => 'acme_' + Array.from({ length: 32 }, () => ALNUM[Math.floor(rand() * 62)]).join('');
const b64 = (s: string | Buffer, url = false) => Buffer.from(s).toString(url ? 'base64url' : 'base64');
const secrets = (data: string) => fast.scan(Buffer.from(data), { path: 'values.yaml' }).map((m) => [m.secret, m.decoded]);

describe('base64 within base64', () => {
  it('a secret base64-encoded twice is found (std and url-safe alphabets), at the depth the engine documents', () => {
    const s = token();
    expect(secrets(`data: ${b64(b64(`API_KEY=${s}\n`))}\n`)).toEqual([[s, ['base64', 'base64']]]);
    // url-safe outer layer (labelled base64url when it holds - or _, which std base64 would not)
    const outer = b64(b64(`{"key": "${s}", "pad": ">>>???"}`), true);
    expect(secrets(`value: "${outer}"\n`)).toEqual([[s, [/[-_]/.test(outer) ? 'base64url' : 'base64', 'base64']]]);
    // depth 2 is the default: three layers are out of reach, as documented
    expect(secrets(`x: ${b64(b64(b64(`API_KEY=${s}`)))}\n`)).toEqual([]);
    const deeper = createEngine(catalog, { decodeDepth: 3 });
    expect(deeper.scan(Buffer.from(`x: ${b64(b64(b64(`API_KEY=${s}`)))}\n`), { path: 'x' }).map((m) => m.decoded)).toEqual([['base64', 'base64', 'base64']]);
  });

  it('keyloop scan finds it in git history, on every reader', async () => {
    const s = token();
    const repo = await buildRepo({ commits: [{ id: 'c1', files: { 'k8s/secret.yaml': `kind: Secret\ndata:\n  env: ${b64(b64(`API_KEY=${s}\nMODE=prod\n`))}\n` } }] });
    for (const backend of ['native', 'isomorphic']) {
      for (const pack of ['1', '0']) {
        const r = await runCli(['scan', repo.dir, '--detectors', DETECTORS, '--no-progress', '--format', 'json', '--reveal', '--git-backend', backend], { env: { ...process.env, KEYLOOP_PACK_READER: pack } });
        const f = scanReport(r.stdout).findings;
        expect(f.map((x) => x.secret), `${backend}/${pack}`).toEqual([s]);
        expect(f[0]!.locations[0]!.decoded).toEqual(['base64', 'base64']);
      }
    }
  });

  it('property: for any text around it, the fast engine finds what the reference finds in double base64', () => {
    const text = fc.string({ unit: fc.constantFrom(...'abcdefghij XYZ=:_-\n"{}'.split('')), maxLength: 60 });
    fc.assert(
      fc.property(text, text, text, fc.boolean(), (before, inner, after, url) => {
        const s = token();
        const blob = Buffer.from(`${before} ${b64(b64(`${inner}\nAPI_KEY=${s}\n${inner}`), url)} ${after}`);
        const want = reference.scan(blob, { path: 'f.txt' }).map((m) => m.secret);
        const got = fast.scan(blob, { path: 'f.txt' }).map((m) => m.secret);
        return got.includes(s) && JSON.stringify(got) === JSON.stringify(want);
      }),
      { numRuns: 150, seed: 1616 },
    );
  });

  it('the signature marks base64 of text and rarely random base64', () => {
    const re = new RE2(NESTED_BASE64_SIGNATURE);
    expect(re.test(b64(b64('some ordinary configuration text, long enough')))).toBe(true);
    let chance = 0;
    for (let i = 0; i < 200; i++) if (re.test(b64(Buffer.from(Array.from({ length: 300 }, () => Math.floor(rand() * 256)))))) chance++;
    expect(chance).toBeLessThan(10);
  });
});
