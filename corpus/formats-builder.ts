// Builds the formats corpus: hand-written files in the real syntax of credential-bearing formats (corpus/formats/
// <family>/…: .netrc, WinSCP.ini, wp-config.php, /etc/shadow, kubeconfig …), whose placeholders are filled with
// freshly generated values at build time, committed into a real git repository. Written from the formats, not from
// detectors/*.yaml, so it measures what the catalog misses. Every secret placeholder is a label; every finding that
// is not one of them (or an encoding of one) is a false positive, including anything in a file with no placeholder.
//
// Placeholders, in ⟦ ⟧ so that no real syntax (Jinja, Helm, shell) collides with them:
//   ⟦name:gen⟧      a fresh value of generator `gen` (table below), emitted and remembered as `name`
//   ⟦~name:gen⟧     the same, defined without being emitted
//   ⟦name⟧          `name`'s value again
//   ⟦=enc(a,b…)⟧    an encoding of earlier values (a store's obfuscation, base64 …)
// A trailing `!` (⟦name:gen!⟧, ⟦=enc(…)!⟧) requires a provider detector: a generic finding does not count.
// A template ending in `.kl-dbeaver` is encrypted the way DBeaver stores credentials-config.json, suffix dropped.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { encodeBasicAuth, encodeFilezillaBase64, encodeJetbrainsXor, encodeWinscp, encryptDbeaver } from '../testkit/store-encoders.js';
import { makeJwt, makePypiToken, rng, withCrc32Tail } from '../testkit/token-gen.js';

export interface FormatLabel {
  family: string;
  path: string;
  /** What a finding's secret must contain to count (the password, the key body, the hash). */
  secret: string;
  /** Forms the secret also takes in the file (its encodings, the whole PEM): a finding of one is not a false positive. */
  aliases: string[];
  /** Only a provider (non-generic) detector's finding counts. */
  provider: boolean;
}

export interface FormatsManifest {
  dir: string;
  families: string[];
  /** Files per family, and which of them hold no secret at all. */
  files: { family: string; path: string; negative: boolean }[];
  labels: FormatLabel[];
}

type Rand = () => number;
interface Value {
  text: string;
  secret: boolean;
  /** What a finding must contain, when not the whole text (a key block's body). */
  core?: string;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const CRYPT64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const pick = (rand: Rand, chars: string, n: number) => Array.from({ length: n }, () => chars[Math.floor(rand() * chars.length)]).join('');
const bytes = (rand: Rand, n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
const hex = (rand: Rand, n: number) => pick(rand, '0123456789abcdef', n);
const wrap = (b64: string, width: number) => b64.match(new RegExp(`.{1,${width}}`, 'g'))!.join('\n');

/** A password as people and password managers set them: letters, digits, a few symbols, 10-20 characters. */
function password(rand: Rand, min = 10, max = 20): string {
  const letters = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const n = min + Math.floor(rand() * (max - min + 1));
  let s = '';
  // symbols that every one of these formats carries unescaped (no quote, colon, @, # or %)
  for (let i = 0; i < n - 3; i++) s += rand() < 0.12 ? pick(rand, '!*+-=^_~.', 1) : pick(rand, letters, 1);
  return s + pick(rand, 'ABCDEFGHJKLMNPQRSTUVWXYZ', 1) + pick(rand, 'abcdefghijkmnopqrstuvwxyz', 1) + pick(rand, '23456789', 1);
}

/** A PEM block with a DER-shaped body (`lead` is the base64 of the structure's first bytes). */
function pem(rand: Rand, label: string, lead: string, bodyBytes: number, headers = ''): Value {
  const body = wrap(lead + bytes(rand, bodyBytes).toString('base64'), 64);
  return { text: `-----BEGIN ${label}-----\n${headers}${body}\n-----END ${label}-----`, secret: true, core: body.split('\n').slice(1, -1).join('\n') };
}

/** A real Ed25519 key from seeded bytes, in OpenSSH's private key format (PROTOCOL.key), unencrypted or not. */
function openssh(rand: Rand, encrypted: boolean): Value {
  const seed = bytes(rand, 32);
  const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
  const pub = Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x!, 'base64url');
  const str = (b: Buffer | string) => {
    const v = typeof b === 'string' ? Buffer.from(b) : b;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(v.length);
    return Buffer.concat([len, v]);
  };
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const pubBlob = Buffer.concat([str('ssh-ed25519'), str(pub)]);
  const check = bytes(rand, 4);
  let priv = Buffer.concat([check, check, str('ssh-ed25519'), str(pub), str(Buffer.concat([seed, pub])), str('deploy@build-01')]);
  const pad = Buffer.from(Array.from({ length: (8 - (priv.length % 8)) % 8 }, (_, i) => i + 1));
  priv = Buffer.concat([priv, pad]);
  const header = encrypted
    ? Buffer.concat([Buffer.from('openssh-key-v1\0'), str('aes256-ctr'), str('bcrypt'), str(Buffer.concat([str(bytes(rand, 16)), u32(24)])), u32(1)])
    : Buffer.concat([Buffer.from('openssh-key-v1\0'), str('none'), str('none'), str(''), u32(1)]);
  // an encrypted key's private section is ciphertext: random bytes of the same length stand in for it
  const blob = Buffer.concat([header, str(pubBlob), str(encrypted ? bytes(rand, priv.length + 16) : priv)]);
  const body = wrap(blob.toString('base64'), 70);
  return { text: `-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----`, secret: true, core: body.split('\n').slice(1, -1).join('\n') };
}

/** A PuTTY key file (v2, or v3 with Argon2id key derivation when encrypted). */
function ppk(rand: Rand, version: 2 | 3, encrypted: boolean): Value {
  const pubBlob = Buffer.concat([Buffer.from('0000000b7373682d6564323535313900000020', 'hex'), bytes(rand, 32)]).toString('base64');
  const privLines = wrap(bytes(rand, encrypted ? 48 : 36).toString('base64'), 64);
  const kdf = version === 3 && encrypted ? `Key-Derivation: Argon2id\nArgon2-Memory: 8192\nArgon2-Passes: 13\nArgon2-Parallelism: 1\nArgon2-Salt: ${hex(rand, 32)}\n` : '';
  const text =
    `PuTTY-User-Key-File-${version}: ssh-ed25519\nEncryption: ${encrypted ? 'aes256-cbc' : 'none'}\nComment: eddsa-key-20240311\n` +
    `Public-Lines: ${wrap(pubBlob, 64).split('\n').length}\n${wrap(pubBlob, 64)}\n${kdf}Private-Lines: ${privLines.split('\n').length}\n${privLines}\n` +
    `Private-MAC: ${hex(rand, version === 3 ? 64 : 40)}`;
  // what a finding must hold: the first private line (key material; the comment and public lines are not secret)
  return { text, secret: true, core: privLines.split('\n')[0]! };
}

const GENERATORS: Record<string, (rand: Rand, arg?: number) => Value> = {
  // not secrets
  user: (r) => ({ text: pick(r, 'abcdefghijklmnopqrstuvwxyz', 1) + pick(r, 'abcdefghijklmnopqrstuvwxyz', 4 + Math.floor(r() * 4)) + (r() < 0.5 ? String(Math.floor(r() * 90) + 10) : ''), secret: false }),
  host: (r) => ({ text: `${pick(r, 'abcdefghijklmnopqrstuvwxyz', 5)}-${Math.floor(r() * 9) + 1}.${['corp.example', 'internal.example', 'example.net'][Math.floor(r() * 3)]}`, secret: false }),
  id: (r) => ({ text: `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-8${hex(r, 3)}-${hex(r, 12)}`, secret: false }),
  'twilio-sid': (r) => ({ text: `AC${hex(r, 32)}`, secret: false }),
  'twilio-key-sid': (r) => ({ text: `SK${hex(r, 32)}`, secret: false }),
  'token-id': (r) => ({ text: pick(r, 'abcdefghijklmnopqrstuvwxyz0123456789', 6), secret: false }),
  ident: (r, n = 20) => ({ text: pick(r, ALNUM, n), secret: false }),
  digest: (r, n = 64) => ({ text: hex(r, n), secret: false }),
  // secrets (an AWS key id is reported with its secret: it is how the issuer names the key)
  'aws-key-id': (r) => ({ text: `AKIA${pick(r, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}`, secret: true }),
  password: (r, n) => ({ text: n ? password(r, n, n) : password(r), secret: true }),
  hex: (r, n = 32) => ({ text: hex(r, n), secret: true }),
  HEX: (r, n = 32) => ({ text: hex(r, n).toUpperCase(), secret: true }),
  alnum: (r, n = 32) => ({ text: pick(r, ALNUM, n), secret: true }),
  b64: (r, n = 32) => ({ text: bytes(r, n).toString('base64'), secret: true }),
  uuid: (r) => ({ text: `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`, secret: true }),
  'aws-secret': (r) => ({ text: pick(r, ALNUM + '/+', 40), secret: true }),
  ghp: (r) => ({ text: withCrc32Tail('ghp_', pick(r, ALNUM, 30)), secret: true }),
  glpat: (r) => ({ text: `glpat-${pick(r, ALNUM + '-_', 20)}`, secret: true }),
  'npm-token': (r) => ({ text: withCrc32Tail('npm_', pick(r, ALNUM, 30)), secret: true }),
  pypi: (r) => ({ text: makePypiToken('pypi.org', r), secret: true }),
  jwt: (r) => ({ text: makeJwt(r), secret: true }),
  'django-key': (r) => ({ text: pick(r, 'abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)', 50), secret: true }),
  // WordPress' secret-key service: 64 printable characters, never a quote or backslash
  'wp-salt': (r) => ({ text: pick(r, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*()-_ []{}<>~`+=,.;:/?|', 64), secret: true }),
  'token-secret': (r) => ({ text: pick(r, 'abcdefghijklmnopqrstuvwxyz0123456789', 16), secret: true }),
  'k8s-bootstrap': (r) => ({ text: `${pick(r, 'abcdefghijklmnopqrstuvwxyz0123456789', 6)}.${pick(r, 'abcdefghijklmnopqrstuvwxyz0123456789', 16)}`, secret: true }),
  'salesforce-token': (r) => ({ text: `00D${pick(r, ALNUM, 15)}!${pick(r, ALNUM + '._', 96)}`, secret: true }),
  'salesforce-refresh': (r) => ({ text: `5Aep861${pick(r, ALNUM + '._', 80)}`, secret: true }),
  'gcp-refresh': (r) => ({ text: `1//0${pick(r, ALNUM + '-_', 99)}`, secret: true }),
  // password hashes (the password-hash class)
  md5crypt: (r) => ({ text: `$1$${pick(r, CRYPT64, 8)}$${pick(r, CRYPT64, 22)}`, secret: true }),
  apr1: (r) => ({ text: `$apr1$${pick(r, CRYPT64, 8)}$${pick(r, CRYPT64, 22)}`, secret: true }),
  sha256crypt: (r) => ({ text: `$5$${pick(r, CRYPT64, 16)}$${pick(r, CRYPT64, 43)}`, secret: true }),
  sha512crypt: (r) => ({ text: `$6$${pick(r, CRYPT64, 16)}$${pick(r, CRYPT64, 86)}`, secret: true }),
  'sha512crypt-rounds': (r) => ({ text: `$6$rounds=656000$${pick(r, CRYPT64, 16)}$${pick(r, CRYPT64, 86)}`, secret: true }),
  bcrypt: (r) => ({ text: `$2${['a', 'b', 'y'][Math.floor(r() * 3)]}$${['10', '12'][Math.floor(r() * 2)]}$${pick(r, CRYPT64, 53)}`, secret: true }),
  yescrypt: (r) => ({ text: `$y$j9T$${pick(r, CRYPT64, 22)}$${pick(r, CRYPT64, 43)}`, secret: true }),
  argon2: (r) => ({ text: `$argon2id$v=19$m=65536,t=3,p=4$${bytes(r, 16).toString('base64').replace(/=+$/, '')}$${bytes(r, 32).toString('base64').replace(/=+$/, '')}`, secret: true }),
  'ntlm-pair': (r) => ({ text: `aad3b435b51404eeaad3b435b51404ee:${hex(r, 32)}`, secret: true }),
  'htpasswd-sha': (r) => ({ text: `{SHA}${bytes(r, 20).toString('base64')}`, secret: true }),
  // keys
  'rsa-pem': (r) => pem(r, 'RSA PRIVATE KEY', 'MIIEowIBAAKCAQEA', 1180),
  'ec-pem': (r) => pem(r, 'EC PRIVATE KEY', 'MHcCAQEEI', 110),
  'pkcs8-pem': (r) => pem(r, 'PRIVATE KEY', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 1200),
  'pkcs8-encrypted': (r) => pem(r, 'ENCRYPTED PRIVATE KEY', 'MIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI', 1250),
  'rsa-pem-encrypted': (r) => pem(r, 'RSA PRIVATE KEY', '', 1190, `Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,${hex(r, 32).toUpperCase()}\n\n`),
  'pgp-private': (r) => pem(r, 'PGP PRIVATE KEY BLOCK', 'lQVYBGX', 1300, 'Comment: keyloop formats corpus\n\n'),
  openssh: (r) => openssh(r, false),
  'openssh-encrypted': (r) => openssh(r, true),
  ppk2: (r) => ppk(r, 2, false),
  ppk3: (r) => ppk(r, 3, false),
  'ppk3-encrypted': (r) => ppk(r, 3, true),
  // a PKCS#12 keystore, base64 (as CI variables and Kubernetes secrets carry them)
  'p12-b64': (r) => {
    const text = Buffer.concat([Buffer.from('308209e9020103308209af06092a864886f70d010701a082', 'hex'), bytes(r, 600)]).toString('base64');
    return { text, secret: true };
  },
};

/** Encodings of earlier values: the emitted text, and the secret it hides (what a finding must report). */
const ENCODINGS: Record<string, (rand: Rand, args: string[]) => { text: string; secret: string; aliases?: string[] }> = {
  // FileZilla <Pass encoding="base64">
  base64: (_r, [p]) => ({ text: encodeFilezillaBase64(p!), secret: p! }),
  // WinSCP Password=, keyed by user name + host name
  winscp: (r, [p, user, host]) => ({ text: encodeWinscp(p!, `${user}${host}`, r), secret: p! }),
  // IntelliJ PasswordUtil
  jetbrains: (_r, [p]) => ({ text: encodeJetbrainsXor(p!), secret: p! }),
  // Authorization: Basic; the credential is the pair
  basic: (_r, [user, p]) => ({ text: encodeBasicAuth(user!, p!), secret: `${user}:${p}` }),
  // a Kubernetes Secret's data: value (the secret is the decoded value)
  k8s: (_r, [v]) => ({ text: Buffer.from(v!).toString('base64'), secret: v! }),
  // base64 of a value, reported as written (kubeconfig client-key-data); a finding of the decoded value is no error
  b64: (_r, [v]) => {
    const text = Buffer.from(v!).toString('base64');
    return { text, secret: text, aliases: [text, v!] };
  },
  // npm _auth, Docker auths: base64 of user:password, reported as written
  'userpass-b64': (_r, [user, p]) => {
    const text = Buffer.from(`${user}:${p}`).toString('base64');
    return { text, secret: text };
  },
};

const PLACEHOLDER = /⟦(=?)(~?)([^⟧]+)⟧/g;

/** Fills one template; records its labels (also the filter table's samples: test/filter-table.test.ts). */
export function fill(template: string, family: string, path: string, rand: Rand, labels: FormatLabel[]): string {
  const values = new Map<string, string>();
  return template.replace(PLACEHOLDER, (_all, isEnc: string, silent: string, body: string) => {
    const provider = body.endsWith('!');
    const spec = provider ? body.slice(0, -1) : body;
    if (isEnc) {
      const m = /^([\w-]+)\(([^)]*)\)$/.exec(spec);
      const enc = m && ENCODINGS[m[1]!];
      if (!enc) throw new Error(`${path}: unknown encoding ${spec}`);
      const args = m[2]!.split(',').map((a) => {
        const v = values.get(a.trim());
        if (v === undefined) throw new Error(`${path}: ${spec} uses undefined ${a}`);
        return v;
      });
      const { text, secret, aliases } = enc(rand, args);
      labels.push({ family, path, secret, aliases: aliases ?? [text], provider });
      return text;
    }
    const [name, gen] = spec.split(':') as [string, string | undefined];
    if (gen === undefined) {
      const v = values.get(name);
      if (v === undefined) throw new Error(`${path}: ${name} used before it is defined`);
      return v;
    }
    const [g, arg] = gen.split('/') as [string, string | undefined];
    const make = GENERATORS[g];
    if (!make) throw new Error(`${path}: unknown generator ${g}`);
    const v = make(rand, arg ? Number(arg) : undefined);
    values.set(name, v.text);
    if (v.secret && !silent) labels.push({ family, path, secret: v.core ?? v.text, aliases: [v.text], provider });
    return silent ? '' : v.text;
  });
}

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

function git(dir: string, args: string[]): void {
  execFileSync('git', args, {
    cwd: dir,
    env: {
      ...process.env,
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: 'Formats Corpus',
      GIT_AUTHOR_EMAIL: 'formats@keyloop.test',
      GIT_COMMITTER_NAME: 'Formats Corpus',
      GIT_COMMITTER_EMAIL: 'formats@keyloop.test',
      GIT_AUTHOR_DATE: '2024-03-01T10:00:00Z',
      GIT_COMMITTER_DATE: '2024-03-01T10:00:00Z',
    },
    stdio: 'ignore',
  });
}

/** The templates folder (corpus/formats), from the source tree or from dist/corpus. */
export function formatsDir(): string {
  const here = import.meta.dirname;
  for (const candidate of [join(here, 'formats'), join(here, '..', '..', 'corpus', 'formats')]) {
    try {
      if (statSync(candidate).isDirectory()) return candidate;
    } catch {
      // try the next
    }
  }
  throw new Error('corpus/formats not found');
}

/** Writes the corpus repository into `dir` (one commit per family) and returns its labels. Deterministic per seed. */
export function buildFormatsCorpus(dir: string, opts: { seed?: number; templates?: string } = {}): FormatsManifest {
  const rand = rng(opts.seed ?? 0x666d7473);
  const root = opts.templates ?? formatsDir();
  mkdirSync(dir, { recursive: true });
  git(dir, ['init', '-q', '-b', 'main']);
  const labels: FormatLabel[] = [];
  const files: FormatsManifest['files'] = [];
  const families = readdirSync(root).filter((f) => statSync(join(root, f)).isDirectory()).sort();
  for (const family of families) {
    for (const tpl of walk(join(root, family))) {
      let path = relative(root, tpl);
      const dbeaver = path.endsWith('.kl-dbeaver');
      if (dbeaver) path = path.slice(0, -'.kl-dbeaver'.length);
      const before = labels.length;
      const text = fill(readFileSync(tpl, 'utf8'), family, path, rand, labels);
      const abs = join(dir, path);
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, dbeaver ? encryptDbeaver(text, rand) : text);
      files.push({ family, path, negative: labels.length === before });
    }
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-q', '-m', `${family} files`]);
  }
  return { dir, families, files, labels };
}
