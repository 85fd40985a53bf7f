// Runs the CLI in-process with captured streams (the same `main` the binary runs), in a minimal environment:
// the developer's KEYLOOP_*, GITHUB_TOKEN, HOME or git config never reach a test's command.
import { main } from '../../cli/main.js';
import { tempDir } from '../../testkit/git-repo.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export type Env = Record<string, string | undefined>;

let home: string | undefined;

/**
 * The environment a test's command runs with: PATH, a throwaway HOME (one per test file, so a key file written
 * by one run is there for the next, as on a real machine), git config isolated, plus `extra` (which wins).
 */
export async function cliEnv(extra: Env = {}): Promise<Env> {
  home ??= await tempDir('keyloop-home-');
  return { PATH: process.env.PATH, HOME: home, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', ...extra };
}

/** `env` is added to the minimal environment of cliEnv(), not to this process's environment. */
export async function runCli(args: string[], opts: { cwd?: string; env?: Env; tty?: boolean; signal?: AbortSignal } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    cwd: opts.cwd ?? process.cwd(),
    env: await cliEnv(opts.env),
    stdout: { write: (s: string) => ((stdout += s), true), isTTY: opts.tty ?? false },
    stderr: { write: (s: string) => ((stderr += s), true), isTTY: opts.tty ?? false },
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return { code, stdout, stderr };
}
