// CLI options declared once (#18 item 5): every flag several commands take is built by cli/options.ts and spelled
// nowhere else in cli/; each such flag means the same on every command (argument, parser, choices, default); and
// argv → the options object each command receives, as a table.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../cli/main.js';
import { filesUnder } from '../testkit/fs.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SHARED = [
  '--db',
  '--format',
  '--config',
  '--token',
  '--github-url',
  '--key-file',
  '--detectors',
  '--cache-dir',
  '--max-blob-size',
  '--git-backend',
  '--no-repo-config',
  '--allow-insecure-issuers',
  '--log-format',
  '--log-level',
  '--concurrency',
  '--lease',
  '--shutdown-grace',
  '--metrics-port',
  '--metrics-host',
  '--min-confidence',
  '--output',
];
/** Flags whose default is the command's own (how many at once, how long to wait, which formats). */
const PER_COMMAND_DEFAULT = new Set(['--format', '--concurrency', '--shutdown-grace']);

const ctx = { cwd: ROOT, env: {}, stdout: { write: () => true }, stderr: { write: () => true } };
const program = () => buildProgram(ctx, () => {});

function* commands(c: Command, prefix = ''): Generator<[string, Command]> {
  for (const sub of c.commands) {
    const name = `${prefix}${sub.name()}`;
    if (sub.commands.length) yield* commands(sub, `${name} `);
    else yield [name, sub];
  }
}

/** The options object `argv` hands its command's action (the action itself is replaced: nothing runs). */
async function optionsOf(argv: string[]): Promise<Record<string, unknown>> {
  const p = program();
  let got: Record<string, unknown> | undefined;
  for (const [, c] of commands(p)) c.action((...args: unknown[]) => void (got = args.at(-2) as Record<string, unknown>));
  await p.parseAsync(argv, { from: 'user' });
  return got!;
}

describe('CLI options', () => {
  it('each shared flag is spelled once in cli/, in cli/options.ts', () => {
    const files = filesUnder(path.join(ROOT, 'cli')).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    for (const flag of SHARED) {
      // declared: .option('--x …'), .requiredOption(…) or new Option(…); a ConfigError naming the flag is not a declaration
      const spelled = new RegExp(`(?:\\.option|\\.requiredOption|new Option)\\(\\s*['"\`](?:-\\w, )?${flag}(?![\\w-])`, 'g');
      const where = files.flatMap((f) => (readFileSync(f, 'utf8').match(spelled) ?? []).map(() => path.relative(ROOT, f)));
      expect(where, flag).toEqual(['cli/options.ts']);
    }
  });

  it('a shared flag takes the same argument, parser, choices and default on every command that has it', () => {
    const seen = new Map<string, { command: string; option: Option }[]>();
    for (const [name, c] of commands(program())) {
      for (const o of c.options as Option[]) if (SHARED.includes(o.long!)) seen.set(o.long!, [...(seen.get(o.long!) ?? []), { command: name, option: o }]);
    }
    expect(seen.get('--db')!.length).toBeGreaterThanOrEqual(12);
    for (const [flag, uses] of seen) {
      const shape = ({ option: o }: { option: Option }) => ({
        flags: o.flags,
        parser: o.parseArg?.name ?? null,
        ...(flag === '--format' ? {} : { choices: o.argChoices ?? null }),
        ...(PER_COMMAND_DEFAULT.has(flag) ? {} : { default: o.defaultValue as unknown }),
      });
      for (const u of uses) expect({ command: u.command, ...shape(u) }, flag).toEqual({ command: u.command, ...shape(uses[0]!) });
    }
  });

  it.each([
    [['scan', 'repo', '--max-blob-size', '1MiB', '--no-repo-config'], { maxBlobSize: 1024 ** 2, repoConfig: false, gitBackend: 'auto', minConfidence: 'low', allowInsecureIssuers: false, exitCode: 1 }],
    [['scan', '--db', 'k.db'], { db: 'k.db', maxBlobSize: 50 * 1024 ** 2, repoConfig: true }],
    [['org', 'acme', '--repos', 'a,b', '--repos', 'c', '--concurrency', '8'], { repos: ['a', 'b', 'c'], concurrency: 8, format: 'table', gitBackend: 'auto', logFormat: 'text', repoConfig: true }],
    [['worker', '--db', 'postgres://h/db', '--metrics-port', '9100'], { db: 'postgres://h/db', metricsPort: 9100, metricsHost: '127.0.0.1', concurrency: 2, lease: 60, shutdownGrace: 30, logLevel: 'info', verify: true }],
    [['app', '--lease', '30'], { lease: 30, concurrency: 2, shutdownGrace: 20, port: 3000, maxBlobSize: 50 * 1024 ** 2, checkRuns: true, scanNewRepos: false }],
    [['receive', 'p.json', '--event', 'push', '--token', 't'], { event: 'push', token: 't', logFormat: 'text', issues: true }],
    [['issues', '--repos', 'acme/a'], { repos: ['acme/a'], format: 'text', dryRun: false, verify: true }],
    [['report', '-o', 'r.html', '--format', 'html'], { output: 'r.html', format: 'html' }],
    [['secrets'], { format: 'table', minConfidence: 'low' }],
  ])('%j → its options', async (argv, expected) => {
    expect(await optionsOf(argv)).toMatchObject(expected);
  });

  it('refuses a value a shared flag does not take, on any command (usage error)', async () => {
    for (const argv of [['org', 'acme', '--max-blob-size', 'big'], ['worker', '--concurrency', '-1'], ['runs', '--format', 'sarif'], ['app', '--git-backend', 'x']]) {
      await expect(optionsOf(argv), argv.join(' ')).rejects.toThrow();
    }
  });
});
