// `keyloop org` against hosts that fail: each failure is one clear line naming its cause, exit 3.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { createGitHubClient, hostError, networkCode } from '../src/adapters/github/client.js';
import { startFakeGitHub, type FakeGitHub } from '../testkit/fake-github.js';
import { tempDir } from '../testkit/git-repo.js';
import { runCli } from './helpers/run-cli.js';

const org = async (url: string, extra: string[] = []) => {
  const dir = await tempDir('keyloop-neterr-');
  return runCli(['org', 'acme', '--github-url', url, '--db', join(dir, 'k.db'), '--cache-dir', join(dir, 'c'), '--token', 'x', '--no-progress', ...extra], { cwd: dir });
};

describe('keyloop org: network errors that say what happened', () => {
  let fake: FakeGitHub;
  beforeAll(async () => {
    fake = await startFakeGitHub();
  });
  afterAll(async () => fake?.close());

  it('connection refused: one line, exit 3', async () => {
    // a port that was free a moment ago and has nobody listening now
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const r = await org(`http://127.0.0.1:${port}`);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`listing repositories of acme: connection refused \\(127\\.0\\.0\\.1:${port}\\) \\[ECONNREFUSED\\]`));
    expect(r.stderr).not.toMatch(/HTTP 500/);
  });

  it('a TLS error names the certificate problem', async () => {
    const dir = await tempDir('keyloop-tls-');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'k'), '-out', join(dir, 'c'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    let connections = 0;
    const server = https.createServer({ key: readFileSync(join(dir, 'k')), cert: readFileSync(join(dir, 'c')) }, (_q, s) => s.end('{}'));
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const r = await org(`https://127.0.0.1:${(server.address() as AddressInfo).port}`);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/listing repositories of acme: TLS error: self-signed certificate \(127\.0\.0\.1:\d+\) \[DEPTH_ZERO_SELF_SIGNED_CERT\]/);
      expect(connections).toBeGreaterThan(0);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('a refused token and an unknown org say so', async () => {
    fake.addRepo('acme/app', {});
    const badToken = await org(fake.url, ['--token', 'not-a-valid-token']);
    expect(badToken.code).toBe(3);
    expect(badToken.stderr).toMatch(/HTTP 401.*the token was refused: wrong, expired or revoked/);
    const unknown = await runCli(['org', 'nobody-here', '--github-url', fake.url, '--db', join(await tempDir(), 'k.db'), '--no-progress']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/listing repositories of nobody-here: HTTP 404: Not Found \(not found, or not visible to this token\)/);
  });
});

describe('hostError on the errors fetch raises', () => {
  // the shape undici gives a failed fetch: TypeError('fetch failed') whose cause is the socket's error
  const fetchFailed = (code: string, message: string) => Object.assign(new Error('fetch failed'), { cause: Object.assign(new Error(message), { code }) });

  it('finds the code along the cause chain, through octokit’s RequestError wrapper', () => {
    const wrapped = Object.assign(new Error('fetch failed'), { status: 500, request: { url: 'https://ghe.example.test/api/v3/orgs/acme/repos' }, cause: fetchFailed('ENOTFOUND', 'getaddrinfo ENOTFOUND ghe.example.test') });
    expect(networkCode(wrapped)).toBe('ENOTFOUND');
    const e = hostError('listing repositories of acme', wrapped);
    expect(e.message).toBe('listing repositories of acme: cannot resolve the host name (DNS) (ghe.example.test) [ENOTFOUND]');
    expect(e.message).not.toContain('HTTP 500');
    expect(networkCode(fetchFailed('EAI_AGAIN', 'getaddrinfo EAI_AGAIN x'))).toBe('EAI_AGAIN');
    expect(networkCode(new Error('plain'))).toBeUndefined();
  });

  it('a 403 names the scope GitHub says the call needs', () => {
    const e = hostError('listing repositories of acme', { status: 403, message: 'Resource not accessible', response: { data: { message: 'Resource not accessible by personal access token' }, headers: { 'x-accepted-oauth-scopes': 'read:org, repo' } } });
    expect(e.message).toBe('listing repositories of acme: HTTP 403: Resource not accessible by personal access token (the token lacks a scope; this call needs: read:org, repo)');
  });
});

describe('fail fast: what no retry fixes is not retried, the rest still is', () => {
  // Counts what octokit hands to fetch (each try is one call), and passes it on to the real fetch unless told otherwise.
  const counted = (inner: typeof fetch = fetch) => {
    const calls = { n: 0 };
    const f: typeof fetch = (input, init) => (calls.n++, inner(input, init));
    return { calls, client: (baseUrl: string) => createGitHubClient({ baseUrl, retries: 3, retryAfterBaseValue: 1, throttle: false, extra: { request: { fetch: f } } }) };
  };
  const listen = async (server: net.Server) => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  };
  const close = (server: net.Server) => new Promise<void>((r) => server.close(() => r()));

  it('connection refused: one try, then the error that names it', async () => {
    const probe = net.createServer();
    const port = await listen(probe);
    await close(probe);
    const { calls, client } = counted();
    const err = await client(`http://127.0.0.1:${port}`).request('GET /orgs/{org}/repos', { org: 'acme' }).catch((e: unknown) => e);
    expect(calls.n).toBe(1);
    expect(hostError('listing repositories of acme', err).message).toBe(`listing repositories of acme: connection refused (127.0.0.1:${port}) [ECONNREFUSED]`);
  });

  it('a DNS failure (the error undici raises for it): one try', async () => {
    const dns = () => Promise.reject(new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND ghe.example.test'), { code: 'ENOTFOUND' }) }));
    const { calls, client } = counted(dns);
    const err = await client('https://ghe.example.test/api/v3').request('GET /orgs/{org}/repos', { org: 'acme' }).catch((e: unknown) => e);
    expect(calls.n).toBe(1);
    expect(hostError('listing repositories of acme', err).message).toBe('listing repositories of acme: cannot resolve the host name (DNS) (ghe.example.test) [ENOTFOUND]');
  });

  it('a connection the server drops is retried (3 retries), and a 502 is ridden out', async () => {
    const dropper = net.createServer((s) => s.destroy());
    const port = await listen(dropper);
    try {
      const { calls, client } = counted();
      await expect(client(`http://127.0.0.1:${port}`).request('GET /orgs/{org}/repos', { org: 'acme' })).rejects.toThrow();
      expect(calls.n).toBe(4);
    } finally {
      await close(dropper);
    }
    let hits = 0;
    const flaky = http.createServer((_q, s) => (++hits === 1 ? s.writeHead(502).end('{"message":"Bad Gateway"}') : s.writeHead(200, { 'content-type': 'application/json' }).end('[]')));
    const fport = await listen(flaky);
    try {
      const { calls, client } = counted();
      const res = await client(`http://127.0.0.1:${fport}`).request('GET /orgs/{org}/repos', { org: 'acme' });
      expect(res.data).toEqual([]);
      expect(calls.n).toBe(2);
    } finally {
      await close(flaky);
    }
  });
});
