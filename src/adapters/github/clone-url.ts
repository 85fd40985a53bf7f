// Where git fetches a GitHub repository from: the operator's GitHub URL plus a validated owner/name. Never a URL
// from a webhook payload or the API's JSON: both are data, and a clone URL decides where the token goes.
import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';

/** GitHub's owner characters (EMU and GHES logins add "_"); no leading "-" so it can never read as an option. */
const OWNER = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
/** GitHub's repository characters; ".github" is a real name, so a leading dot is fine, but "." and ".." runs are not. */
const NAME = /^[A-Za-z0-9._][A-Za-z0-9._-]{0,99}$/;

/** True for `owner/name` made only of the characters GitHub allows, with no "..", no leading "-". */
export function isRepoFullName(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const owner = s.slice(0, slash);
  const name = s.slice(slash + 1);
  return OWNER.test(owner) && NAME.test(name) && !name.includes('..') && name !== '.';
}

export const RepoFullName = z.string().refine(isRepoFullName, 'expected owner/name with only letters, digits, "-", "_", "." (no "..", no leading "-")');

/** Plain http is only for a GitHub on this machine (tests, a local proxy): a token never crosses a network in clear. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * The git (web) base for a GitHub API base URL: https://api.github.com → https://github.com,
 * https://api.SUB.ghe.com → https://SUB.ghe.com, https://HOST/api/v3 (GHES) → https://HOST; any other URL is
 * taken as serving both the API and git (a proxy, a test double). Throws ConfigError for what git must not use.
 */
export function gitBaseUrl(apiUrl: string, field = '--github-url'): string {
  let u: URL;
  try {
    u = new URL(apiUrl);
  } catch {
    throw new ConfigError(`not a URL: "${apiUrl}"`, field);
  }
  if (u.username || u.password) throw new ConfigError('must not contain credentials', field);
  if (u.search || u.hash) throw new ConfigError('must not have a query or fragment', field);
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackHost(u.hostname))) {
    throw new ConfigError(`git fetches need https (plain http only to a loopback host): "${u.origin}"`, field);
  }
  const host = u.hostname.toLowerCase();
  const pathname = u.pathname.replace(/\/+$/, '');
  if (host === 'api.github.com' && pathname === '') return `${u.protocol}//github.com`;
  const ghe = /^api\.([a-z0-9-]+\.ghe\.com)$/.exec(host);
  if (ghe && pathname === '') return `${u.protocol}//${ghe[1]}${u.port ? `:${u.port}` : ''}`;
  return `${u.origin}${pathname.replace(/\/api\/v3$/i, '')}`;
}

/** `<git base>/<owner>/<name>.git`; ConfigError when `fullName` is not a valid GitHub owner/name. */
export function cloneUrlFor(apiUrl: string, fullName: string): string {
  if (!isRepoFullName(fullName)) throw new ConfigError(`not a repository name GitHub allows: ${JSON.stringify(fullName.slice(0, 200))}`);
  return `${gitBaseUrl(apiUrl)}/${fullName}.git`;
}
