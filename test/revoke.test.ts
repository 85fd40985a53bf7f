// Revocation through the issuers' own APIs (detectors' revoke blocks) against the fake issuers: GitLab's
// DELETE /personal_access_tokens/self and Slack's auth.revoke revoke the key (the fake then answers dead), a refused
// call is reported with the issuer's status, keys without a revoke API are refused before anything is sent, and
// every call is audited as `revoke`. npm: the token lists its account's tokens and deletes itself by its key, never
// guessing between look-alikes. (End to end: GitHub in test/e2e/reach-loop.test.ts, npm in test/e2e/revoke-npm.test.ts.)
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../src/detection/load.js';
import { codeRevokers } from '../src/revoke/issuers/index.js';
import { shownFits } from '../src/revoke/issuers/npm-token.js';
import { buildRevokeRequest, describeRevoke, revokeKey } from '../src/revoke/revoke.js';
import { SecretRegistry } from '../src/util/redact.js';
import { createIssuerClient } from '../src/verification/issuer-client.js';
import { createVerifier } from '../src/verification/verify.js';
import { useFakeIssuer } from './helpers/issuer-fixture.js';
import { generateSample, rng } from '../testkit/token-gen.js';

const catalog = loadCatalog(join(import.meta.dirname, '..', 'detectors'));
const rand = rng(2123);
const det = (id: string) => catalog.byId.get(id)!;
const secretOf = (id: string) => generateSample(det(id).def, rand).secret;

const fx = useFakeIssuer();

function setup() {
  const registry = new SecretRegistry();
  const client = createIssuerClient({ registry, audit: fx.audit });
  const baseUrls = fx.fake.baseUrls();
  const verifier = createVerifier({ baseUrls, allowInsecure: true, registry, client });
  return { client, baseUrls, verifier };
}

describe('revoke through the issuer', () => {
  it('gitlab: the token revokes itself (204); verification then says dead', async () => {
    const tok = secretOf('gitlab-pat');
    fx.fake.setKey('gitlab', tok);
    const { client, baseUrls, verifier } = setup();
    const r = await revokeKey({ detector: det('gitlab-pat'), secret: tok, parts: {}, fingerprint: 'a'.repeat(64) }, { client, baseUrls });
    expect(r).toEqual({ ok: true, issuer: 'gitlab', method: 'DELETE', endpoint: `${fx.fake.baseUrl('gitlab')}/api/v4/personal_access_tokens/self`, status: 204 });
    expect(fx.fake.revocations).toEqual([{ issuer: 'gitlab', credential: tok }]);
    const v = await verifier.verify({ detector: det('gitlab-pat'), secret: tok, parts: {}, fingerprint: 'a'.repeat(64) });
    expect(v.status).toBe('dead');
    // (a stale kept-alive connection is retried once and recorded: only answered calls are compared)
    expect(fx.calls.filter((c) => c.status !== null).map((c) => `${c.purpose} ${c.method} ${c.status}`)).toEqual(['revoke DELETE 204', 'verify GET 401']);
  });

  it('slack: auth.revoke answers revoked: true', async () => {
    const tok = secretOf('slack-user-token');
    fx.fake.setKey('slack', tok);
    const { client, baseUrls } = setup();
    const r = await revokeKey({ detector: det('slack-user-token'), secret: tok, parts: {}, fingerprint: 'b'.repeat(64) }, { client, baseUrls });
    expect(r).toMatchObject({ ok: true, issuer: 'slack', method: 'POST', status: 200 });
    expect(fx.fake.revocations).toHaveLength(1);
  });

  it('an issuer that refuses (the key is already dead) is reported, not taken for a revocation', async () => {
    const tok = secretOf('gitlab-pat');
    const { client, baseUrls } = setup();
    const r = await revokeKey({ detector: det('gitlab-pat'), secret: tok, parts: {}, fingerprint: 'c'.repeat(64) }, { client, baseUrls });
    expect(r).toMatchObject({ ok: false, status: 401, reason: 'the issuer answered HTTP 401' });
    const slack = secretOf('slack-bot-token');
    const s = await revokeKey({ detector: det('slack-bot-token'), secret: slack, parts: {}, fingerprint: 'c'.repeat(64) }, { client, baseUrls });
    // Slack answers HTTP 200 {"ok":false,"error":"invalid_auth"}: not revoked
    expect(s).toMatchObject({ ok: false, status: 200 });
    expect(fx.fake.revocations).toEqual([]);
  });

  it('a key without a revoke API, or whose host comes from scanned data, is refused before anything is sent', () => {
    expect(describeRevoke({ detector: det('stripe-secret-key'), secret: '', parts: {}, fingerprint: '' }, {})).toEqual({
      error: 'stripe-secret-key has no revoke block: the issuer offers no self-service revocation keyloop knows of',
    });
    expect(describeRevoke({ detector: det('github-pat-classic'), secret: '', parts: {}, fingerprint: '' }, {})).toEqual({
      issuer: 'github',
      method: 'POST',
      endpoint: 'https://api.github.com/credentials/revoke',
    });
  });

  it('the GitHub request: the token as a JSON string in the body, no Authorization header', () => {
    const spec = det('github-pat-classic').def.revoke!;
    if (spec.kind !== 'http') throw new Error('GitHub revokes with one declared request');
    const built = buildRevokeRequest(spec, 'https://api.github.com', { secret: 'ghp_"quoted\\', parts: {} });
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    expect(JSON.parse(built.request.body!)).toEqual({ credentials: ['ghp_"quoted\\'] });
    expect(built.request.headers.authorization).toBeUndefined();
    expect(built.request.headers['content-type']).toBe('application/json');
  });

  it('every revoke block names its references and goes to the verify block’s issuer', () => {
    const revocable = catalog.detectors.filter((d) => d.def.revoke);
    expect(revocable.map((d) => d.def.id).sort()).toEqual([
      'github-fine-grained-pat',
      'github-oauth-token',
      'github-pat-classic',
      'github-user-to-server-token',
      'gitlab-pat',
      'npm-access-token',
      'npm-legacy-auth-token',
      'slack-bot-token',
      'slack-user-token',
      'slack-workspace-access-token',
    ]);
    for (const d of revocable) expect(d.def.revoke!.references.length).toBeGreaterThan(0);
  });

  it('every code revoke block names a registered revoker, and every revoker is used', () => {
    const named = catalog.detectors.flatMap((d) => (d.def.revoke?.kind === 'code' ? [d.def.revoke.revoker] : []));
    for (const n of named) expect(codeRevokers.has(n), n).toBe(true);
    expect([...codeRevokers.keys()].filter((n) => !named.includes(n))).toEqual([]);
  });
});

describe('npm: the token deletes itself by its key', () => {
  /** A live npm token of `user`; `profile` adds what the registry knows of it. */
  function npmToken(user: string, profile: Record<string, unknown> = {}, detector = 'npm-access-token'): string {
    const tok = secretOf(detector);
    fx.fake.setKey('npm', tok);
    fx.fake.setProfile('npm', tok, { username: user, ...profile });
    return tok;
  }
  const revokeNpm = (tok: string, detector = 'npm-access-token') => {
    const { client, baseUrls } = setup();
    return revokeKey({ detector: det(detector), secret: tok, parts: {}, fingerprint: 'd'.repeat(64) }, { client, baseUrls });
  };
  const npmCalls = () => fx.fake.requestsFor('npm').map((r) => `${r.method} ${r.path.split('?')[0]}`);

  it('lists the account’s tokens with the token, deletes the one whose key is its SHA-512 (204); whoami then says dead', async () => {
    const others = [npmToken('ops'), npmToken('ops')];
    const tok = npmToken('ops');
    npmToken('someone-else');
    const { verifier } = setup();
    const r = await revokeNpm(tok);
    expect(r).toEqual({ ok: true, issuer: 'npm', method: 'DELETE', endpoint: `${fx.fake.baseUrl('npm')}/-/npm/v1/tokens/token/…`, status: 204 });
    expect(fx.fake.revocations).toEqual([{ issuer: 'npm', credential: tok }]);
    const key = createHash('sha512').update(tok).digest('hex');
    expect(npmCalls()).toEqual(['GET /-/npm/v1/tokens', `DELETE /-/npm/v1/tokens/token/${key}`]);
    // the token authenticates both requests and is never in a URL
    for (const q of fx.fake.requestsFor('npm')) {
      expect(q.headers.authorization).toBe(`Bearer ${tok}`);
      expect(q.rawUrl).not.toContain(tok);
    }
    expect((await verifier.verify({ detector: det('npm-access-token'), secret: tok, parts: {}, fingerprint: 'd'.repeat(64) })).status).toBe('dead');
    // the account's other tokens still work
    for (const o of others) expect((await verifier.verify({ detector: det('npm-access-token'), secret: o, parts: {}, fingerprint: 'e'.repeat(64) })).status).toBe('live');
    expect(fx.calls.filter((c) => c.purpose === 'revoke' && c.status !== null).map((c) => `${c.method} ${c.status}`)).toEqual(['GET 200', 'DELETE 204']);
    expect(fx.calls.every((c) => !c.url.includes(tok))).toBe(true);
  });

  it('a legacy UUID token the same way', async () => {
    const tok = npmToken('ops', {}, 'npm-legacy-auth-token');
    const r = await revokeNpm(tok, 'npm-legacy-auth-token');
    expect(r).toMatchObject({ ok: true, status: 204 });
    expect(fx.fake.revocations).toEqual([{ issuer: 'npm', credential: tok }]);
  });

  it('follows the list’s pages to find the token', async () => {
    for (let i = 0; i < 120; i++) npmToken('busy');
    const tok = npmToken('busy');
    expect(await revokeNpm(tok)).toMatchObject({ ok: true, status: 204 });
    expect(npmCalls().filter((c) => c.startsWith('GET'))).toHaveLength(2);
    expect(fx.fake.revocations).toEqual([{ issuer: 'npm', credential: tok }]);
  });

  it('a key that is not the SHA-512: the one token shown like it (prefix…suffix) is deleted; two alike, none is', async () => {
    const tok = npmToken('ops', { key: 'opaque-key-1' });
    npmToken('ops', { key: 'opaque-key-2' });
    expect(await revokeNpm(tok)).toMatchObject({ ok: true, status: 204 });
    expect(npmCalls().at(-1)).toBe('DELETE /-/npm/v1/tokens/token/opaque-key-1');
    expect(fx.fake.revocations).toEqual([{ issuer: 'npm', credential: tok }]);

    const a = npmToken('twins', { key: 'twin-a' });
    npmToken('twins', { key: 'twin-b', shown: `${a.slice(0, 8)}...${a.slice(-4)}` });
    const r = await revokeNpm(a);
    expect(r).toMatchObject({ ok: false, status: null, reason: expect.stringMatching(/^2 of the account's tokens are shown like this one: keyloop does not guess which to delete/) });
    expect(fx.fake.revocations).toHaveLength(1);
  });

  it('a short shown prefix is not enough to delete by', async () => {
    const tok = npmToken('ops', { key: 'opaque', shown: 'npm_1f' });
    const r = await revokeNpm(tok);
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/^npm lists 1 token\(s\) for this account and none is this one/) });
    expect(npmCalls()).toEqual(['GET /-/npm/v1/tokens']);
    expect(shownFits('1fa9ba', '1fa9ba12-0000-4000-8000-000000000000')).toBe(true);
    expect(shownFits('npm_1f', 'npm_1f' + 'x'.repeat(34))).toBe(false);
    expect(shownFits('[REDACTED]', tok)).toBe(false);
  });

  it('an account whose 2FA covers writes: npm asks for a one-time password, nothing is revoked', async () => {
    const tok = npmToken('careful', { tfa: 'auth-and-writes' });
    const r = await revokeNpm(tok);
    expect(r).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(/^npm asks for a one-time password/) });
    expect(fx.fake.revocations).toEqual([]);
  });

  it('a dead token: npm refuses the list, nothing is deleted', async () => {
    const r = await revokeNpm(secretOf('npm-access-token'));
    expect(r).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(/HTTP 401 listing its tokens/) });
    expect(npmCalls()).toEqual(['GET /-/npm/v1/tokens']);
  });
});
