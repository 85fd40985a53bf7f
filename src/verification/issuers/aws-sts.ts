// AWS access key pair: SigV4-signed STS GetCallerIdentity (needs no IAM permission, changes nothing).
import aws4 from 'aws4';
import { joinUrl } from '../http.js';
import type { Outcome } from '../http.js';
import type { HttpRequest } from '../http-client.js';
import type { CodeVerifier } from './types.js';

const KEY_ID = /^(AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}$/;
const SECRET_KEY = /^[A-Za-z0-9/+]{40}$/;

/**
 * Thinkst canarytokens.org AWS accounts, from trufflehog pkg/detectors/aws/canary.go [list not re-checked]:
 * any call with their keys, even GetCallerIdentity, alerts the key's owner.
 */
export const CANARY_ACCOUNTS = new Set([
  '052310077262', '171436882533', '534261010715', '595918472158', '717712589309',
  '819147034852', '992382622183', '730335385048', '266735846894',
]);

/** The AWS account a key id belongs to, decoded offline (base32 of the id, bits 1..40 of the first 6 bytes). */
export function accountFromKeyId(keyId: string): string | undefined {
  if (!KEY_ID.test(keyId)) return undefined;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0n;
  for (const c of keyId.slice(4)) bits = (bits << 5n) | BigInt(alphabet.indexOf(c));
  // 16 chars × 5 bits = 80 bits = 10 bytes; the account lives in the first 6 bytes.
  const first6 = bits >> 32n;
  return ((first6 & 0x7fffffffff80n) >> 7n).toString().padStart(12, '0');
}

/** The pair, wherever the detector put each half (secret or companion). */
export function pair(secret: string, parts: Record<string, string>): { id: string; key: string } | undefined {
  const values = [secret, ...Object.values(parts)];
  const id = values.find((v) => KEY_ID.test(v));
  const key = values.find((v) => SECRET_KEY.test(v) && !KEY_ID.test(v));
  return id && key ? { id, key } : undefined;
}

export function tag(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]{1,256})</${name}>`).exec(xml)?.[1];
}

/**
 * A SigV4-signed AWS Query API call (form body, POST to the service's base URL): STS here, IAM for reach. The
 * signature covers the host the request goes to, so an override base URL is signed as such.
 */
export function signedQuery(
  baseUrl: string,
  service: string,
  params: Record<string, string>,
  key: { id: string; key: string },
  now: Date,
  sensitive: (v: string) => void,
): HttpRequest {
  const url = new URL(joinUrl(baseUrl, '/'));
  const body = new URLSearchParams(params).toString();
  const amzDate = now.toISOString().replace(/[:-]|\.\d{3}/g, '');
  const signed = aws4.sign(
    {
      host: url.host,
      method: 'POST',
      path: url.pathname + url.search,
      service,
      region: 'us-east-1',
      body,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8', 'X-Amz-Date': amzDate },
    },
    { accessKeyId: key.id, secretAccessKey: key.key },
  );
  const headers: Record<string, string> = { 'user-agent': 'keyloop-verify' };
  for (const [k, v] of Object.entries(signed.headers ?? {})) {
    // fetch derives Host and Content-Length from the URL and body, with the same values that were signed.
    if (/^(host|content-length)$/i.test(k) || v === undefined) continue;
    headers[k.toLowerCase()] = String(v);
  }
  sensitive(headers.authorization ?? '');
  return { method: 'POST', url: url.toString(), headers, body };
}

export const awsSts: CodeVerifier<{ id: string; key: string }> = {
  name: 'aws-sts',
  baseUrl: 'https://sts.amazonaws.com',
  needs: 'an access key id (AKIA…/ASIA…) and a 40-character secret key, one as the secret and the other as a part',
  read: (secret, parts) => pair(secret, parts) ?? 'missing part: AWS key id and secret key pair',
  async check(p, ctx): Promise<Outcome> {
    if (p.id.startsWith('ASIA')) return { status: 'unknown', reason: 'temporary key (ASIA…) needs its session token' };
    const account = accountFromKeyId(p.id);
    if (account && CANARY_ACCOUNTS.has(account))
      return { status: 'unknown', reason: 'skipped: canary token (any call alerts its owner)', identity: { account } };
    const res = await ctx.send(signedQuery(ctx.baseUrl, 'sts', { Action: 'GetCallerIdentity', Version: '2011-06-15' }, p, ctx.now(), (v) => ctx.sensitive(v)));
    if (res.status === 200) {
      const arn = tag(res.body, 'Arn');
      const acct = tag(res.body, 'Account');
      if (!arn || !acct) return { status: 'unknown', reason: 'unexpected response: HTTP 200 without Arn/Account' };
      return { status: 'live', reason: 'GetCallerIdentity succeeded', identity: { account: acct, arn } };
    }
    const code = tag(res.body, 'Code');
    if (res.status === 403 && code === 'InvalidClientTokenId') return { status: 'dead', reason: `STS: ${code}` };
    // SignatureDoesNotMatch also answers a clock off by more than 15 minutes ("Signature expired"): only the
    // mismatch message says the secret is wrong.
    if (res.status === 403 && code === 'SignatureDoesNotMatch' && /signature we calculated does not match/.test(res.body))
      return { status: 'dead', reason: `STS: ${code}` };
    return { status: 'unknown', reason: `unexpected response: HTTP ${res.status}${code ? ` ${code}` : ''}` };
  },
};
