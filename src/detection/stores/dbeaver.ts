// DBeaver (6.1.3+) keeps connection credentials in .dbeaver/credentials-config.json: a 16-byte IV followed by the
// JSON `{"<connection id>":{"#connection":{"user":…,"password":…}}}` encrypted with AES-128-CBC under a key that is
// the same in every installation (published in DBeaver's DefaultSecureStorage). The file is binary, so it is
// recognised by content, not name: its length, then a trial decryption of one block that must start the JSON.
import { createDecipheriv } from 'node:crypto';
import { looksLikeText } from '../decoders.js';

const KEY = Buffer.from('babb4a9f774ab853c96c2d653dfe544a', 'hex');
const BLOCK = 16;
/** Larger files are not credential stores (a few connections weigh a few KB). */
const MAX_BYTES = 1 << 20;

/** Cheap test: the first ciphertext block decrypts to the start of a JSON object. */
export function mayBeDbeaverStore(data: Buffer): boolean {
  if (data.length < 2 * BLOCK || data.length > MAX_BYTES || data.length % BLOCK !== 0) return false;
  const d = createDecipheriv('aes-128-cbc', KEY, data.subarray(0, BLOCK)).setAutoPadding(false);
  const first = d.update(data.subarray(BLOCK, 2 * BLOCK));
  return first[0] === 0x7b && looksLikeText(first.subarray(0, 8));
}

/** The decrypted JSON of a DBeaver credentials-config.json, or null when `data` is not one. */
export function decryptDbeaverStore(data: Buffer): Buffer | null {
  if (!mayBeDbeaverStore(data)) return null;
  try {
    const d = createDecipheriv('aes-128-cbc', KEY, data.subarray(0, BLOCK));
    const plain = Buffer.concat([d.update(data.subarray(BLOCK)), d.final()]);
    return looksLikeText(plain) ? plain : null;
  } catch {
    return null; // bad padding: not encrypted under DBeaver's key after all
  }
}
