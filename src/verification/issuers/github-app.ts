// GitHub App private key + app id: sign a 10-minute JWT and ask GET /app who we are.
import { joinUrl } from '../http.js';
import type { Outcome } from '../http.js';
import type { CodeVerifier } from './types.js';
import { part, signRs256 } from './jwt.js';

export const githubApp: CodeVerifier<{ appId: string }> = {
  name: 'github-app',
  baseUrl: 'https://api.github.com',
  needs: 'secret: the App private key (PEM); parts.app_id: the App id or client id',
  read(_secret, parts) {
    const appId = part(parts, 'app_id', 'appid', 'client_id', 'id');
    return appId ? { appId } : 'missing part app_id';
  },
  async check({ appId }, ctx): Promise<Outcome> {
    const now = Math.floor(ctx.now().getTime() / 1000);
    // iat in the past absorbs clock drift, as GitHub recommends; exp stays under GitHub's 10-minute ceiling.
    const jwt = signRs256({ iat: now - 60, exp: now + 540, iss: /^\d+$/.test(appId) ? Number(appId) : appId }, ctx.secret);
    ctx.sensitive(jwt);
    const res = await ctx.send({
      method: 'GET',
      url: joinUrl(ctx.baseUrl, '/app'),
      headers: {
        authorization: `Bearer ${jwt}`,
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        'user-agent': 'keyloop-verify',
      },
    });
    if (res.status === 200) {
      const identity: Record<string, string> = { app_id: appId };
      try {
        const j = JSON.parse(res.body) as { slug?: unknown; owner?: { login?: unknown } };
        if (typeof j.slug === 'string') identity.app = j.slug;
        if (typeof j.owner?.login === 'string') identity.owner = j.owner.login;
      } catch {
        return { status: 'unknown', reason: 'unexpected response: HTTP 200 without JSON' };
      }
      return { status: 'live', reason: 'GET /app accepted the App JWT', identity };
    }
    if (res.status === 401) {
      // A JWT rejected for its timestamps says nothing about the key.
      if (/\b(iat|exp|expiration|issued at)\b/i.test(res.body)) return { status: 'unknown', reason: 'JWT time claims rejected (clock skew?)' };
      return { status: 'dead', reason: 'GET /app rejected the App JWT (HTTP 401)' };
    }
    return { status: 'unknown', reason: `unexpected response: HTTP ${res.status}` };
  },
};
