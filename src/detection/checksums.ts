// Structural checks that reject look-alikes without a network call: CRC32 tails (GitHub, npm), JWT shape,
// Luhn, PyPI macaroons.
import { crc32 as zlibCrc32 } from 'node:zlib';
import type { Checksum } from './schema.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** CRC-32 (IEEE 802.3, as zlib) of the UTF-8 bytes of `s`. */
export function crc32(s: string | Uint8Array): number {
  return zlibCrc32(s);
}

/** Base62 (0-9A-Za-z) of `n`, left-padded with '0' to `width`. */
export function base62(n: number, width: number): string {
  let out = '';
  do {
    out = BASE62[n % 62]! + out;
    n = Math.floor(n / 62);
  } while (n > 0);
  return out.padStart(width, '0');
}

/**
 * GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) and npm (`npm_`) tokens: prefix, 30 random base62 characters,
 * then base62(crc32(random part)) zero-padded to 6 (github.blog 2021-04-05 and 2021-09-23).
 */
export function validCrc32Tail(secret: string): boolean {
  const body = secret.slice(secret.lastIndexOf('_') + 1);
  if (body.length < 7 || !/^[0-9A-Za-z]+$/.test(body)) return false;
  return base62(crc32(body.slice(0, -6)), 6) === body.slice(-6);
}

function base64urlDecode(s: string): Buffer | null {
  if (!/^[A-Za-z0-9_\-+/]*={0,2}$/.test(s)) return null;
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** Three base64url parts whose header is a JSON object with an `alg` and whose payload is JSON. */
export function validJwt(secret: string): boolean {
  const parts = secret.split('.');
  if (parts.length !== 3 || !parts[0] || !parts[1]) return false;
  if (parts.some((p) => !/^[A-Za-z0-9_-]*={0,2}$/.test(p))) return false;
  try {
    const header = JSON.parse(base64urlDecode(parts[0])!.toString('utf8')) as unknown;
    if (typeof header !== 'object' || header === null || typeof (header as { alg?: unknown }).alg !== 'string') return false;
    const payload = JSON.parse(base64urlDecode(parts[1])!.toString('utf8')) as unknown;
    return typeof payload === 'object' && payload !== null;
  } catch {
    return false;
  }
}

/** Luhn mod-10 over the digits (spaces and dashes ignored), 12–19 digits as payment card numbers are. */
export function validLuhn(secret: string): boolean {
  const digits = secret.replace(/[ -]/g, '');
  if (!/^\d{12,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * PyPI API tokens are `pypi-` + base64url of a binary v2 macaroon: version byte 2, then packets
 * (varint field type, varint length, data) — location (1), identifier (2), vid (4), end of section (0) —
 * closed by a 32-byte signature (6).
 */
export function validPypiMacaroon(secret: string): boolean {
  return pypiMacaroonIdentifiers(secret) !== null;
}

/**
 * The identifier packets of a well-formed PyPI macaroon, in order (the first is the macaroon's own id, the others
 * its caveats: what the token may do), or null when the token is not one.
 */
export function pypiMacaroonIdentifiers(secret: string): Buffer[] | null {
  const m = /^pypi-([A-Za-z0-9_-]+)$/.exec(secret);
  if (!m) return null;
  const bytes = base64urlDecode(m[1]!);
  if (!bytes || bytes.length < 40 || bytes[0] !== 2) return null;
  let i = 1;
  const identifiers: Buffer[] = [];
  const varint = (): number | null => {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (i >= bytes.length) return null;
      const b = bytes[i++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return v;
    }
    return null;
  };
  while (i < bytes.length) {
    const type = varint();
    if (type === null) return null;
    if (type === 0) continue; // end of a section
    const len = varint();
    if (len === null || i + len > bytes.length) return null;
    if (type === 6) return identifiers.length > 0 && len === 32 && i + len === bytes.length ? identifiers : null;
    if (type === 2) identifiers.push(Buffer.from(bytes.subarray(i, i + len)));
    else if (type !== 1 && type !== 4) return null;
    i += len;
  }
  return null;
}

/** The check behind each `checksum:` a detector may name (the compiler wants one for every name). */
const CHECKS: Record<Checksum, (secret: string) => boolean> = {
  'github-crc32': validCrc32Tail,
  'npm-crc32': validCrc32Tail,
  jwt: validJwt,
  luhn: validLuhn,
  'pypi-macaroon': validPypiMacaroon,
};

export function validChecksum(kind: Checksum, secret: string): boolean {
  return CHECKS[kind](secret);
}
