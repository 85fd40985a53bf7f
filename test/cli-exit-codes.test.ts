// Exit codes of every command: 2 for usage errors (unknown option or command, bad choice, missing argument,
// bad value), so a CI job can tell a typo from findings (1) and a runtime failure (3); --exit-code for findings;
// the summary line of `keyloop scan` on stderr in every format.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../testkit/git-repo.js';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { withCrc32Tail } from '../testkit/token-gen.js';
import { runCli } from './helpers/run-cli.js';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const alnum = (n: number) => Array.from(randomBytes(n), (b) => ALNUM[b % ALNUM.length]).join('');

const COMMANDS: string[][] = [['scan', '.'], ['org', 'acme'], ['secrets'], ['where', 'abcdef12'], ['app'], ['receive', 'x.json', '--event', 'push'], ['issues'], ['triage', 'abcdef12', '--false-positive'], ['report'], ['detectors', 'list'], ['detectors', 'check']];

describe('usage errors exit 2 with one hint line, in every command', () => {
  it.each(COMMANDS.map((c) => [c.join(' '), c] as const))('%s --no-such-flag', async (_name, cmd) => {
    const r = await runCli([...cmd, '--no-such-flag']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("unknown option '--no-such-flag'");
    expect(r.stderr).toContain('(add --help for usage)');
    // the hint, not the whole help text
    expect(r.stderr).not.toContain('Options:');
    expect(r.stdout).toBe('');
  });

  it('suggests the closest flag and names the allowed values', async () => {
    const typo = await runCli(['scan', '.', '--frmat', 'json']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('Did you mean --format?');
    const choice = await runCli(['scan', '.', '--format', 'xml']);
    expect(choice.code).toBe(2);
    expect(choice.stderr).toMatch(/Allowed choices are table, json, sarif, csv/);
    const secrets = await runCli(['secrets', '--formt', 'json']);
    expect(secrets.code).toBe(2);
    expect(secrets.stderr).toContain('Did you mean --format?');
  });

  it('an unknown command or subcommand, a missing argument, a bad number: 2', async () => {
    for (const args of [['nosuch'], ['detectors', 'lst'], ['where'], ['scan', '.', '--jobs', 'many'], ['scan', '.', '--exit-code', '300'], ['scan', '.', '--max-blob-size', 'big']]) {
      const r = await runCli(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
    }
  });

  it('--help and --version exit 0', async () => {
    expect((await runCli(['--version'])).code).toBe(0);
    const help = await runCli(['scan', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--exit-code <n>');
    expect(help.stdout).toContain('Exit codes:');
  });
});

describe('keyloop scan: --exit-code and the summary line', () => {
  let dir: string;
  let clean: string;
  beforeAll(async () => {
    dir = await tempDir('keyloop-exit-');
    writeFileSync(join(dir, 'app.env'), `GITHUB_TOKEN=${withCrc32Tail('ghp_', alnum(30))}\nNAME=demo\n`);
    clean = await tempDir('keyloop-clean-');
    writeFileSync(join(clean, 'README.md'), '# nothing here\n');
  });

  it('findings exit 1 by default and N with --exit-code N; a clean scan exits 0 whatever N', async () => {
    expect((await runCli(['scan', dir, '--format', 'json'])).code).toBe(1);
    expect((await runCli(['scan', dir, '--format', 'json', '--exit-code', '42'])).code).toBe(42);
    expect((await runCli(['scan', dir, '--format', 'json', '--exit-code', '0'])).code).toBe(0);
    expect((await runCli(['scan', clean, '--format', 'json', '--exit-code', '42'])).code).toBe(0);
  });

  it('one summary line on stderr in every format, TTY or not; --quiet turns it off', async () => {
    for (const format of ['json', 'sarif', 'csv', 'table']) {
      for (const tty of [false, true]) {
        const r = await runCli(['scan', dir, '--format', format, '--no-progress'], { tty });
        expect(r.stderr, `${format} tty=${tty}`).toMatch(/^keyloop: 1 finding \(critical 1; unverified 1\) in 1 blob, [\d.]+ kB, [\d.]+ s\n$/);
      }
    }
    const cleanRun = await runCli(['scan', clean, '--format', 'json']);
    expect(cleanRun.stderr).toMatch(/^keyloop: 0 findings in 1 blob, /);
    const quiet = await runCli(['scan', dir, '--format', 'json', '--quiet']);
    expect(quiet.stderr).toBe('');
    expect(quiet.code).toBe(1);
  });

  it('an empty repository: exit 0, and says there was nothing to scan', async () => {
    const empty = await tempDir('keyloop-empty-');
    execFileSync('git', ['init', '-q', '--', empty]);
    const r = await runCli(['scan', empty, '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('nothing to scan: the repository has no commits yet');
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'complete', findings: [] });
  });
});
