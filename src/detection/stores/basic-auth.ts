// `Authorization: Basic …` carries base64("user:password") (RFC 7617): the credential is the decoded pair.
import { isBase64, printable } from './text.js';

/** `user:password` from the base64 token of a Basic Authorization header, or null when it is not one. */
export function decodeBasicAuth(value: string): string | null {
  if (!isBase64(value)) return null;
  const pair = printable(Buffer.from(value, 'base64').toString('utf8'));
  // a user id may be empty (API keys sent as ":key"); the password may not
  if (pair === null) return null;
  const colon = pair.indexOf(':');
  return colon >= 0 && colon < pair.length - 1 ? pair : null;
}
