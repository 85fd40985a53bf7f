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

/** The decoder behind each `decode:` a detector may name (the compiler wants one for every name). */
const DECODERS: Record<ValueDecoder, (value: string, ctx?: ValueContext) => string | null> = {
  'filezilla-base64': decodeFilezillaBase64,
  'jetbrains-xor': decodeJetbrainsXor,
  'basic-auth': decodeBasicAuth,
  winscp: (value, ctx) => {
    if (!ctx) return decodeWinscpPassword(value, null);
    const before = ctx.data.toString('latin1', Math.max(0, ctx.start - 24), ctx.start);
    return decodeWinscpPassword(value, winscpKeyAt(ctx.data, ctx.start, before.includes('TunnelPassword')));
  },
};

export function isValueDecoder(name: string): name is ValueDecoder {
  return Object.hasOwn(DECODERS, name);
}

/** The secret a store value holds, or null when it does not decode. */
export function decodeValue(decoder: ValueDecoder, value: string, ctx?: ValueContext): string | null {
  return DECODERS[decoder](value, ctx);
}
