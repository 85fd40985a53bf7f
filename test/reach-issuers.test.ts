// Reach of every issuer with a reach block, against the loopback fake issuers (testkit/fake-issuer.ts answers as
// each issuer's API reference documents, from a per-key profile), through the real verifier: what each key can
// do, its level and tags, the resources and counts, and that every call went to its own issuer and was audited.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Reach } from '../src/core/model.js';
import { loadCatalog } from '../src/detection/load.js';
import type { LoadedDetector } from '../src/detection/types.js';
import { codeReachers } from '../src/reach/issuers/index.js';
import { SecretRegistry } from '../src/util/redact.js';
import { encodePathValue, render } from '../src/verification/template.js';
import { createVerifier } from '../src/verification/verify.js';
import { FakeGitHub } from '../testkit/fake-github.js';
import { ENDPOINTS, FakeIssuer, HOST_FAKES } from '../testkit/fake-issuer.js';
import { useFakeIssuer } from './helpers/issuer-fixture.js';
import { generateSample, makePypiToken, rng } from '../testkit/token-gen.js';

const catalog = loadCatalog(join(import.meta.dirname, '..', 'detectors'));
const rand = rng(2122);
const det = (id: string): LoadedDetector => catalog.byId.get(id)!;
const secretOf = (id: string) => generateSample(det(id).def, rand).secret;
const hex = (n: number) => randomBytes(n).toString('hex');

const fx = useFakeIssuer();

async function reachOf(detector: string, secret: string, parts: Record<string, string> = {}): Promise<{ status: string; reason: string; reach: Reach }> {
  const registry = new SecretRegistry();
  const v = createVerifier({ baseUrls: fx.fake.baseUrls(), allowInsecure: true, registry, reach: true, audit: fx.audit });
  const out = await v.verify({ detector: det(detector), secret, parts, fingerprint: hex(32) });
  expect(out.reach, `${detector}: ${out.status} ${out.reason}`).toBeDefined();
  // nothing the issuer sent back and nothing audited holds the secret
  expect(JSON.stringify(out)).not.toContain(secret);
  for (const c of fx.calls) expect(c.url).not.toContain(secret);
  // and every request was recorded before it went out (`sending`, same URL), then with its answer
  expect(fx.sending.map((c) => c.url)).toEqual(fx.calls.map((c) => c.url));
  return { status: out.status, reason: out.reason, reach: out.reach! };
}

/** A live AWS key pair of IAM user `user` (STS and IAM fakes), with what IAM knows about the user. */
function awsUser(user: string, iam: Record<string, unknown>): { id: string; secret: string } {
  const id = secretOf('aws-access-key-id');
  const secret = randomBytes(30).toString('base64');
  fx.fake.aws.set(id, secret);
  fx.fake.setKey('aws', id);
  fx.fake.setKey('aws-iam', id);
  fx.fake.awsIdentity.set(id, { account: '123456789012', arn: `arn:aws:iam::123456789012:user/${user}` });
  fx.fake.setProfile('aws-iam', id, { user, ...iam });
  return { id, secret };
}

/** Which fake issuer each audited call went to (its /<issuer>/ prefix). */
const calledFakes = () => [...new Set(fx.calls.map((c) => new URL(c.url).pathname.split('/')[1]))].sort();

describe('reach per issuer (fake issuers as documented)', () => {
  it('gitlab: scopes, expiry and last use of the token; admin flag of its user', async () => {
    const tok = secretOf('gitlab-pat');
    fx.fake.setKey('gitlab', tok);
    fx.fake.setProfile('gitlab', tok, { username: 'ops', scopes: ['api', 'read_user'], expires: '2030-05-01', lastUsed: '2024-04-01T10:00:00.000Z', admin: true });
    const { reach } = await reachOf('gitlab-pat', tok);
    expect(reach).toMatchObject({ account: 'ops', scopes: ['api', 'read_user'], expiresAt: '2030-05-01T00:00:00.000Z', lastUsedAt: '2024-04-01T10:00:00.000Z', level: 'admin' });
    expect(reach.tags).toContain('instance-admin');
    expect(reach.facts).toMatchObject({ token_name: 'ci token', is_admin: true, bot: false });
  });

  it('gitlab: a read_api token that was never used', async () => {
    const tok = secretOf('gitlab-pat');
    fx.fake.setKey('gitlab', tok);
    fx.fake.setProfile('gitlab', tok, { scopes: ['read_api'], lastUsed: null, expires: null });
    const { reach } = await reachOf('gitlab-pat', tok);
    expect(reach).toMatchObject({ level: 'read', lastUsedAt: null, expiresAt: null });
  });

  it('slack: team, user, bot and scopes from X-OAuth-Scopes; write scopes and message history', async () => {
    const tok = secretOf('slack-bot-token');
    fx.fake.setKey('slack', tok);
    fx.fake.setProfile('slack', tok, { team: 'Acme', user: 'deploybot', botId: 'B0123', scopes: 'chat:write,channels:history,channels:read' });
    const { reach } = await reachOf('slack-bot-token', tok);
    expect(reach).toMatchObject({ account: 'deploybot', scopes: ['chat:write', 'channels:history', 'channels:read'], level: 'write' });
    expect(reach.facts).toMatchObject({ team: 'Acme', team_id: 'T0001', bot_id: 'B0123', enterprise_install: false });
    expect(reach.tags).toEqual(expect.arrayContaining(['pii', 'send-messages', 'write']));
  });

  it('stripe: a live secret key is admin of its account, in production', async () => {
    const key = secretOf('stripe-secret-key');
    fx.fake.setKey('stripe', key);
    fx.fake.setProfile('stripe', key, { account: 'acct_1Example', name: 'Acme Inc' });
    const { reach } = await reachOf('stripe-secret-key', key);
    expect(reach).toMatchObject({ account: 'acct_1Example', level: 'admin' });
    expect(reach.facts).toMatchObject({ business_name: 'Acme Inc', country: 'US', charges_enabled: true, account_readable: true });
    expect(reach.tags).toEqual(expect.arrayContaining(['prod', 'billing', 'pii']));
    // a secret key is not probed resource by resource
    expect(fx.fake.requestsFor('stripe').map((r) => r.path)).toEqual(['/v1/balance', '/v1/account']);
  });

  it('stripe: a restricted key: which resources it may read, probed with GETs only', async () => {
    const key = secretOf('stripe-restricted-key');
    fx.fake.setKey('stripe', key);
    fx.fake.setProfile('stripe', key, { denied: ['account', 'payouts'] });
    const { reach } = await reachOf('stripe-restricted-key', key);
    expect(reach.facts).toMatchObject({ account_readable: false, customers_readable: true, charges_readable: true, payouts_readable: false });
    expect(reach.tags).toEqual(expect.arrayContaining(['prod', 'pii', 'billing']));
    expect(reach.level).toBe('read');
    expect(reach.gaps.join(' ')).toMatch(/write permissions cannot be read/);
    expect(fx.fake.requestsFor('stripe').every((r) => r.method === 'GET')).toBe(true);
  });

  it('npm: the user and every package it can publish', async () => {
    const tok = secretOf('npm-access-token');
    fx.fake.setKey('npm', tok);
    fx.fake.setProfile('npm', tok, { username: 'octo', packages: { 'left-pad': 'write', '@acme/ui': 'read-write', 'some-dep': 'read' } });
    const { reach } = await reachOf('npm-access-token', tok);
    expect(reach).toMatchObject({ account: 'octo', level: 'write' });
    expect(reach.counts).toMatchObject({ package: 3, 'package:write': 2, 'package:read': 1 });
    expect(reach.tags).toContain('publish');
    expect(fx.fake.requestsFor('npm').map((r) => r.path)).toEqual(['/-/whoami', '/-/whoami', '/-/user/octo/package']);
  });

  it('openai: organization and project from the answer headers; an admin key lists projects across pages', async () => {
    const user = secretOf('openai-project-key');
    fx.fake.setKey('openai', user);
    fx.fake.setProfile('openai', user, { org: 'org-acme', project: 'proj_abc' });
    const a = await reachOf('openai-project-key', user);
    expect(a.reach.facts).toMatchObject({ organization: 'org-acme', project: 'proj_abc' });
    expect(a.reach).toMatchObject({ level: 'write' });
    expect(a.reach.tags).toContain('billing');

    const admin = `sk-admin-${'A'.repeat(20)}T3BlbkFJ${'B'.repeat(20)}`;
    expect(det('openai-project-key').def.pattern).toBeDefined();
    fx.fake.setKey('openai', admin);
    fx.fake.setProfile('openai', admin, { org: 'org-acme', projects: Array.from({ length: 130 }, (_, i) => `p${i}`) });
    const b = await reachOf('openai-project-key', admin);
    expect(b.reach.level).toBe('admin');
    expect(b.reach.counts).toMatchObject({ project: 130, 'project:admin': 130 });
    expect(fx.fake.requestsFor('openai').filter((r) => r.path.startsWith('/v1/organization/projects'))).toHaveLength(2);
  });

  it('anthropic: organization of an API key; an admin key administers its workspaces', async () => {
    const key = secretOf('anthropic-api-key');
    fx.fake.setKey('anthropic', key);
    fx.fake.setProfile('anthropic', key, { org: 'org-1234' });
    const a = await reachOf('anthropic-api-key', key);
    expect(a.reach).toMatchObject({ level: 'write', facts: { organization: 'org-1234' } });
    const admin = secretOf('anthropic-admin-key');
    fx.fake.setKey('anthropic', admin);
    fx.fake.setProfile('anthropic', admin, { org: 'org-1234', name: 'Acme', workspaces: ['default', 'prod'] });
    const b = await reachOf('anthropic-admin-key', admin);
    expect(b.reach).toMatchObject({ level: 'admin', account: 'Acme', counts: { workspace: 2, 'workspace:admin': 2 } });
    expect(b.reach.tags).toEqual(expect.arrayContaining(['billing', 'iam']));
  });

  it('sendgrid: scopes (mail.send, api key management) and the plan when readable', async () => {
    const key = secretOf('sendgrid-api-key');
    fx.fake.setKey('sendgrid', key);
    fx.fake.setProfile('sendgrid', key, { scopes: ['mail.send', 'api_keys.create', 'user.account.read', 'marketing.contacts.read'] });
    const { reach } = await reachOf('sendgrid-api-key', key);
    expect(reach).toMatchObject({ level: 'admin', facts: { plan: 'paid', reputation: 99.7 } });
    expect(reach.tags).toEqual(expect.arrayContaining(['send-mail', 'iam', 'pii']));
    // a mail-only key cannot read the account: a gap, not a failure
    const mail = secretOf('sendgrid-api-key');
    fx.fake.setKey('sendgrid', mail);
    fx.fake.setProfile('sendgrid', mail, { scopes: ['mail.send'] });
    const b = await reachOf('sendgrid-api-key', mail);
    expect(b.reach).toMatchObject({ level: 'write', gaps: ['account: HTTP 403'] });
  });

  it('twilio: an API key lists its accounts across pages; an auth token is its account’s master', async () => {
    const secret = secretOf('twilio-api-key');
    const sid = `SK${hex(16)}`;
    const main = `AC${hex(16)}`;
    fx.fake.setKey('twilio', secret);
    fx.fake.setProfile('twilio', secret, { account: main, name: 'Acme', subaccounts: Array.from({ length: 120 }, () => `AC${hex(16)}`) });
    const a = await reachOf('twilio-api-key', secret, { api_key_sid: sid });
    expect(a.reach).toMatchObject({ account: main, level: 'write', counts: { account: 121 } });
    expect(a.reach.facts).toMatchObject({ account_name: 'Acme', account_type: 'Full', status: 'active' });

    const token = secretOf('twilio-auth-token');
    fx.fake.setKey('twilio', token);
    fx.fake.setProfile('twilio', token, { account: main, subaccounts: [`AC${hex(16)}`] });
    const b = await reachOf('twilio-auth-token', token, { account_sid: main });
    // the Account SID came in as a companion, and companions that could be secrets are redacted wherever they appear
    expect(b.reach).toMatchObject({ account: `…${main.slice(-4)}`, level: 'admin', counts: { account: 2 } });
    expect(b.reach.tags).toEqual(expect.arrayContaining(['billing', 'iam']));
  });

  it('mailgun: domains of both regions for an account key; a domain sending key only sends', async () => {
    const key = secretOf('mailgun-api-key');
    fx.fake.setKey('mailgun', key);
    fx.fake.setKey('mailgun-eu', key);
    fx.fake.setProfile('mailgun', key, { domains: ['mg.acme.com', 'mg.acme.io'], euDomains: ['mg.acme.eu'] });
    const a = await reachOf('mailgun-api-key', key);
    expect(a.reach).toMatchObject({ level: 'admin', counts: { domain: 3 }, facts: { account_key: true, domain_count: 2 } });
    expect(calledFakes()).toEqual(['mailgun', 'mailgun-eu']);

    fx.calls = [];
    fx.sending = [];
    const sending = secretOf('mailgun-api-key');
    fx.fake.setKey('mailgun', sending);
    fx.fake.setProfile('mailgun', sending, { sendingKey: true });
    const b = await reachOf('mailgun-api-key', sending);
    expect(b.reach).toMatchObject({ level: 'write', facts: { account_key: false } });
    expect(b.reach.gaps.join(' ')).toMatch(/domain sending key/);
    expect(calledFakes()).toEqual(['mailgun']);
  });

  it('datadog: a key of the EU site is found there (live), with the US host answering 403 first', async () => {
    const key = secretOf('datadog-api-key');
    fx.fake.setKey('datadog-eu1', key);
    const r = await reachOf('datadog-api-key', key);
    expect(r.status).toBe('live');
    expect(r.reason).toMatch(/valid on api\.datadoghq\.eu/);
    expect(r.reach).toMatchObject({ level: 'write', facts: { site: 'api.datadoghq.eu', valid: true } });
    expect(calledFakes()).toEqual(['datadog', 'datadog-eu1']);
  });

  it('datadog: a DD_SITE companion is asked first; an application key reports its user and roles', async () => {
    const key = secretOf('datadog-api-key');
    fx.fake.setKey('datadog-us5', key);
    const r = await reachOf('datadog-api-key', key, { site: 'us5.datadoghq.com' });
    expect(r.reach.facts.site).toBe('api.us5.datadoghq.com');
    // verification (US1), then the named site straight away
    expect(fx.calls.map((c) => new URL(c.url).pathname.split('/')[1])).toEqual(['datadog', 'datadog-us5', 'datadog-us5']);

    fx.calls = [];
    fx.sending = [];
    const app = secretOf('datadog-app-key');
    fx.fake.setKey('datadog', app);
    fx.fake.setProfile('datadog', app, { handle: 'ops@example.com', roles: ['Datadog Admin Role'] });
    const a = await reachOf('datadog-app-key', app, { api_key: key });
    expect(a.reach).toMatchObject({ account: 'ops@example.com', level: 'admin', facts: { roles: ['Datadog Admin Role'], site: 'api.datadoghq.com' } });
  });

  it('shopify: scopes and the shop', async () => {
    const tok = secretOf('shopify-access-token');
    fx.fake.setKey('shopify', tok);
    fx.fake.setProfile('shopify', tok, { scopes: ['read_products', 'write_orders', 'read_customers'], shop: 'acme.myshopify.com', plan: 'shopify_plus' });
    const { reach } = await reachOf('shopify-access-token', tok, { shop: 'acme.myshopify.com' });
    expect(reach).toMatchObject({ account: 'acme.myshopify.com', scopes: ['read_products', 'write_orders', 'read_customers'], level: 'write', facts: { plan: 'shopify_plus' } });
    expect(reach.tags).toEqual(expect.arrayContaining(['pii', 'billing']));
  });

  it('heroku: the account, its apps, and whether it has 2FA', async () => {
    const key = secretOf('heroku-api-key-v2');
    fx.fake.setKey('heroku', key);
    fx.fake.setProfile('heroku', key, { email: 'ops@example.com', apps: ['api-prod', 'worker'], twoFactor: false });
    const { reach } = await reachOf('heroku-api-key-v2', key);
    expect(reach).toMatchObject({ account: 'ops@example.com', level: 'admin', counts: { app: 2, 'app:admin': 2 } });
    expect(reach.tags).toEqual(expect.arrayContaining(['prod', 'billing', 'no-2fa']));
  });

  it('digitalocean: account, team, droplets across pages, projects; write access unknown', async () => {
    const tok = secretOf('digitalocean-pat');
    fx.fake.setKey('digitalocean', tok);
    fx.fake.setProfile('digitalocean', tok, { email: 'ops@example.com', team: 'Acme', droplets: Array.from({ length: 250 }, (_, i) => `web-${i}`), projects: ['prod'] });
    const { reach } = await reachOf('digitalocean-pat', tok);
    expect(reach).toMatchObject({ account: 'ops@example.com', level: 'read', facts: { team: 'Acme', droplet_count: 250 }, counts: { droplet: 250, project: 1 } });
    expect(reach.gaps.join(' ')).toMatch(/scopes/);
  });

  it('huggingface: token role and organizations; a read token only reads them', async () => {
    const tok = secretOf('huggingface-token');
    fx.fake.setKey('huggingface', tok);
    fx.fake.setProfile('huggingface', tok, { name: 'dev', role: 'write', orgs: [{ name: 'acme', roleInOrg: 'admin' }, { name: 'lab', roleInOrg: 'read' }] });
    const a = await reachOf('huggingface-token', tok);
    expect(a.reach).toMatchObject({ account: 'dev', level: 'admin', facts: { token_role: 'write' }, counts: { organization: 2, 'organization:admin': 1 } });
    expect(a.reach.tags).toContain('publish');

    const ro = secretOf('huggingface-token');
    fx.fake.setKey('huggingface', ro);
    fx.fake.setProfile('huggingface', ro, { role: 'read', orgs: [{ name: 'acme', roleInOrg: 'admin' }] });
    const b = await reachOf('huggingface-token', ro);
    expect(b.reach).toMatchObject({ level: 'read', counts: { 'organization:read': 1 } });
  });

  it('aws: ARN from STS, attached and group policies, last use, over SigV4 to the IAM host', async () => {
    const { id, secret } = awsUser('deploy', { policies: ['AmazonS3FullAccess'], groups: { admins: ['AdministratorAccess'] }, inline: ['extra'], lastUsed: '2024-03-01T12:00:00Z' });
    const { reach } = await reachOf('aws-access-key-id', id, { secret_access_key: secret });
    expect(reach).toMatchObject({ account: 'arn:aws:iam::123456789012:user/deploy', level: 'admin', lastUsedAt: '2024-03-01T12:00:00.000Z' });
    expect(reach.facts).toMatchObject({ aws_account: '123456789012', policies: ['AdministratorAccess', 'AmazonS3FullAccess'], groups: ['admins'], iam_readable: true, last_used_service: 's3' });
    expect(reach.tags).toContain('iam');
    expect(reach.gaps).toEqual(['inline policies not evaluated: extra']);
    expect(calledFakes()).toEqual(['aws', 'aws-iam']);
  });

  it('aws: a key that may not read IAM: the caller only, and why', async () => {
    const { id, secret } = awsUser('ci', { denied: true });
    const { reach } = await reachOf('aws-access-key-id', id, { secret_access_key: secret });
    expect(reach).toMatchObject({ level: 'read', facts: { iam_readable: false } });
    expect(reach.lastUsedAt).toBeUndefined();
    expect(reach.gaps[0]).toBe('ListAttachedUserPolicies: not allowed for this key (AccessDenied)');
  });

  it('pypi: project-scoped token read from its caveats, without a request (verification is unsafe there)', async () => {
    const tok = makePypiToken('pypi.org', rand, ['{"version":1,"permissions":{"projects":["requests-toolbelt"]}}', '[0,1893456000,1700000000]']);
    const { status, reach } = await reachOf('pypi-upload-token', tok);
    expect(status).toBe('unknown');
    expect(reach).toMatchObject({ level: 'write', expiresAt: '2030-01-01T00:00:00.000Z', facts: { scope: 'projects', projects: ['requests-toolbelt'] }, counts: { package: 1, 'package:write': 1 } });
    expect(reach.tags).toEqual(expect.arrayContaining(['publish', 'public-write']));
    expect(fx.calls).toEqual([]);
    const user = makePypiToken('pypi.org', rand, ['{"version":1,"permissions":"user"}']);
    const b = await reachOf('pypi-upload-token', user);
    expect(b.reach).toMatchObject({ level: 'write', facts: { scope: 'user' } });
  });
});

describe('reach blocks against their fakes', () => {
  const reachable = catalog.detectors.filter((d) => d.def.reach);

  it('covers at least 15 issuers, each block sends only to hosts of its own issuer', () => {
    const issuers = new Set(reachable.map((d) => d.def.verify!.issuer));
    expect(issuers.size).toBeGreaterThanOrEqual(15);
  });

  it('every code reacher named exists and every registered one is used', () => {
    const named = new Set(reachable.flatMap((d) => (d.def.reach!.kind === 'code' ? [d.def.reach!.reacher] : [])));
    expect([...named].filter((n) => !codeReachers.has(n))).toEqual([]);
    expect([...codeReachers.keys()].filter((n) => !named.has(n))).toEqual([]);
  });

  it('hand-written fakes serve every route a reach block asks (so each issuer above is tested as documented)', () => {
    const fakeGitHubRoutes = new FakeGitHub().routes;
    const missing: string[] = [];
    for (const d of reachable) {
      const r = d.def.reach!;
      if (r.kind !== 'http') continue;
      const issuer = d.def.verify!.issuer;
      for (const q of [...r.requests, ...(r.locate ? [{ method: 'GET', path: r.locate.path, host: undefined, name: 'locate' }] : [])]) {
        const path = render(q.path.replace(/\{\{\s*facts\.[a-z_]+\s*\}\}/g, 'someone'), { secret: 'kl0000000000000000', parts: { account_sid: `AC${'0'.repeat(32)}` } }, encodePathValue);
        const fakes = q.host ? (HOST_FAKES[issuer] ?? []).filter((h) => h.key === `${issuer}:${q.host}`).map((h) => h.fake) : [issuer];
        // GitHub is the stateful fake GitHub (testkit/fake-github.ts); every other issuer the fake issuers
        const serves = (f: string) => (f === 'github' ? fakeGitHubRoutes.some((x) => x.method === q.method && x.pattern.test(path.ok ? path.value.split('?')[0]! : '')) : FakeIssuer.knows(f, q.method, path.ok ? path.value : ''));
        if (!path.ok || fakes.length === 0 || !fakes.every(serves)) missing.push(`${d.def.id}: ${q.name} ${q.method} ${q.path}`);
      }
    }
    expect(missing).toEqual([]);
    expect(Object.keys(ENDPOINTS).length).toBeGreaterThan(20);
  });

  it('every provider whose keys keyloop verifies, reaches or revokes names the page where its keys are revoked (the issue links it)', () => {
    const missing = [...new Set(catalog.detectors.filter((d) => d.def.verify || d.def.reach || d.def.revoke).map((d) => d.provider))].filter((p) => !p.revoke_page).map((p) => p.id);
    expect(missing).toEqual([]);
  });

  it('POST requests say why they only read', () => {
    for (const d of reachable) {
      const r = d.def.reach!;
      if (r.kind === 'http') for (const q of r.requests) if (q.method !== 'GET') expect(q.read_only, `${d.def.id} ${q.name}`).toBeTruthy();
    }
  });
});
