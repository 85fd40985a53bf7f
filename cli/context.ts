// What every command receives besides its options: injected cwd, env and streams (testable without a process).
export interface CommandContext {
  cwd: string;
  env: Record<string, string | undefined>;
  /** `columns`: the terminal's width when the stream is a TTY (tables and progress bars fit it). */
  stdout: { write(chunk: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(chunk: string): unknown; isTTY?: boolean; columns?: number };
  /** Aborted on SIGINT/SIGTERM (long-running commands: app, org). */
  signal?: AbortSignal;
}

export function processContext(signal?: AbortSignal): CommandContext {
  return { cwd: process.cwd(), env: process.env, stdout: process.stdout, stderr: process.stderr, signal };
}

/** Resolves once `signal` aborts (SIGINT/SIGTERM); never without one (the process runs until it is killed). */
export function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((done) => {
    if (!signal) return;
    if (signal.aborted) return done();
    signal.addEventListener('abort', () => done(), { once: true });
  });
}
