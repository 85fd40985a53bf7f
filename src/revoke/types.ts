// Contract between `revokeKey` (src/revoke/revoke.ts: base URL, queue, audit) and the revokers written in code
// (issuers/*.ts) for issuers whose revocation takes more than one request.
import type { HttpRequest, HttpResponse } from '../verification/http-client.js';

export interface RevokeContext {
  secret: string;
  parts: Record<string, string>;
  /** The approved base URL of the key's issuer (official, or the operator's override). */
  base: string;
  /**
   * Sends one request under `base`, in the issuer's queue, audited as `revoke`. 3xx, 429, 5xx, timeouts and network
   * errors (and a call the audit log cannot record) throw Inconclusive.
   */
  send(req: HttpRequest): Promise<HttpResponse>;
}

export type RevokeOutcome = { ok: true; status: number } | { ok: false; status: number | null; reason: string };

export interface CodeRevoker {
  /** Name used in a detector's `revoke: {kind: code, revoker: <name>}`. */
  name: string;
  /** The request that revokes, for the confirmation prompt and --dry-run (`{{…}}`: a value looked up first). */
  method: 'POST' | 'DELETE';
  path: string;
  revoke(ctx: RevokeContext): Promise<RevokeOutcome>;
}
