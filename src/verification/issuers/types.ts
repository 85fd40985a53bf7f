// Contract for verifiers written in code (signing schemes the declarative spec cannot express).
import type { HttpRequest, HttpResponse } from '../http-client.js';
import type { Outcome } from '../http.js';

export interface CodeVerifierContext {
  secret: string;
  parts: Record<string, string>;
  /** Approved base URL (operator override, or the official one after host checks); join paths with joinUrl. */
  baseUrl: string;
  /** Sends one request under the runtime's rules. 3xx, 429, 5xx, timeouts and network errors throw Inconclusive. */
  send(req: HttpRequest): Promise<HttpResponse>;
  now(): Date;
  /** Registers derived sensitive values (signatures, JWTs) with the secret registry so logs scrub them. */
  sensitive(value: string): void;
}

/** A verifier written in code; M is what it reads from the secret and parts before it asks (never a string). */
export interface CodeVerifier<M = unknown> {
  /** Name used in a detector's `verify: {kind: code, verifier: <name>}`. */
  name: string;
  /** Official base URL (https); may use {{parts.NAME}} for a host label, then `allowedHosts` applies. */
  baseUrl: string;
  allowedHosts?: string[];
  /** What the verifier reads from the secret and parts, for docs and generated tests. */
  needs: string;
  /** What the check needs, read from the secret and parts, or why it cannot be had (then nothing is sent). */
  read(secret: string, parts: Record<string, string>): M | string;
  check(m: M, ctx: CodeVerifierContext): Promise<Outcome>;
}

/** A code verifier's outcome: unknown, with the reason, when it cannot read what it needs; else what its check says. */
export async function verifyWith<M>(v: CodeVerifier<M>, ctx: CodeVerifierContext): Promise<Outcome> {
  const m = v.read(ctx.secret, ctx.parts);
  return typeof m === 'string' ? { status: 'unknown', reason: m } : v.check(m, ctx);
}
