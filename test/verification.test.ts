// Verification runtime rules against the loopback fake issuer: tri-state, host rules, queues, cache, scrubbing.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RawFinding } from '../src/core/model.js';
import { verifyFindings } from '../src/core/pipeline.js';
import type { LoadedDetector } from '../src/detection/types.js';
import { DetectorDef } from '../src/detection/schema.js';
import { createLogger } from '../src/util/logger.js';
import { SecretRegistry } from '../src/util/redact.js';
import { MemoryVerificationCache } from '../src/verification/cache.js';
import { accountFromKeyId } from '../src/verification/issuers/aws-sts.js';
import { isNonPublicAddress, hostMatches } from '../src/verification/net.js';
import { findingsVerifier } from '../src/verification/findings.js';
import { createVerifier, onlyLive, type VerifierOptions, type VerifyRequest } from '../src/verification/verify.js';
import { FakeIssuer } from '../testkit/fake-issuer.js';

let fake: FakeIssuer;
beforeAll(async () => {
  fake = await FakeIssuer.start();
});
afterAll(async () => fake.close());
beforeEach(() => {
  fake.reset();
  fake.retryAfter = '30';
});

async function closedPortUrl(): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

const rand = (n = 16) => randomBytes(n).toString('hex');

function det(id: string, provider: string, verify: unknown, extra: Record<string, unknown> = {}): LoadedDetector {
  const def = DetectorDef.parse({ id, name: id, keywords: ['xx'], pattern: '(x)', examples: ['x'], verify, ...extra });
  return { def, provider: { id: provider, name: provider, references: [] }, file: `${provider}.yaml` };
}

const githubDet = det('gh-token', 'github', {
  kind: 'http',
  issuer: 'github',
  base_url: 'https://api.github.com',
  path: '/user',
  headers: { Authorization: 'token {{secret}}' },
  live: [{ status: [200] }],
  dead: [{ status: [401], reason: 'Bad credentials' }],
  identity: { login: 'json:login', scopes: 'header:x-oauth-scopes', expires: 'header:github-authentication-token-expiration' },
});
const slackDet = det('slack-bot', 'slack', {
  kind: 'http',
  issuer: 'slack',
  base_url: 'https://slack.com',
  method: 'POST',
  path: '/api/auth.test',
  headers: { Authorization: 'Bearer {{secret}}' },
  live: [{ status: [200], json: { path: 'ok', equals: true } }],
  dead: [{ status: [200], json: { path: 'error', equals: 'invalid_auth' }, reason: 'invalid_auth' }],
  identity: { team: 'json:team', user: 'json:user' },
});
const shopifyDet = det('shop-token', 'shopify', {
  kind: 'http',
  issuer: 'shopify',
  base_url: 'https://{{parts.shop}}',
  allowed_hosts: ['*.myshopify.com'],
  path: '/admin/oauth/access_scopes.json',
  headers: { 'X-Shopify-Access-Token': '{{secret}}' },
  live: [{ status: [200] }],
  dead: [{ status: [401] }],
});
const telegramDet = det('tg-bot', 'telegram', {
  kind: 'http',
  issuer: 'telegram',
  base_url: 'https://api.telegram.org',
  path: '/bot{{secret}}/getMe',
  live: [{ status: [200], json: { path: 'ok', equals: true } }],
  dead: [{ status: [401, 404] }],
});

const req = (detector: LoadedDetector, secret: string, parts: Record<string, string> = {}): VerifyRequest => ({
  detector,
  secret,
  parts,
  fingerprint: `fp-${detector.def.id}-${secret}`,
});

function make(over: Partial<VerifierOptions> = {}) {
  const registry = new SecretRegistry();
  const lines: string[] = [];
  const logger = createLogger({ registry: new SecretRegistry(), level: 'debug', write: (l) => lines.push(l) });
  // The fake issuers are operator overrides on loopback http: allowed only with --allow-insecure-issuers.
  const verifier = createVerifier({ registry, logger, baseUrls: fake.baseUrls(), allowInsecure: true, timeoutMs: 2000, ...over });
  return { verifier, lines, registry };
}

describe('declarative checks', () => {
  it('live with identity, dead, and the key presented as the issuer expects', async () => {
    const { verifier } = make();
    const good = `ghp_${rand(18)}`;
    const bad = `ghp_${rand(18)}`;
    fake.setKey('github', good);
    const live = await verifier.verify(req(githubDet, good));
    expect(live).toMatchObject({ status: 'live', identity: { login: `user-${good.slice(-4)}`, scopes: 'repo, read:org', expires: '2031-01-01 00:00:00 UTC' } });
    expect(live.checkedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await verifier.verify(req(githubDet, bad))).toMatchObject({ status: 'dead', reason: 'Bad credentials' });
    expect(fake.requests.map((r) => [r.issuer, r.method, r.path, r.headers.authorization])).toEqual([
      ['github', 'GET', '/user', `token ${good}`],
      ['github', 'GET', '/user', `token ${bad}`],
    ]);
  });

  it.each([
    ['5xx', /issuer error: HTTP 503/],
    ['malformed', /unexpected response: HTTP 200/],
    ['redirect', /redirect \(HTTP 302\) not followed/],
  ] as const)('%s is unknown, never dead', async (behaviour, reason) => {
    const { verifier } = make();
    const key = `xoxb-${rand()}`;
    fake.setKey('slack', key, behaviour);
    const v = await verifier.verify(req(slackDet, key));
    expect(v.status).toBe('unknown');
    expect(v.reason).toMatch(reason);
    // The redirect target was never requested.
    expect(fake.requests.map((r) => r.issuer)).toEqual(['slack']);
  });

  it('a stalled issuer times out as unknown', async () => {
    const { verifier } = make({ timeoutMs: 250 });
    const key = `xoxb-${rand()}`;
    fake.setKey('slack', key, 'slow');
    // The fake never answers: only the verifier's own timeout ends this (how soon: bench/suite-timings.ts).
    const v = await verifier.verify(req(slackDet, key));
    expect(v).toMatchObject({ status: 'unknown', reason: 'timeout after 250 ms' });
    expect(fake.requestsFor('slack')).toHaveLength(1);
  });

  it('a network error is unknown, never dead', async () => {
    const { verifier } = make({ baseUrls: { github: await closedPortUrl() } });
    const v = await verifier.verify(req(githubDet, `ghp_${rand(18)}`));
    expect(v.status).toBe('unknown');
    expect(v.reason).toMatch(/^network: ECONNREFUSED/);
  });

  it('without an override, the official host is used (and the test net guard catches it): unknown', async () => {
    const { verifier } = make({ baseUrls: {} });
    const v = await verifier.verify(req(githubDet, `ghp_${rand(18)}`));
    expect(v.status).toBe('unknown');
    expect(v.reason).toMatch(/^network: /);
  });
});

describe('rate limits', () => {
  it('429 is unknown and a long Retry-After stops further sends to that issuer only', async () => {
    const { verifier } = make({ maxPauseMs: 200 });
    const [a, b] = [`xoxb-${rand()}`, `xoxb-${rand()}`];
    fake.setKey('slack', a, '429');
    fake.setKey('slack', b, 'live');
    const gh = `ghp_${rand(18)}`;
    fake.setKey('github', gh);
    expect(await verifier.verify(req(slackDet, a))).toMatchObject({ status: 'unknown', reason: 'rate limited (HTTP 429, retry after 30 s)' });
    const vb = await verifier.verify(req(slackDet, b));
    expect(vb.status).toBe('unknown');
    expect(vb.reason).toMatch(/not sent: slack rate limited/);
    expect(fake.requestsFor('slack')).toHaveLength(1);
    expect((await verifier.verify(req(githubDet, gh))).status).toBe('live');
  });

  it('a short Retry-After pauses the issuer queue, then sends', async () => {
    const { verifier } = make();
    fake.retryAfter = '1';
    const [a, b] = [`xoxb-${rand()}`, `xoxb-${rand()}`];
    fake.setKey('slack', a, '429');
    fake.setKey('slack', b, 'live');
    expect((await verifier.verify(req(slackDet, a))).status).toBe('unknown');
    expect((await verifier.verify(req(slackDet, b))).status).toBe('live');
    const [ra, rb] = fake.requestsFor('slack');
    expect(rb!.at - ra!.at).toBeGreaterThanOrEqual(900);
  });

  it('respects the per-issuer interval cap', async () => {
    const { verifier } = make({ limits: { github: { concurrency: 5, intervalCap: 2, intervalMs: 400 } } });
    const keys = Array.from({ length: 5 }, () => `ghp_${rand(18)}`);
    for (const k of keys) fake.setKey('github', k);
    const vs = await Promise.all(keys.map((k) => verifier.verify(req(githubDet, k))));
    expect(vs.every((v) => v.status === 'live')).toBe(true);
    const at = fake.requestsFor('github').map((r) => r.at).sort((x, y) => x - y);
    // 5 requests at 2 per 400 ms need at least two full intervals.
    expect(at[4]! - at[0]!).toBeGreaterThanOrEqual(700);
  });
});

describe('where a key may go', () => {
  it('each secret reaches only its own issuer route', async () => {
    const { verifier } = make();
    const slackKey = `xoxb-${rand()}`;
    const ghKey = `ghp_${rand(18)}`;
    const tgKey = `12345678:${rand(17)}A`;
    fake.setKey('slack', slackKey);
    fake.setKey('github', ghKey);
    fake.setKey('telegram', tgKey);
    await verifier.verifyAll([req(slackDet, slackKey), req(githubDet, ghKey), req(telegramDet, tgKey)]);
    const owners: Record<string, string> = { [slackKey]: 'slack', [ghKey]: 'github', [tgKey]: 'telegram' };
    expect(fake.requests).toHaveLength(3);
    for (const r of fake.requests) {
      const text = JSON.stringify([r.rawUrl, r.headers, r.body]);
      for (const [secret, issuer] of Object.entries(owners)) {
        if (r.issuer !== issuer) expect(text).not.toContain(secret);
        else expect(text).toContain(secret);
      }
    }
  });

  it('a secret claimed by detectors of two issuers is sent to neither', async () => {
    const { verifier } = make();
    const s = `shared-${rand()}`;
    fake.setKey('slack', s);
    fake.setKey('github', s);
    const out = await verifier.verifyAll([req(slackDet, s), req(githubDet, s)]);
    for (const v of out.values()) expect(v).toMatchObject({ status: 'unknown', reason: 'ambiguous: claimed by gh-token and slack-bot' });
    expect(out.size).toBe(2);
    expect(fake.requests).toHaveLength(0);
  });

  it('a data-derived host must be allowlisted and resolve to a public address', async () => {
    const seen: string[] = [];
    const pins: unknown[] = [];
    const fetchSpy: VerifierOptions['fetch'] = async (url, init, pin) => {
      seen.push(url);
      pins.push(pin);
      return fetch(url, init);
    };
    const lookups: Record<string, string> = { 'loop.myshopify.com': '127.0.0.1', 'meta.myshopify.com': '169.254.169.254', 'v6.myshopify.com': '::ffff:10.0.0.1' };
    const { verifier } = make({ baseUrls: {}, allowInsecure: false, fetch: fetchSpy, lookup: async (h) => [{ address: lookups[h] ?? '93.184.216.34', family: 4 }] });
    const key = `shpat_${rand()}`;
    const v = async (shop: string) => verifier.verify({ ...req(shopifyDet, key, { shop }), fingerprint: rand() });
    expect((await v('evil.example.com')).reason).toBe('refused: host evil.example.com is not in allowed_hosts');
    expect((await v('loop.myshopify.com')).reason).toBe('refused: host loop.myshopify.com resolves to non-public address 127.0.0.1');
    expect((await v('meta.myshopify.com')).reason).toMatch(/non-public address 169\.254\.169\.254/);
    expect((await v('v6.myshopify.com')).reason).toMatch(/non-public address ::ffff:10\.0\.0\.1/);
    expect((await v('a.myshopify.com@evil.com')).reason).toMatch(/^refused: value from scanned data/);
    expect((await v('evil.com/.myshopify.com')).reason).toMatch(/^refused: value from scanned data/);
    expect((await verifier.verify({ ...req(shopifyDet, key), fingerprint: rand() })).reason).toBe('missing part shop');
    expect(seen).toEqual([]);
    // A public address passes the host rules and goes to the network (where the test guard stops it).
    const pub = await v('shop.myshopify.com');
    expect(pub.reason).toMatch(/^network: /);
    expect(seen).toEqual(['https://shop.myshopify.com/admin/oauth/access_scopes.json']);
    // ...to the address that was checked, not to a second DNS answer
    expect(pins).toEqual([{ address: '93.184.216.34', family: 4 }]);
  });

  it('an operator base URL is used as given when https, or http on loopback with allowInsecure', async () => {
    const { verifier } = make({ baseUrls: { shopify: fake.baseUrl('shopify') } });
    const key = `shpat_${rand()}`;
    fake.setKey('shopify', key);
    expect((await verifier.verify(req(shopifyDet, key, { shop: 'loop.myshopify.com' }))).status).toBe('live');
    expect(() => make({ baseUrls: { shopify: fake.baseUrl('shopify') }, allowInsecure: false })).toThrow(/issuers\.shopify\.baseUrl: plain http to a loopback host needs --allow-insecure-issuers/);
    expect(() => make({ baseUrls: { shopify: 'http://shop.example.com' } })).toThrow(/plain http is refused/);
    expect(() => make({ baseUrls: { shopify: 'https://user:pw@shop.example.com' } })).toThrow(/credentials in the URL are refused/);
    expect(() => make({ baseUrls: { shopify: 'https://shop.example.com/admin' } })).not.toThrow();
  });

  it('an official base URL that is not https is refused', async () => {
    const plain = det('plain', 'plain', { kind: 'http', issuer: 'plain', base_url: 'http://api.example.com', path: '/', live: [{ status: [200] }], dead: [{ status: [401] }] });
    const { verifier } = make({ baseUrls: {} });
    expect(await verifier.verify(req(plain, `k-${rand()}`))).toMatchObject({ status: 'unknown', reason: 'refused: official base URL is not https' });
  });

  it('values from scanned data cannot leave the path', async () => {
    const hook = det('hook', 'slack', {
      kind: 'http', issuer: 'slack', base_url: 'https://hooks.slack.com', method: 'POST', path: '{{parts.webhook_path}}', body: 'x',
      live: [{ status: [200] }], dead: [{ status: [404] }],
    });
    const { verifier } = make();
    const r = (p: string) => verifier.verify({ ...req(hook, `k-${rand()}`, { webhook_path: p }), fingerprint: rand() });
    expect((await r('/services/../../github/user')).reason).toBe('refused: dot segment in path');
    await r('@evil.com/x?y#z');
    expect(fake.requests.map((x) => x.rawUrl)).toEqual(['/slack/@evil.com/x%3Fy%23z']);
  });
});

describe('side effects, cache, scrubbing', () => {
  const unsafeDet = det('pypi-token', 'pypi', {
    kind: 'http', issuer: 'pypi', base_url: 'https://upload.pypi.org', method: 'POST', path: '/legacy/',
    headers: { Authorization: 'token {{secret}}' }, body: 'no digest',
    live: [{ status: [400], body_contains: 'Include at least one message digest' }], dead: [{ status: [403] }],
    unsafe: 'POSTs to the upload endpoint',
  });

  it('unsafe checks are skipped unless allowed', async () => {
    const key = `pypi-${rand()}`;
    fake.setKey('pypi', key);
    expect(await make().verifier.verify(req(unsafeDet, key))).toMatchObject({ status: 'unknown', reason: 'skipped: side effects (POSTs to the upload endpoint)' });
    expect(fake.requests).toHaveLength(0);
    expect((await make({ allowUnsafe: true }).verifier.verify(req(unsafeDet, key))).status).toBe('live');
  });

  it('caches live/dead per fingerprint for the TTL, never unknown', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const clock = { now: () => new Date(now) };
    const cache = new MemoryVerificationCache(clock);
    const { verifier } = make({ cache, clock, cacheTtlMs: 60_000 });
    const key = `ghp_${rand(18)}`;
    fake.setKey('github', key);
    expect((await verifier.verify(req(githubDet, key))).status).toBe('live');
    expect((await verifier.verify(req(githubDet, key))).status).toBe('live');
    expect(fake.requests).toHaveLength(1);
    now += 61_000;
    await verifier.verify(req(githubDet, key));
    expect(fake.requests).toHaveLength(2);
    const flaky = `xoxb-${rand()}`;
    fake.setKey('slack', flaky, '5xx');
    await verifier.verify(req(slackDet, flaky));
    fake.setKey('slack', flaky, 'live');
    expect((await verifier.verify(req(slackDet, flaky))).status).toBe('live');
  });

  it('no plaintext secret in logs, reasons or identities', async () => {
    const { verifier, lines } = make({ timeoutMs: 300 });
    const secrets = [`ghp_${rand(18)}`, `xoxb-${rand()}`, `12345678:${rand(17)}B`, `67891234:${rand(17)}C`];
    fake.setKey('github', secrets[0]!, 'live');
    fake.setKey('slack', secrets[1]!, 'slow');
    fake.setKey('telegram', secrets[2]!, 'live');
    const results = await verifier.verifyAll([req(githubDet, secrets[0]!), req(slackDet, secrets[1]!), req(telegramDet, secrets[2]!)]);
    // A URL that carries the key (Telegram) failing at the network layer.
    const down = make({ baseUrls: { telegram: await closedPortUrl() } });
    const d = await down.verifier.verify(req(telegramDet, secrets[3]!));
    const bad = await verifier.verify(req(det('bad-pem', 'github', { kind: 'code', issuer: 'github', verifier: 'github-app' }), `-----BEGIN RSA PRIVATE KEY-----\n${rand(40)}\n-----END RSA PRIVATE KEY-----`, { app_id: '123' }));
    expect(bad.status).toBe('unknown');
    const text = JSON.stringify([[...results.values()], d, bad, lines, down.lines]);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const s of secrets) expect(text).not.toContain(s);
    for (const s of secrets) expect(text).not.toContain(s.slice(4, 20));
  });

  it('verifyFindings (the use case) sends each finding to its detector\'s issuer and records the verdicts; onlyLive filters', async () => {
    const { verifier } = make();
    const [a, b, c] = [`ghp_${rand(18)}`, `ghp_${rand(18)}`, `ghp_${rand(18)}`];
    fake.setKey('github', a);
    const finding = (secret: string, detector = 'gh-token'): RawFinding => ({
      detector,
      name: 'x',
      provider: 'github',
      severity: 'high',
      confidence: 'medium',
      fingerprint: `fp-${detector}-${secret}`,
      redacted: '…',
      locations: [],
      secret,
      parts: {},
    });
    const catalog = { detectors: [githubDet], byId: new Map([[githubDet.def.id, githubDet]]), providers: new Map() };
    // a detector the catalog does not hold: nothing says where its key belongs, so it is not sent
    const out = [finding(a), finding(b), finding(c, 'not-in-catalog')];
    await verifyFindings(out, findingsVerifier(verifier, catalog));
    expect(out.map((f) => f.verification?.status)).toEqual(['live', 'dead', undefined]);
    // a key its issuer accepted is high confidence; the others keep theirs
    expect(out.map((f) => f.confidence)).toEqual(['high', 'medium', 'medium']);
    expect(fake.requests).toHaveLength(2);
    expect(onlyLive(out).map((f) => f.fingerprint)).toEqual([`fp-gh-token-${a}`]);
  });

  it('tries each companion set for one fingerprint: live wins, dead only when all are dead', async () => {
    const pair = det('twilio-key', 'twilio', {
      kind: 'http', issuer: 'twilio', base_url: 'https://verify.twilio.com', path: '/v2/Services',
      basic: ['{{parts.account_sid}}', '{{secret}}'], live: [{ status: [200] }], dead: [{ status: [401, 403] }],
    });
    const { verifier } = make();
    const token = rand(16);
    fake.setKey('twilio', token);
    const sidA = `AC${rand(16)}`;
    const r = (sid: string) => ({ ...req(pair, token, { account_sid: sid }), fingerprint: 'tw' });
    const out = await verifier.verifyAll([r('not-a-sid-value'), r(sidA)]);
    expect(out.get('tw')?.status).toBe('live');
    expect(fake.requests).toHaveLength(2);
  });
});

describe('code verifiers', () => {
  const awsDet = det('aws-key-id', 'aws', { kind: 'code', issuer: 'aws', verifier: 'aws-sts' });
  const azureDet = det('azure-key', 'azure', { kind: 'code', issuer: 'azure', verifier: 'azure-storage' });
  const gcpDet = det('gcp-sa', 'google', { kind: 'code', issuer: 'google', verifier: 'gcp-sa' });
  const appDet = det('gh-app', 'github', { kind: 'code', issuer: 'github', verifier: 'github-app' });
  const b32 = () => Array.from(randomBytes(16), (x) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[x % 32]).join('');
  const awsSecret = () => randomBytes(30).toString('base64');
  const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });

  it('decodes the AWS account from a key id offline', () => {
    // Key ids are built here from an account id (AWS's documented layout: base32 after the 4-char prefix, the
    // account in bits 7..46 of the first 48), so no credential-looking literal is committed.
    const keyIdFor = (prefix: string, account: string, low: bigint) => {
      const bits = ((BigInt(account) << 7n) << 32n) | low;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
      let out = '';
      for (let i = 15; i >= 0; i--) out += alphabet[Number((bits >> BigInt(i * 5)) & 31n)];
      return prefix + out;
    };
    for (const [account, low] of [['609629065308', 0x5a5a5a5an], ['000000000001', 0n], ['999999999999', 0xffffffffn]] as const) {
      expect(accountFromKeyId(keyIdFor('ASIA', account, low))).toBe(account);
      expect(accountFromKeyId(keyIdFor('AKIA', account, low))).toBe(account);
    }
  });

  it('aws-sts: SigV4 recomputed by the fake; live with account/arn, dead on bad secret or unknown id', async () => {
    const { verifier } = make();
    const id = `AKIA${b32()}`;
    const secret = awsSecret();
    fake.aws.set(id, secret);
    fake.awsIdentity.set(id, { account: '111122223333', arn: 'arn:aws:iam::111122223333:user/deploy' });
    fake.setKey('aws', id);
    const live = await verifier.verify(req(awsDet, id, { secret_access_key: secret }));
    expect(live).toMatchObject({ status: 'live', identity: { account: '111122223333', arn: 'arn:aws:iam::111122223333:user/deploy' } });
    // The pair in the other orientation (secret key found, key id as companion) works too.
    expect((await verifier.verify({ ...req(awsDet, secret, { access_key_id: id }), fingerprint: rand() })).status).toBe('live');
    expect(await verifier.verify(req(awsDet, id, { secret_access_key: awsSecret() }))).toMatchObject({ status: 'dead', reason: 'STS: SignatureDoesNotMatch' });
    expect(await verifier.verify(req(awsDet, `AKIA${b32()}`, { secret_access_key: secret }))).toMatchObject({ status: 'dead', reason: 'STS: InvalidClientTokenId' });
    expect(await verifier.verify(req(awsDet, id))).toMatchObject({ status: 'unknown' });
    fake.setKey('aws', id, '429');
    expect((await verifier.verify({ ...req(awsDet, id, { secret_access_key: secret }), fingerprint: rand() })).reason).toMatch(/rate limited/);
    expect(fake.requestsFor('aws').every((r) => r.method === 'POST' && r.body === 'Action=GetCallerIdentity&Version=2011-06-15')).toBe(true);
    expect(JSON.stringify(fake.requests)).not.toContain(secret);
  });

  it('azure-storage: SharedKey checked by the fake; live, dead on wrong key, unknown on 5xx', async () => {
    const { verifier } = make();
    const key = randomBytes(64).toString('base64');
    fake.azure.set('acmestore', key);
    fake.setKey('azure', 'acmestore');
    expect(await verifier.verify(req(azureDet, key, { account_name: 'acmestore' }))).toMatchObject({ status: 'live', identity: { account: 'acmestore' } });
    expect(await verifier.verify(req(azureDet, randomBytes(64).toString('base64'), { account_name: 'acmestore' }))).toMatchObject({ status: 'dead' });
    fake.setKey('azure', 'acmestore', '5xx');
    expect((await verifier.verify({ ...req(azureDet, key, { account_name: 'acmestore' }), fingerprint: rand() })).status).toBe('unknown');
  });

  it('azure-storage without override builds the account host and refuses non-public DNS', async () => {
    const { verifier } = make({ baseUrls: {}, lookup: async () => [{ address: '10.1.2.3', family: 4 }] });
    const v = await verifier.verify(req(azureDet, randomBytes(64).toString('base64'), { account_name: 'acmestore' }));
    expect(v.reason).toBe('refused: host acmestore.blob.core.windows.net resolves to non-public address 10.1.2.3');
  });

  it('gcp-sa: JWT exchange at the pinned token host, ignoring token_uri; dead on a wrong key', async () => {
    const { verifier } = make();
    const { publicKey, privateKey } = rsa();
    const email = `svc-${rand(4)}@proj.iam.gserviceaccount.com`;
    fake.gcp.set(email, publicKey);
    fake.setKey('google', email);
    const file = JSON.stringify({ type: 'service_account', client_email: email, private_key: privateKey, private_key_id: rand(20), token_uri: `${fake.url}/stripe/steal` });
    expect(await verifier.verify(req(gcpDet, file))).toMatchObject({ status: 'live', identity: { client_email: email } });
    expect(await verifier.verify(req(gcpDet, rsa().privateKey, { client_email: email }))).toMatchObject({ status: 'dead', reason: expect.stringMatching(/invalid_grant.*Signature/) });
    expect(fake.requests.map((r) => `${r.issuer} ${r.method} ${r.path}`)).toEqual(['google POST /token', 'google POST /token']);
    fake.setKey('google', email, 'slow');
    const slow = make({ timeoutMs: 200 });
    expect(await slow.verifier.verify({ ...req(gcpDet, file), fingerprint: rand() })).toMatchObject({ status: 'unknown', reason: 'timeout after 200 ms' });
  });

  it('github-app: App JWT on GET /app; live with slug, dead with another key, unknown without app id', async () => {
    const { verifier } = make();
    const { publicKey, privateKey } = rsa();
    fake.githubApps.set('4242', publicKey);
    fake.setKey('github', '4242');
    expect(await verifier.verify(req(appDet, privateKey, { app_id: '4242' }))).toMatchObject({ status: 'live', identity: { app: 'app-4242', owner: 'acme', app_id: '4242' } });
    expect((await verifier.verify(req(appDet, rsa().privateKey, { app_id: '4242' }))).status).toBe('dead');
    expect(await verifier.verify({ ...req(appDet, privateKey), fingerprint: rand() })).toMatchObject({ status: 'unknown', reason: 'missing part app_id' });
    expect(fake.requests.every((r) => r.path === '/app' && /^Bearer ey/.test(String(r.headers.authorization)))).toBe(true);
  });
});

describe('address rules', () => {
  it.each([
    ['127.0.0.1', true], ['10.2.3.4', true], ['172.31.0.1', true], ['192.168.1.1', true], ['169.254.169.254', true], ['100.64.0.1', true],
    ['0.0.0.0', true], ['::1', true], ['fe80::1', true], ['fd00::1', true], ['::ffff:127.0.0.1', true], ['::ffff:7f00:1', true],
    ['93.184.216.34', false], ['2606:4700::1111', false], ['::ffff:8.8.8.8', false],
  ] as const)('%s non-public=%s', (ip, expected) => {
    expect(isNonPublicAddress(ip)).toBe(expected);
  });
  it('host globs', () => {
    expect(hostMatches('a.myshopify.com', ['*.myshopify.com'])).toBe(true);
    expect(hostMatches('myshopify.com', ['*.myshopify.com'])).toBe(false);
    expect(hostMatches('evilmyshopify.com', ['*.myshopify.com'])).toBe(false);
    expect(hostMatches('api.datadoghq.eu', ['api.datadoghq.eu'])).toBe(true);
  });
});
