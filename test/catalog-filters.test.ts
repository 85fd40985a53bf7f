// The global false-positive filters (src/detection/filters.ts) through the real engine and catalog: each decoy
// family produces nothing, and a real-looking secret in the same place is still found (the filter costs no recall).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../src/detection/engine.js';
import { falsePositiveReason, randomnessFloor } from '../src/detection/filters.js';
import { loadCatalog } from '../src/detection/load.js';
import { rng, withCrc32Tail } from '../testkit/token-gen.js';

const catalog = loadCatalog(join(import.meta.dirname, '..', 'detectors'));
const engine = createEngine(catalog);
const rand = rng(42);
const alnum = (n: number) => Array.from({ length: n }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(rand() * 62)]).join('');
const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(rand() * 16)]).join('');
const b64 = (bytes: number) => Buffer.from(Array.from({ length: bytes }, () => Math.floor(rand() * 256))).toString('base64');
const scan = (text: string, path = 'config/app.env') => engine.scan(Buffer.from(text, 'utf8'), { path }).map((m) => `${m.detectorId}:${m.secret}`);

/** [family, decoy text, path, control text whose secret must be found, expected detector]. */
const FAMILIES: [string, string, string, string, string][] = [
  ['masked x/*', 'GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nAPI_SECRET=****************', 'a.env', `GITHUB_TOKEN=${withCrc32Tail('ghp_', alnum(30))}`, 'github-pat-classic'],
  ['angle placeholder', 'API_TOKEN=<token>', 'a.env', `API_TOKEN=${alnum(32)}`, 'generic-secret-assignment'],
  ['shell/compose var', 'SERVICE_TOKEN=${SERVICE_TOKEN}\nclient_secret: $CLIENT_SECRET', 'a.env', `SERVICE_TOKEN=${alnum(32)}`, 'generic-secret-assignment'],
  ['helm/jinja template', 'apiKey: "{{ .Values.apiKey }}"\npassword: "{{ vault_db_password }}"', 'values.yaml', `apiKey: "${alnum(32)}"`, 'generic-secret-assignment'],
  ['python format', "token = '%(token)s'", 'a.py', `token = '${alnum(32)}'`, 'generic-secret-assignment'],
  ['your_api_key / changeme', 'OPENAI_API_KEY=your_api_key\nDB_PASSWORD=changeme\nSECRET=example-secret-value', 'a.env', `DB_PASSWORD=${alnum(14)}`, 'generic-password-assignment'],
  ['dummy / test words', 'API_KEY=test\nAUTH_TOKEN=dummy-token-for-local-dev', 'a.env', `AUTH_TOKEN=${alnum(32)}`, 'generic-secret-assignment'],
  ['AWS documentation keys', 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'credentials', `aws_secret_access_key = ${alnum(40)}`, 'aws-secret-access-key'],
  ['npm integrity', `"integrity": "sha512-${b64(64)}"`, 'package-lock.json', `"resolved": "https://ci:${withCrc32Tail('ghp_', alnum(30))}@npm.pkg.github.com/pkg.tgz"`, 'github-pat-classic'],
  ['go.sum', `github.com/org/mod v1.2.3 h1:${b64(32)}`, 'go.sum', `github.com/org/mod v1.2.3 h1:${b64(32)} // ${withCrc32Tail('ghp_', alnum(30))}`, 'github-pat-classic'],
  ['SRI', `<script src="/a.js" integrity="sha384-${b64(48)}"></script>`, 'index.html', `<script>const apiKey = "${alnum(32)}";</script>`, 'generic-secret-assignment'],
  ['git SHA', `commit_token: ${hex(40)}\nbase_sha: ${hex(40)}`, 'deploy.yaml', `deploy_token: ${hex(40)}`, 'generic-secret-assignment'],
  ['UUID ids', `{"tenant_id": "${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}", "secretId": "${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}"}`, 'ids.json', `{"client_secret": "${alnum(40)}"}`, 'generic-secret-assignment'],
  ['data: URI', `.a { background: url("data:image/png;base64,${b64(300)}"); }`, 'a.css', `SECRET_KEY=${alnum(40)}`, 'generic-secret-assignment'],
  ['SSH public key', `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${b64(32).replace(/=+$/, '')} token@ci`, 'authorized_keys', `-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ${b64(200)}\n-----END OPENSSH PRIVATE KEY-----`, 'private-key-openssh'],
  ['certificate', `-----BEGIN CERTIFICATE-----\n${b64(300)}\n-----END CERTIFICATE-----`, 'a.crt', `-----BEGIN PRIVATE KEY-----\n${b64(300)}\n-----END PRIVATE KEY-----`, 'private-key-pkcs8'],
  ['minified identifiers', `!function(e){var n={apiKey:e.apiKey,token:t.authToken,secret:e.secretKeyName};${'x=1;'.repeat(400)}}()`, 'vendor.4f3a9c2e.js', `!function(e){var n={apiKey:"${alnum(32)}"};${'x=1;'.repeat(400)}}()`, 'generic-secret-assignment'],
  ['env references', 'const apiKey = process.env.API_KEY;\ntoken = os.environ["TOKEN"]\nString secret = System.getenv("APP_SECRET");', 'a.ts', `const apiKey = "${alnum(32)}";`, 'generic-secret-assignment'],
  ['type annotations', 'interface Opts {\n  password: BinaryLike;\n  token: BasePreTokenGenerationV2TriggerEvent;\n  secret: kEnumerableProperty;\n}', 'types.d.ts', `const password = "${alnum(13)}7";`, 'generic-password-assignment'],
  ['code expressions', 'password: signer.getDateTime()\nconst pass = { password: z.string().min(8) };', 'README.md', `password: ${alnum(13)}7`, 'generic-password-assignment'],
  ['typed sequences', 'token: 1234567890abcdef12341234567890abcdef1234', 'README.md', `token: ${hex(40)}`, 'generic-secret-assignment'],
  ['values naming a secret', 'auth: { token: existingtoken123, apiKey: useraccesstoken123 }', 'README.md', `auth: { token: ${alnum(24)} }`, 'generic-secret-assignment'],
  ['bad checksum', `GITHUB_TOKEN=${withCrc32Tail('ghp_', alnum(30)).slice(0, -1)}Q`.replace(/QQ$/, 'QR'), 'a.env', `NPM_TOKEN=${withCrc32Tail('npm_', alnum(30))}`, 'npm-access-token'],
];

describe('false-positive filters', () => {
  for (const [family, decoy, path, control, detector] of FAMILIES) {
    it(`${family}: decoy silent, real value in the same place found`, () => {
      expect(scan(decoy, path)).toEqual([]);
      expect(scan(control, path).some((f) => f.startsWith(`${detector}:`)), scan(control, path).join(', ') || 'nothing found').toBe(true);
    });
  }

  it('judges generic values by their charset: hex, alphanumeric and base64 floors', () => {
    expect(randomnessFloor(hex(32))).toBeNull();
    expect(randomnessFloor('deadbeefdeadbeefdeadbeef')).toMatch(/hex floor/);
    expect(randomnessFloor(alnum(20))).toBeNull();
    expect(randomnessFloor('aaaabbbbccccddddgggg')).toMatch(/alphanumeric floor/);
    expect(randomnessFloor(b64(30))).toBeNull();
    expect(randomnessFloor('a+a+a+a+a+a+a+a+a+a+a+')).toMatch(/base64\/symbol floor/);
  });

  it('passes almost every random value at each floor (the floors cost < 2 % recall)', () => {
    let rejected = 0;
    const n = 3000;
    for (let i = 0; i < n; i++) {
      const len = 16 + (i % 33);
      const v = i % 3 === 0 ? hex(len) : i % 3 === 1 ? alnum(len) : b64(Math.ceil((len * 3) / 4));
      if (randomnessFloor(v)) rejected++;
    }
    expect(rejected / n).toBeLessThan(0.02);
  });

  it('keeps provider tokens that merely contain a filter word by chance, and drops documented keys', () => {
    const def = catalog.byId.get('aws-access-key-id')!.def;
    expect(falsePositiveReason('AKIAIOSFODNN7EXAMPLE', { line: '', pathClass: 0, detector: def })).toMatch(/documentation|placeholder/);
    const gh = catalog.byId.get('github-pat-classic')!.def;
    expect(falsePositiveReason('ghp_Testabc8Fakezz0Mock19qqWe3RtYu5IoP7', { line: '', pathClass: 0, detector: gh })).toBeNull();
  });
});
