// Builds the labelled accuracy corpus: a real git repository (git CLI) whose history plants a fresh synthetic
// secret for every detector in realistic carriers (.env, YAML, JSON, Python, JS, Terraform, Dockerfile, k8s
// Secret with base64 data, Jupyter notebook, minified bundle, CRLF file, a several-MiB file), plus decoy files
// for every false-positive family the filters claim to handle. Labels list the planted (detector, secret) pairs;
// decoy paths must produce no finding at all. Secrets come from each detector's own pattern (token-gen), never
// from running the engine, so the benchmark measures the engine rather than echoing it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import RE2 from 're2';
import type { Catalog, LoadedDetector } from '../src/detection/types.js';
import { encodeStoreValue, randomPassword, winscpKeyOf } from '../testkit/store-encoders.js';
import { crc32, generateSample, makeJwt, rng, withCrc32Tail } from '../testkit/token-gen.js';

export interface Label {
  path: string;
  detector: string;
  secret: string;
  /** Carrier family, for the per-carrier recall table. */
  carrier: string;
}

export interface Decoy {
  path: string;
  family: string;
}

export interface CorpusManifest {
  dir: string;
  commits: number;
  labels: Label[];
  decoys: Decoy[];
}

type Files = Map<string, string>;

const ENV_LINE = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.+)$/;
const CARRIERS = ['yaml', 'json', 'python', 'terraform', 'dockerfile', 'notebook', 'crlf', 'minified', 'k8s', 'large', 'javascript'] as const;
type Carrier = (typeof CARRIERS)[number];

function git(dir: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', ...env },
    maxBuffer: 64 << 20,
  });
}

function slug(s: string): string {
  return s.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
}

/** A realistic PEM body for armor-style secrets (the regex generator would produce filler text). */
function realisticSecret(d: LoadedDetector, generated: string, rand: () => number): string {
  const armor = /^-----BEGIN ([A-Z0-9 ]+)-----/.exec(generated);
  if (!armor) return generated;
  const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const lines: string[] = [];
  for (let i = 0; i < 12; i++) lines.push(Array.from({ length: 64 }, () => b64[Math.floor(rand() * 64)]).join(''));
  const pem = `-----BEGIN ${armor[1]}-----\n${lines.join('\n')}\n-----END ${armor[1]}-----`;
  // JSON-embedded keys (GCP service accounts) carry the newlines escaped.
  const escaped = `${pem.split('\n').join('\\n')}\\n`;
  const re = new RE2(d.def.pattern);
  return re.test(pem) ? pem : re.test(`"private_key": "${escaped}"`) ? escaped : generated;
}

/** The secret an example plants: given explicitly, or the first capture of the detector's pattern. */
function exampleSecret(d: LoadedDetector, text: string): string | null {
  const m = new RE2(d.def.pattern).exec(text);
  return m?.[1] ?? null;
}

interface Instance {
  detector: LoadedDetector;
  text: string;
  secret: string;
  name?: string;
}

/** One fresh instance per example of the detector: the example's context with a newly generated secret. */
function instancesFor(d: LoadedDetector, rand: () => number): Instance[] {
  const out: Instance[] = [];
  for (const ex of d.def.examples) {
    const text = typeof ex === 'string' ? ex : ex.text;
    if (d.def.decode) {
      // a store value: the example's encoded capture gives way to the encoding of a fresh password
      const encoded = exampleSecret(d, text);
      if (!encoded) continue;
      const fresh = d.def.decode === 'basic-auth' ? `deploy:${randomPassword(rand)}` : randomPassword(rand);
      const key = d.def.decode === 'winscp' ? winscpKeyOf(text) : '';
      out.push({ detector: d, text: text.split(encoded).join(encodeStoreValue(d.def.decode, fresh, rand, key)), secret: fresh });
      continue;
    }
    const old = typeof ex === 'string' ? exampleSecret(d, text) : ex.secret;
    if (!old) continue;
    let fresh = realisticSecret(d, generateSample(d.def, rand).secret, rand);
    // Companion-bearing examples keep the same secret shape so the example's own companions stay valid.
    if (d.def.checksum === 'jwt') fresh = makeJwt(rand);
    const planted = text.split(old).join(fresh);
    const env = ENV_LINE.exec(planted);
    out.push({ detector: d, text: planted, secret: fresh, name: env && env[2] === fresh ? env[1] : undefined });
  }
  return out;
}

/** Lines of filler that look like code but hold nothing secret. */
function fillerLines(n: number, rand: () => number): string[] {
  const words = ['user', 'order', 'invoice', 'cart', 'session', 'metrics', 'render', 'client', 'queue', 'batch'];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const w = words[Math.floor(rand() * words.length)]!;
    out.push(`export function ${w}Handler${i}(req, res) { return res.json({ id: ${i}, kind: "${w}", ok: true }); }`);
  }
  return out;
}

function add(files: Files, path: string, text: string): void {
  files.set(path, (files.get(path) ?? '') + text);
}

/** Plants `inst` through `carrier`; returns the path it went to, or null when the carrier does not fit. */
function plant(files: Files, inst: Instance, carrier: Carrier, provider: string): string | null {
  const { name, secret } = inst;
  if (!name) return null;
  const lower = name.toLowerCase();
  switch (carrier) {
    case 'yaml':
      add(files, `config/${provider}.yaml`, `${lower}: "${secret}"\n`);
      return `config/${provider}.yaml`;
    case 'json':
      add(files, `config/${provider}.json`, `{\n  "${name}": "${secret}"\n}\n`);
      return `config/${provider}.json`;
    case 'python':
      add(files, `app/settings_${slug(provider)}.py`, `import os\n\n${name} = "${secret}"\nDEBUG = os.environ.get("DEBUG") == "1"\n`);
      return `app/settings_${slug(provider)}.py`;
    case 'javascript':
      add(files, `src/clients/${provider}.js`, `// client config\nexport const ${name} = '${secret}';\n`);
      return `src/clients/${provider}.js`;
    case 'terraform':
      add(files, `infra/${provider}.tf`, `variable "${lower}" {\n  type    = string\n  default = "${secret}"\n}\n\nlocals {\n  ${lower} = "${secret}"\n}\n`);
      return `infra/${provider}.tf`;
    case 'dockerfile':
      add(files, `docker/${provider}/Dockerfile`, `FROM node:20-alpine\nENV ${name}=${secret}\nRUN npm ci --omit=dev\n`);
      return `docker/${provider}/Dockerfile`;
    case 'notebook': {
      const src = [`import requests\n`, `${name} = "${secret}"\n`, `resp = requests.get(URL, timeout=5)\n`];
      const nb = { cells: [{ cell_type: 'code', execution_count: 1, metadata: {}, outputs: [], source: src }], metadata: {}, nbformat: 4, nbformat_minor: 5 };
      add(files, `notebooks/${provider}.ipynb`, JSON.stringify(nb, null, 1) + '\n');
      return `notebooks/${provider}.ipynb`;
    }
    case 'crlf':
      add(files, `windows/${provider}.env`, `# exported on Windows\r\n${name}=${secret}\r\nLOG_LEVEL=info\r\n`);
      return `windows/${provider}.env`;
    case 'minified':
      add(files, 'web/static/js/main.min.js', `,${name}:"${secret}"`);
      return 'web/static/js/main.min.js';
    case 'k8s': {
      // Only a self-identifying token survives base64: a bare value has no key around it once decoded.
      if (!new RE2(inst.detector.def.pattern).test(secret) || inst.detector.def.companions.some((c) => c.required)) return null;
      const b64 = Buffer.from(secret).toString('base64');
      add(files, `k8s/${provider}-secret.yaml`, `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${slug(provider)}-${slug(name)}\ntype: Opaque\ndata:\n  ${slug(name)}: ${b64}\n---\n`);
      return `k8s/${provider}-secret.yaml`;
    }
    case 'large':
      add(files, 'data/large-export.js', `\nexport const ${name} = "${secret}";\n`);
      return 'data/large-export.js';
  }
}

// ------------------------------------------------------------------------------------------------------ decoys

function hex(rand: () => number, n: number): string {
  return Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(rand() * 16)]).join('');
}
function b64(rand: () => number, bytes: number): string {
  return Buffer.from(Array.from({ length: bytes }, () => Math.floor(rand() * 256))).toString('base64');
}
function uuid(rand: () => number): string {
  const h = hex(rand, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

function decoyFiles(rand: () => number): { files: Files; decoys: Decoy[] } {
  const files: Files = new Map();
  const decoys: Decoy[] = [];
  const put = (path: string, family: string, text: string) => {
    files.set(path, text);
    decoys.push({ path, family });
  };
  const ghBody = Array.from({ length: 30 }, () => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[Math.floor(rand() * 62)]).join('');
  const goodGh = withCrc32Tail('ghp_', ghBody);
  const badGh = goodGh.slice(0, -1) + (goodGh.endsWith('A') ? 'B' : 'A');
  put('decoys/placeholders.env', 'placeholders', [
    'GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
    'STRIPE_SECRET_KEY=sk_live_****************************',
    'API_TOKEN=<token>',
    'SERVICE_TOKEN=${SERVICE_TOKEN}',
    'OPENAI_API_KEY=your_api_key',
    'DB_PASSWORD=changeme',
    'SENDGRID_API_KEY=SG.example.example',
    'AUTH_SECRET=dummy-secret-for-local-dev',
    'API_KEY=test',
    'SECRET_KEY=%(secret_key)s',
    'SLACK_BOT_TOKEN=xoxb-your-token-here',
    `GITHUB_TOKEN=${badGh}`,
    'NPM_TOKEN=npm_1234567890',
    '',
  ].join('\n'));
  put('decoys/helm/values.yaml', 'templates', [
    'apiKey: "{{ .Values.global.apiKey }}"',
    'clientSecret: {{ required "clientSecret" .Values.clientSecret | quote }}',
    'token: ${TOKEN}',
    'password: "{{ vault_db_password }}"',
    'secretKeyRef:',
    '  name: app-secrets',
    '  key: api-token',
    '',
  ].join('\n'));
  put('decoys/docs/aws.md', 'documentation keys', [
    '# Configure the CLI',
    '```ini',
    '[default]',
    'aws_access_key_id = AKIAIOSFODNN7EXAMPLE',
    'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    '```',
    'AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
    '',
  ].join('\n'));
  const lock: Record<string, unknown> = { name: 'app', lockfileVersion: 3, requires: true, packages: {} };
  for (let i = 0; i < 40; i++) {
    (lock.packages as Record<string, unknown>)[`node_modules/pkg-${i}`] = {
      version: `1.${i}.0`,
      resolved: `https://registry.npmjs.org/pkg-${i}/-/pkg-${i}-1.${i}.0.tgz`,
      integrity: `sha512-${b64(rand, 64)}`,
    };
  }
  put('decoys/package-lock.json', 'lockfile integrity', JSON.stringify(lock, null, 2) + '\n');
  put('decoys/yarn.lock', 'lockfile integrity', Array.from({ length: 20 }, (_, i) => `pkg-${i}@^1.0.0:\n  version "1.0.${i}"\n  resolved "https://registry.yarnpkg.com/pkg-${i}/-/pkg-${i}-1.0.${i}.tgz#${hex(rand, 40)}"\n  integrity sha512-${b64(rand, 64)}\n`).join('\n'));
  put('decoys/pnpm-lock.yaml', 'lockfile integrity', `lockfileVersion: '9.0'\npackages:\n${Array.from({ length: 20 }, (_, i) => `  pkg-${i}@1.0.${i}:\n    resolution: {integrity: sha512-${b64(rand, 64)}}\n`).join('')}`);
  put('decoys/go.sum', 'go.sum hashes', Array.from({ length: 30 }, (_, i) => `github.com/org/mod${i} v1.${i}.0 h1:${b64(rand, 32)}\ngithub.com/org/mod${i} v1.${i}.0/go.mod h1:${b64(rand, 32)}\n`).join(''));
  put('decoys/web/index.html', 'SRI hashes', `<!doctype html>\n<script src="https://cdn.keyloop.test/lib.js" integrity="sha384-${b64(rand, 48)}" crossorigin="anonymous"></script>\n<link rel="stylesheet" href="/app.css" integrity="sha256-${b64(rand, 32)}">\n`);
  put('decoys/ci/deploy-state.yaml', 'git SHAs', `deploy:\n  commit: ${hex(rand, 40)}\n  base_sha: ${hex(rand, 40)}\n  tree_hash: ${hex(rand, 40)}\n  revision: "${hex(rand, 40)}"\n  image_digest: sha256:${hex(rand, 64)}\n`);
  put('decoys/config/azure-ids.json', 'UUID identifiers', JSON.stringify({ tenant_id: uuid(rand), client_id: uuid(rand), subscription_id: uuid(rand), secretId: uuid(rand), token_id: uuid(rand), requestId: uuid(rand) }, null, 2) + '\n');
  put('decoys/web/logo.css', 'data: URIs', `.logo { background: url("data:image/png;base64,${b64(rand, 600)}"); }\n.icon { background-image: url(data:image/svg+xml;base64,${b64(rand, 300)}); }\n`);
  put('decoys/ssh/authorized_keys', 'SSH public keys', `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${b64(rand, 32).replace(/=+$/, '')} deploy@ci\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ${b64(rand, 256).replace(/=+$/, '')} alice@laptop\n`);
  put('decoys/keys/release.asc', 'PGP public key block', `-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n${Array.from({ length: 10 }, () => b64(rand, 48)).join('\n')}\n=${b64(rand, 3)}\n-----END PGP PUBLIC KEY BLOCK-----\n`);
  put('decoys/tls/server.crt', 'certificates', `-----BEGIN CERTIFICATE-----\n${Array.from({ length: 12 }, () => b64(rand, 48)).join('\n')}\n-----END CERTIFICATE-----\n`);
  const ids = Array.from({ length: 400 }, (_, i) => `${'abcdefghijklmnopqrstuvwxyz'[i % 26]}${hex(rand, 2)}`);
  put('decoys/web/vendor.4f3a9c2e1b.js', 'minified identifiers',
    `!function(e,t){"use strict";var n={apiKey:e.apiKey,token:t.token,secret:e.secretKey,authToken:n.authToken,chunk:"static/js/main.${hex(rand, 8)}.chunk.js",hash:"${hex(rand, 20)}"};` +
      ids.map((id, i) => `function ${id}(r){return r.${ids[(i * 7) % ids.length]}||"${hex(rand, 8)}"}`).join(';') + '}(window,document);\n');
  put('decoys/src/env-refs.ts', 'environment references', [
    'const apiKey = process.env.STRIPE_SECRET_KEY;',
    'const token = import.meta.env.VITE_API_TOKEN;',
    '',
  ].join('\n'));
  put('decoys/src/env_refs.py', 'environment references', 'import os\napi_key = os.environ["API_KEY"]\nsecret = os.getenv("CLIENT_SECRET")\n');
  put('decoys/src/EnvRefs.java', 'environment references', 'class EnvRefs {\n  String secret = System.getenv("APP_SECRET");\n  String token = System.getProperty("api.token");\n}\n');
  put('decoys/.github/workflows/ci.yml', 'CI secret references', 'env:\n  NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\n  API_KEY: ${{ secrets.API_KEY }}\njobs:\n  test:\n    steps:\n      - run: npm test\n        env:\n          GITHUB_TOKEN: ${{ github.token }}\n');
  put('decoys/src/model-config.json', 'reference keys', JSON.stringify({ max_tokens: 4096, tokenizer_path: 'models/tokenizer.json', token_url: 'https://auth.keyloop.test/oauth/token', secret_name: 'payments-prod-credentials', public_key: 'pk_live_51AbCdEf', api_key_header: 'X-Api-Key' }, null, 2) + '\n');
  put('decoys/truncated.env', 'truncated tokens', `GITHUB_TOKEN=${goodGh.slice(0, 20)}\nSTRIPE_SECRET_KEY=sk_live_12345\nAWS_ACCESS_KEY_ID=AKIA1234\n`);
  return { files, decoys };
}

// --------------------------------------------------------------------------------------------------- building

export interface BuildOptions {
  seed?: number;
  /** Size of the large file in MiB. */
  largeMiB?: number;
}

/** Writes the corpus repository into `dir` (created) and returns its labels. Deterministic for a seed. */
export function buildCorpus(dir: string, catalog: Catalog, opts: BuildOptions = {}): CorpusManifest {
  const rand = rng(opts.seed ?? 0x6b65796c);
  mkdirSync(dir, { recursive: true });
  git(dir, ['init', '-q', '-b', 'main']);
  const labels: Label[] = [];

  // Detector instances, grouped by provider into commits.
  const byProvider = new Map<string, LoadedDetector[]>();
  for (const d of catalog.detectors) {
    const list = byProvider.get(d.provider.id) ?? [];
    list.push(d);
    byProvider.set(d.provider.id, list);
  }
  const plantedFiles: Files = new Map();
  const largeParts: string[] = [];
  let carrierTurn = 0;
  const perCommit: Files[] = [];
  for (const [provider, dets] of byProvider) {
    const files: Files = new Map();
    for (const d of dets) {
      // values from one stream per detector: adding a detector leaves the others' secrets as they were
      const drand = rng(((opts.seed ?? 0x6b65796c) ^ crc32(d.def.id)) >>> 0);
      instancesFor(d, drand).forEach((inst, i) => {
        const multi = inst.text.includes('\n');
        const path = multi ? `secrets/${provider}/${d.def.id}-${i}.txt` : `services/${provider}/${d.def.id}.env`;
        add(files, path, multi ? `${inst.text}\n` : `${inst.text}\n`);
        labels.push({ path, detector: d.def.id, secret: inst.secret, carrier: multi ? 'verbatim-multiline' : 'verbatim' });
        // Two more carriers per assignment-style example, round-robin so every carrier is exercised.
        if (!inst.name) return;
        let planted = 0;
        for (let tries = 0; tries < CARRIERS.length && planted < 2; tries++) {
          const carrier = CARRIERS[carrierTurn++ % CARRIERS.length]!;
          const fresh = instancesFor(d, drand)[i];
          if (!fresh?.name) break;
          if (carrier === 'large') {
            largeParts.push(`export const ${fresh.name} = "${fresh.secret}";`);
            labels.push({ path: 'data/large-export.js', detector: d.def.id, secret: fresh.secret, carrier });
            planted++;
            continue;
          }
          const target = carrier === 'minified' ? plantedFiles : files;
          const p = plant(target, fresh, carrier, provider);
          if (p) {
            labels.push({ path: p, detector: d.def.id, secret: fresh.secret, carrier });
            planted++;
          }
        }
      });
    }
    perCommit.push(files);
  }

  // Global carriers: the one-line minified bundle and the several-MiB file.
  const bundle = plantedFiles.get('web/static/js/main.min.js') ?? '';
  const filler = fillerLines(400, rand).join(';');
  const bundleText = `!function(){var cfg={env:"production"${bundle}};${filler};window.__cfg=cfg}();\n`;
  const largeLines = fillerLines(Math.ceil(((opts.largeMiB ?? 4) << 20) / 90), rand);
  const mid = Math.floor(largeLines.length / 2);
  largeLines.splice(mid, 0, ...largeParts);

  const { files: decoyMap, decoys } = decoyFiles(rand);
  let commits = 0;
  const commit = (files: Files, message: string, date: number) => {
    for (const [path, text] of files) {
      const abs = join(dir, path);
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, text);
    }
    git(dir, ['add', '-A']);
    const when = new Date(Date.UTC(2024, 0, 1) + date * 3600_000).toISOString();
    git(dir, ['commit', '-q', '--allow-empty', '-m', message], {
      GIT_AUTHOR_NAME: 'Corpus Builder',
      GIT_AUTHOR_EMAIL: 'corpus@keyloop.test',
      GIT_COMMITTER_NAME: 'Corpus Builder',
      GIT_COMMITTER_EMAIL: 'corpus@keyloop.test',
      GIT_AUTHOR_DATE: when,
      GIT_COMMITTER_DATE: when,
    });
    commits++;
  };
  commit(new Map([['README.md', '# corpus\nSynthetic repository for keyloop accuracy benchmarks. Every secret is fake.\n']]), 'init', 0);
  perCommit.forEach((files, i) => commit(files, `add service config ${i}`, i + 1));
  commit(new Map([['web/static/js/main.min.js', bundleText], ['data/large-export.js', largeLines.join('\n') + '\n']]), 'add bundle and export', perCommit.length + 1);
  commit(decoyMap, 'docs, lockfiles and fixtures', perCommit.length + 2);
  // History-only secrets: delete a third of the service files; they must still be found.
  const removed = [...new Set(labels.map((l) => l.path))].filter((p, i) => p.startsWith('services/') && i % 3 === 0);
  git(dir, ['rm', '-q', '--', ...removed]);
  commit(new Map(), 'remove leaked configs', perCommit.length + 3);
  // The same content under a second path in a later commit: still one finding (scan unique blobs).
  const [firstPath, firstText] = [...(perCommit[0] ?? new Map<string, string>())][0] ?? ['', ''];
  if (firstPath) commit(new Map([[`backup/${firstPath}`, firstText]]), 'backup of a config', perCommit.length + 4);

  return { dir, commits, labels, decoys };
}
