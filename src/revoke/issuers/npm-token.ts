// npm: a token deletes itself with DELETE /-/npm/v1/tokens/token/{key}, where {key} is the registry's id of the
// token. npm's registry docs (docs/user/authentication.md) give the key as the hex SHA-512 of the token, and
// GET /-/npm/v1/tokens (paged) lists the account's tokens with their keys and a redacted `token`. keyloop lists with
// the token itself, deletes the entry whose key is the token's SHA-512, else the one entry whose shown prefix (and
// suffix) fits the token, as `npm token revoke` matches; none or several: nothing is deleted. The key, not the token,
// goes in the URL.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { HttpResponse } from '../../verification/http-client.js';
import type { CodeRevoker, RevokeContext, RevokeOutcome } from '../types.js';

const TokenList = z.object({
  objects: z.array(z.object({ key: z.string().min(1), token: z.string().nullish() }).passthrough()),
  urls: z.object({ next: z.string().nullish() }).passthrough().optional(),
});
type Listed = z.infer<typeof TokenList>['objects'][number];

/** Pages of the token list read at most (100 tokens each). */
const MAX_PAGES = 20;
const BY_HAND = 'revoke it on npmjs.com (Access Tokens)';

/** The shown (redacted) form fits the token: a prefix, or `prefix…suffix`, telling at least 6 characters past `npm_`. */
export function shownFits(shown: string | null | undefined, secret: string): boolean {
  if (!shown) return false;
  const [prefix = '', suffix = '', ...rest] = shown.split(/…|\.{3}/);
  if (rest.length || !prefix || !secret.startsWith(prefix) || !secret.endsWith(suffix)) return false;
  // a short prefix ("npm_1f") could be another token's too: not enough to delete by
  return prefix.replace(/^npm_/, '').length + suffix.length >= 6;
}

/** Which listed token is this one: its key, or the one entry whose shown form fits. */
export function findKey(listed: Listed[], secret: string): { key: string } | { reason: string } {
  const own = createHash('sha512').update(secret, 'utf8').digest('hex');
  if (listed.some((t) => t.key.toLowerCase() === own)) return { key: own };
  const fits = listed.filter((t) => shownFits(t.token, secret));
  if (fits.length === 1) return { key: fits[0]!.key };
  if (fits.length > 1) return { reason: `${fits.length} of the account's tokens are shown like this one: keyloop does not guess which to delete; ${BY_HAND}` };
  return { reason: `npm lists ${listed.length} token(s) for this account and none is this one (by its key or its shown prefix); ${BY_HAND}` };
}

const otpAsked = (res: HttpResponse) => /otp/i.test(res.headers.get('www-authenticate') ?? '') || /one-time pass/i.test(res.body);

async function listTokens(ctx: RevokeContext, headers: Record<string, string>): Promise<{ listed: Listed[] } | RevokeOutcome> {
  const listed: Listed[] = [];
  const base = ctx.base.replace(/\/+$/, '');
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await ctx.send({ method: 'GET', url: `${base}/-/npm/v1/tokens?perPage=100&page=${page}`, headers });
    if (res.status === 401) return { ok: false, status: 401, reason: 'npm does not accept the token (HTTP 401 listing its tokens): already revoked?' };
    if (res.status !== 200) return { ok: false, status: res.status, reason: `npm answered HTTP ${res.status} listing the account's tokens; ${BY_HAND}` };
    let parsed;
    try {
      parsed = TokenList.safeParse(JSON.parse(res.body));
    } catch {
      parsed = null;
    }
    if (!parsed?.success) return { ok: false, status: res.status, reason: 'npm answered the token list with something that is not a token list' };
    listed.push(...parsed.data.objects);
    if (!parsed.data.urls?.next || parsed.data.objects.length === 0) return { listed };
  }
  return { ok: false, status: 200, reason: `the account has more than ${MAX_PAGES * 100} tokens listed; ${BY_HAND}` };
}

export const npmToken: CodeRevoker = {
  name: 'npm-token',
  method: 'DELETE',
  path: '/-/npm/v1/tokens/token/{{key}}',
  async revoke(ctx) {
    const headers = { authorization: `Bearer ${ctx.secret}`, accept: 'application/json', 'user-agent': 'keyloop-revoke' };
    const list = await listTokens(ctx, headers);
    if (!('listed' in list)) return list;
    const found = findKey(list.listed, ctx.secret);
    if ('reason' in found) return { ok: false, status: null, reason: found.reason };
    const url = `${ctx.base.replace(/\/+$/, '')}/-/npm/v1/tokens/token/${encodeURIComponent(found.key)}`;
    const res = await ctx.send({ method: 'DELETE', url, headers });
    if (res.status === 204 || res.status === 200) return { ok: true, status: res.status };
    if (res.status === 401 && otpAsked(res))
      return { ok: false, status: 401, reason: `npm asks for a one-time password (the account's two-factor authentication covers writes); ${BY_HAND}` };
    return { ok: false, status: res.status, reason: `the issuer answered HTTP ${res.status}` };
  },
};
