// Contract between the reach runtime (src/verification/verify.ts sends every request) and what asks the issuer:
// the declarative runner (run-http.ts) and the reachers written in code (issuers/*.ts).
import type { FactValue, Reach, ReachResource } from '../core/model.js';
import type { HttpRequest, HttpResponse } from '../verification/http-client.js';

export interface ReachContext {
  secret: string;
  parts: Record<string, string>;
  /** What verification learned (login, arn, account …). */
  identity: Record<string, string>;
  /**
   * Sends one request to a host of the key's issuer (`default`: the base URL the key was verified against; other
   * names: the block's `hosts`) under the runtime's rules: per-issuer queue, base check, audit. 3xx, 429, 5xx,
   * timeouts and network errors throw Inconclusive.
   */
  send(host: string, req: HttpRequest): Promise<HttpResponse>;
  /** The approved base URL of a host, or undefined for a name the block does not declare. */
  base(host: string): string | undefined;
  /** The official (not overridden) base URL of a host: how a companion naming a site is matched. */
  officialBase(host: string): string | undefined;
  now(): Date;
  /** Registers derived sensitive values (signatures) with the secret registry. */
  sensitive(value: string): void;
}

/** What the requests found, before grants turn it into a Reach. */
export interface ReachDraft {
  facts: Record<string, FactValue | null>;
  resources: ReachResource[];
  gaps: string[];
  /** At least one request answered. */
  answered: boolean;
  /** Code reachers may state a level / tags directly (what an IAM policy grants). */
  level?: Reach['level'];
  tags?: string[];
}

export interface CodeReacher {
  /** Name used in a detector's `reach: {kind: code, reacher: <name>}`. */
  name: string;
  /** Official base URLs of other hosts of the issuer, by name (override: `issuers.<id>.hosts.<name>`). */
  hosts: Record<string, string>;
  /** Sends nothing (decodes the key itself): runs for keys that are not verified live too. */
  offline?: boolean;
  /** What the reacher reads and asks, for docs. */
  needs: string;
  reach(ctx: ReachContext): Promise<ReachDraft>;
}
