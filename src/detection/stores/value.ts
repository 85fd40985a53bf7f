// One entry for the engine and the overlap rules: decode a detector's capture with its store's decoder
// (DetectorDef.decode).
import type { ValueDecoder } from '../schema.js';
import { decodeBasicAuth } from './basic-auth.js';
import { decodeFilezillaBase64 } from './filezilla.js';
import { decodeJetbrainsXor } from './jetbrains.js';
import { decodeWinscpPassword, winscpKeyAt } from './winscp.js';

/** Where the capture sits, for decoders that read around it (WinSCP's key is in the same ini section). */
export interface ValueContext {
  data: Buffer;
  start: number;
}

const NAMES = new Set<string>(['filezilla-base64', 'winscp', 'jetbrains-xor', 'basic-auth'] satisfies ValueDecoder[]);

export function isValueDecoder(name: string): name is ValueDecoder {
  return NAMES.has(name);
}

/** The secret a store value holds, or null when it does not decode. */
export function decodeValue(decoder: ValueDecoder, value: string, ctx?: ValueContext): string | null {
  switch (decoder) {
    case 'filezilla-base64':
      return decodeFilezillaBase64(value);
    case 'jetbrains-xor':
      return decodeJetbrainsXor(value);
    case 'basic-auth':
      return decodeBasicAuth(value);
    case 'winscp': {
      if (!ctx) return decodeWinscpPassword(value, null);
      const before = ctx.data.toString('latin1', Math.max(0, ctx.start - 24), ctx.start);
      return decodeWinscpPassword(value, winscpKeyAt(ctx.data, ctx.start, before.includes('TunnelPassword')));
    }
  }
}
