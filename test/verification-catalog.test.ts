// Generated from detectors/*.yaml: every verify block is checked statically and run live / dead / unknown
// (429, 5xx, stall past the timeout, redirect, junk body) against the loopback fake issuer. A new block is covered
// without editing this file; an issuer with a hand-written fake must have an endpoint for the block's route.
import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Match } from '../src/core/model.js';
import { createEngine } from '../src/detection/engine.js';
import { defaultDetectorsDir, loadCatalog } from '../src/detection/load.js';
import type { LoadedDetector } from '../src/detection/types.js';
import { SecretRegistry } from '../src/util/redact.js';
import { codeVerifiers } from '../src/verification/issuers/index.js';
import type { HttpVerify } from '../src/verification/spec.js';
import { encodePathValue, placeholders, render } from '../src/verification/template.js';
import { createVerifier } from '../src/verification/verify.js';
import { ENDPOINTS, FakeIssuer, type Behaviour } from './helpers/fake-issuer.js';

const catalog = loadCatalog(defaultDetectorsDir());
const engine = createEngine(catalog);
const verifiable = catalog.detectors.filter((d) => d.def.verify);

let fake: FakeIssuer;
beforeAll(async () => {
  fake = await FakeIssuer.start();
});
afterAll(async () => fake.close());

function templatesOf(spec: HttpVerify): string[] {
  return [spec.base_url, spec.path, ...Object.values(spec.headers), ...(spec.basic ?? []), ...(spec.body !== undefined ? [spec.body] : [])];
}

/** Companion values as the engine finds them in the detector's own examples. */
function sample(d: LoadedDetector): Match | undefined {
  let best: Match | undefined;
  for (const ex of d.def.examples) {
    const text = typeof ex === 'string' ? ex : ex.text;
    for (const m of engine.scan(Buffer.from(text), { path: 'config.env' })) {
      if (m.detectorId !== d.def.id) continue;
      if (!best || Object.keys(m.parts).length > Object.keys(best.parts).length) best = m;
    }
  }
  return best;
}

/** Parts the block needs: from the examples, else a synthetic value (enough where the base URL is overridden). */
function partsFor(d: LoadedDetector, s: Match | undefined): Record<string, string> {
  const spec = d.def.verify;
  if (spec?.kind !== 'http') return {};
  const parts: Record<string, string> = {};
  for (const p of new Set(templatesOf(spec).flatMap((t) => placeholders(t).parts))) parts[p] = s?.parts[p] ?? `${p}${randomBytes(8).toString('hex')}`;
  return parts;
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const b32 = (n: number) => Array.from(randomBytes(n), (x) => B32[x % 32]).join('');
const rsa = () => promisify(generateKeyPair)('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });

interface Fixture {
  secret: string;
  parts: Record<string, string>;
  /** What the fake reads as the credential (setKey id). */
  credential: string;
  /** Set when the verifier must refuse to send at all. */
  neverSends?: RegExp;
}

/** Fresh key material for a code verifier, registered with the fake. */
async function codeFixture(d: LoadedDetector, verifier: string, s: Match | undefined): Promise<Fixture> {
  const parts = { ...(s?.parts ?? {}) };
  switch (verifier) {
    case 'aws-sts': {
      const ex = [s?.secret ?? '', ...Object.values(parts)].find((v) => /^(AKIA|ASIA|ABIA|ACCA)/.test(v));
      const id = (ex?.slice(0, 4) ?? 'AKIA') + b32(16);
      const key = randomBytes(30).toString('base64');
      fake.aws.set(id, key);
      const secretIsId = d.def.companions.some((c) => /secret/.test(c.name));
      const idName = d.def.companions.find((c) => /key_id|access_key/.test(c.name) && !/secret/.test(c.name))?.name ?? 'access_key_id';
      const secretName = d.def.companions.find((c) => /secret/.test(c.name))?.name ?? 'secret_access_key';
      const out = secretIsId ? { secret: id, parts: { ...parts, [secretName]: key } } : { secret: key, parts: { ...parts, [idName]: id } };
      return { ...out, credential: id, ...(id.startsWith('ASIA') ? { neverSends: /temporary key/ } : {}) };
    }
    case 'azure-storage': {
      const account = parts.account_name ?? `acct${b32(6).toLowerCase()}`;
      const key = randomBytes(64).toString('base64');
      fake.azure.set(account, key);
      return { secret: key, parts: { ...parts, account_name: account }, credential: account };
    }
    case 'gcp-sa': {
      const { publicKey, privateKey } = await rsa();
      const email = parts.client_email ?? `svc-${b32(4).toLowerCase()}@p.iam.gserviceaccount.com`;
      fake.gcp.set(email, publicKey);
      // Found inside JSON, the PEM keeps its escaped newlines.
      const secret = s?.secret.includes('\\n') ? privateKey.replace(/\n/g, '\\n') : privateKey;
      return { secret, parts: { ...parts, client_email: email }, credential: email };
    }
    case 'github-app': {
      const { publicKey, privateKey } = await rsa();
      const appId = String(100000 + (randomBytes(3).readUIntBE(0, 3) % 900000));
      fake.githubApps.set(appId, publicKey);
      return { secret: privateKey, parts: { ...parts, app_id: appId }, credential: appId };
    }
    default:
      throw new Error(`no test fixture for code verifier ${verifier}: add one to test/verification-catalog.test.ts`);
  }
}

describe('verify blocks (static)', () => {
  it('every code verifier named by a detector is registered, and every registered one is used', () => {
    const used = new Set(verifiable.flatMap((d) => (d.def.verify?.kind === 'code' ? [d.def.verify.verifier] : [])));
    expect([...used].filter((n) => !codeVerifiers.has(n))).toEqual([]);
    expect([...codeVerifiers.keys()].filter((n) => !used.has(n))).toEqual([]);
  });

  it('http blocks: https official hosts, allowlists for data-derived hosts, known placeholders and companions', () => {
    const problems: string[] = [];
    for (const d of verifiable) {
      const v = d.def.verify!;
      const id = d.def.id;
      const companions = new Set(d.def.companions.map((c) => c.name));
      if (v.kind === 'code') {
        if (v.base_url && !v.base_url.startsWith('https://')) problems.push(`${id}: base_url is not https`);
        continue;
      }
      const base = placeholders(v.base_url);
      if (base.secret) problems.push(`${id}: base_url contains the secret`);
      if (base.parts.length === 0 && !v.base_url.startsWith('https://')) problems.push(`${id}: base_url is not https`);
      if (base.parts.length > 0 && !v.allowed_hosts?.length) problems.push(`${id}: data-derived base_url without allowed_hosts`);
      if (base.parts.length > 0 && !/^https:\/\/[^/]*\{\{/.test(v.base_url)) problems.push(`${id}: base_url must be https with the placeholder in the host`);
      for (const t of templatesOf(v)) {
        const ph = placeholders(t);
        for (const bad of ph.invalid) problems.push(`${id}: unknown placeholder ${bad}`);
        for (const p of ph.parts) if (!companions.has(p)) problems.push(`${id}: {{parts.${p}}} is not a companion of the detector`);
      }
      for (const rule of v.dead)
        if (rule.status.some((s) => s >= 200 && s < 300 && s !== 203) && !rule.body_contains && !rule.json)
          problems.push(`${id}: a dead rule matches a 2xx by status alone`);
      for (const rule of [...v.live, ...v.dead])
        if (rule.status.some((s) => s === 429 || (s >= 300 && s < 400) || (s >= 500 && !rule.body_contains && !rule.json)))
          problems.push(`${id}: rules may not claim 3xx/429, nor 5xx without a body condition (those are unknown)`);
    }
    expect(problems).toEqual([]);
  });

  it('hand-written fakes serve every route their issuer is verified on', () => {
    const missing: string[] = [];
    for (const d of verifiable) {
      const v = d.def.verify!;
      if (v.kind !== 'http' || !ENDPOINTS[v.issuer]) continue;
      const path = render(v.path, { secret: `kl${'0'.repeat(36)}`, parts: partsFor(d, sample(d)) }, encodePathValue);
      if (!path.ok || !FakeIssuer.knows(v.issuer, v.method, path.value)) missing.push(`${d.def.id}: ${v.issuer} ${v.method} ${v.path}`);
    }
    expect(missing).toEqual([]);
  });
});

const CASES: Array<[Behaviour, RegExp | 'live' | 'dead' | 'malformed']> = [
  ['live', 'live'],
  ['dead', 'dead'],
  ['429', /^rate limited \(HTTP 429/],
  ['5xx', /^issuer error: HTTP 503/],
  ['slow', /^timeout after/],
  ['redirect', /^redirect \(HTTP 302\)/],
  ['malformed', 'malformed'],
];

describe.concurrent('verify blocks (against the fake issuer)', () => {
  it.each(verifiable.map((d) => [d.def.id, d] as const))('%s: live / dead / unknown', async (_id, d) => {
    const spec = d.def.verify!;
    const issuer = spec.issuer;
    const s = sample(d);
    let fx: Fixture;
    if (spec.kind === 'code') fx = await codeFixture(d, spec.verifier, s);
    else {
      if (!ENDPOINTS[issuer]) fake.addEcho(issuer, spec);
      const parts = partsFor(d, s);
      const usesSecret = templatesOf(spec).some((t) => placeholders(t).secret);
      const secret = `kl${randomBytes(18).toString('hex')}`;
      // Webhook-style blocks send a companion (the URL path), not the secret.
      const credential = usesSecret ? secret : parts[placeholders(spec.path).parts[0] ?? ''] ?? secret;
      fx = { secret, parts, credential };
    }
    const statusOnly200 = spec.kind === 'http' && spec.live.some((r) => r.status.includes(200) && !r.body_contains && !r.json);
    const before = fake.requests.length;
    const mine = () => fake.requests.slice(before).filter((r) => JSON.stringify([decodeURIComponent(r.rawUrl), r.headers, r.body]).includes(fx.credential) || r.issuer === issuer);
    for (const [behaviour, expected] of CASES) {
      const verifier = createVerifier({
        registry: new SecretRegistry(),
        baseUrls: { ...fake.baseUrls(), [issuer]: fake.baseUrl(issuer) },
        // Only the stall case needs a short timeout; a loaded 2-core runner can be slow to answer the rest.
        timeoutMs: behaviour === 'slow' ? 150 : 10_000,
        allowUnsafe: true,
        maxPauseMs: 0,
      });
      fake.setKey(issuer, fx.credential, behaviour);
      const v = await verifier.verify({ detector: d, secret: fx.secret, parts: fx.parts, fingerprint: `${d.def.id}-${behaviour}` });
      const label = `${d.def.id} [${behaviour}]: ${v.status} (${v.reason})`;
      if (fx.neverSends) {
        expect(v.status, label).toBe('unknown');
        expect(v.reason, label).toMatch(fx.neverSends);
        continue;
      }
      if (expected === 'live' || expected === 'dead') expect(`${label}`).toBe(`${d.def.id} [${behaviour}]: ${expected} (${v.reason})`);
      else if (expected === 'malformed') expect(v.status, label).toBe(statusOnly200 ? 'live' : 'unknown');
      else {
        expect(v.status, label).toBe('unknown');
        expect(v.reason, label).toMatch(expected);
      }
    }
    if (fx.neverSends) return;
    // Every request that carried this key went to this issuer's route.
    const sent = mine();
    expect(sent.length).toBeGreaterThanOrEqual(CASES.length);
    for (const r of sent.filter((x) => JSON.stringify([decodeURIComponent(x.rawUrl), x.headers, x.body]).includes(fx.credential))) expect(r.issuer).toBe(issuer);
  });

  it('unsafe blocks send nothing without --verify-unsafe', async () => {
    const unsafe = verifiable.filter((d) => d.def.verify?.unsafe);
    const before = fake.requests.length;
    const verifier = createVerifier({ registry: new SecretRegistry(), baseUrls: fake.baseUrls() });
    for (const d of unsafe) {
      const v = await verifier.verify({ detector: d, secret: `kl${randomBytes(18).toString('hex')}`, parts: {}, fingerprint: `unsafe-${d.def.id}` });
      expect(v.reason).toMatch(/^skipped: side effects \(/);
    }
    expect(fake.requests.length).toBe(before);
  });
});

it('catalog has verify blocks to test', () => {
  expect(verifiable.length).toBeGreaterThan(20);
});
