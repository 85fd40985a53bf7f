// The forward algorithms of the credential stores keyloop decodes (src/detection/stores/), written from their
// publications (WinSCP core/Security.cpp, IntelliJ PasswordUtil, DBeaver DefaultSecureStorage, FileZilla, RFC 7617)
// independently of the decoders, so tests and corpora build obfuscated inputs from freshly generated values.
import { createCipheriv } from 'node:crypto';

/** FileZilla 3.26+: `<Pass encoding="base64">` holds base64 of the UTF-8 password. */
export function encodeFilezillaBase64(password: string): string {
  return Buffer.from(password, 'utf8').toString('base64');
}

/** RFC 7617 Basic credentials: base64 of `user:password`. */
export function encodeBasicAuth(user: string, password: string): string {
  return Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
}

/** IntelliJ PasswordUtil.encodePassword: each UTF-16 unit XOR 0xdfaa as lowercase hex (4 digits for ASCII). */
export function encodeJetbrainsXor(password: string): string {
  let out = '';
  for (let i = 0; i < password.length; i++) out += (password.charCodeAt(i) ^ 0xdfaa).toString(16);
  return out;
}

/**
 * WinSCP EncryptPassword (PWALG_SIMPLE): flag 0xFF, version 0 (one-byte length) or 2 (two-byte length, over 255
 * bytes), the length of key + password, a random shift and as many random bytes, the UTF-8 of key + password, then
 * random bytes up to 50; every byte b written as two uppercase hex digits of (~b ^ 0xA3). `key` is the session's
 * user name followed by its host name.
 */
export function encodeWinscp(password: string, key: string, rand: () => number): string {
  const hex = (b: number) => ((~b ^ 0xa3) & 0xff).toString(16).toUpperCase().padStart(2, '0');
  const data = Buffer.from(key + password, 'utf8');
  const header = data.length > 255 ? [0xff, 0x02, data.length >> 8, data.length & 0xff] : [0xff, 0x00, data.length];
  let out = header.map(hex).join('');
  const dataLen = header.length + 1 + data.length;
  const shift = dataLen < 50 ? Math.floor(rand() * (50 - dataLen)) : 0;
  out += hex(shift);
  for (let i = 0; i < shift; i++) out += hex(Math.floor(rand() * 256));
  for (const b of data) out += hex(b);
  while (out.length < 100) out += hex(Math.floor(rand() * 256));
  return out;
}

/** The WinSCP key (UserName + HostName) of the first session in an ini text, '' when it names none. */
export function winscpKeyOf(text: string): string {
  const user = /^UserName=(.*)$/m.exec(text)?.[1] ?? '';
  const host = /^HostName=(.*)$/m.exec(text)?.[1] ?? '';
  return user && host ? user + host : '';
}

const DBEAVER_KEY = Buffer.from('babb4a9f774ab853c96c2d653dfe544a', 'hex');

/** DBeaver credentials-config.json: a random 16-byte IV, then AES-128-CBC (PKCS#7) of the JSON under the fixed key. */
export function encryptDbeaver(json: string, rand: () => number): Buffer {
  const iv = Buffer.from(Array.from({ length: 16 }, () => Math.floor(rand() * 256)));
  const c = createCipheriv('aes-128-cbc', DBEAVER_KEY, iv);
  return Buffer.concat([iv, c.update(json, 'utf8'), c.final()]);
}

/**
 * A value of the named store decoder (DetectorDef.decode) holding `secret`: the password, or `user:password` for
 * basic-auth. `key` is WinSCP's user + host ('' when the text names no session).
 */
export function encodeStoreValue(decoder: string, secret: string, rand: () => number, key = ''): string {
  switch (decoder) {
    case 'filezilla-base64':
      return encodeFilezillaBase64(secret);
    case 'jetbrains-xor':
      return encodeJetbrainsXor(secret);
    case 'basic-auth': {
      const colon = secret.indexOf(':');
      return encodeBasicAuth(secret.slice(0, colon), secret.slice(colon + 1));
    }
    case 'winscp':
      return encodeWinscp(secret, key, rand);
    default:
      throw new Error(`store-encoders: no encoder for ${decoder}`);
  }
}

/** A password as a password manager makes one: 12-20 characters of letters, digits and a few symbols. */
export function randomPassword(rand: () => number, min = 12, max = 20): string {
  const alpha = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const symbols = '!#%&*+-=?@^_~';
  const n = min + Math.floor(rand() * (max - min + 1));
  let out = '';
  for (let i = 0; i < n; i++) out += rand() < 0.15 ? symbols[Math.floor(rand() * symbols.length)] : alpha[Math.floor(rand() * alpha.length)];
  // at least one digit, one upper and one lower: what password policies ask for
  return out.slice(0, -3) + alpha[Math.floor(rand() * 24)] + alpha[24 + Math.floor(rand() * 25)] + '23456789'[Math.floor(rand() * 8)];
}
