// Generated from detectors/*.yaml: every verify block is checked statically, then run against its issuer as the
// issuer's API reference documents it (detectors/verify-docs/<issuer>.yaml): each documented answer, plus
// undocumented statuses, junk, 429 and 5xx, each served by its own loopback server so request counts are exact.
// A block whose issuer has no docs file, or whose route the docs file does not document, fails here.
import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Match } from '../src/core/model.js';
import { createEngine } from '../src/detection/engine.js';
import { defaultDetectorsDir, loadCatalog } from '../src/detection/load.js';
import type { LoadedDetector } from '../src/detection/types.js';
import { SecretRegistry } from '../src/util/redact.js';
import { codeVerifiers } from '../src/verification/issuers/index.js';
import type { HttpVerify } from '../src/core/verify-spec.js';
import { encodePathValue, placeholders, render } from '../src/verification/template.js';
import { createVerifier } from '../src/verification/verify.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { DocumentedIssuer, loadVerifyDocs, onRoute, verifyDocsTable, type Endpoint, type ServedResponse, type VerifyDocs } from './helpers/documented-issuer.js';
import { ENDPOINTS, FakeIssuer, type KeyMaterial } from '../testkit/fake-issuer.js';

const catalog = loadCatalog(defaultDetectorsDir());
const engine = createEngine(catalog);
const verifiable = catalog.detectors.filter((d) => d.def.verify);

const docs = loadVerifyDocs();
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
  /** What the issuer reads as the key: the token itself, the AWS key id, the Azure account, the GCP e-mail, the App id. */
  credential: string;
  /** Set when the verifier must refuse to send at all. */
  neverSends?: RegExp;
}

/** Fresh key material for a code verifier, registered with the issuer's key store. */
async function codeFixture(d: LoadedDetector, verifier: string, s: Match | undefined, fake: KeyMaterial): Promise<Fixture> {
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

/** Key material held by one test's issuer (the signed schemes check against it). */
function keyMaterial(): KeyMaterial {
  return { aws: new Map(), azure: new Map(), gcp: new Map(), githubApps: new Map() };
}

/** The route a block calls, as documented; undefined when the docs file does not document it. */
function documentedRoute(docs: VerifyDocs, d: LoadedDetector, fx: Fixture): Endpoint | undefined {
  const spec = d.def.verify!;
  if (spec.kind === 'code') return docs.endpoints.find((e) => e.credential.some((c) => c.scheme === SCHEME_OF[spec.verifier]));
  const p = render(spec.path, { secret: fx.secret, parts: fx.parts }, encodePathValue);
  if (!p.ok) return undefined;
  return docs.endpoints.find((e) => onRoute(e, spec.method, p.value, fx.credential));
}

const SCHEME_OF: Record<string, string> = { 'aws-sts': 'aws-sigv4', 'azure-storage': 'azure-sharedkey', 'gcp-sa': 'google-jwt-bearer', 'github-app': 'github-app-jwt' };

interface Case {
  label: string;
  response: ServedResponse;
  /** 'not dead' where either live or unknown is a fair reading (a 200 page that is not the documented body). */
  expect: 'live' | 'dead' | 'unknown' | 'not dead';
}

const UNDOCUMENTED = { message: 'keyloop fake: an answer this reference does not document' };

/** The documented answers, then what every issuer can send besides: other statuses, junk, a rate limit, an outage. */
function casesFor(e: Endpoint): Case[] {
  const out: Case[] = e.responses.map((r, i) => ({ label: `${r.case} #${i} (HTTP ${r.status})`, response: r, expect: r.means }));
  const documented = new Set(e.responses.map((r) => r.status));
  for (const status of [400, 401, 403, 404]) if (!documented.has(status)) out.push({ label: `undocumented HTTP ${status}`, response: { status, body: UNDOCUMENTED }, expect: 'unknown' });
  out.push({ label: 'HTML page with HTTP 200', response: { status: 200, headers: { 'content-type': 'text/html' }, body: '<html><body>maintenance</body></html>' }, expect: 'not dead' });
  if (!e.responses.some((r) => r.case === 'rate-limit')) out.push({ label: 'HTTP 429', response: { status: 429, headers: { 'retry-after': '1' }, body: UNDOCUMENTED }, expect: 'unknown' });
  if (!e.responses.some((r) => r.case === 'outage')) out.push({ label: 'HTTP 503', response: { status: 503, headers: { 'content-type': 'text/html' }, body: '<html>503 Service Unavailable</html>' }, expect: 'unknown' });
  return out;
}

describe('verify blocks against documented issuers (registry)', () => {
  it('every issuer with a verify block has a docs file, and every docs file an issuer', () => {
    const issuers = new Set(verifiable.map((d) => d.def.verify!.issuer));
    expect([...issuers].filter((i) => !docs.has(i)).sort(), 'add detectors/verify-docs/<issuer>.yaml').toEqual([]);
    expect([...docs.keys()].filter((i) => !issuers.has(i)).sort()).toEqual([]);
  });

  it('every docs file is sourced: each route has a valid and an invalid-key answer, a dead answer cites the issuer', () => {
    const problems: string[] = [];
    for (const [issuer, doc] of docs) {
      const used = new Set<string>();
      for (const e of doc.endpoints) {
        e.credential_source.forEach((s) => used.add(s));
        if (!e.responses.some((r) => r.case === 'valid' && r.means === 'live')) problems.push(`${issuer} ${e.request}: no valid (live) answer`);
        if (!e.responses.some((r) => ['invalid', 'revoked', 'expired', 'malformed'].includes(r.case))) problems.push(`${issuer} ${e.request}: no invalid-key answer`);
        for (const r of e.responses) {
          r.source.forEach((s) => used.add(s));
          if (r.means === 'dead' && !r.source.some((s) => doc.references[s]!.kind !== 'third-party'))
            problems.push(`${issuer} ${e.request} ${r.case}: dead on third-party evidence only`);
          if (r.means === 'dead' && !['invalid', 'revoked', 'expired', 'malformed'].includes(r.case)) problems.push(`${issuer} ${e.request}: a ${r.case} answer cannot mean dead`);
          if (r.means !== 'unknown' && (r.status === 429 || r.status >= 500) && !(r.status >= 500 && r.body !== undefined)) problems.push(`${issuer} ${e.request} ${r.case}: 429/5xx means unknown`);
        }
      }
      for (const ref of Object.keys(doc.references)) if (!used.has(ref)) problems.push(`${issuer}: reference ${ref} is not cited`);
    }
    expect(problems).toEqual([]);
  });

  it('README lists every documented issuer (KEYLOOP_UPDATE_README=1 rewrites the table)', () => {
    const path = new URL('../README.md', import.meta.url);
    const readme = readFileSync(path, 'utf8');
    const m = /(<!-- verify-docs:table -->\n)([\s\S]*?)(\n<!-- \/verify-docs:table -->)/.exec(readme);
    expect(m, 'README.md needs the verify-docs:table markers').not.toBeNull();
    const table = verifyDocsTable(docs);
    if (process.env.KEYLOOP_UPDATE_README === '1' && m![2] !== table) writeFileSync(path, readme.replace(m![0], m![1] + table + m![3]));
    else expect(m![2]).toBe(table);
  });
});

describe.concurrent('verify blocks against documented issuers', () => {
  it.each(verifiable.map((d) => [d.def.id, d] as const))('%s', async (id, d) => {
    const spec = d.def.verify!;
    const doc = docs.get(spec.issuer);
    if (!doc) throw new Error(`${id}: no detectors/verify-docs/${spec.issuer}.yaml`);
    const keys = keyMaterial();
    const s = sample(d);
    let fx: Fixture;
    if (spec.kind === 'code') fx = await codeFixture(d, spec.verifier, s, keys);
    else {
      const secret = `kl${randomBytes(18).toString('hex')}`;
      fx = { secret, parts: partsFor(d, s), credential: secret };
    }
    const route = documentedRoute(doc, d, fx);
    if (!route) throw new Error(`${id}: ${spec.kind === 'http' ? `${spec.method} ${spec.path}` : spec.verifier} is not a route documented in verify-docs/${spec.issuer}.yaml`);
    for (const c of casesFor(route)) {
      const issuer = await DocumentedIssuer.start(route, c.response, fx.credential, keys);
      try {
        const verifier = createVerifier({ registry: new SecretRegistry(), baseUrls: { [spec.issuer]: issuer.url }, allowInsecure: true, allowUnsafe: true, maxPauseMs: 0 });
        const v = await verifier.verify({ detector: d, secret: fx.secret, parts: fx.parts, fingerprint: `${id}-${c.label}` });
        const label = `${id} [${c.label}]: ${v.status} (${v.reason})`;
        if (fx.neverSends) {
          expect(v.status, label).toBe('unknown');
          expect(v.reason, label).toMatch(fx.neverSends);
          expect(issuer.received, label).toEqual([]);
          continue;
        }
        // Exactly one request, on the documented route, carrying the key where the docs put it.
        expect(issuer.received.map((r) => `${r.method} ${r.onRoute ? 'on route' : r.rawUrl} ${r.presented ? 'presented' : 'not presented'}`), label).toEqual([`${route.request.split(' ')[0]} on route presented`]);
        if (c.expect === 'not dead') expect(v.status, label).not.toBe('dead');
        else expect(v.status, label).toBe(c.expect);
      } finally {
        await issuer.close();
      }
    }
  });

  it('unsafe blocks send nothing without --verify-unsafe', async () => {
    const unsafe = verifiable.filter((d) => d.def.verify?.unsafe);
    expect(unsafe.length).toBeGreaterThan(0);
    const fake = await FakeIssuer.start();
    try {
      const baseUrls = Object.fromEntries(unsafe.map((d) => [d.def.verify!.issuer, fake.baseUrl(d.def.verify!.issuer)]));
      const verifier = createVerifier({ registry: new SecretRegistry(), baseUrls, allowInsecure: true });
      for (const d of unsafe) {
        const v = await verifier.verify({ detector: d, secret: `kl${randomBytes(18).toString('hex')}`, parts: {}, fingerprint: `unsafe-${d.def.id}` });
        expect(v.reason).toMatch(/^skipped: side effects \(/);
      }
      expect(fake.requests).toEqual([]);
    } finally {
      await fake.close();
    }
  });
});

it('catalog has verify blocks to test', () => {
  expect(verifiable.length).toBeGreaterThan(20);
});
