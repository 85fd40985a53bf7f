// JetBrains IDEs (before the password safe) wrote deployment and data-source passwords into .idea/WebServers.xml and
// dataSources.xml through PasswordUtil.encodePassword: each UTF-16 unit XOR 0xdfaa, written with Integer.toHexString
// (four hex digits for every character below U+1000 — all of ASCII). Published in intellij-community.
import { isLowerHex, printable } from './text.js';

const XOR = 0xdfaa;

/** The password a PasswordUtil-encoded value holds, or null when it is not one. */
export function decodeJetbrainsXor(value: string): string | null {
  if (value.length % 4 !== 0 || !isLowerHex(value)) return null;
  let out = '';
  for (let i = 0; i < value.length; i += 4) out += String.fromCharCode(parseInt(value.slice(i, i + 4), 16) ^ XOR);
  return printable(out);
}
