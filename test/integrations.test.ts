// The integrations in the repository root, exercised the way their hosts use them: action.yml's run steps executed
// by bash as a runner would (with the compiled CLI on PATH instead of its npm install; its `uses:` steps checked,
// not run), .pre-commit-hooks.yaml's hook run by pre-commit itself on real commits, and the Dockerfile parsed
// and checked against the repository (no Docker daemon here: every COPY source, the stages, the user).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ignore from 'ignore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compileCli } from '../testkit/compile-cli.js';
import { git, tempDir } from '../testkit/git-repo.js';
import { rng, withCrc32Tail } from '../testkit/token-gen.js';
import { tool } from './helpers/tools.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const rand = rng(20);
const alnum = (n: number) => Array.from({ length: n }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(rand() * 62)]).join('');
const ghToken = () => withCrc32Tail('ghp_', alnum(30));
/** A generic `api_key = …` assignment: found with low confidence. */
const genericLine = () => `service_api_key = "${alnum(12)}${alnum(12)}"\n`;

let cli: { main: string; remove(): void };
let bin: string;
let home: string;

beforeAll(async () => {
  cli = await compileCli('integrations');
  bin = await tempDir('keyloop-bin-');
  home = await tempDir('keyloop-home-');
  // what the action's install step and `npm install -g` provide: `keyloop` on PATH
  writeFileSync(path.join(bin, 'keyloop'), `#!/bin/sh\nexec "${process.execPath}" "${cli.main}" "$@"\n`);
  chmodSync(path.join(bin, 'keyloop'), 0o755);
});
afterAll(() => cli?.remove());

/** Environment of every child process: hermetic git, a throwaway HOME, keyloop first on PATH. */
const baseEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: `${bin}:${process.env.PATH}`,
  HOME: home,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Dev',
  GIT_AUTHOR_EMAIL: 'dev@example.test',
  GIT_COMMITTER_NAME: 'Dev',
  GIT_COMMITTER_EMAIL: 'dev@example.test',
  ...extra,
});

/** A repository with a work tree; `files` committed in one commit each, null deleting. */
async function repoWith(commits: Record<string, string | null>[]): Promise<string> {
  const dir = await tempDir('keyloop-ws-');
  await git(dir, 'init', '-q', '-b', 'main', '.');
  for (const [i, files] of commits.entries()) {
    for (const [p, content] of Object.entries(files)) {
      if (content === null) await git(dir, 'rm', '-q', '--', p);
      else {
        mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
        writeFileSync(path.join(dir, p), content);
        await git(dir, 'add', '--', p);
      }
    }
    await git(dir, '-c', 'user.name=Dev', '-c', 'user.email=dev@example.test', 'commit', '-q', '--no-verify', '-m', `commit ${i}`);
  }
  return dir;
}

/** The runtime dependencies whose install scripts build native code, from the lockfile (the action and the image rebuild them). */
function nativeDeps(): string[] {
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }> };
  const native = Object.entries(lock.packages)
    .filter(([k, v]) => k.startsWith('node_modules/') && v.hasInstallScript && !v.dev)
    .map(([k]) => k.slice('node_modules/'.length))
    .sort();
  expect(native.length).toBeGreaterThan(0);
  return native;
}

// ---------------------------------------------------------------------------------------------------------------
// action.yml

interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  shell?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}
interface Action {
  name: string;
  inputs: Record<string, { description: string; default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Step[] };
}
const ACTION = parse(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as Action;

interface Ctx {
  inputs: Record<string, string>;
  steps: Record<string, Record<string, string>>;
  actionPath: string;
}

/** The part of GitHub's expression language the action uses; anything else is an error, not a guess. */
function value(ref: string, c: Ctx): string {
  let m: RegExpExecArray | null;
  if ((m = /^inputs\.([\w-]+)$/.exec(ref))) {
    if (!(m[1]! in ACTION.inputs)) throw new Error(`action.yml refers to an undeclared input: ${ref}`);
    return c.inputs[m[1]!] ?? ACTION.inputs[m[1]!]!.default ?? '';
  }
  if ((m = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(ref))) return c.steps[m[1]!]?.[m[2]!] ?? '';
  if (ref === 'github.action_path') return c.actionPath;
  throw new Error(`unsupported expression in action.yml: ${ref}`);
}
function condition(expr: string, c: Ctx, failed: boolean): boolean {
  const e = expr.replace(/^\$\{\{\s*|\s*\}\}$/g, '');
  const terms = e.split('&&').map((t) => t.trim());
  // GitHub: a condition without a status function runs only while no earlier step failed
  const status = terms.some((t) => t === 'always()') ? true : !failed;
  return (
    status &&
    terms.every((t) => {
      if (t === 'always()') return true;
      const m = /^([\w.-]+)\s*(==|!=)\s*'([^']*)'$/.exec(t);
      if (!m) throw new Error(`unsupported condition in action.yml: ${t}`);
      return (value(m[1]!, c) === m[3]) === (m[2] === '==');
    })
  );
}
const interpolate = (s: string, c: Ctx) => s.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_m, ref: string) => value(ref, c));

interface ActionRun {
  ran: string[];
  failedStep?: string;
  outputs: Record<string, string>;
  log: string;
  summary: string;
  upload?: Record<string, string>;
}

/** Runs the action's steps in `workspace` as a runner would: `run:` with bash, the install step replaced by PATH. */
function runAction(workspace: string, inputs: Record<string, string> = {}): ActionRun {
  const c: Ctx = { inputs, steps: {}, actionPath: ROOT };
  const temp = path.join(workspace, '..', `runner-${path.basename(workspace)}`);
  mkdirSync(temp, { recursive: true });
  const summaryFile = path.join(temp, 'summary.md');
  writeFileSync(summaryFile, '');
  const result: ActionRun = { ran: [], outputs: {}, log: '', summary: '' };
  let failed = false;
  for (const [i, step] of ACTION.runs.steps.entries()) {
    const name = step.id ?? step.name ?? step.uses ?? `step ${i}`;
    if (step.if ? !condition(step.if, c, failed) : failed) continue;
    if (step.uses) {
      result.ran.push(name);
      if (step.uses.startsWith('github/codeql-action/upload-sarif@')) result.upload = Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, interpolate(String(v), c)]));
      continue;
    }
    if (step.id === 'install') continue; // replaced: keyloop is on PATH (the compiled CLI)
    const outFile = path.join(temp, `out-${i}`);
    writeFileSync(outFile, '');
    const script = path.join(temp, `step-${i}.sh`);
    writeFileSync(script, step.run!);
    const env = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, interpolate(String(v), c)]));
    // GitHub's `shell: bash`
    const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
      cwd: workspace,
      encoding: 'utf8',
      env: baseEnv({ ...env, GITHUB_OUTPUT: outFile, GITHUB_STEP_SUMMARY: summaryFile, GITHUB_WORKSPACE: workspace, RUNNER_TEMP: temp }),
    });
    result.ran.push(name);
    result.log += r.stdout + r.stderr;
    const out = readFileSync(outFile, 'utf8');
    expect(out, 'multi-line outputs are not parsed here').not.toContain('<<');
    if (step.id) c.steps[step.id] = Object.fromEntries(out.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    if (r.status !== 0) {
      failed = true;
      result.failedStep ??= name;
    }
  }
  result.outputs = Object.fromEntries(Object.entries(ACTION.outputs).map(([k, o]) => [k, interpolate(o.value, c)]));
  result.summary = readFileSync(summaryFile, 'utf8');
  return result;
}

describe('action.yml (composite GitHub Action)', () => {
  it('is a composite action: setup-node, install from its own checkout, scan, upload-sarif, verdict; inputs reach scripts through env only', () => {
    expect(ACTION.runs.using).toBe('composite');
    const steps = ACTION.runs.steps;
    expect(steps[0]!.uses).toMatch(/^actions\/setup-node@v\d+$/);
    expect(steps[0]!.with!['node-version']).toBe('${{ inputs.node-version }}');
    const install = steps.find((s) => s.id === 'install')!;
    expect(install.run).toMatch(/npm ci --include=dev --ignore-scripts\b/);
    expect(install.run!.match(/npm rebuild ([^\n]+)/)?.[1]!.trim().split(' ').sort()).toEqual(nativeDeps());
    expect(install.run).toContain('npm run build');
    expect(install.run).toContain('dist/cli/main.js');
    expect(install.run).toContain('>> "$GITHUB_PATH"');
    expect(steps.some((s) => /^github\/codeql-action\/upload-sarif@v\d+$/.test(s.uses ?? ''))).toBe(true);
    expect(Object.keys(ACTION.inputs)).toEqual(expect.arrayContaining(['config', 'baseline', 'fail-on', 'min-confidence', 'path', 'sarif-file', 'upload-sarif']));
    for (const s of steps) {
      if (s.run) {
        expect(s.run, `${s.name}: no expression inside run:`).not.toContain('${{');
        expect(s.shell).toBe('bash');
      }
    }
  });

  it('a secret in history: SARIF written and uploaded, the job fails; no secret in the SARIF', async () => {
    const token = ghToken();
    const ws = await repoWith([{ 'deploy/.env': `GITHUB_TOKEN=${token}\n` }, { 'deploy/.env': null, 'README.md': 'hi\n' }]);
    const r = runAction(ws);
    expect(r.ran).toEqual([ACTION.runs.steps[0]!.uses, 'scan', 'Upload SARIF to code scanning', 'Verdict']);
    expect(r.outputs).toMatchObject({ 'exit-code': '1', findings: '1', failing: '1', 'sarif-file': 'keyloop.sarif' });
    expect(r.failedStep).toBe('Verdict');
    expect(r.log).toContain('::error title=keyloop::1 secret(s) found at or above confidence low');
    expect(r.summary).toContain('keyloop: 1 finding(s) reported, 1 at or above fail-on (low)');
    expect(r.upload).toEqual({ sarif_file: 'keyloop.sarif', category: 'keyloop' });
    const sarifText = readFileSync(path.join(ws, 'keyloop.sarif'), 'utf8');
    const sarif = JSON.parse(sarifText) as { version: string; runs: { results: { ruleId: string; partialFingerprints: Record<string, string> }[] }[] };
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0]!.results.map((x) => x.ruleId)).toEqual(['github-pat-classic']);
    expect(sarif.runs[0]!.results[0]!.partialFingerprints['keyloop/v1']).toMatch(/^[0-9a-f]{64}$/);
    expect(sarifText).not.toContain(token);
    expect(r.log).not.toContain(token);
  });

  it('fail-on: none uploads and passes; a baseline or an operator config that excludes the path reports nothing', async () => {
    const ws = await repoWith([{ 'app/settings.env': `GITHUB_TOKEN=${ghToken()}\n` }]);
    const none = runAction(ws, { 'fail-on': 'none' });
    expect(none.failedStep).toBeUndefined();
    expect(none.outputs).toMatchObject({ 'exit-code': '1', findings: '1', failing: '0' });
    expect(none.upload?.sarif_file).toBe('keyloop.sarif');

    const base = spawnSync(bin + '/keyloop', ['scan', '.', '--format', 'json', '-o', path.join(ws, '..', 'baseline.json'), '--no-progress'], { cwd: ws, env: baseEnv() });
    expect(base.status).toBe(1);
    const withBaseline = runAction(ws, { baseline: '../baseline.json', 'sarif-file': 'k.sarif' });
    expect(withBaseline.failedStep).toBeUndefined();
    expect(withBaseline.outputs).toMatchObject({ 'exit-code': '0', findings: '0', failing: '0', 'sarif-file': 'k.sarif' });

    writeFileSync(path.join(ws, '..', 'operator.yaml'), 'paths:\n  exclude: ["app/**"]\n');
    const withConfig = runAction(ws, { config: '../operator.yaml' });
    expect(withConfig.failedStep).toBeUndefined();
    expect(withConfig.outputs).toMatchObject({ 'exit-code': '0', findings: '0' });
  });

  it('fail-on and min-confidence: a low-confidence finding fails at low, passes at high, is not reported at medium', async () => {
    const ws = await repoWith([{ 'config/app.ini': genericLine() }]);
    const low = runAction(ws);
    expect(low.outputs).toMatchObject({ findings: '1', failing: '1' });
    expect(low.failedStep).toBe('Verdict');
    const sarif = JSON.parse(readFileSync(path.join(ws, 'keyloop.sarif'), 'utf8')) as { runs: { results: { properties: { confidence: string } }[] }[] };
    expect(sarif.runs[0]!.results[0]!.properties.confidence).toBe('low');
    const high = runAction(ws, { 'fail-on': 'high' });
    expect(high.outputs).toMatchObject({ findings: '1', failing: '0' });
    expect(high.failedStep).toBeUndefined();
    const medium = runAction(ws, { 'min-confidence': 'medium' });
    expect(medium.outputs).toMatchObject({ 'exit-code': '0', findings: '0' });
    expect(medium.failedStep).toBeUndefined();
  });

  it('a bad input or a scan error fails the job with the reason, and nothing is uploaded', async () => {
    const ws = await repoWith([{ 'a.txt': 'nothing here\n' }]);
    const clean = runAction(ws);
    expect(clean.failedStep).toBeUndefined();
    expect(clean.outputs).toMatchObject({ 'exit-code': '0', findings: '0' });

    const bogus = runAction(ws, { 'fail-on': 'sometimes' });
    expect(bogus.failedStep).toBe('scan');
    expect(bogus.log).toContain('fail-on must be low, medium, high or none (got "sometimes")');
    expect(bogus.ran).toEqual([expect.any(String), 'scan', 'Verdict']);
    expect(bogus.upload).toBeUndefined();

    const missing = runAction(ws, { config: 'no-such-config.yaml', 'sarif-file': 'missing.sarif' });
    expect(missing.outputs['exit-code']).toBe('2');
    expect(missing.outputs['sarif-file']).toBe('');
    expect(missing.upload).toBeUndefined();
    expect(missing.failedStep).toBe('Verdict');
    expect(missing.log).toContain('the scan did not complete (exit code 2)');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// .pre-commit-hooks.yaml

const PRE_COMMIT = tool('pre-commit', ['/usr/bin/pre-commit', '/usr/local/bin/pre-commit'], 'apt-get install -y pre-commit');

interface Hook {
  id: string;
  name: string;
  entry: string;
  language: string;
  pass_filenames?: boolean;
  always_run?: boolean;
  require_serial?: boolean;
}

describe.skipIf(PRE_COMMIT.skip)('.pre-commit-hooks.yaml with pre-commit', () => {
  it('blocks a commit that stages a secret and lets clean commits through, run by pre-commit itself', async () => {
    const preCommit = PRE_COMMIT.need();
    const manifest = path.join(ROOT, '.pre-commit-hooks.yaml');
    const hooks = parse(readFileSync(manifest, 'utf8')) as Hook[];
    const hook = hooks.find((h) => h.id === 'keyloop')!;
    expect(hook).toMatchObject({ language: 'node', pass_filenames: false, always_run: true });
    expect(hook.entry).toMatch(/^keyloop scan --staged\b/);

    const ws = await repoWith([{ 'README.md': 'hello\n' }]);
    const env = baseEnv({ PRE_COMMIT_HOME: path.join(ws, '..', `pre-commit-home-${path.basename(ws)}`) });
    const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { cwd: ws, env, encoding: 'utf8' });
    expect(run(preCommit, ['validate-manifest', manifest]).status).toBe(0);
    // The published hook installs keyloop with npm (language: node); here the same hook runs against the keyloop
    // on PATH, so pre-commit's own runner executes the manifest's entry exactly as written, offline.
    const config = { repos: [{ repo: 'local', hooks: [{ ...hook, language: 'system' }] }] };
    writeFileSync(path.join(ws, '.pre-commit-config.yaml'), JSON.stringify(config, null, 2));
    expect(run(preCommit, ['validate-config', '.pre-commit-config.yaml']).status).toBe(0);
    expect(run(preCommit, ['install']).status).toBe(0);
    const count = () => Number(run('git', ['rev-list', '--count', 'HEAD']).stdout.trim());
    const commit = (msg: string) => run('git', ['commit', '-m', msg]);

    // a staged secret: blocked, nothing committed, the report names the detector and never prints the token
    const token = ghToken();
    writeFileSync(path.join(ws, 'ci.env'), `GH_TOKEN=${token}\n`);
    run('git', ['add', 'ci.env', '.pre-commit-config.yaml']);
    const before = count();
    const blocked = commit('add ci config');
    expect(blocked.status).not.toBe(0);
    expect(blocked.stdout + blocked.stderr).toMatch(/keyloop \(secrets in staged changes\)\.+Failed/);
    expect(blocked.stdout + blocked.stderr).toContain('github-pat-classic');
    expect(blocked.stdout + blocked.stderr).not.toContain(token);
    expect(count()).toBe(before);

    // the secret unstaged and removed: the commit goes through
    run('git', ['rm', '-q', '--cached', 'ci.env']);
    writeFileSync(path.join(ws, 'ci.env'), 'GH_TOKEN=${{ secrets.GH_TOKEN }}\n');
    run('git', ['add', 'ci.env']);
    const clean = commit('add ci config');
    expect(clean.stdout + clean.stderr).toMatch(/keyloop \(secrets in staged changes\)\.+Passed/);
    expect(clean.status).toBe(0);
    expect(count()).toBe(before + 1);

    // only what is staged is scanned: a secret already in history does not block an unrelated commit
    writeFileSync(path.join(ws, 'old.env'), `GH_TOKEN=${ghToken()}\n`);
    run('git', ['add', 'old.env']);
    expect(run('git', ['commit', '--no-verify', '-m', 'legacy']).status).toBe(0);
    writeFileSync(path.join(ws, 'README.md'), 'hello again\n');
    run('git', ['add', 'README.md']);
    const unrelated = commit('docs');
    expect(unrelated.status).toBe(0);
    expect(count()).toBe(before + 3);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  op: string;
  args: string;
  line: number;
}
interface Stage {
  image: string;
  name?: string;
  ins: Instruction[];
}

/** Dockerfile → stages of instructions: comments dropped, `\` continuations joined. */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (!buf && (line.trim() === '' || line.trim().startsWith('#'))) return;
    if (!buf) start = i + 1;
    if (line.endsWith('\\')) {
      buf += line.slice(0, -1) + ' ';
      return;
    }
    const full = (buf + line).trim();
    buf = '';
    const m = /^([A-Za-z]+)\s+([\s\S]*)$/.exec(full);
    if (!m) throw new Error(`Dockerfile:${start}: not an instruction: ${full}`);
    const op = m[1]!.toUpperCase();
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(m[2]!.trim());
      if (!f) throw new Error(`Dockerfile:${start}: bad FROM`);
      stages.push({ image: f[1]!, name: f[2], ins: [] });
    } else {
      if (!stages.length) throw new Error(`Dockerfile:${start}: ${op} before FROM`);
      stages.at(-1)!.ins.push({ op, args: m[2]!.replace(/\s+/g, ' ').trim(), line: start });
    }
  });
  if (buf) throw new Error('Dockerfile ends in a continuation');
  return stages;
}

/** COPY [--from=X] src… dest, with the stage's WORKDIR at that point; `lands` is where each source ends up. */
function copies(stage: Stage): { from?: string; srcs: string[]; dest: string; lands: string[]; workdir: string; line: number }[] {
  let workdir = '/';
  const out: ReturnType<typeof copies> = [];
  for (const i of stage.ins) {
    if (i.op === 'WORKDIR') workdir = path.posix.resolve(workdir, i.args);
    if (i.op !== 'COPY') continue;
    const words = i.args.split(' ');
    const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
    const rest = words.filter((w) => !w.startsWith('--'));
    const srcs = rest.slice(0, -1);
    const raw = rest.at(-1)!;
    const dest = path.posix.resolve(workdir, raw);
    // Docker: into a directory destination (trailing /, or several sources) each source keeps its name; else it
    // becomes the destination (a directory source's contents are copied to it)
    const intoDir = raw.endsWith('/') || raw === '.' || srcs.length > 1;
    out.push({ from, srcs, dest, lands: srcs.map((s) => (intoDir ? path.posix.join(dest, path.posix.basename(s)) : dest)), workdir, line: i.line });
  }
  return out;
}

describe('Dockerfile', () => {
  const stages = parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
  const build = stages.find((s) => s.name === 'build')!;
  const runtime = stages.at(-1)!;
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string }; files: string[]; bin: Record<string, string> };
  const runs = (s: Stage) => s.ins.filter((i) => i.op === 'RUN').map((i) => i.args);

  it('multi-stage on node:20-bookworm-slim (the Node major of package.json engines); runtime runs as a non-root user it creates', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build).toBeDefined();
    expect(runtime).not.toBe(build);
    for (const s of stages) expect(s.image).toBe('node:20-bookworm-slim');
    expect(pkg.engines.node).toBe('>=20');
    const users = runtime.ins.filter((i) => i.op === 'USER');
    expect(users).toHaveLength(1);
    const user = users[0]!.args;
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    const [uid, gid] = user.split(':');
    const useradd = runs(runtime).find((r) => r.includes('useradd'))!;
    expect(useradd).toContain(`--uid ${uid}`);
    expect(useradd).toContain('--user-group');
    expect(gid).toBe(uid);
    // nothing after USER runs as root again, and the user is the last word on who runs keyloop
    const lastRun = runtime.ins.map((i) => i.op).lastIndexOf('RUN');
    expect(runtime.ins.findIndex((i) => i.op === 'USER')).toBeGreaterThan(lastRun);
    expect(runtime.ins.find((i) => i.op === 'ENTRYPOINT')?.args).toBe('["keyloop"]');
  });

  it('git in the runtime; the toolchain and native addon builds in the build stage only; apt lists removed', () => {
    const apt = (s: Stage) => runs(s).filter((r) => r.includes('apt-get install'));
    expect(apt(runtime).join(' ')).toMatch(/\bgit\b/);
    expect(apt(runtime).join(' ')).not.toMatch(/\b(g\+\+|make|python3)\b/);
    expect(apt(build).join(' ')).toMatch(/\bpython3\b.*\bmake\b.*\bg\+\+/);
    for (const r of [...apt(build), ...apt(runtime)]) {
      expect(r).toContain('--no-install-recommends');
      expect(r).toContain('rm -rf /var/lib/apt/lists/*');
    }
    // the runtime dependencies whose install scripts build native code, from the lockfile: each rebuilt in the build stage
    const native = nativeDeps();
    const rebuild = runs(build).join(' && ').match(/npm rebuild ([^&]+)/)?.[1]!.trim().split(' ').sort();
    expect(rebuild).toEqual(native);
    expect(runs(build).join(' ')).toMatch(/npm ci\b[^&]*--ignore-scripts/);
    expect(runs(build).join(' ')).toMatch(/npm run build\b.*npm prune --omit=dev/);
  });

  it('every COPY source exists: in the build context (not excluded by .dockerignore) or made by the build stage', () => {
    const ig = ignore().add(readFileSync(path.join(ROOT, '.dockerignore'), 'utf8'));
    for (const s of stages) {
      for (const c of copies(s).filter((c) => !c.from)) {
        for (const src of c.srcs) {
          expect(existsSync(path.join(ROOT, src)), `Dockerfile:${c.line}: ${src}`).toBe(true);
          expect(ig.ignores(src.replace(/\/$/, '')), `Dockerfile:${c.line}: ${src} is excluded by .dockerignore`).toBe(false);
        }
      }
    }
    // the build stage compiles tsconfig.build.json: every folder it includes, and every folder those import, is copied
    const buildCopied = copies(build).flatMap((c) => c.srcs.map((s) => path.posix.normalize(s)));
    const tsBuild = parse(readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '')) as { include: string[] };
    const needed = new Set(tsBuild.include.map((g) => g.split('/')[0]!));
    for (const dir of [...needed]) {
      for (const f of spawnSync('git', ['ls-files', '--', `${dir}/*.ts`], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
        for (const m of readFileSync(path.join(ROOT, f), 'utf8').matchAll(/from '(\.\.?\/[^']+)'/g)) needed.add(path.posix.normalize(path.posix.join(path.posix.dirname(f), m[1]!)).split('/')[0]!);
      }
    }
    for (const dir of needed) expect(buildCopied, `the build stage needs ${dir}/`).toContain(dir);
    for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts']) expect(buildCopied).toContain(f);

    // --from=build: a path the build stage copied in, or made (dist/ by npm run build, node_modules by npm ci)
    const buildWork = copies(build)[0]!.workdir;
    for (const c of copies(runtime).filter((c) => c.from)) {
      expect(c.from).toBe('build');
      for (const src of c.srcs) {
        const rel = path.posix.relative(buildWork, src);
        const made = rel === 'node_modules' || rel.startsWith('dist/');
        expect(made || buildCopied.includes(rel), `Dockerfile:${c.line}: ${src} is neither copied into nor made by the build stage`).toBe(true);
      }
    }
  });

  it('the runtime holds the whole published package (package.json files) and keyloop on PATH', () => {
    const home = copies(runtime).find((c) => c.from)!.workdir;
    const have = copies(runtime).flatMap((c) => c.lands.map((l) => path.posix.relative(home, l)));
    for (const f of [...pkg.files, 'package.json', 'node_modules']) expect(have, `the runtime stage lacks ${f}`).toContain(f);
    const bin = path.posix.join(home, pkg.bin.keyloop!.replace(/^\.\//, ''));
    expect(runs(runtime).join(' ')).toContain(`ln -s ${bin} /usr/local/bin/keyloop`);
    // no credentials baked in, nothing fetched and piped to a shell
    const all = stages.flatMap((s) => s.ins);
    expect(all.filter((i) => i.op === 'ADD')).toEqual([]);
    for (const i of all) {
      expect(i.args).not.toMatch(/\b(curl|wget)\b[^|]*\|\s*(ba)?sh/);
      if (i.op === 'ENV' || i.op === 'ARG') expect(i.args).not.toMatch(/(TOKEN|KEYLOOP_KEY|PASSWORD|SECRET)\s*=/i);
    }
  });
});
