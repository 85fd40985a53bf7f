// What every command receives besides its options: injected cwd, env and streams (testable without a process).
import { createInterface } from 'node:readline/promises';

export interface CommandContext {
  cwd: string;
  env: Record<string, string | undefined>;
  /** `columns`: the terminal's width when the stream is a TTY (tables and progress bars fit it). */
  stdout: { write(chunk: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(chunk: string): unknown; isTTY?: boolean; columns?: number };
  /** Aborted on SIGINT/SIGTERM (long-running commands: app, org). */
  signal?: AbortSignal;
  /** Asks the person at the terminal (the question goes to stderr); absent when stdin is not a terminal. */
  prompt?: (question: string) => Promise<string>;
}

/** A one-line answer from an interactive stdin; undefined when there is nobody to ask (CI, pipes). */
function terminalPrompt(): CommandContext['prompt'] {
  if (!process.stdin.isTTY) return undefined;
  return async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return await rl.question(question);
    } finally {
      rl.close();
    }
  };
}

export function processContext(signal?: AbortSignal): CommandContext {
  const prompt = terminalPrompt();
  return { cwd: process.cwd(), env: process.env, stdout: process.stdout, stderr: process.stderr, signal, ...(prompt ? { prompt } : {}) };
}

/** Resolves once `signal` aborts (SIGINT/SIGTERM); never without one (the process runs until it is killed). */
export function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((done) => {
    if (!signal) return;
    if (signal.aborted) return done();
    signal.addEventListener('abort', () => done(), { once: true });
  });
}
