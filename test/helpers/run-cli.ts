// Runs the CLI in-process with captured streams (the same `main` the binary runs).
import { main } from '../../cli/main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; tty?: boolean } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    cwd: opts.cwd ?? process.cwd(),
    env: opts.env ?? { ...process.env },
    stdout: { write: (s: string) => ((stdout += s), true), isTTY: opts.tty ?? false },
    stderr: { write: (s: string) => ((stderr += s), true), isTTY: opts.tty ?? false },
  });
  return { code, stdout, stderr };
}
