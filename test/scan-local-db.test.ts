// `keyloop scan --db`: a purely local user gets an inventory (#20 item 3): secrets, where, triage and report work on
// what `scan` recorded, the repository is named by its origin URL without credentials (or its path), a rescan adds
// nothing, a secret triaged false-positive stays out of later scans, and the store holds no plaintext.
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withoutCredentials } from '../src/run/local-inventory.js';
import { buildRepo, git, tempDir } from '../testkit/git-repo.js';
import { withCrc32Tail } from '../testkit/token-gen.js';
import { startFakeGitHub } from '../testkit/fake-github.js';
import { runCli } from './helpers/run-cli.js';

const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const alnum = (n: number) => [...randomBytes(n)].map((b) => B62[b % 62]).join('');
const ghToken = () => withCrc32Tail('ghp_', alnum(30));

describe('keyloop scan --db: the local inventory', () => {
  it('records a git repository under its origin URL, credentials cut out, and secrets / where / report read it', async () => {
    const token = ghToken();
    const pushToken = ghToken();
    const repo = await buildRepo({ commits: [{ id: 'a', files: { 'deploy/app.env': `GITHUB_TOKEN=${token}\n` } }, { id: 'b', files: { 'README.md': 'hello\n' } }] });
    await git(repo.dir, 'remote', 'add', 'origin', `https://ci:${pushToken}@git.example.test/acme/app.git`);
    const dir = await tempDir('keyloop-localdb-');
    const db = join(dir, 'k.db');

    const first = await runCli(['scan', repo.dir, '--db', db, '--format', 'json']);
    expect(first.code, first.stderr).toBe(1);
    expect(first.stderr).toMatch(/recorded in the store as run 1 of https:\/\/git\.example\.test\/acme\/app\.git: 1 new secret\(s\), 1 new location\(s\)/);
    expect(first.stderr + first.stdout).not.toContain(pushToken);

    const secrets = await runCli(['secrets', '--db', db, '--format', 'json']);
    expect(secrets.code, secrets.stderr).toBe(0);
    const inv = JSON.parse(secrets.stdout) as { fingerprint: string; detector: string; repos: unknown }[];
    expect(inv).toHaveLength(1);
    expect(inv[0]!.detector).toMatch(/github/);
    expect(JSON.stringify(inv[0]!.repos)).toContain('https://git.example.test/acme/app.git');

    const where = await runCli(['where', inv[0]!.fingerprint.slice(0, 12), '--db', db]);
    expect(where.code, where.stderr).toBe(0);
    expect(where.stdout).toContain('deploy/app.env');
    expect(where.stdout).toContain(repo.sha.a!.slice(0, 7));

    const report = await runCli(['report', '--db', db, '-o', join(dir, 'r.html')]);
    expect(report.code, report.stderr).toBe(0);
    expect(readFileSync(join(dir, 'r.html'), 'utf8')).toContain('https://git.example.test/acme/app.git');

    // A rescan records nothing new and is a run of its own.
    const again = await runCli(['scan', repo.dir, '--db', db, '--format', 'json']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/as run 2 of .*: 0 new secret\(s\), 0 new location\(s\)/);
    const runs = await runCli(['runs', '--db', db, '--format', 'json']);
    expect(runs.code, runs.stderr).toBe(0);
    const list = (JSON.parse(runs.stdout) as { runs: { run: { kind: string; status: string; reposTotal: number; reposDone: number } }[] }).runs.map((r) => r.run);
    expect(list.filter((r) => r.kind === 'scan').map((r) => [r.status, r.reposTotal, r.reposDone])).toEqual([
      ['completed', 1, 1],
      ['completed', 1, 1],
    ]);

    // Nothing in clear at rest, and the file is the user's alone.
    const bytes = readFileSync(db);
    expect(bytes.includes(Buffer.from(token))).toBe(false);
    expect(bytes.includes(Buffer.from(pushToken))).toBe(false);
    expect(statSync(db).mode & 0o777).toBe(0o600);
  });

  it('a secret triaged false-positive is neither reported nor recorded again; a plain directory is named by its path', async () => {
    const dir = await tempDir('keyloop-localdir-');
    writeFileSync(join(dir, 'settings.env'), `GITHUB_TOKEN=${ghToken()}\n`);
    const db = join(await tempDir('keyloop-localdb-'), 'k.db');
    const first = await runCli(['scan', dir, '--db', db, '--format', 'json']);
    expect(first.code, first.stderr).toBe(1);
    expect(first.stderr).toContain(`recorded in the store as run 1 of ${dir}:`);
    const fp = (JSON.parse(first.stdout) as { findings: { fingerprint: string }[] }).findings[0]!.fingerprint;

    const triage = await runCli(['triage', fp, '--false-positive', '--no-github', '--db', db]);
    expect(triage.code, triage.stderr).toBe(0);
    const after = await runCli(['scan', dir, '--db', db, '--format', 'json']);
    expect(after.code, after.stderr).toBe(0);
    expect((JSON.parse(after.stdout) as { findings: unknown[] }).findings).toEqual([]);
    // without the store the same scan still reports it: triage lives in the store, not in the files
    const plain = await runCli(['scan', dir, '--format', 'json']);
    expect(plain.code).toBe(1);
  });

  it('scan --db --reach: the reach is stored with the verification and every call is in the audit log (#21 item 6)', async () => {
    const token = ghToken();
    const gh = await startFakeGitHub({ tokens: { [token]: 'alice' } });
    try {
      gh.tokenScopes.set(token, 'repo');
      const dir = await tempDir('keyloop-localreach-');
      writeFileSync(join(dir, 'ci.env'), `GITHUB_TOKEN=${token}\n`);
      const db = join(await tempDir('keyloop-localdb-'), 'k.db');
      const env = { KEYLOOP_KEY: 'ef'.repeat(32) };
      const scan = await runCli(['scan', dir, '--db', db, '--reach', '--github-url', gh.url, '--allow-insecure-issuers', '--format', 'json'], { env });
      expect(scan.code, scan.stderr).toBe(1);
      const fp = (JSON.parse(scan.stdout) as { findings: { fingerprint: string }[] }).findings[0]!.fingerprint;

      const inv = JSON.parse((await runCli(['secrets', '--db', db, '--format', 'json'], { env })).stdout) as { lastVerification: { status: string; reach?: { account?: string } } }[];
      expect(inv[0]!.lastVerification).toMatchObject({ status: 'live', reach: { account: 'alice' } });
      const audit = await runCli(['audit', '--db', db, '--format', 'json', '--check', '--github-url', gh.url], { env });
      expect(audit.code, audit.stdout + audit.stderr).toBe(0);
      const { calls, check } = JSON.parse(audit.stdout) as { calls: { purpose: string; fingerprint: string; url: string; status: number | null }[]; check: { ok: boolean; secretsChecked: boolean } };
      expect(check).toMatchObject({ ok: true, secretsChecked: true });
      expect(calls.filter((c) => c.status !== null).map((c) => `${c.purpose} ${new URL(c.url).pathname}`)).toEqual(['verify /user', 'reach /user', 'reach /user/orgs', 'reach /user/repos']);
      expect(calls.every((c) => c.fingerprint === fp && c.url.startsWith(gh.url))).toBe(true);
      expect(audit.stdout + scan.stderr).not.toContain(token);
      // without --db nothing is kept, so nothing is audited: the same scan leaves the store as it was
      const plain = await runCli(['scan', dir, '--verify', '--github-url', gh.url, '--allow-insecure-issuers', '--format', 'json'], { env });
      expect(plain.code).toBe(1);
      expect((JSON.parse((await runCli(['audit', '--db', db, '--format', 'json'], { env })).stdout) as unknown[]).length).toBe(calls.length);
    } finally {
      await gh.close();
    }
  });

  it('an unusable store fails before the scan, exit 3', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const dir = await tempDir('keyloop-localdir-');
    writeFileSync(join(dir, 'a.txt'), 'nothing\n');
    const r = await runCli(['scan', dir, '--db', `postgres://k:pw@127.0.0.1:${port}/k`, '--format', 'json']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/connection refused/);
  });

  it('origin URLs lose their credentials, scp-like addresses keep their login', () => {
    expect(withoutCredentials('https://x-access-token:abc@github.com/acme/app.git')).toBe('https://github.com/acme/app.git');
    expect(withoutCredentials('https://github.com/acme/app')).toBe('https://github.com/acme/app');
    expect(withoutCredentials('ssh://git@host:2222/acme/app.git')).toBe('ssh://host:2222/acme/app.git');
    expect(withoutCredentials('git@github.com:acme/app.git')).toBe('git@github.com:acme/app.git');
    expect(withoutCredentials('/srv/git/app.git')).toBe('/srv/git/app.git');
  });
});
