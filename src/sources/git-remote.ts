// The one way keyloop hands a remote and a token to `git fetch`/`clone`: the remote must be an https URL (plain
// http only on loopback, a local path only without a token), never option-like; the token is an extraHeader
// scoped to that exact URL, redirects are not followed, and only http(s)/file transports are allowed.
import path from 'node:path';
import { isLoopbackHost } from '../adapters/github/clone-url.js';
import { HostError } from '../core/errors.js';
import type { GitCredentials } from '../core/ports.js';

/** Throws HostError unless `url` is a remote keyloop may fetch from (with `credentials`, an http(s) URL only). */
export function checkRemote(url: string, credentials: boolean): void {
  const shown = JSON.stringify(url.slice(0, 200));
  if (!url || url.startsWith('-') || /[\0-\x1f\x7f]/.test(url)) throw new HostError(`refusing git remote ${shown}`);
  if (path.isAbsolute(url) && !/^[a-z][a-z0-9+.-]*:/i.test(url)) {
    if (credentials) throw new HostError(`refusing to send a token to the local path ${shown}`);
    return;
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new HostError(`refusing git remote ${shown}: not a URL or an absolute path`);
  }
  if (u.username || u.password) throw new HostError('refusing a git remote with credentials in it');
  if (u.protocol === 'https:') return;
  if (u.protocol === 'http:' && isLoopbackHost(u.hostname)) return;
  throw new HostError(`refusing git remote ${JSON.stringify(u.origin)}: only https (plain http on loopback only)`);
}

/**
 * Environment for one git process fetching `url`: config through GIT_CONFIG_* (never argv or a config file), no
 * credential helper or prompt, and the token as `http.<url>.extraHeader`, so git attaches it to that remote only.
 * Git would keep attaching it after following a redirect elsewhere, so redirects are refused.
 */
export function remoteEnv(url: string, creds: GitCredentials | null | undefined): Record<string, string> {
  checkRemote(url, !!creds);
  const env: Record<string, string> = {
    GIT_TERMINAL_PROMPT: '0',
    // No askpass: a missing or refused token must fail fast, not prompt or use a stored one.
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    // No ext::, ssh:// or other transport can be reached from a remote or a redirect.
    GIT_ALLOW_PROTOCOL: 'https:http:file',
  };
  const pairs: Array<[string, string]> = [
    ['credential.helper', ''],
    ['http.followRedirects', 'false'],
  ];
  if (creds) {
    const basic = Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
    pairs.push([`http.${url}.extraHeader`, `Authorization: Basic ${basic}`]);
  }
  env.GIT_CONFIG_COUNT = String(pairs.length);
  pairs.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return env;
}

/** isomorphic-git's onAuth for `url`: credentials only when asked for that exact remote. */
export function scopedOnAuth(url: string, creds: GitCredentials | null | undefined): (asked: string) => { username: string; password: string } | { cancel: true } {
  checkRemote(url, !!creds);
  const strip = (u: string) => u.replace(/\/+$/, '');
  return (asked) => (creds && strip(asked) === strip(url) ? { username: creds.username, password: creds.password } : { cancel: true });
}
