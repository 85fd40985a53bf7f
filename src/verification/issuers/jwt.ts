// RS256 JWTs for the verifiers that prove a private key by signing (GitHub App, GCP service account).
import { createPrivateKey, sign } from 'node:crypto';

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** Throws on key material that does not parse: the runtime reports that as unknown, not dead. */
export function signRs256(claims: Record<string, unknown>, privateKeyPem: string, header: Record<string, string> = {}): string {
  const key = createPrivateKey({ key: privateKeyPem.replace(/\\n/g, '\n'), format: 'pem' });
  const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', ...header }));
  const body = b64url(JSON.stringify(claims));
  const sig = sign('RSA-SHA256', Buffer.from(`${head}.${body}`), key);
  return `${head}.${body}.${b64url(sig)}`;
}

/** First non-empty part among `names` (detectors name companions differently). */
export function part(parts: Record<string, string>, ...names: string[]): string | undefined {
  for (const n of names) if (parts[n]) return parts[n];
  return undefined;
}
