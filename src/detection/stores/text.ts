// What a decoded store value must look like to be reported (a password a person could type), and the alphabets
// store values are written in. Plain loops: these run on scanned content, which never meets a JS RegExp.

/** `s` when it is non-empty text without control characters or invalid UTF-8, else null. */
export function printable(s: string): string | null {
  if (s.length === 0) return null;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0xfffd) return null;
  }
  return s;
}

const B64 = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') B64[c.charCodeAt(0)] = 1;

/** Standard base64 with at most two `=` of padding, of a length some bytes encode to. */
export function isBase64(s: string): boolean {
  let n = s.length;
  while (n > 0 && s.length - n < 2 && s[n - 1] === '=') n--;
  if (n === 0 || s.length % 4 === 1) return false;
  for (let i = 0; i < n; i++) if (B64[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** Lowercase hex digits only. */
export function isLowerHex(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}
