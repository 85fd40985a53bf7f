// Logger to stderr; every line passes through the secret registry and has its control characters made visible
// (paths and refs in messages come from scanned content). Machine output never goes here.
import type { SecretRegistry } from './redact.js';
import { escapeControls } from './terminal-safe.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
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
  write?: (line: string) => void;
}): Logger {
  const min = order[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const log = (level: Level) => (msg: string) => {
    if (order[level] < min) return;
    write(escapeControls(opts.registry.scrub(level === 'info' ? msg : `${level}: ${msg}`)));
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
