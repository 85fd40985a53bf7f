// Reach of GitHub tokens against the stateful fake GitHub: login, scopes and expiry from headers, orgs, every
// repository with the user's role (paginated), public repositories with write access, limits by scope, and the
// audit entry of every request.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OutboundCall } from '../src/core/ports.js';
import { loadCatalog } from '../src/detection/load.js';
import { SecretRegistry } from '../src/util/redact.js';
import { createVerifier } from '../src/verification/verify.js';
import { startFakeGitHub, type FakeGitHub } from '../testkit/fake-github.js';
import { generateSample, rng } from '../testkit/token-gen.js';

const catalog = loadCatalog(join(import.meta.dirname, '..', 'detectors'));
const rand = rng(2121);
const token = (id: string) => generateSample(catalog.byId.get(id)!.def, rand).secret;
const fp = (n: number) => n.toString(16).padStart(64, '0');

let gh: FakeGitHub;
let calls: OutboundCall[];
let registry: SecretRegistry;
afterEach(async () => gh?.close());
beforeEach(() => {
  calls = [];
  registry = new SecretRegistry();
});

function verifier() {
  return createVerifier({ baseUrls: { github: gh.url }, allowInsecure: true, registry, reach: true, audit: (c) => void calls.push(c) });
}

describe('reach: GitHub classic and OAuth tokens', () => {
  it('reports login, scopes, expiry, orgs and repositories with the user’s role; public write is tagged', async () => {
    const tok = token('github-pat-classic');
    gh = await startFakeGitHub({ tokens: { [tok]: 'octo' } });
    gh.tokenScopes.set(tok, 'repo, read:org, workflow');
    gh.tokenExpiry.set(tok, '2031-01-01 00:00:00 UTC');
    gh.members.set('acme', new Set(['octo']));
    gh.members.set('other', new Set(['someone']));
    gh.addRepo('acme/api', { private: true });
    gh.grant('acme/api', 'octo', 'admin');
    gh.addRepo('acme/site', { private: false });
    gh.grant('acme/site', 'octo', 'push');
    gh.addRepo('other/lib', { private: false });
    gh.grant('other/lib', 'octo', 'pull');
    gh.addRepo('other/secret', { private: true });

    const v = await verifier().verify({ detector: catalog.byId.get('github-pat-classic')!, secret: tok, parts: {}, fingerprint: fp(1) });
    expect(v.status).toBe('live');
    const r = v.reach!;
    expect(r.account).toBe('octo');
    expect(r.scopes).toEqual(['repo', 'read:org', 'workflow']);
    expect(r.expiresAt).toBe('2031-01-01T00:00:00.000Z');
    expect(r.level).toBe('admin');
    expect(r.tags).toEqual(expect.arrayContaining(['admin', 'write', 'public-write', 'ci']));
    expect(r.counts).toMatchObject({ repository: 3, 'repository:admin': 1, 'repository:write': 1, 'repository:read': 1, 'repository:public': 2, 'repository:public-write': 1, organization: 1 });
    expect(r.resources.filter((x) => x.kind === 'repository').map((x) => `${x.name}:${x.access}:${x.public}`)).toEqual([
      'acme/api:admin:false',
      'acme/site:write:true',
      'other/lib:read:true',
    ]);
    expect(r.facts).toMatchObject({ account_type: 'User', site_admin: false });
    expect(r.gaps).toEqual([]);

    // every request went to the fake GitHub, was audited, and no audited URL holds the token
    // a kept-alive connection closed as it was reused is retried once and recorded; compare the answered calls
    calls = calls.filter((c) => c.status !== null);
    expect(calls.map((c) => `${c.purpose} ${c.method} ${new URL(c.url).pathname}`)).toEqual([
      'verify GET /user',
      'reach GET /user',
      'reach GET /user/orgs',
      'reach GET /user/repos',
    ]);
    for (const c of calls) {
      expect(c.url.startsWith(gh.url)).toBe(true);
      expect(c.url).not.toContain(tok);
      expect(c.fingerprint).toBe(fp(1));
      expect(c.status).toBe(200);
    }
  });

  it('follows Link pagination over 230 repositories and counts them all', async () => {
    const tok = token('github-oauth-token');
    gh = await startFakeGitHub({ tokens: { [tok]: 'bulk' } });
    for (let i = 0; i < 230; i++) {
      const name = `acme/r${String(i).padStart(3, '0')}`;
      gh.addRepo(name, { private: i % 10 !== 0 });
      gh.grant(name, 'bulk', i < 5 ? 'admin' : 'push');
    }
    const v = await verifier().verify({ detector: catalog.byId.get('github-oauth-token')!, secret: tok, parts: {}, fingerprint: fp(2) });
    expect(v.reach!.counts).toMatchObject({ repository: 230, 'repository:admin': 5, 'repository:write': 225, 'repository:public-write': 23 });
    // at most 50 kept, strongest first
    expect(v.reach!.resources).toHaveLength(50);
    expect(v.reach!.resources.slice(0, 5).every((x) => x.access === 'admin')).toBe(true);
    expect(gh.requestsTo('GET', '/user/repos').map((r) => r.query.page ?? '1')).toEqual(['1', '2', '3']);
  });

  it('a classic token without repo scope only reads repositories, whatever its user may do', async () => {
    const tok = token('github-pat-classic');
    gh = await startFakeGitHub({ tokens: { [tok]: 'reader' } });
    gh.tokenScopes.set(tok, 'read:user');
    gh.addRepo('reader/own', { private: false });
    const v = await verifier().verify({ detector: catalog.byId.get('github-pat-classic')!, secret: tok, parts: {}, fingerprint: fp(3) });
    expect(v.reach!.level).toBe('read');
    expect(v.reach!.counts).toMatchObject({ 'repository:read': 1 });
    expect(v.reach!.counts['repository:public-write']).toBeUndefined();
    expect(v.reach!.tags).not.toContain('public-write');
  });

  it('a fine-grained token has no scopes header: the result says the access shown is an upper bound', async () => {
    const tok = token('github-fine-grained-pat');
    gh = await startFakeGitHub({ tokens: { [tok]: 'fg' } });
    gh.tokenScopes.set(tok, null);
    gh.addRepo('fg/app', { private: true });
    const v = await verifier().verify({ detector: catalog.byId.get('github-fine-grained-pat')!, secret: tok, parts: {}, fingerprint: fp(4) });
    expect(v.status).toBe('live');
    expect(v.reach!.scopes).toBeUndefined();
    expect(v.reach!.gaps.join(' ')).toMatch(/fine-grained .* narrower/);
    expect(v.reach!.counts).toMatchObject({ 'repository:admin': 1 });
  });

  it('a request that fails leaves a gap, not a failed verification', async () => {
    const tok = token('github-pat-classic');
    gh = await startFakeGitHub({ tokens: { [tok]: 'octo' } });
    gh.fault({ path: '/user/orgs', kind: 'status', status: 502 });
    const v = await verifier().verify({ detector: catalog.byId.get('github-pat-classic')!, secret: tok, parts: {}, fingerprint: fp(5) });
    expect(v.status).toBe('live');
    expect(v.reach!.gaps).toEqual(['orgs: issuer error: HTTP 502']);
    expect(v.reach!.level).toBe('write'); // repo scope by default in the fake
  });

  it('a dead token gets no reach and only the verification call', async () => {
    const tok = token('github-pat-classic');
    gh = await startFakeGitHub({ tokens: { other: 'x' } });
    const v = await verifier().verify({ detector: catalog.byId.get('github-pat-classic')!, secret: tok, parts: {}, fingerprint: fp(6) });
    expect(v.status).toBe('dead');
    expect(v.reach).toBeUndefined();
    expect(calls.filter((c) => c.status !== null)).toHaveLength(1);
  });

  it('an installation token lists the installation’s repositories', async () => {
    gh = await startFakeGitHub();
    gh.addInstallation({ id: 7, account: 'acme', repositories: 'all' });
    gh.addRepo('acme/a', { private: false });
    gh.addRepo('acme/b', { private: true });
    const tok = token('github-server-to-server-token');
    gh.addInstallationToken(tok, 7);
    const v = await verifier().verify({ detector: catalog.byId.get('github-server-to-server-token')!, secret: tok, parts: {}, fingerprint: fp(7) });
    expect(v.status).toBe('live');
    expect(v.reach!.facts.repository_count).toBe(2);
    expect(v.reach!.counts).toMatchObject({ repository: 2, 'repository:public': 1 });
  });
});
