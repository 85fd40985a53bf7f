// Secrets go only to their issuer, over https: operator overrides are https (loopback http only with
// --allow-insecure-issuers, as every test here uses for its fakes), refused before any work otherwise and logged at
// start; a host derived from scanned data is resolved once and the connection goes to that checked address, with
// the name kept for SNI, the certificate check and Host.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDetectorsDir, loadCatalog } from '../../src/detection/load.js';
import { pinnedFetch } from '../../src/verification/http-client.js';
import { createVerifier, type VerifierOptions } from '../../src/verification/verify.js';
import { SecretRegistry } from '../../src/util/redact.js';
import { FakeIssuer } from '../../testkit/fake-issuer.js';
import { buildRepo, tempDir, type BuiltRepo } from '../../testkit/git-repo.js';
import { runCli } from '../helpers/run-cli.js';
import { scanFindings } from '../helpers/scan-report.js';
import { withCrc32Tail } from '../../testkit/token-gen.js';
import { operatorFile, startCaptureServer, type CaptureServer } from './helpers.js';

const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ghToken = () => withCrc32Tail('ghp_', [...randomBytes(30)].map((b) => B62[b % 62]).join(''));
const catalog = loadCatalog(defaultDetectorsDir());

let issuer: FakeIssuer;
let capture: CaptureServer;
let repo: BuiltRepo;
const token = ghToken();
beforeAll(async () => {
  issuer = await FakeIssuer.start();
  capture = await startCaptureServer();
  issuer.setKey('github', token, 'live');
  repo = await buildRepo({ commits: [{ id: 'c1', files: { '.env': `GITHUB_TOKEN=${token}\n` } }] });
});
afterAll(async () => {
  await issuer?.close();
  await capture?.close();
});


describe('issuer URLs from the operator', () => {
  it('plain http to a non-loopback host is refused before the scan, even with --allow-insecure-issuers', async () => {
    const op = await operatorFile('issuers:\n  github: { baseUrl: "http://issuer.example.test/api" }\n');
    for (const extra of [[], ['--allow-insecure-issuers']]) {
      const r = await runCli(['scan', repo.dir, '--verify', '--config', op, '--no-progress', ...extra]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('keyloop: issuers.github.baseUrl (or --github-url): plain http is refused (use https; http is accepted only for a loopback host with --allow-insecure-issuers)\n');
    }
  });

  it('loopback http is refused without --allow-insecure-issuers in every command that verifies', async () => {
    const loop = `${capture.url}/github`;
    const dir = await tempDir('keyloop-insecure-');
    const push = join(dir, 'push.json');
    writeFileSync(
      push,
      JSON.stringify({
        ref: 'refs/heads/main',
        before: '1'.repeat(40),
        after: '2'.repeat(40),
        repository: { id: 1, full_name: 'acme/x', clone_url: `${capture.url}/acme/x.git`, default_branch: 'main', private: true },
      }),
    );
    const env = { ...process.env, KEYLOOP_KEY: 'cd'.repeat(32), XDG_CACHE_HOME: join(dir, 'cache') };
    const runs = {
      scan: await runCli(['scan', repo.dir, '--verify', '--github-url', loop, '--no-progress'], { cwd: dir, env }),
      org: await runCli(['org', 'acme', '--issues', '--github-url', loop, '--no-progress'], { cwd: dir, env }),
      issues: await runCli(['issues', '--github-url', loop], { cwd: dir, env }),
      receive: await runCli(['receive', push, '--event', 'push', '--github-url', loop, '--db', 'k.db'], { cwd: dir, env }),
    };
    for (const [cmd, r] of Object.entries(runs)) {
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(2);
      expect(r.stderr, cmd).toContain('plain http to a loopback host needs --allow-insecure-issuers');
    }
    expect(capture.requests).toEqual([]);
  });

  it('with --allow-insecure-issuers a loopback override is used, and logged at start without the secret', async () => {
    const r = await runCli(['scan', repo.dir, '--verify', '--allow-insecure-issuers', '--github-url', issuer.baseUrl('github'), '--format', 'json', '--reveal', '--no-progress']);
    expect(r.code, r.stderr).toBe(1);
    expect((scanFindings(r.stdout) as unknown as { verification: { status: string } }[])[0]!.verification.status).toBe('live');
    expect(r.stderr).toContain(`verification: github keys go to ${issuer.baseUrl('github')} (operator override)`);
    expect(r.stderr).not.toContain(token);
  });

  it('an override with credentials in it is refused (they would travel with every request)', async () => {
    const op = await operatorFile(`issuers:\n  slack: { baseUrl: "https://u:p@slack.example.test" }\n`);
    const r = await runCli(['scan', repo.dir, '--verify', '--config', op, '--no-progress']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('issuers.slack.baseUrl: credentials in the URL are refused');
  });
});

describe('hosts derived from scanned data', () => {
  const shopify = catalog.byId.get('shopify-access-token')!;
  const azure = [...catalog.byId.values()].find((d) => d.def.verify?.kind === 'code' && d.def.verify.verifier === 'azure-storage')!;

  /** DNS that answers a public address first and loopback afterwards: a rebinding attacker's resolver. */
  function rebindingLookup() {
    const calls: string[] = [];
    const lookup: VerifierOptions['lookup'] = async (host) => {
      calls.push(host);
      return [{ address: calls.length === 1 ? '93.184.216.34' : '127.0.0.1', family: 4 }];
    };
    return { calls, lookup };
  }

  it.each([
    ['a declarative check (shopify)', () => ({ detector: shopify, secret: `shpat_${randomBytes(16).toString('hex')}`, parts: { shop: 'acme.myshopify.com' } })],
    ['a code verifier (azure-storage)', () => ({ detector: azure, secret: randomBytes(64).toString('base64'), parts: { account_name: 'acmestore' } })],
  ])('%s: DNS is asked once and the request is pinned to the checked address', async (_name, make) => {
    const { calls, lookup } = rebindingLookup();
    const seen: { url: string; pin: unknown }[] = [];
    const verifier = createVerifier({
      registry: new SecretRegistry(),
      lookup,
      // Stands in for the transport: records where the request would connect.
      fetch: async (url, _init, pin) => {
        seen.push({ url, pin });
        return new Response('{}', { status: 401 });
      },
    });
    const req = make();
    await verifier.verify({ ...req, fingerprint: randomBytes(8).toString('hex') });
    expect(calls).toHaveLength(1);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.pin).toEqual({ address: '93.184.216.34', family: 4 });
    expect(new URL(seen[0]!.url).protocol).toBe('https:');
  });

  it('a loopback answer is refused unless --allow-insecure-issuers', async () => {
    const lookup: VerifierOptions['lookup'] = async () => [{ address: '127.0.0.1', family: 4 }];
    const seen: unknown[] = [];
    const fetchSpy: VerifierOptions['fetch'] = async (_url, _init, pin) => {
      seen.push(pin);
      return new Response('{}', { status: 401 });
    };
    const req = { detector: shopify, secret: `shpat_${randomBytes(16).toString('hex')}`, parts: { shop: 'acme.myshopify.com' } };
    const strict = createVerifier({ registry: new SecretRegistry(), lookup, fetch: fetchSpy });
    expect((await strict.verify({ ...req, fingerprint: 'a' })).reason).toBe('refused: host acme.myshopify.com resolves to non-public address 127.0.0.1');
    expect(seen).toEqual([]);
    const lenient = createVerifier({ registry: new SecretRegistry(), lookup, fetch: fetchSpy, allowInsecure: true });
    expect((await lenient.verify({ ...req, fingerprint: 'b' })).status).toBe('dead');
    expect(seen).toEqual([{ address: '127.0.0.1', family: 4 }]);
  });
});

describe('pinnedFetch: the connection goes to the pinned address, TLS and Host keep the name', () => {
  let dir: string;
  const certFor = (name: string) => {
    const key = join(dir, `${name}.key`);
    const cert = join(dir, `${name}.crt`);
    // A self-signed certificate for `name`, made now (CI=true without openssl fails here, it never skips).
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`], { stdio: 'ignore' });
    return { key: readFileSync(key), cert: readFileSync(cert) };
  };
  let server: https.Server;
  let port: number;
  let ca: Buffer;
  const seen: { host?: string; servername?: string | false | null; path?: string }[] = [];

  beforeAll(async () => {
    dir = await tempDir('keyloop-tls-');
    const c = certFor('acme.myshopify.com');
    ca = c.cert;
    server = https.createServer({ key: c.key, cert: c.cert }, (req, res) => {
      seen.push({ host: req.headers.host, servername: (req.socket as TLSSocket).servername, path: req.url });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => server?.close(() => r()));
  });

  it('reaches a name that has no DNS at all through its pinned address; SNI and Host are the name', async () => {
    const res = await pinnedFetch(`https://acme.myshopify.com:${port}/admin/x?y=1`, { method: 'GET', headers: { 'x-a': 'b' } }, { address: '127.0.0.1', family: 4 }, { ca });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(seen.at(-1)).toEqual({ host: `acme.myshopify.com:${port}`, servername: 'acme.myshopify.com', path: '/admin/x?y=1' });
  });

  it('the certificate is checked against the name, not the address', async () => {
    await expect(pinnedFetch(`https://other.myshopify.com:${port}/`, { method: 'GET' }, { address: '127.0.0.1', family: 4 }, { ca })).rejects.toMatchObject({
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    // and an untrusted certificate is refused outright
    await expect(pinnedFetch(`https://acme.myshopify.com:${port}/`, { method: 'GET' }, { address: '127.0.0.1', family: 4 })).rejects.toMatchObject({
      code: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/),
    });
  });
});
