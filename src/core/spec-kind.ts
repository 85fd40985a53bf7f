// The verify, reach and revoke blocks of a detector each come in two kinds: `http`, the requests written out in
// the catalog, or `code`, naming code registered in keyloop. One builder gives the three their schemas.
import { z } from 'zod';

/** A block's two strict object schemas (`kind` first, then the given fields) and the block: either, told apart by `kind`. */
export function httpOrCode<H extends z.ZodRawShape, C extends z.ZodRawShape>(http: H, code: C) {
  const Http = z.object({ kind: z.literal('http'), ...http }).strict();
  const Code = z.object({ kind: z.literal('code'), ...code }).strict();
  return { Http, Code, Spec: z.discriminatedUnion('kind', [Http, Code]) };
}
