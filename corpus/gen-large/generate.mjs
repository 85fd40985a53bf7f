#!/usr/bin/env node
// Deterministic benchmark repository: realistic source files that evolve over ≥ 20k commits the way real code does
// (most commits one or two contiguous hunks, occasional large rewrites, new files, renames),
// branches, merges and tags, with labelled synthetic secrets planted (some deleted later). One `git fast-import`
// stream, then an aggressive repack so the pack resembles a real mirror's (deep delta chains).
//
//   node corpus/gen-large/generate.mjs [--size GB] [--out DIR] [--seed N] [--no-repack] [--force]
//
// --size 1 (default): ≥ 1 GB unique blob bytes, ≥ 20k commits. --size 2: ≥ 2 GB, ≥ 40k blobs.
// Output: DIR (default corpus/.generated/large-<size>g.git, bare) and DIR/keyloop-planted.json (the labels).
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const sizeGb = Number(opt('size', '1'));
const seed = Number(opt('seed', '20240901'));
const out = path.resolve(opt('out', path.join(here, '..', '.generated', `large-${sizeGb}g.git`)));
const repack = !args.includes('--no-repack');
const targetBytes = Math.round(sizeGb * 1024 ** 3);
const minCommits = Math.max(200, Math.round(20_000 * sizeGb));

function rng(s) {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const r = rng(seed);
const int = (n) => Math.floor(r() * n);
const pick = (a) => a[int(a.length)];

// ---- vocabulary ------------------------------------------------------------------------------------------
const WORDS = ('user account order item cart price total count index value key name id type status config option ' +
  'request response handler client server session token cache queue event message payload result error retry ' +
  'timeout limit offset page size buffer stream reader writer parser format schema model record entry node tree ' +
  'path file dir source target input output state context scope module service store repo branch commit ' +
  'author date time range filter sort map reduce list set group batch job task worker pool lock mutex signal').split(' ');
const cap = (w) => w[0].toUpperCase() + w.slice(1);
const ident = () => pick(WORDS) + (r() < 0.6 ? cap(pick(WORDS)) : '') + (r() < 0.2 ? cap(pick(WORDS)) : '');
const Type = () => cap(pick(WORDS)) + (r() < 0.5 ? cap(pick(WORDS)) : '');
const str = () => `${pick(WORDS)}${r() < 0.5 ? '-' + pick(WORDS) : ''}`;
const num = () => String(int(r() < 0.7 ? 100 : 100000));
const args3 = () => Array.from({ length: int(4) }, ident).join(', ');
const comment = () => Array.from({ length: 4 + int(10) }, () => pick(WORDS)).join(' ');

const LANGS = {
  js: (ind) => pick([
    () => `${ind}const ${ident()} = await ${ident()}.${ident()}(${args3()});`,
    () => `${ind}if (${ident()}.${ident()} === '${str()}') return ${ident()};`,
    () => `${ind}${ident()}.${ident()} = ${ident()} ?? ${num()};`,
    () => `${ind}// ${comment()}`,
    () => `${ind}export function ${ident()}(${args3()}) {`,
    () => `${ind}for (const ${ident()} of ${ident()}.${ident()}) ${ident()}.push(${ident()});`,
    () => `${ind}throw new Error(\`${comment()} \${${ident()}}\`);`,
    () => `${ind}}`,
    () => '',
  ])(),
  ts: (ind) => pick([
    () => `${ind}export interface ${Type()} { ${ident()}: ${pick(['string', 'number', 'boolean', Type()])}; ${ident()}?: ${Type()}[] }`,
    () => `${ind}private readonly ${ident()}: Map<string, ${Type()}> = new Map();`,
    () => `${ind}const ${ident()}: ${Type()} = { ${ident()}: ${num()}, ${ident()}: '${str()}' };`,
    () => `${ind}async ${ident()}(${ident()}: ${Type()}): Promise<${Type()} | null> {`,
    () => `${ind}return this.${ident()}.get(${ident()}) ?? null;`,
    () => `${ind}/** ${comment()} */`,
    () => `${ind}}`,
    () => '',
  ])(),
  py: (ind) => pick([
    () => `${ind}def ${ident().toLowerCase()}_${pick(WORDS)}(self, ${ident().toLowerCase()}, ${pick(WORDS)}=None):`,
    () => `${ind}    ${pick(WORDS)}_${pick(WORDS)} = self.${pick(WORDS)}.get("${str()}", ${num()})`,
    () => `${ind}    if not ${pick(WORDS)}: raise ValueError(f"${comment()} {${pick(WORDS)}}")`,
    () => `${ind}    return [${pick(WORDS)} for ${pick(WORDS)} in ${pick(WORDS)}s if ${pick(WORDS)}]`,
    () => `${ind}# ${comment()}`,
    () => `${ind}class ${Type()}(${Type()}):`,
    () => '',
  ])(),
  go: (ind) => pick([
    () => `${ind}func (s *${Type()}) ${cap(ident())}(ctx context.Context, ${ident()} ${Type()}) (*${Type()}, error) {`,
    () => `${ind}\tif err := s.${ident()}.${cap(ident())}(ctx, ${ident()}); err != nil {`,
    () => `${ind}\t\treturn nil, fmt.Errorf("${comment()}: %w", err)`,
    () => `${ind}\t${ident()} := make([]${Type()}, 0, ${num()})`,
    () => `${ind}// ${cap(ident())} ${comment()}`,
    () => `${ind}}`,
    () => '',
  ])(),
  json: (ind) => `${ind}"${ident()}": ${pick([() => `"${str()}"`, num, () => 'true', () => `["${str()}", "${str()}"]`])()},`,
  yaml: (ind) => pick([
    () => `${ind}${pick(WORDS)}_${pick(WORDS)}: ${str()}`,
    () => `${ind}${pick(WORDS)}: ${num()}`,
    () => `${ind}- name: ${str()}`,
    () => `${ind}  ${pick(WORDS)}: "${comment()}"`,
  ])(),
  md: () => pick([
    () => `## ${cap(comment())}`,
    () => `${cap(comment())}. ${cap(comment())}.`,
    () => `- \`${ident()}\`: ${comment()}`,
    () => '',
  ])(),
};
const EXTS = ['js', 'js', 'ts', 'ts', 'ts', 'py', 'py', 'go', 'go', 'json', 'yaml', 'md'];
const line = (ext) => {
  const depth = ext === 'md' ? 0 : int(4);
  const ind = ext === 'go' ? '\t'.repeat(depth) : '  '.repeat(depth);
  return LANGS[ext](ind);
};

// ---- secrets (synthetic, generated from the seed; formats follow each issuer's documented shape) ---------------
const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const CRC = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
const crc32 = (s) => {
  let c = 0xffffffff;
  for (const b of Buffer.from(s)) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const b62 = (n, w) => {
  let o = '';
  do {
    o = B62[n % 62] + o;
    n = Math.floor(n / 62);
  } while (n > 0);
  return o.padStart(w, '0');
};
const chars = (alphabet, n) => Array.from({ length: n }, () => alphabet[int(alphabet.length)]).join('');
const ALNUM = B62;
const SECRETS = {
  'github-pat-classic': () => {
    const body = chars(ALNUM, 30);
    const s = 'ghp' + '_' + body + b62(crc32(body), 6);
    return { secret: s, lines: [`  githubToken: '${s}',`] };
  },
  'aws-access-key-id': () => {
    const id = 'AK' + 'IA' + chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16);
    const sk = chars(ALNUM + '/+', 40);
    return { secret: id, also: sk, lines: [`aws_access_key_id = ${id}`, `aws_secret_access_key = ${sk}`] };
  },
  'slack-bot-token': () => {
    const s = 'xo' + 'xb-' + chars('0123456789', 12) + '-' + chars('0123456789', 13) + '-' + chars(ALNUM, 24);
    return { secret: s, lines: [`SLACK_BOT_TOKEN = "${s}"`] };
  },
  'stripe-secret-key': () => {
    const s = 'sk' + '_live_' + chars(ALNUM, 32);
    return { secret: s, lines: [`const stripeKey = "${s}";`] };
  },
  'private-key-rsa': () => {
    const body = Array.from({ length: 25 }, () => chars(ALNUM + '+/', 64));
    const head = '-----BEGIN RSA ' + 'PRIVATE KEY-----';
    const tail = '-----END RSA ' + 'PRIVATE KEY-----';
    return { secret: [head, ...body, tail].join('\n'), lines: [head, ...body, tail] };
  },
};
const KINDS = Object.keys(SECRETS);

// ---- history ---------------------------------------------------------------------------------------------
const PKGS = Array.from({ length: 24 }, () => pick(WORDS) + '-' + pick(WORDS));
const nFiles = Math.round(1400 * Math.sqrt(sizeGb));
const files = [];
const usedPaths = new Set();
for (let i = 0; i < nFiles; i++) {
  const ext = pick(EXTS);
  let p;
  do p = `packages/${pick(PKGS)}/${pick(['src', 'lib', 'test', 'docs', 'config'])}/${pick(WORDS)}/${ident()}.${ext}`;
  while (usedPaths.has(p));
  usedPaths.add(p);
  // lognormal sizes: median ~14 KB, a few files of several hundred KB
  const bytes = Math.min(600_000, Math.round(14_000 * Math.exp((r() + r() + r() - 1.5) * 1.6)));
  const lines = [];
  let len = 0;
  while (len < bytes) {
    const l = line(ext);
    lines.push(l);
    len += l.length + 1;
  }
  files.push({ path: p, ext, lines, weight: Math.sqrt(len) });
}
let totalWeight = files.reduce((s, f) => s + f.weight, 0);
const pickFile = () => {
  let x = r() * totalWeight;
  for (const f of files) if ((x -= f.weight) <= 0) return f;
  return files[files.length - 1];
};

const chunks = [];
let pending = 0;
const emit = (s) => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  chunks.push(b);
  pending += b.length;
};
async function flush() {
  if (!pending) return;
  const b = Buffer.concat(chunks);
  chunks.length = 0;
  pending = 0;
  if (!child.stdin.write(b)) await new Promise((res) => child.stdin.once('drain', res));
}
const data = (s) => {
  const b = Buffer.from(s);
  emit(`data ${b.length}\n`);
  emit(b);
  emit('\n');
};

if (existsSync(out)) {
  if (!args.includes('--force') && existsSync(path.join(out, 'keyloop-planted.json'))) {
    console.error(`${out} exists (use --force to regenerate)`);
    process.exit(0);
  }
  rmSync(out, { recursive: true, force: true });
}
mkdirSync(out, { recursive: true });
const gitEnv = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
execFileSync('git', ['init', '-q', '--bare', '-b', 'main', out], { env: gitEnv });
// flush() above writes to it; it runs only after this point
const child = spawn('git', ['--git-dir', out, 'fast-import', '--quiet', '--done', '--depth=50', '--big-file-threshold=64m'], {
  stdio: ['pipe', 'inherit', 'inherit'],
  env: gitEnv,
});
const done = new Promise((res, rej) => child.on('close', (c) => (c === 0 ? res() : rej(new Error(`fast-import exited ${c}`)))));

const PEOPLE = Array.from({ length: 40 }, (_, i) => ({ name: `${cap(pick(WORDS))} ${cap(pick(WORDS))}`, email: `dev${i}@example.test` }));
const EPOCH = 1_500_000_000;
let mark = 0;
let commits = 0;
let uniqueBytes = 0;
const planted = [];
const live = []; // planted secrets still in a file: { label, file, lineRef }
const tips = { main: 0 };
let tagCount = 0;

function commitCmd(branch, changed, msg, parents, deleted = []) {
  const m = ++mark;
  const who = pick(PEOPLE);
  const when = `${EPOCH + commits * 1800 + int(1800)} +0000`;
  emit(`commit refs/heads/${branch}\nmark :${m}\nauthor ${who.name} <${who.email}> ${when}\ncommitter ${who.name} <${who.email}> ${when}\n`);
  data(msg);
  if (parents[0]) emit(`from :${parents[0]}\n`);
  for (const p of parents.slice(1)) emit(`merge :${p}\n`);
  for (const p of deleted) emit(`D ${p}\n`);
  for (const f of changed) {
    const content = f.lines.join('\n') + '\n';
    uniqueBytes += Buffer.byteLength(content);
    emit(`M 100644 inline ${f.path}\n`);
    data(content);
  }
  emit('\n');
  commits++;
  return m;
}

const protectedLine = (f, l) => l !== undefined && live.some((s) => s.file === f && s.lineRef === l);

// A real history's delta profile: most commits touch one or two contiguous hunks of a file; now and then a
// file is largely rewritten. (Scattered edits all over a file would make every delta a patchwork.)
function edit(f) {
  if (r() < 0.03 && f.lines.length > 20) {
    // larger rewrite: a contiguous block of 20–40 % of the file replaced by new code (planted lines kept)
    const len = Math.round(f.lines.length * (0.2 + 0.2 * r()));
    const at = int(f.lines.length - len);
    const kept = [];
    for (let k = at; k < at + len; k++) if (protectedLine(f, f.lines[k]) || insidePlanted(f, k)) kept.push(f.lines[k]);
    const fresh = Array.from({ length: len - kept.length }, () => line(f.ext));
    f.lines.splice(at, len, ...fresh.slice(0, fresh.length >> 1), ...kept, ...fresh.slice(fresh.length >> 1));
    return;
  }
  const hunks = r() < 0.7 ? 1 : r() < 0.85 ? 2 : 3;
  for (let h = 0; h < hunks; h++) {
    const at = int(f.lines.length + 1);
    const op = r();
    if (op < 0.45) f.lines.splice(at, 0, ...Array.from({ length: 1 + int(6) }, () => line(f.ext)));
    else if (op < 0.65 && f.lines.length > 10) {
      // never cut a planted secret by accident: deletions are explicit below
      let n = 1 + int(3);
      while (n-- > 0 && at < f.lines.length && !protectedLine(f, f.lines[at]) && !insidePlanted(f, at)) f.lines.splice(at, 1);
    } else {
      for (let k = at, n = 1 + int(4); n > 0 && k < f.lines.length; k++, n--) {
        if (protectedLine(f, f.lines[k]) || insidePlanted(f, k)) break;
        f.lines[k] = line(f.ext);
      }
    }
  }
}

// lines of a multi-line planted secret (a PEM body) are not edited either
function insidePlanted(f, at) {
  for (const s of live) {
    if (s.file !== f || s.count < 2) continue;
    const start = f.lines.indexOf(s.lineRef);
    if (start >= 0 && at >= start && at < start + s.count) return true;
  }
  return false;
}

function newFile() {
  const ext = pick(EXTS);
  let p;
  do p = `packages/${pick(PKGS)}/${pick(['src', 'lib', 'test'])}/${pick(WORDS)}/${ident()}.${ext}`;
  while (usedPaths.has(p));
  usedPaths.add(p);
  const bytes = Math.min(200_000, Math.round(6_000 * Math.exp((r() + r() - 1) * 1.4)));
  const lines = [];
  let len = 0;
  while (len < bytes) {
    const l = line(ext);
    lines.push(l);
    len += l.length + 1;
  }
  const f = { path: p, ext, lines, weight: Math.sqrt(len) };
  files.push(f);
  totalWeight += f.weight;
  return f;
}

function rename(f) {
  const parts = f.path.split('/');
  let p;
  do p = [...parts.slice(0, -2), pick(WORDS), parts[parts.length - 1]].join('/');
  while (usedPaths.has(p));
  usedPaths.add(p);
  const old = f.path;
  f.path = p;
  return old;
}

function plantOrRemove(changed) {
  if (r() < 0.004) {
    const kind = KINDS[planted.length % KINDS.length];
    const f = pickFile();
    const s = SECRETS[kind]();
    let at = int(f.lines.length + 1);
    // not inside another planted PEM block: that would cut both keys
    while (at < f.lines.length && insidePlanted(f, at)) at++;
    f.lines.splice(at, 0, ...s.lines);
    const label = { kind, secret: s.secret, ...(s.also ? { companion: s.also } : {}), path: f.path, commitIndex: commits, removed: false };
    planted.push(label);
    live.push({ label, file: f, lineRef: s.lines[0], count: s.lines.length });
    changed.add(f);
  } else if (live.length && r() < 0.0012) {
    const k = int(live.length);
    const s = live[k];
    const at = s.file.lines.indexOf(s.lineRef);
    if (at >= 0) s.file.lines.splice(at, s.count);
    s.label.removed = true;
    s.label.removedAtCommit = commits;
    live.splice(k, 1);
    changed.add(s.file);
  }
}

function regularCommit(branch) {
  const changed = new Set();
  const deleted = [];
  const x = r();
  if (x < 0.012) changed.add(newFile());
  else if (x < 0.017) {
    // a rename, sometimes with an edit (git's rename detection and the packer's path-based delta bases see both)
    const f = pickFile();
    deleted.push(rename(f));
    if (r() < 0.5) edit(f);
    changed.add(f);
  } else {
    for (let k = 1 + (r() < 0.2 ? 1 : 0) + (r() < 0.05 ? 1 : 0); k > 0; k--) {
      const f = pickFile();
      edit(f);
      changed.add(f);
    }
  }
  plantOrRemove(changed);
  return commitCmd(branch, [...changed], `${pick(['fix', 'feat', 'refactor', 'chore', 'docs', 'test'])}: ${comment()}`, [tips[branch]], deleted);
}

// initial import in a few commits so the first trees are not huge
for (let i = 0; i < files.length; i += 200) tips.main = commitCmd('main', files.slice(i, i + 200), 'import', [tips.main]);
await flush();

let branchNo = 0;
while (uniqueBytes < targetBytes || commits < minCommits) {
  if (r() < 0.02) {
    // a feature branch: a few commits, then merged (80%) or left open with its own blobs
    const name = `feature/${pick(WORDS)}-${++branchNo}`;
    tips[name] = tips.main;
    const touched = new Map();
    for (let k = 2 + int(8); k > 0; k--) {
      const before = new Map(files.map((f) => [f, null]));
      void before;
      const f = pickFile();
      if (!touched.has(f)) touched.set(f, f.lines.slice());
      edit(f);
      tips[name] = commitCmd(name, [f], `wip: ${comment()}`, [tips[name]]);
    }
    if (r() < 0.8) tips.main = commitCmd('main', [...touched.keys()], `Merge branch '${name}'`, [tips.main, tips[name]]);
    else for (const [f, old] of touched) f.lines = old;
  } else tips.main = regularCommit('main');
  if (commits % 1000 === 0) {
    tagCount++;
    if (tagCount % 3 === 0) {
      emit(`tag v${tagCount}.0.0\nfrom :${tips.main}\ntagger Release Bot <release@example.test> ${EPOCH + commits * 1800} +0000\n`);
      data(`release ${tagCount}`);
    } else emit(`reset refs/tags/v${tagCount}.0.0\nfrom :${tips.main}\n\n`);
  }
  if (pending > 4 << 20) await flush();
}
emit('done\n');
await flush();
child.stdin.end();
await done;
process.stderr.write(`fast-import: ${commits} commits, ${(uniqueBytes / 1024 ** 3).toFixed(2)} GB written (before dedup)\n`);
if (repack) {
  const t = Date.now();
  execFileSync('git', ['--git-dir', out, 'repack', '-adf', '-q', '--depth=50', '--window=100', '--threads=2'], { stdio: 'inherit', env: gitEnv });
  process.stderr.write(`repack -adf --depth=50 --window=100: ${((Date.now() - t) / 1000).toFixed(0)} s\n`);
}
writeFileSync(
  path.join(out, 'keyloop-planted.json'),
  JSON.stringify({ seed, sizeGb, commits, planted }, null, 1) + '\n',
);
process.stderr.write(`${out}: ${planted.length} planted secrets (${planted.filter((p) => p.removed).length} removed later)\n`);
