import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import { base62, crc32, validChecksum, validPypiMacaroon } from '../src/detection/checksums.js';
import { createEngine } from '../src/detection/engine.js';
import { isBinary } from '../src/detection/binary.js';
import { shannonEntropy } from '../src/detection/entropy.js';
import { loadCatalog } from '../src/detection/load.js';

const FIXTURE = 'test/fixtures/detectors/basic';
const catalog = loadCatalog(FIXTURE);
const engine = createEngine(catalog);
const ctx = { path: 'src/app.js' };
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function rand(n: number, alphabet = ALNUM): string {
  const bytes = randomBytes(n);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}
/** A random token that clears the fixture's entropy threshold. */
function acmeToken(): string {
  for (;;) {
    const t = `acme_${rand(32)}`;
    if (shannonEntropy(t) > 4 && !/TEST|x{4}/i.test(t)) return t;
  }
}
/** Checksummed token, tail computed with node:zlib's CRC32 (an oracle independent of ours). */
function kltkToken(valid = true): string {
  const body = rand(30);
  const tail = base62(zlibCrc32(body), 6);
  return `kltk_${body}${valid ? tail : tail.slice(0, 5) + (tail[5] === 'A' ? 'B' : 'A')}`;
}
const scan = (text: string | Buffer, path = ctx.path) => engine.scan(Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'), { path });

const tmpDirs: string[] = [];
function catalogDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'keyloop-det-'));
  tmpDirs.push(dir);
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  return dir;
}
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

describe('locations', () => {
  test('1-based line and UTF-16 column with CRLF and multibyte UTF-8 before the secret', () => {
    const tok = acmeToken();
    const text = `first line\r\nsecond ☃ line\r\nnaïve € 😀 = "${tok}"\r\nlast\r\n`;
    const [m, ...rest] = scan(text);
    expect(rest).toEqual([]);
    expect(m).toMatchObject({ detectorId: 'acme-token', secret: tok, line: 3 });
    // "naïve € 😀 = \"" is 14 UTF-16 units (the emoji counts 2): the secret starts at column 15.
    expect(m!.column).toBe('naïve € 😀 = "'.length + 1);
    expect(m!.offset).toBe(Buffer.byteLength(text.slice(0, text.indexOf(tok))));
  });

  test('several secrets on several lines, sorted by offset', () => {
    const [a, b] = [acmeToken(), acmeToken()];
    const ms = scan(`x=${a}\n\n\n  y=${b} ${a}\n`);
    expect(ms.map((m) => [m.secret, m.line, m.column])).toEqual([
      [a, 1, 3],
      [b, 4, 5],
      [a, 4, 6 + b.length],
    ]);
  });
});

describe('filters', () => {
  test('entropy below the threshold drops the candidate', () => {
    const low = `acme_${'ab'.repeat(16)}`;
    expect(scan(`t=${low}`)).toEqual([]);
    expect(engine.explain(Buffer.from(`t=${low}`), ctx).rejections).toEqual([{ detectorId: 'acme-token', reason: expect.stringMatching(/^entropy/) }]);
  });

  test('CRC32 tail: valid token kept, one wrong checksum character dropped', () => {
    const good = kltkToken(true);
    const bad = kltkToken(false);
    expect(scan(`a=${good}\nb=${bad}\n`).map((m) => m.secret)).toEqual([good]);
    expect(crc32('hello world')).toBe(zlibCrc32('hello world'));
    expect(validChecksum('npm-crc32', `npm_${good.slice(5)}`)).toBe(true);
  });

  test('JWT, Luhn and PyPI macaroon structure', () => {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const jwt = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: rand(12) })}.${rand(43, ALNUM + '-_')}`;
    expect(validChecksum('jwt', jwt)).toBe(true);
    expect(scan(`Authorization: Bearer ${jwt}`).map((m) => m.detectorId)).toEqual(['kltk-jwt']);
    expect(validChecksum('jwt', `${b64({ typ: 'JWT' })}.${b64({ sub: 'x' })}.sig`)).toBe(false);
    expect(validChecksum('luhn', '4111 1111 1111 1111')).toBe(true);
    expect(validChecksum('luhn', '4111111111111121')).toBe(false);
    // A v2 macaroon as PyPI mints them: version 2, location, identifier, EOS, a caveat section, EOS, signature.
    const packet = (type: number, data: Buffer) => Buffer.concat([Buffer.from([type, data.length]), data]);
    const macaroon = Buffer.concat([
      Buffer.from([2]),
      packet(1, Buffer.from('pypi.org')),
      packet(2, randomBytes(32)),
      Buffer.from([0]),
      packet(2, Buffer.from('{"version": 1, "permissions": "user"}')),
      Buffer.from([0, 0]),
      packet(6, randomBytes(32)),
    ]);
    const token = `pypi-${macaroon.toString('base64url')}`;
    expect(validPypiMacaroon(token)).toBe(true);
    expect(validPypiMacaroon(`pypi-${macaroon.subarray(0, -1).toString('base64url')}`)).toBe(false);
    expect(validPypiMacaroon(`pypi-${Buffer.concat([Buffer.from([1]), macaroon.subarray(1)]).toString('base64url')}`)).toBe(false);
  });

  test('allow patterns, inline keyloop:allow and global false-positive filters', () => {
    const allowed = `acme_TEST${rand(28)}`;
    expect(scan(`t=${allowed}`)).toEqual([]);
    const tok = acmeToken();
    expect(scan(`t=${tok} # keyloop:allow`)).toEqual([]);
    expect(scan(`t=${tok}\n# keyloop:allow on another line does not count`)).toHaveLength(1);
    const placeholder = `acme_placeholder${rand(21)}`;
    const r = engine.explain(Buffer.from(`t=${placeholder}`), ctx);
    expect(r.matches).toEqual([]);
    expect(r.rejections.map((x) => x.reason)).toContain('placeholder');
  });
});

describe('companions', () => {
  const secret = rand(40);
  const keyId = `AKID${rand(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')}`;
  test('attached as parts when within range', () => {
    const ms = scan(`ACME_KEY_ID=${keyId}\nACME_SECRET_KEY=${secret}\n`).filter((m) => m.detectorId === 'acme-secret-key');
    expect(ms).toEqual([expect.objectContaining({ secret, parts: { key_id: keyId } })]);
  });
  test('a required companion missing or beyond `within` drops the secret', () => {
    expect(scan(`ACME_SECRET_KEY=${secret}\n`).filter((m) => m.detectorId === 'acme-secret-key')).toEqual([]);
    const far = `ACME_KEY_ID=${keyId}\n${'// filler line\n'.repeat(40)}ACME_SECRET_KEY=${secret}\n`;
    expect(scan(far).filter((m) => m.detectorId === 'acme-secret-key')).toEqual([]);
  });
});

describe('overlaps', () => {
  test('a generic detector loses to a provider detector on the same secret, and is listed as alsoMatched', () => {
    const tok = acmeToken();
    const generic = rand(24);
    const ms = scan(`secret_token = "${tok}"\npassword = "${generic}"\n`);
    expect(ms.map((m) => [m.detectorId, m.secret, m.alsoMatched])).toEqual([
      ['acme-token', tok, ['generic-secret']],
      ['generic-secret', generic, undefined],
    ]);
  });

  const det = (id: string, extra = '') => `
  - id: ${id}
    name: ${id} detector
    keywords: [acme_]
    pattern: '\\b(acme_[A-Za-z0-9]{32})\\b'${extra}
    examples: ['acme_${rand(32)}']`;
  const twoProviders = (oneExtra = '', twoExtra = '') =>
    createEngine(
      loadCatalog(
        catalogDir({
          'one.yaml': `provider: { id: one, name: One }\ndetectors:${det('one-token', oneExtra)}\n`,
          'two.yaml': `provider: { id: two, name: Two }\ndetectors:${det('two-token', twoExtra)}\n`,
        }),
      ),
    );

  test('two provider detectors on the same span: one finding, the other in alsoMatched (equal specificity: by id)', () => {
    const tok = acmeToken();
    const ms = twoProviders().scan(Buffer.from(`k=${tok}`), ctx);
    expect(ms.map((m) => [m.detectorId, m.offset, m.alsoMatched])).toEqual([['one-token', 2, ['two-token']]]);
  });

  test('the more specific detector wins whatever the ids: a liveness check, then severity', () => {
    const tok = acmeToken();
    const verify = `
    verify: { kind: http, issuer: two, base_url: 'https://api.two.test', path: /me, live: [{ status: [200] }], dead: [{ status: [401] }] }`;
    expect(
      twoProviders('', verify)
        .scan(Buffer.from(`k=${tok}`), ctx)
        .map((m) => [m.detectorId, m.alsoMatched]),
    ).toEqual([['two-token', ['one-token']]]);
    expect(
      twoProviders('', '\n    severity: critical')
        .scan(Buffer.from(`k=${tok}`), ctx)
        .map((m) => [m.detectorId, m.alsoMatched]),
    ).toEqual([['two-token', ['one-token']]]);
    expect(
      twoProviders('\n    severity: low')
        .scan(Buffer.from(`k=${tok}`), ctx)
        .map((m) => m.detectorId),
    ).toEqual(['two-token']);
  });

  test("a catalog's precedence comes before everything specificity weighs", () => {
    const tok = acmeToken();
    const verify = `
    verify: { kind: http, issuer: one, base_url: 'https://api.one.test', path: /me, live: [{ status: [200] }], dead: [{ status: [401] }] }`;
    expect(
      twoProviders(verify, '\n    precedence: 1')
        .scan(Buffer.from(`k=${tok}`), ctx)
        .map((m) => [m.detectorId, m.alsoMatched]),
    ).toEqual([['two-token', ['one-token']]]);
    expect(
      twoProviders(`${verify}\n    precedence: 2`, '\n    precedence: 1')
        .scan(Buffer.from(`k=${tok}`), ctx)
        .map((m) => m.detectorId),
    ).toEqual(['one-token']);
  });

  test('a .pypirc password is reported by pypirc-password, not by the INI detector that also reads it', () => {
    const engine = createEngine(loadCatalog(join(import.meta.dirname, '..', 'detectors')));
    const secret = `p${rand(40)}`;
    const text = `[distutils]\nindex-servers = internal\n\n[internal]\nrepository = https://pypi.internal/\nusername = deploy\npassword = ${secret}\n`;
    const ms = engine.scan(Buffer.from(text), { path: 'home/.pypirc' }).filter((m) => m.secret === secret);
    expect(ms.map((m) => m.detectorId)).toEqual(['pypirc-password']);
    expect(ms[0]!.alsoMatched).toContain('ini-password');
  });

  test('matches that do not overlap are both kept, and one detector never replaces its own other match', () => {
    const [a, b] = [acmeToken(), acmeToken()];
    const ms = twoProviders().scan(Buffer.from(`k=${a}\nj=${b}`), ctx);
    expect(ms.map((m) => [m.detectorId, m.secret])).toEqual([
      ['one-token', a],
      ['one-token', b],
    ]);
  });

  test('a plain match over an encoded value and the decoded match inside it are one secret', () => {
    // acme_secret's value is base64 of a line holding an acme token: the decoded acme-token (more specific:
    // it has a liveness check) wins over the plain match of the encoded text.
    const tok = acmeToken();
    const encoded = Buffer.from(`token=${tok}`).toString('base64');
    const ms = scan(`acme_secret = "${encoded}"\n`);
    expect(ms.filter((m) => m.secret === tok || m.secret === encoded).map((m) => [m.detectorId, m.decoded, m.alsoMatched])).toEqual([
      ['acme-token', ['base64'], ['generic-secret']],
    ]);
  });
});

describe('single-line detectors stay on one line', () => {
  test('a match with a line break inside is not a candidate; on one line it is', () => {
    const value = rand(24);
    expect(scan(`db_password =\n  "${value}"\n`)).toEqual([]);
    expect(scan(`password:\n  ${value}\n`)).toEqual([]);
    expect(scan(`db_password = "${value}"\n`)).toEqual([expect.objectContaining({ detectorId: 'generic-secret', secret: value, line: 1 })]);
    // the search resumes at the line break: the next line's own assignment is still found
    expect(scan(`token =\n password = "${value}"\n`)).toEqual([expect.objectContaining({ secret: value, line: 2 })]);
  });

  test("the line breaks either side may be a match's context", () => {
    const dir = catalogDir({
      'zz.yaml': `provider: { id: zz, name: Zz }\ndetectors:
  - id: zz-token
    name: zz token
    keywords: [zz_]
    pattern: '(?:^|[^A-Za-z0-9_])(zz_[a-z]{20})(?:[^A-Za-z0-9_]|$)'
    examples: ['x zz_abcdefghijklmnopqrst y']
`,
    });
    const e = createEngine(loadCatalog(dir));
    const tok = `zz_${rand(20, 'abcdefghijklmnopqrstuvwxyz')}`;
    const ms = e.scan(Buffer.from(`first\n${tok}\nlast\n`), ctx);
    expect(ms).toEqual([expect.objectContaining({ secret: tok, line: 2, column: 1 })]);
  });

  test('a multiline detector still spans lines', () => {
    const pem = `-----BEGIN RSA PRIVATE KEY-----\n${rand(64)}\n${rand(64)}\n-----END RSA PRIVATE KEY-----`;
    expect(scan(`key = """${pem}"""\n`)).toEqual([expect.objectContaining({ detectorId: 'pem-private-key', secret: pem })]);
  });
});

describe('decoders', () => {
  test('base64 value in a Kubernetes Secret', () => {
    const tok = acmeToken();
    const yaml = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ndata:\n  token: ${Buffer.from(tok).toString('base64')}\n`;
    const ms = scan(yaml, 'k8s/secret.yaml');
    expect(ms).toEqual([expect.objectContaining({ detectorId: 'acme-token', secret: tok, line: 6, column: 10, decoded: ['base64'] })]);
    expect(ms[0]!.offset).toBe(yaml.indexOf('token: ') + 7);
  });

  test('JSON-escaped PEM key across notebook cell lines', () => {
    const body = Array.from({ length: 6 }, () => rand(64, ALNUM + '+/')).join('\\n",\n    "');
    const nb = `{\n "cells": [\n  {\n   "cell_type": "code",\n   "source": [\n    "key = \\"\\"\\"-----BEGIN RSA PRIVATE KEY-----\\n",\n    "${body}\\n",\n    "-----END RSA PRIVATE KEY-----\\"\\"\\"\\n"\n   ]\n  }\n ]\n}\n`;
    const ms = scan(nb, 'analysis.ipynb');
    expect(ms).toHaveLength(1);
    expect(ms[0]).toMatchObject({ detectorId: 'pem-private-key', line: 6, column: 5, decoded: ['json-string'] });
    expect(ms[0]!.secret.startsWith('-----BEGIN RSA PRIVATE KEY-----\n')).toBe(true);
  });

  test('percent-encoded token in a URL, and base64 of percent-encoding (depth 2)', () => {
    const tok = acmeToken();
    const url = `https://hooks.example.test/cb?token=${encodeURIComponent(tok).replace('_', '%5F')}&x=1`;
    expect(scan(`fetch("${url}")`)).toEqual([expect.objectContaining({ secret: tok, decoded: ['percent'] })]);
    const nested = `blob: ${Buffer.from(`u=${url}`).toString('base64')}\n`;
    expect(scan(nested)).toEqual([expect.objectContaining({ secret: tok, decoded: ['base64', 'percent'], column: 7 })]);
  });

  test('a secret already found in plain text is not reported again from a decoded span', () => {
    const tok = acmeToken();
    const ms = scan(`{"env": "TOKEN=${tok}\\nOTHER=1\\n"}`);
    expect(ms).toEqual([expect.objectContaining({ secret: tok })]);
    expect(ms[0]!.decoded).toBeUndefined();
  });
});

describe('content shapes', () => {
  test('binary content (a binary share of the first 8 KiB) is not scanned; a stray NUL does not make text binary', () => {
    const noise = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 151 + 17) % 256));
    const buf = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0]), noise, Buffer.from(` t=${acmeToken()}`)]);
    expect(isBinary(buf)).toBe(true);
    expect(scan(buf)).toEqual([]);
    expect(isBinary(Buffer.from('plain text'))).toBe(false);
    const stray = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0]), Buffer.from(` t=${acmeToken()}`)]);
    expect(isBinary(stray)).toBe(false);
    expect(scan(stray)).toHaveLength(1);
  });

  test('5 MiB one-line minified file with a token in the middle: found, fast', () => {
    const chunk = 'function(e,t){var token=e.key||t.secret;return n(token,{password:!0,a:[1,2,3]})},';
    const half = chunk.repeat(Math.ceil((5 * 1024 * 1024) / 2 / chunk.length));
    const tok = acmeToken();
    const kl = kltkToken();
    const text = `${half}var c={apiKey:"${tok}",k:"${kl}"};${half}`;
    const buf = Buffer.from(text);
    expect(buf.length).toBeGreaterThan(5 * 1024 * 1024);
    const t0 = performance.now();
    const ms = engine.scan(buf, { path: 'dist/app.min.js' });
    const elapsed = performance.now() - t0;
    expect(ms.map((m) => [m.secret, m.line, m.column])).toEqual([
      [tok, 1, half.length + 'var c={apiKey:"'.length + 1],
      [kl, 1, half.length + `var c={apiKey:"${tok}",k:"`.length + 1],
    ]);
    expect(elapsed).toBeLessThan(3000);
  });

  test('multiline key with CRLF line endings and a 3 KB body', () => {
    const body = Array.from({ length: 48 }, () => rand(64, ALNUM + '+/')).join('\r\n');
    const text = `# config\r\nkey: |\r\n-----BEGIN PRIVATE KEY-----\r\n${body}\r\n-----END PRIVATE KEY-----\r\n`;
    const ms = scan(text);
    expect(ms).toEqual([expect.objectContaining({ detectorId: 'pem-private-key', line: 3, column: 1 })]);
    expect(ms[0]!.secret.endsWith('-----END PRIVATE KEY-----')).toBe(true);
  });

  test('a keyword hit far from a windowed detector match does not widen the window to the whole blob', () => {
    // The generic pattern needs its keyword right before the value; a value 10 KiB from any keyword is not searched.
    const value = rand(24);
    const text = `password\n${'x'.repeat(10_000)}\n = "${value}"\n`;
    expect(scan(text)).toEqual([]);
  });
});

describe('loadCatalog', () => {
  test('errors name the file and the field path', () => {
    const dir = catalogDir({
      'bad.yaml': 'provider: { id: bad, name: Bad }\ndetectors:\n  - id: bad-one\n    name: Bad one\n    keywords: [bad_]\n    pattern: "(bad_[a-z]+)"\n',
    });
    expect(() => loadCatalog(dir)).toThrow(/bad\.yaml: detectors\[0\]\.examples/);
    const dir2 = catalogDir({
      'oops.yaml':
        'provider: { id: oops, name: Oops }\ndetectors:\n  - id: oops-one\n    name: Oops one\n    keywords: [oops]\n    pattern: "(?<=oops)(x)"\n    examples: [oopsx]\n',
    });
    expect(() => loadCatalog(dir2)).toThrow(/oops\.yaml: detectors\[0\]\.pattern: RE2 cannot compile/);
  });
});
