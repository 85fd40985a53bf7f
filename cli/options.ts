// Every flag that more than one command takes, declared once: its spelling, argument, parser, default and help.
// Commands add them with .addOption(…); test/cli-options.test.ts fails when one of these flags is spelled out
// anywhere else in cli/.
import { Argument, Option } from 'commander';
import { ConfigError } from '../src/core/errors.js';

/** <fingerprint>, said once: the argument of every command that acts on one stored secret. */
export const fingerprintArgument = (): Argument => new Argument('<fingerprint>', 'fingerprint or a unique prefix (8+ hex characters)');

/** A non-negative integer argument. */
export const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`expected a non-negative integer, got "${v}"`);
  return n;
};

/** A size like 50MiB, 512k or 1g, in bytes. */
export const size = (v: string): number => {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b?)?$/i.exec(v.trim());
  if (!m) throw new ConfigError(`expected a size like 50MiB, got "${v}"`);
  const unit = (m[2] ?? '').toLowerCase()[0];
  const mult = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  return Math.floor(Number(m[1]) * mult);
};

/** A repeatable, comma-separated list. */
export const list = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

/** --format with the formats a command writes (the first is the default unless `fallback` says otherwise). */
export const formatOption = (choices: readonly string[], o: { description?: string; fallback?: string | null } = {}): Option => {
  const opt = new Option('--format <format>', o.description ?? 'output format').choices(choices);
  const fallback = o.fallback === undefined ? choices[0] : o.fallback;
  return fallback === null ? opt : opt.default(fallback);
};

/** --db, said once: a SQLite file or a PostgreSQL URL (default $KEYLOOP_DATABASE_URL, else keyloop.db). */
export const dbOption = (description = 'store: a SQLite file, or postgres://user:pass@host:5432/db (default: $KEYLOOP_DATABASE_URL or keyloop.db)'): Option =>
  new Option('--db <path|url>', description);

export const keyFileOption = (o: { creates?: boolean; prefix?: string; description?: string } = {}): Option =>
  new Option(
    '--key-file <file>',
    o.description ??
      `${o.prefix ?? ''}store encryption key file${o.creates ? ', created 0600 on first use' : ''} (default: ~/.config/keyloop/store.key; $KEYLOOP_KEY wins)`,
  );

export const configOption = (what = 'operator configuration file'): Option =>
  new Option('--config <file>', `${what} (default: $KEYLOOP_CONFIG, else ~/.config/keyloop/config.yaml)`);

export const githubUrlOption = (description = 'GitHub API base URL (default: $GITHUB_API_URL or https://api.github.com; GHES: https://HOST/api/v3)'): Option =>
  new Option('--github-url <url>', description);

export const tokenOption = (description = 'GitHub token (default: $GITHUB_TOKEN)'): Option => new Option('--token <token>', description);

export const detectorsOption = (description = 'load detectors from DIR instead of the built-in catalog'): Option => new Option('--detectors <dir>', description);

export const cacheDirOption = (description = 'where the bare mirrors live (default: $XDG_CACHE_HOME/keyloop or ~/.cache/keyloop)'): Option =>
  new Option('--cache-dir <dir>', description);

export const maxBlobSizeOption = (description = 'skip blobs larger than this'): Option =>
  new Option('--max-blob-size <size>', description).argParser(size).default(50 * 1024 ** 2);

export const gitBackendOption = (description = 'git implementation'): Option =>
  new Option('--git-backend <backend>', description).choices(['auto', 'native', 'isomorphic']).default('auto');

export const noRepoConfigOption = (description = "ignore each repository's own .keyloop.yaml (by default it may only narrow the report; what it drops is counted)"): Option =>
  new Option('--no-repo-config', description);

export const allowInsecureIssuersOption = (): Option =>
  new Option('--allow-insecure-issuers', 'accept plain http issuer URLs on loopback hosts (test fakes); never anything else').default(false);

export const logFormatOption = (): Option =>
  new Option('--log-format <format>', 'stderr log lines: text, or json (one pino object per line)').choices(['text', 'json']).default('text');

export const logLevelOption = (): Option => new Option('--log-level <level>', 'stderr log level').choices(['debug', 'info', 'warn', 'error']).default('info');

export const concurrencyOption = (description: string, fallback: number): Option => new Option('--concurrency <n>', description).argParser(int).default(fallback);

export const leaseOption = (description: string): Option => new Option('--lease <seconds>', description).argParser(int).default(60);

export const shutdownGraceOption = (description: string, fallback: number): Option => new Option('--shutdown-grace <seconds>', description).argParser(int).default(fallback);

export const metricsPortOption = (description: string): Option => new Option('--metrics-port <n>', description).argParser(int);

export const metricsHostOption = (description: string): Option => new Option('--metrics-host <host>', description).default('127.0.0.1');

export const minConfidenceOption = (): Option =>
  new Option('--min-confidence <level>', 'report only findings at this confidence or above (high: checksum, structured prefix or live; medium: provider pattern; low: generic)')
    .choices(['low', 'medium', 'high'])
    .default('low');

export const outputOption = (description: string): Option => new Option('-o, --output <file>', description);
