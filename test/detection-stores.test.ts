// Obfuscated and encrypted credential stores, end to end through the real catalog and engine: inputs are built at
// test time by running each store's forward algorithm (testkit/store-encoders.ts) on a fresh password, and the
// finding must report that password. Also the password-hash class, key-file detectors and binary stores in a scan.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine } from '../src/detection/engine.js';
import { loadCatalog } from '../src/detection/load.js';
import { DetectorDef } from '../src/detection/schema.js';
import { decodeWinscpPassword } from '../src/detection/stores/winscp.js';
import type { LoadedDetector } from '../src/detection/types.js';
import { scanPath } from '../src/run/scan.js';
import { silentLogger } from '../src/util/logger.js';
import { SecretRegistry } from '../src/util/redact.js';
import { createVerifier } from '../src/verification/verify.js';
import { encodeBasicAuth, encodeFilezillaBase64, encodeJetbrainsXor, encodeWinscp, encryptDbeaver, randomPassword } from '../testkit/store-encoders.js';
import { rng } from '../testkit/token-gen.js';

const catalog = loadCatalog(join(import.meta.dirname, '..', 'detectors'));
const engine = createEngine(catalog);
const rand = rng(0x53746f72);
const work = mkdtempSync(join(tmpdir(), 'keyloop-stores-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function scan(text: string | Buffer, path = 'file.txt') {
  return engine.scan(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, { path });
}

describe('WinSCP (published PWALG_SIMPLE obfuscation)', () => {
  it('decodes session and tunnel passwords of WinSCP.ini, keyed by user name + host name', () => {
    const [p1, p2] = [randomPassword(rand), randomPassword(rand)];
    const ini = [
      '[Sessions\\deploy@sftp.keyloop.test]',
      'HostName=sftp.keyloop.test',
      'UserName=deploy',
      `Password=${encodeWinscp(p1, 'deploysftp.keyloop.test', rand)}`,
      'Tunnel=1',
      'TunnelHostName=bastion.keyloop.test',
      'TunnelUserName=jump',
      `TunnelPassword=${encodeWinscp(p2, 'jumpbastion.keyloop.test', rand)}`,
      '',
    ].join('\r\n');
    const ms = scan(ini, 'WinSCP.ini').filter((m) => m.detectorId === 'winscp-password');
    expect(ms.map((m) => m.secret)).toEqual([p1, p2]);
    expect(ms[0]!.decoded).toEqual(['winscp']);
    expect(ms[0]!.line).toBe(4);
  });

  it('decodes registry exports, long passwords (two-byte length) and values stored without a key', () => {
    const long = randomPassword(rand, 300, 300);
    const reg = `[HKEY_CURRENT_USER\\Software\\Martin Prikryl\\WinSCP 2\\Sessions\\x]\n"HostName"="h.keyloop.test"\n"UserName"="u"\n"Password"="${encodeWinscp(long, 'uh.keyloop.test', rand)}"\n`;
    expect(scan(reg).find((m) => m.detectorId === 'winscp-password')?.secret).toBe(long);
    const bare = randomPassword(rand);
    expect(decodeWinscpPassword(encodeWinscp(bare, '', rand), null)).toBe(bare);
  });

  it('reports nothing for a master-password-protected value or hex that is not WinSCP’s', () => {
    // flag 0xFF then version 1 (PWALG_SIMPLE_EXTERNAL): encrypted with the master password, nothing to recover
    const hex = (b: number) => ((~b ^ 0xa3) & 0xff).toString(16).toUpperCase().padStart(2, '0');
    const external = [0xff, 0x01, ...Array.from({ length: 60 }, () => Math.floor(rand() * 256))].map(hex).join('');
    expect(decodeWinscpPassword(external, null)).toBeNull();
    expect(scan(`[Sessions\\a]\nPassword=${external}\n`).filter((m) => m.detectorId === 'winscp-password')).toEqual([]);
    expect(scan(`[Sessions\\a]\nPassword=${'0123456789ABCDEF'.repeat(7)}\n`).filter((m) => m.detectorId === 'winscp-password')).toEqual([]);
  });
});

describe('FileZilla, JetBrains, HTTP Basic', () => {
  it('decodes FileZilla’s <Pass encoding="base64"> (a trailing newline is not part of the password)', () => {
    const p = randomPassword(rand);
    const xml = `<Server>\n\t<Host>ftp.keyloop.test</Host>\n\t<User>up</User>\n\t<Pass encoding="base64">${encodeFilezillaBase64(`${p}\n`)}</Pass>\n</Server>\n`;
    const m = scan(xml, 'sitemanager.xml').find((x) => x.detectorId === 'filezilla-password-base64');
    expect(m).toMatchObject({ secret: p, decoded: ['filezilla-base64'], line: 4 });
  });

  it('decodes IntelliJ PasswordUtil values in WebServers.xml and dataSources.xml', () => {
    const [p1, p2] = [randomPassword(rand), randomPassword(rand)];
    const xml = `<fileTransfer host="ftp.keyloop.test" port="21" password="${encodeJetbrainsXor(p1)}" username="d">\n<user-password>${encodeJetbrainsXor(p2)}</user-password>\n`;
    expect(scan(xml).filter((m) => m.detectorId === 'jetbrains-deployment-password').map((m) => m.secret)).toEqual([p1, p2]);
  });

  it('reports an Authorization: Basic header as its decoded user:password, once', () => {
    const p = randomPassword(rand);
    const ms = scan(`curl -H "Authorization: Basic ${encodeBasicAuth('svc-reports', p)}" https://reports.keyloop.internal/export\n`, 'sync.sh');
    expect(ms.filter((m) => m.detectorId === 'http-basic-authorization').map((m) => m.secret)).toEqual([`svc-reports:${p}`]);
    // the base64 it came from is the same secret, not a second one for a generic detector
    expect(ms.filter((m) => m.detectorId !== 'http-basic-authorization')).toEqual([]);
  });
});

describe('DBeaver credentials-config.json (AES-128-CBC under DBeaver’s published key)', () => {
  const json = (p: string) => JSON.stringify({ 'postgres-jdbc-18c3a9b2f41-6b1f7c2e9a0d4e11': { '#connection': { user: 'analytics', password: p } } });

  it('recognises the encrypted file by content and reports the passwords inside', () => {
    const p = randomPassword(rand);
    const ms = scan(encryptDbeaver(json(p), rand), 'credentials-config.json');
    expect(ms).toEqual([expect.objectContaining({ detectorId: 'dbeaver-connection-password', secret: p, decoded: ['dbeaver'] })]);
  });

  it('finds it in a git history and in a directory, also when the ciphertext holds NUL bytes (binary)', async () => {
    const stores: { p: string; data: Buffer }[] = [];
    // enough files that some ciphertexts hold a NUL in their first 8 KiB and some do not
    for (let i = 0; i < 12; i++) {
      const p = randomPassword(rand);
      stores.push({ p, data: encryptDbeaver(json(p), rand) });
    }
    expect(stores.some((s) => s.data.includes(0))).toBe(true);
    const repo = join(work, 'dbeaver-repo');
    mkdirSync(repo, { recursive: true });
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'ignore' });
    git('init', '-q', '-b', 'main');
    stores.forEach((s, i) => {
      mkdirSync(join(repo, `ws${i}`, '.dbeaver'), { recursive: true });
      writeFileSync(join(repo, `ws${i}`, '.dbeaver', 'credentials-config.json'), s.data);
    });
    git('add', '-A');
    git('-c', 'user.name=t', '-c', 'user.email=t@keyloop.test', 'commit', '-q', '-m', 'workspaces');
    for (const history of [true, false]) {
      const { result } = await scanPath({ path: repo, cwd: repo, env: {}, history, gitBackend: 'auto', maxBlobSize: 1 << 20, registry: new SecretRegistry(), logger: silentLogger });
      const found = result.findings.filter((f) => f.detector === 'dbeaver-connection-password').map((f) => f.secret);
      expect(found.sort()).toEqual(stores.map((s) => s.p).sort());
      expect(result.findings.every((f) => f.locations.every((l) => l.decoded?.[0] === 'dbeaver'))).toBe(true);
    }
  });

  it('leaves other binary content alone', () => {
    const noise = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(rand() * 256)));
    noise[0] = 0;
    expect(scan(noise)).toEqual([]);
  });
});

describe('keystores and Kubernetes Secret manifests', () => {
  it('reports a committed binary JKS or PKCS#12 file, as base64', () => {
    const body = Buffer.from(Array.from({ length: 900 }, () => Math.floor(rand() * 256)));
    const jks = Buffer.concat([Buffer.from('feedfeed00000002', 'hex'), body]);
    const p12 = Buffer.concat([Buffer.from('3082038c0201033082', 'hex'), body]);
    expect(scan(jks, 'release.jks')).toEqual([expect.objectContaining({ detectorId: 'java-keystore', secret: jks.toString('base64'), decoded: ['keystore'] })]);
    expect(scan(p12, 'signing.p12')).toEqual([expect.objectContaining({ detectorId: 'pkcs12-keystore', secret: p12.toString('base64') })]);
  });

  it('decodes the base64 data of a Secret manifest: a password under its key is found', () => {
    const p = randomPassword(rand);
    const yaml = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  username: bGVkZ2Vy\n  DB_PASSWORD: ${Buffer.from(p).toString('base64')}\n`;
    const ms = scan(yaml, 'k8s/db.yaml');
    expect(ms).toEqual([expect.objectContaining({ secret: p, decoded: ['kubernetes-secret'], line: 8 })]);
    // the same lines outside a Secret manifest are not decoded (the base64 is then only a generic guess)
    expect(scan(yaml.replace('kind: Secret', 'kind: ConfigMap'), 'k8s/db.yaml').filter((m) => m.decoded || m.secret === p)).toEqual([]);
  });
});

describe('key files and password hashes', () => {
  it('reads a Rails master.key whole, and never a line of a larger file', () => {
    const key = Array.from({ length: 32 }, () => '0123456789abcdef'[Math.floor(rand() * 16)]).join('');
    expect(scan(`${key}\n`, 'config/master.key')).toEqual([expect.objectContaining({ detectorId: 'rails-master-key', secret: key })]);
    expect(scan(`${key}  release-1.2.tar.gz\n`).filter((m) => m.detectorId === 'rails-master-key')).toEqual([]);
    expect(scan(`checksums:\n${key}\n`).filter((m) => m.detectorId === 'rails-master-key')).toEqual([]);
  });

  it('reports password hashes at low severity, and never sends one to an issuer', async () => {
    const crypt64 = (n: number) => Array.from({ length: n }, () => './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'[Math.floor(rand() * 64)]).join('');
    const shadow = `root:${['', '6', crypt64(16), crypt64(86)].join('$')}:19650:0:99999:7:::\n`;
    const [m] = scan(shadow, 'etc/shadow');
    const det = catalog.byId.get(m!.detectorId)!;
    expect(det.def).toMatchObject({ class: 'password-hash', severity: 'low' });
    // the schema refuses a verify block on a hash detector; a detector built around the schema is still not verified
    expect(() => DetectorDef.parse({ ...det.def, verify: { kind: 'code', issuer: 'x', verifier: 'aws-sts' } })).toThrow(/never verified/);
    let calls = 0;
    const verifier = createVerifier({ registry: new SecretRegistry(), fetch: async () => (calls++, new Response('{}')) });
    const forged: LoadedDetector = { ...det, def: { ...det.def, verify: { kind: 'http', issuer: 'x', base_url: 'https://x.keyloop.test', path: '/', method: 'GET', headers: {}, live: [{ status: [200] }], dead: [] } as never } };
    const v = await verifier.verify({ detector: forged, secret: m!.secret, parts: {}, fingerprint: 'f' });
    expect(v).toMatchObject({ status: 'unknown', reason: 'not verifiable: a password hash' });
    expect(calls).toBe(0);
  });
});
