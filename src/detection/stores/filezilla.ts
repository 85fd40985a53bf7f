// FileZilla's sitemanager.xml / recentservers.xml store a password as `<Pass encoding="base64">…</Pass>` (3.26+):
// base64 of the UTF-8 password, sometimes with a trailing newline. Decoding it is all the "protection" there is.
import { isBase64, printable } from './text.js';

/** The password a FileZilla `<Pass encoding="base64">` value holds, or null when it is not base64 of text. */
export function decodeFilezillaBase64(value: string): string | null {
  if (!isBase64(value)) return null;
  let text = Buffer.from(value, 'base64').toString('utf8');
  if (text.endsWith('\n')) text = text.slice(0, text.endsWith('\r\n') ? -2 : -1);
  return printable(text);
}
