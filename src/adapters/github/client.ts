// The octokit client factory: base URL (github.com or GHES), token, throttling + retry plugins on, with knobs.
import { Octokit } from 'octokit';
import { ConfigError, HostError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../util/logger.js';

export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';

/** `--github-url` > `GITHUB_API_URL` > https://api.github.com. GHES: https://HOST/api/v3. Trailing slashes dropped. */
export function resolveGitHubUrl(flag: string | undefined, env: Record<string, string | undefined>): string {
  const raw = flag || env.GITHUB_API_URL || DEFAULT_GITHUB_API_URL;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`not a URL: "${raw}"`, '--github-url');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ConfigError(`must be http(s): "${raw}"`, '--github-url');
  if (u.username || u.password) throw new ConfigError('must not contain credentials (use --token or GITHUB_TOKEN)', '--github-url');
  return raw.replace(/\/+$/, '');
}

/** `--token` > `GITHUB_TOKEN`; undefined = anonymous (public repos only, 60 requests/hour on github.com). */
export function resolveToken(flag: string | undefined, env: Record<string, string | undefined>): string | undefined {
  const t = (flag ?? env.GITHUB_TOKEN ?? '').trim();
  return t || undefined;
}

export interface GitHubClientOptions {
  baseUrl: string;
  token?: string;
  logger?: Logger;
  /** Retries of 5xx/network errors by plugin-retry (default 3). */
  retries?: number;
  /** Milliseconds per second of `retry-after` / retry back-off. Default 1000; tests use ~10. */
  retryAfterBaseValue?: number;
  /** Rate-limit waits longer than this (seconds) are not waited out: the request fails. Default 900. */
  maxRateLimitWait?: number;
  /** How many times one request is retried after a rate limit. Default 3. */
  maxRateLimitRetries?: number;
  /** Throttling (request pacing + rate-limit handling) on by default; off only in tests that need speed. */
  throttle?: boolean;
  /** Extra octokit options (e.g. `request.fetch`), merged last. */
  extra?: Record<string, unknown>;
}

export type GitHubClient = InstanceType<typeof Octokit>;

export function createGitHubClient(opts: GitHubClientOptions): GitHubClient {
  const log = opts.logger ?? silentLogger;
  const base = opts.retryAfterBaseValue ?? 1000;
  const maxWait = opts.maxRateLimitWait ?? 900;
  const maxRetries = opts.maxRateLimitRetries ?? 3;
  const onLimit = (kind: string) => (retryAfter: number, options: { method: string; url: string }, _o: unknown, retryCount: number) => {
    const retry = retryCount < maxRetries && retryAfter <= maxWait;
    log.warn(`GitHub ${kind} rate limit on ${options.method} ${options.url}: ${retry ? `retrying in ${retryAfter}s` : 'giving up'}`);
    return retry;
  };
  return new Octokit({
    baseUrl: opts.baseUrl,
    ...(opts.token ? { auth: opts.token } : {}),
    userAgent: 'keyloop',
    log: { debug: () => {}, info: () => {}, warn: (m: string) => log.debug(m), error: (m: string) => log.debug(m) },
    retry: { enabled: (opts.retries ?? 3) > 0, retries: opts.retries ?? 3, retryAfterBaseValue: base },
    throttle: {
      enabled: opts.throttle ?? true,
      retryAfterBaseValue: base,
      fallbackSecondaryRateRetryAfter: 60,
      onRateLimit: onLimit('primary'),
      onSecondaryRateLimit: onLimit('secondary'),
    },
    ...opts.extra,
  });
}

/** Turns an octokit error into a HostError with the status and GitHub's message (never request headers). */
export function hostError(what: string, err: unknown): HostError {
  const e = err as { status?: number; message?: string; response?: { data?: { message?: string } } };
  const status = typeof e?.status === 'number' ? e.status : undefined;
  const msg = e?.response?.data?.message ?? e?.message ?? String(err);
  return new HostError(`${what}: ${status ? `HTTP ${status}: ` : ''}${msg}`, status, { cause: err });
}
