// The octokit client factory: base URL (github.com or GHES), token, throttling + retry plugins on, with knobs.
import { Octokit, RequestError } from 'octokit';
import { ConfigError, HostError } from '../../core/errors.js';
import { causeCode } from '../../util/error-chain.js';
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
  return new FailFastOctokit({
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

/**
 * Network failures that no retry fixes within a run (the name does not resolve, nobody listens, the certificate is
 * wrong). octokit reports a failed fetch as HTTP 500, which plugin-retry retries with growing waits (15 s on a DNS
 * failure); these fail at once. Timeouts, resets and EAI_AGAIN are still retried.
 */
const PERMANENT = new Set([
  'ENOTFOUND',
  'ECONNREFUSED',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Octokit with one plugin in front of the built-in ones. Its error hook, registered first, is the innermost: it
 * sees a failed request before plugin-retry does and re-throws a permanent network failure as status 0, which
 * plugin-retry (it retries status >= 400) passes on. The cause chain keeps the socket's code for hostError.
 */
class FailFastOctokit extends Octokit {
  static override plugins = [failFast, ...Octokit.plugins];
}

function failFast(octokit: Parameters<(typeof Octokit.plugins)[number]>[0]): Record<string, never> {
  octokit.hook.error('request', (error) => {
    const code = networkCode(error);
    const request = (error as { request?: RequestError['request'] }).request;
    if (!code || !PERMANENT.has(code) || !request) throw error;
    throw new RequestError(NETWORK[code]!, 0, { request, cause: error });
  });
  return {};
}

/** Network failures that retrying will not fix soon: said in one line, not retried by a preflight. */
const NETWORK: Record<string, string> = {
  ENOTFOUND: 'cannot resolve the host name (DNS)',
  EAI_AGAIN: 'cannot resolve the host name (DNS, temporary failure)',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  CERT_HAS_EXPIRED: 'TLS error: the certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS error: self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS error: self-signed certificate in the chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS error: the certificate cannot be verified',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS error: unknown certificate issuer',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS error: the certificate is for another host name',
};

/** The first network failure's `code` along an error's cause chain (six deep at most). */
export function networkCode(err: unknown): string | undefined {
  return causeCode(err, (code) => code in NETWORK, 6);
}

/**
 * Turns an octokit error into a HostError that says what happened in one line (never request headers): the
 * network failure by name, a refused token, a missing scope (from X-Accepted-OAuth-Scopes), a missing resource.
 */
export function hostError(what: string, err: unknown): HostError {
  const e = err as { status?: number; message?: string; response?: { data?: { message?: string }; headers?: Record<string, string | undefined> }; request?: { url?: string } };
  const code = networkCode(err);
  if (code) {
    const host = hostOf(e?.request?.url);
    return new HostError(`${what}: ${NETWORK[code]}${host ? ` (${host})` : ''} [${code}]`, undefined, { cause: err });
  }
  const status = typeof e?.status === 'number' ? e.status : undefined;
  const msg = e?.response?.data?.message ?? e?.message ?? String(err);
  let hint = '';
  if (status === 401) hint = ' (the token was refused: wrong, expired or revoked; set --token or GITHUB_TOKEN)';
  else if (status === 403 && e?.response?.headers?.['x-accepted-oauth-scopes']) hint = ` (the token lacks a scope; this call needs: ${e.response.headers['x-accepted-oauth-scopes']})`;
  else if (status === 404) hint = ' (not found, or not visible to this token)';
  return new HostError(`${what}: ${status ? `HTTP ${status}: ` : ''}${msg}${hint}`, status, { cause: err });
}

function hostOf(url: string | undefined): string | undefined {
  try {
    return url ? new URL(url).host : undefined;
  } catch {
    return undefined;
  }
}
