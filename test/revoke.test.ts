// Revocation through the issuers' own APIs (detectors' revoke blocks) against the fake issuers: GitLab's
// DELETE /personal_access_tokens/self and Slack's auth.revoke revoke the key (the fake then answers dead), a refused
// call is reported with the issuer's status, keys without a revoke API are refused before anything is sent, and
// every call is audited as `revoke`. (GitHub end to end: test/e2e/reach-loop.test.ts.)
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../src/detection/load.js';
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
      'slack-bot-token',
      'slack-user-token',
      'slack-workspace-access-token',
    ]);
    for (const d of revocable) expect(d.def.revoke!.references.length).toBeGreaterThan(0);
  });
});
