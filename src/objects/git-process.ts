// Running the git CLI for the native adapter: hardened env, buffered runs and streaming byte readers.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/**
 * Config that would change what plumbing prints or make git touch the network/terminal. Replace refs are
 * off because the isomorphic adapter cannot honour them and both must see the same history.
 */
const HARDENING = [
  '-c', 'log.showSignature=false',
  '-c', 'i18n.logOutputEncoding=UTF-8',
  '-c', 'core.quotePath=false',
  '-c', 'diff.external=',
  '-c', 'core.fsmonitor=false',
];

export function gitEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    GIT_TERMINAL_PROMPT: '0',
    GIT_NO_REPLACE_OBJECTS: '1',
    GIT_OPTIONAL_LOCKS: '0',
    GIT_PAGER: 'cat',
    LC_ALL: 'C',
  };
}

export interface GitRunner {
  readonly gitDir: string;
  /** `env` adds variables for this one process (e.g. GIT_FLUSH=0 for a long stream read in bulk). */
  spawn(args: string[], env?: Record<string, string>): ChildProcessWithoutNullStreams;
  run(args: string[], input?: string | Buffer): Promise<{ code: number; stdout: Buffer; stderr: string }>;
}

export function gitRunner(gitDir: string, workTree?: string): GitRunner {
  const prefix = ['--git-dir', gitDir, ...(workTree ? ['--work-tree', workTree] : []), ...HARDENING];
  const env = gitEnv();
  const start = (args: string[], extra?: Record<string, string>) =>
    spawn('git', [...prefix, ...args], { env: extra ? { ...env, ...extra } : env, stdio: ['pipe', 'pipe', 'pipe'], cwd: workTree ?? gitDir });
  return {
    gitDir,
    spawn: start,
    run(args, input) {
      return new Promise((resolve, reject) => {
        const child = start(args);
        const out: Buffer[] = [];
        let err = '';
        child.stdout.on('data', (d: Buffer) => out.push(d));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: err.trim() }));
        child.stdin.on('error', () => {}); // git may exit before reading all input; 'close' reports it
        child.stdin.end(input ?? '');
      });
    },
  };
}

/** Splits a byte stream on NUL without holding more than one partial token. */
export async function* nulTokens(stream: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let carry: Buffer | null = null;
  for await (const chunk of stream) {
    let start = 0;
    let i = chunk.indexOf(0, start);
    while (i !== -1) {
      const piece = chunk.subarray(start, i);
      yield carry ? Buffer.concat([carry, piece]) : piece;
      carry = null;
      start = i + 1;
      i = chunk.indexOf(0, start);
    }
    if (start < chunk.length) carry = carry ? Buffer.concat([carry, chunk.subarray(start)]) : Buffer.from(chunk.subarray(start));
  }
  if (carry && carry.length) yield carry;
}

/** Pull-based reader over a byte stream: lines and exact-length payloads, honouring backpressure. */
export class ByteReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private readonly it: AsyncIterator<Buffer>;
  private done = false;

  constructor(stream: AsyncIterable<Buffer>) {
    this.it = stream[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    this.chunks.push(r.value);
    this.length += r.value.length;
    return true;
  }

  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.length -= n;
    return out;
  }

  /** Next line without its LF, or null at end of stream. */
  async line(): Promise<string | null> {
    for (;;) {
      let seen = 0;
      for (const c of this.chunks) {
        const i = c.indexOf(10);
        if (i !== -1) {
          const line = this.take(seen + i + 1);
          return line.toString('utf8', 0, line.length - 1);
        }
        seen += c.length;
      }
      if (!(await this.fill())) return null;
    }
  }

  /** Exactly n bytes, or null if the stream ends first. */
  async bytes(n: number): Promise<Buffer | null> {
    while (this.length < n) if (!(await this.fill())) return null;
    return this.take(n);
  }
}
