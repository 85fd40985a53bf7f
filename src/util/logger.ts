// Logger to stderr; every line passes through the secret registry and has its control characters made visible
// (paths and refs in messages come from scanned content). Machine output never goes here. `format: 'json'` writes
// one pino JSON object per line (level, time, pid, hostname, msg) for a log collector.
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import type * as Pino from 'pino';
import type { SecretRegistry } from './redact.js';
import { escapeControls } from './terminal-safe.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function createLogger(opts: {
  registry: SecretRegistry;
  level?: Level;
  format?: LogFormat;
  /** Fields on every JSON line (e.g. the component). */
  base?: Record<string, string | number>;
  write?: (line: string) => void;
}): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  // Scrubbed before it is formatted: no secret reaches a line, in either format.
  const clean = (msg: string) => escapeControls(opts.registry.scrub(msg));
  if (opts.format === 'json') {
    // loaded only for JSON logs: the CLI's default text lines need no pino, and loading it costs start-up time
    const { pino } = createRequire(import.meta.url)('pino') as typeof Pino;
    const p = pino(
      { level: opts.level ?? 'info', base: { pid: process.pid, hostname: hostname(), ...opts.base }, timestamp: pino.stdTimeFunctions.isoTime },
      { write: (line: string) => write(line.replace(/\n$/, '')) },
    );
    return { debug: (m) => p.debug(clean(m)), info: (m) => p.info(clean(m)), warn: (m) => p.warn(clean(m)), error: (m) => p.error(clean(m)) };
  }
  const min = order[opts.level ?? 'info'];
  const log = (level: Level) => (msg: string) => {
    if (order[level] < min) return;
    write(clean(level === 'info' ? msg : `${level}: ${msg}`));
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
