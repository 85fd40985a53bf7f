// The reach runtime's rules on a tiny loopback issuer: a next-page link to another host is refused (a key never
// follows a link away from its issuer), 429 and 5xx leave gaps, dead keys and `reach: false` send nothing more,
// facts from the issuer cannot inject placeholders, audited URLs never hold the key, grants and limits.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Reach } from '../src/core/model.js';
import { AUDIT_SENDING, type OutboundCall } from '../src/core/ports.js';
import { DetectorDef } from '../src/detection/schema.js';
import type { LoadedDetector } from '../src/detection/types.js';
import { finishReach } from '../src/reach/finish.js';
import { HttpReach } from '../src/core/reach-spec.js';
import { SecretRegistry } from '../src/util/redact.js';
import { createVerifier } from '../src/verification/verify.js';

const KEY = 'kl_test_' + 'q'.repeat(24);

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
}
let server: http.Server;
let base = '';
let seen: Seen[] = [];
/** path → what the issuer answers (a function so a test can change it) */
let routes: Record<string, (req: http.IncomingMessage) => { status: number; headers?: Record<string, string>; body?: unknown; reset?: boolean }> = {};

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization });
    const path = (req.url ?? '/').split('?')[0]!;
    const route = routes[path];
    if (req.headers.authorization !== `Bearer ${KEY}` || !route) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"Bad credentials"}');
      return;
    }
    const r = route(req);
    if (r.reset) {
      req.socket.destroy();
      return;
    }
    res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers }).end(r.body === undefined ? '' : JSON.stringify(r.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  seen = [];
  routes = {
    '/me': () => ({ status: 200, body: { login: 'octo', role: 'owner' } }),
    '/items': () => ({ status: 200, body: [{ name: 'a', admin: true }], headers: { link: '<https://elsewhere.example/items?page=2>; rel="next"' } }),
    '/users/octo/things': () => ({ status: 200, body: { x: 1 } }),
  };
});

function detector(reach: unknown): LoadedDetector {
  const def = DetectorDef.parse({
    id: 'test-token',
    name: 'test token',
    keywords: ['kl_test_'],
    pattern: '(kl_test_[a-z]{24})',
    examples: ['x'],
    verify: {
      kind: 'http',
      issuer: 'testissuer',
      base_url: 'https://api.testissuer.example',
      path: '/me',
      headers: { Authorization: 'Bearer {{secret}}' },
      live: [{ status: [200] }],
      dead: [{ status: [401] }],
    },
    reach,
  });
  return { def, provider: { id: 'testissuer', name: 'Test', references: [] }, file: 'test.yaml' };
}

const block = (requests: unknown[], extra: Record<string, unknown> = {}) => ({ kind: 'http', requests, references: ['https://docs.testissuer.example/api'], ...extra });
const headers = { Authorization: 'Bearer {{secret}}' };

async function run(reach: unknown, opts: { reach?: boolean; secret?: string; recent?: Reach } = {}) {
  const calls: OutboundCall[] = [];
  const registry = new SecretRegistry();
  const v = createVerifier({
    baseUrls: { testissuer: base },
    allowInsecure: true,
    registry,
    reach: opts.reach ?? true,
    audit: (c) => void calls.push(c),
    maxPauseMs: 50,
    ...(opts.recent ? { recentReach: async () => opts.recent } : {}),
  });
  const out = await v.verify({ detector: detector(reach), secret: opts.secret ?? KEY, parts: {}, fingerprint: 'a'.repeat(64) });
  // calls the issuer answered (a stale kept-alive connection is retried once and recorded as well: see below);
  // each attempt was recorded as `sending` first (test/audit-gate.test.ts)
  const attempts = calls.filter((c) => c.outcome !== AUDIT_SENDING);
  expect(calls.map((c) => c.outcome === AUDIT_SENDING)).toEqual(attempts.flatMap(() => [true, false]));
  return { out, calls: attempts.filter((c) => c.status !== null), attempts };
}

describe('reach runtime', () => {
  it('never follows a next-page link to another host: the page is a gap, nothing is sent there', async () => {
    const { out } = await run(block([{ name: 'items', path: '/items', headers, paginate: 'link', resources: { items: 'json:', kind: 'thing', name: 'name', access: [{ if: { path: 'admin', equals: true }, level: 'admin' }, { level: 'read' }] } }]));
    expect(out.reach!.counts).toEqual({ thing: 1, 'thing:admin': 1 });
    expect(out.reach!.gaps).toEqual(['items (page 2): refused: request outside the issuer base URL']);
    expect(seen.every((s) => s.url.startsWith('/'))).toBe(true);
    expect(seen.map((s) => s.url)).toEqual(['/me', '/items']);
  });

  it('429 and 5xx leave gaps; the verification stays live', async () => {
    routes['/limited'] = () => ({ status: 429, headers: { 'retry-after': '0' }, body: { message: 'slow down' } });
    routes['/broken'] = () => ({ status: 503, body: { message: 'down' } });
    const { out } = await run(block([
      { name: 'limited', path: '/limited', headers },
      { name: 'broken', path: '/broken', headers },
      { name: 'me', path: '/me', headers, facts: { account: 'json:login' } },
    ]));
    expect(out.status).toBe('live');
    expect(out.reach!.gaps).toEqual(['limited: rate limited (HTTP 429, retry after 0 s)', 'broken: issuer error: HTTP 503']);
    expect(out.reach!.account).toBe('octo');
  });

  it('a dead key, and reach turned off, send nothing past the verification', async () => {
    const dead = await run(block([{ name: 'me', path: '/me', headers }]), { secret: 'kl_test_' + 'z'.repeat(24) });
    expect(dead.out.status).toBe('dead');
    expect(dead.out.reach).toBeUndefined();
    expect(dead.calls).toHaveLength(1);
    const off = await run(block([{ name: 'me', path: '/me', headers }]), { reach: false });
    expect(off.out.reach).toBeUndefined();
    expect(off.calls.map((c) => c.purpose)).toEqual(['verify']);
  });

  it('a connection reset before any answer is retried once, and both attempts are audited', async () => {
    let n = 0;
    routes['/me'] = () => (n++ === 0 ? { status: 0, reset: true } : { status: 200, body: { login: 'octo' } });
    const { out, attempts: calls } = await run(block([{ name: 'me', path: '/me', headers, facts: { account: 'json:login' } }]));
    expect(out.status).toBe('live');
    // undici names a connection closed by the peer UND_ERR_SOCKET (ECONNRESET when the reset comes first)
    expect(calls.map((c) => `${c.purpose} ${c.status ?? c.outcome}`)).toEqual([expect.stringMatching(/^verify network: (UND_ERR_SOCKET|ECONNRESET)$/), 'verify 200', 'reach 200']);
    // twice in a row is an answer: unknown, not retried forever
    routes['/me'] = () => ({ status: 0, reset: true });
    const again = await run(block([{ name: 'me', path: '/me', headers }]));
    expect(again.out).toMatchObject({ status: 'unknown', reason: expect.stringMatching(/^network: (UND_ERR_SOCKET|ECONNRESET)$/) });
    expect(again.attempts).toHaveLength(2);
  });

  it('a recent reach (within the cache TTL) is kept: only the verification is sent', async () => {
    const recent: Reach = { checkedAt: '2025-01-01T00:00:00.000Z', level: 'write', tags: ['write'], facts: {}, resources: [], counts: {}, gaps: [] };
    const { out, calls } = await run(block([{ name: 'me', path: '/me', headers }]), { recent });
    expect(out.reach).toEqual(recent);
    expect(calls.map((c) => c.purpose)).toEqual(['verify']);
  });

  it('a fact from the issuer is percent-encoded in a path: it cannot add a placeholder, a segment or a query', async () => {
    routes['/me'] = () => ({ status: 200, body: { login: '{{secret}}/../admin?x=1' } });
    const { out } = await run(block([
      { name: 'me', path: '/me', headers, facts: { account: 'json:login' } },
      { name: 'things', path: '/users/{{facts.account}}/things', headers },
    ]));
    const last = seen.at(-1)!.url;
    expect(last).toBe('/users/%7B%7Bsecret%7D%7D%2F..%2Fadmin%3Fx=1/things');
    expect(last).not.toContain(KEY);
    expect(out.reach!.gaps).toEqual(['things: HTTP 401']);
  });

  it('a request needing a fact that did not come is not sent', async () => {
    const { out } = await run(block([{ name: 'things', path: '/users/{{facts.account}}/things', headers }]));
    expect(out.reach!.gaps).toEqual(['things: not asked (account unknown)']);
    expect(seen.map((s) => s.url)).toEqual(['/me']);
  });

  it('the audit log records every call, with the key scrubbed out of a URL that carries it', async () => {
    routes[`/keys/${KEY}`] = () => ({ status: 200, body: { scopes: ['read'] } });
    const { calls } = await run(block([{ name: 'key', path: '/keys/{{secret}}', headers, facts: { scopes: 'json:scopes' } }]));
    expect(calls.map((c) => c.purpose)).toEqual(['verify', 'reach']);
    expect(calls[1]!.url).toBe(`${base}/keys/kl_test_…qqqq`);
    expect(calls.every((c) => !c.url.includes(KEY) && c.issuer === 'testissuer' && c.fingerprint === 'a'.repeat(64))).toBe(true);
  });

  it('the schema refuses a POST that does not say why it only reads, and reach without verify', () => {
    expect(HttpReach.safeParse(block([{ name: 'x', method: 'POST', path: '/x' }])).success).toBe(false);
    expect(HttpReach.safeParse(block([{ name: 'x', method: 'POST', read_only: 'x.info only reports', path: '/x' }])).success).toBe(true);
    const bad = DetectorDef.safeParse({ id: 'no-verify', name: 'no verify', keywords: ['zz'], pattern: '(zz)', examples: ['zz'], reach: block([{ name: 'x', path: '/x' }]) });
    expect(bad.success).toBe(false);
  });
});

describe('finishReach', () => {
  const now = new Date('2025-01-01T00:00:00Z');
  it('grants raise the level and add tags and notes; limits cap resources; counts cover everything', () => {
    const r = finishReach(
      {
        facts: { scopes: 'read:user, gist', expires_at: '2031-01-01 00:00:00 UTC', last_used_at: null, org: 'acme' },
        resources: [
          { kind: 'repository', name: 'a/x', access: 'admin', public: true },
          { kind: 'repository', name: 'a/x', access: 'read' },
          { kind: 'repository', name: 'a/y', access: 'write' },
        ],
        gaps: [],
        answered: true,
      },
      {
        grants: [
          { if: { fact: 'scopes', any: ['gist'] }, level: 'write', tags: ['gists'] },
          { if: { secret_prefix: ['sk_live_'] }, tags: ['prod'] },
          { if: { fact: 'scopes', exists: true }, tags: [], note: 'scoped token' },
        ],
        limits: [{ kind: 'repository', max: 'read', when: { fact: 'scopes', exists: true }, unless: { fact: 'scopes', any: ['repo'] } }],
      },
      'sk_test_x',
      now,
    );
    expect(r).toMatchObject({
      level: 'write',
      scopes: ['read:user', 'gist'],
      expiresAt: '2031-01-01T00:00:00.000Z',
      lastUsedAt: null,
      facts: { org: 'acme' },
      counts: { repository: 2, 'repository:read': 2, 'repository:public': 1 },
      gaps: ['scoped token'],
    });
    expect(r.tags).toEqual(['gists', 'write']);
  });

  it('nothing answered: level unknown', () => {
    expect(finishReach({ facts: {}, resources: [], gaps: ['me: HTTP 403'], answered: false }, {}, 'k', now).level).toBe('unknown');
  });
});
