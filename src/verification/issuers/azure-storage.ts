// Azure Storage account key: SharedKey-signed "list containers" on the account's blob endpoint.
import { createHmac } from 'node:crypto';
import { joinUrl } from '../http.js';
import type { Outcome } from '../http.js';
import type { CodeVerifier } from './types.js';
import { part } from './jwt.js';

export const AZURE_VERSION = '2019-12-12';

/** The SharedKey string-to-sign for a body-less GET with only x-ms-* headers (Azure "Authorize with Shared Key"). */
export function sharedKeyStringToSign(method: string, account: string, path: string, query: URLSearchParams, msHeaders: Record<string, string>): string {
  const canonHeaders = Object.keys(msHeaders)
    .map((k) => k.toLowerCase())
    .sort()
    .map((k) => `${k}:${msHeaders[k]!.trim()}\n`)
    .join('');
  const params = [...new Set([...query.keys()].map((k) => k.toLowerCase()))].sort();
  const canonResource = `/${account}${path}` + params.map((k) => `\n${k}:${query.getAll(k).sort().join(',')}`).join('');
  // VERB, Content-Encoding, -Language, -Length, -MD5, -Type, Date, If-Modified-Since, If-Match, If-None-Match, If-Unmodified-Since, Range
  return [method, '', '', '', '', '', '', '', '', '', '', ''].join('\n') + '\n' + canonHeaders + canonResource;
}

export const azureStorage: CodeVerifier<{ account: string; key: Buffer }> = {
  name: 'azure-storage',
  baseUrl: 'https://{{parts.account_name}}.blob.core.windows.net',
  allowedHosts: ['*.blob.core.windows.net'],
  needs: 'secret: the base64 account key; parts.account_name: the storage account name',
  read(secret, parts) {
    const account = part(parts, 'account_name', 'account');
    if (!account) return 'missing part account_name';
    let key: Buffer;
    try {
      key = Buffer.from(secret, 'base64');
    } catch {
      return 'account key is not base64';
    }
    return key.length < 32 ? 'account key is too short' : { account, key };
  },
  async check({ account, key }, ctx): Promise<Outcome> {
    const msHeaders = { 'x-ms-date': ctx.now().toUTCString(), 'x-ms-version': AZURE_VERSION };
    const query = new URLSearchParams({ comp: 'list', maxresults: '1' });
    const toSign = sharedKeyStringToSign('GET', account, '/', query, msHeaders);
    const sig = createHmac('sha256', key).update(toSign, 'utf8').digest('base64');
    ctx.sensitive(sig);
    const res = await ctx.send({
      method: 'GET',
      url: joinUrl(ctx.baseUrl, `/?${query.toString()}`),
      headers: { ...msHeaders, authorization: `SharedKey ${account}:${sig}`, 'user-agent': 'keyloop-verify' },
    });
    if (res.status === 200) {
      if (!res.body.includes('<EnumerationResults')) return { status: 'unknown', reason: 'unexpected response: HTTP 200 without a container list' };
      return { status: 'live', reason: 'list containers succeeded', identity: { account } };
    }
    const code = /<Code>([^<]{1,64})<\/Code>/.exec(res.body)?.[1];
    // AuthorizationFailure (firewall, disabled shared key) says nothing about whether the key is right, nor does
    // AuthenticationFailed by itself (a skewed clock gets it too): only the MAC mismatch detail says the key is wrong.
    if (res.status === 403 && code === 'AuthenticationFailed' && /MAC signature found in the HTTP request/.test(res.body))
      return { status: 'dead', reason: 'SharedKey: AuthenticationFailed (signature mismatch)' };
    return { status: 'unknown', reason: `unexpected response: HTTP ${res.status}${code ? ` ${code}` : ''}` };
  },
};
