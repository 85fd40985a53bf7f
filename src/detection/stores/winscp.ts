// WinSCP stores session passwords in WinSCP.ini (`[Sessions\…]` sections) and in registry exports, obfuscated
// with its published "simple" algorithm (core/Security.cpp): each byte b is written as two uppercase hex digits of
// ~(b ^ 0xA3); a 0xFF flag, a version byte (0: one-byte length, 2: two-byte length, 1: protected by a master
// password), the length, a shift and that many random bytes, then the UTF-8 of user name + host name + password,
// then random padding. Without a master password anyone can undo it, so a leaked WinSCP.ini is a leaked password.
import RE2 from 're2';
import { printable } from './text.js';

const MAGIC = 0xa3;
const FLAG = 0xff;
const HEX = '0123456789ABCDEF';

/** Bytes of a WinSCP-obfuscated value, each already un-obfuscated; null when it is not uppercase hex pairs. */
function bytesOf(value: string): number[] | null {
  if (value.length < 4 || value.length % 2 !== 0) return null;
  const out: number[] = [];
  for (let i = 0; i < value.length; i += 2) {
    const hi = HEX.indexOf(value[i]!);
    const lo = HEX.indexOf(value[i + 1]!);
    if (hi < 0 || lo < 0) return null;
    out.push(~(((hi << 4) | lo) ^ MAGIC) & 0xff);
  }
  return out;
}

/**
 * The password in a WinSCP `Password=` value. `key` is the session's user name + host name, which the stored text
 * starts with and which is stripped; when the key is unknown (null) or does not match, the whole decoded text is
 * returned (it still holds the password). Null when the value does not decode to text, or is protected by a
 * master password (nothing to recover without it).
 */
export function decodeWinscpPassword(value: string, key: string | null): string | null {
  const b = bytesOf(value);
  if (!b) return null;
  let i = 0;
  const next = (): number | null => (i < b.length ? b[i++]! : null);
  const flag = next()!;
  let length: number | null;
  if (flag === FLAG) {
    const version = next();
    if (version === 0) length = next();
    else if (version === 2) {
      const hi = next();
      const lo = next();
      length = hi === null || lo === null ? null : (hi << 8) | lo;
    } else return null;
  } else length = flag;
  const shift = next();
  if (length === null || length === 0 || shift === null) return null;
  i += shift;
  if (i + length > b.length) return null;
  const text = printable(Buffer.from(b.slice(i, i + length)).toString('utf8'));
  if (text === null) return null;
  if (flag !== FLAG || !key || !text.startsWith(key) || text.length === key.length) return text;
  return text.slice(key.length);
}

/** Ini (`Name=value`) and registry-export (`"Name"="value"`) lines: the value, quoted or not. */
const FIELDS = new Map(
  ['UserName', 'HostName', 'TunnelUserName', 'TunnelHostName'].map((name) => [name, new RE2(`(?m)^(?:${name}|"${name}")=(?:"([^"\\r\\n]*)"|([^\\r\\n]*))`)]),
);

function sectionValue(section: string, name: string): string | null {
  const m = FIELDS.get(name)!.exec(section);
  if (!m) return null;
  const v = m[1] ?? m[2] ?? '';
  try {
    // ini values escape some characters as %XX
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

const SECTION_START = Buffer.from('\n[');
const SECTION_REACH = 16 << 10;

/**
 * The obfuscation key of the WinSCP value at `offset`: UserName + HostName of its section (TunnelUserName +
 * TunnelHostName for a TunnelPassword), or null when the section does not say.
 */
export function winscpKeyAt(data: Buffer, offset: number, tunnel: boolean): string | null {
  const s = data.lastIndexOf(SECTION_START, offset);
  const e = data.indexOf(SECTION_START, offset);
  const from = Math.max(s < 0 ? 0 : s + 1, offset - SECTION_REACH);
  const to = Math.min(e < 0 ? data.length : e, offset + SECTION_REACH);
  const section = data.toString('utf8', from, to);
  const prefix = tunnel ? 'Tunnel' : '';
  const user = sectionValue(section, `${prefix}UserName`);
  const host = sectionValue(section, `${prefix}HostName`);
  return user !== null && host !== null ? user + host : null;
}
