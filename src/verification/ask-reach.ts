// What a key can reach, asked when it is verified: its detector's `reach:` block (declarative or code), sent to the
// same issuer through the verifier's client and queue; every string of the answer goes through the secret registry.
import type { Reach } from '../core/model.js';
import type { Clock } from '../core/ports.js';
import type { LoadedDetector } from '../detection/types.js';
import { finishReach } from '../reach/finish.js';
import { runHttpReach } from '../reach/run-http.js';
import type { CodeReacher, ReachContext, ReachDraft } from '../reach/types.js';
import type { SecretRegistry } from '../util/redact.js';
import { Inconclusive } from './http-client.js';
import type { Outcome } from './http.js';
import type { IssuerClient } from './issuer-client.js';
import type { CodeVerifier } from './issuers/types.js';
import type { PinnedAddress } from './net.js';

/** The override key of an issuer's named host (`issuers.<id>.hosts.<host>`). */
export const hostKey = (issuer: string, host: string) => `${issuer}:${host}`;

/** A base URL a key may be sent to: an override, the official one, or a data-derived one checked and pinned. */
export interface ApprovedBase {
  base: string;
  pin?: PinnedAddress;
}

export interface ReachAsker {
  /** --reach: without it nothing is asked. */
  reach: boolean;
  reachers: ReadonlyMap<string, CodeReacher>;
  verifiers: ReadonlyMap<string, CodeVerifier>;
  baseUrls: Record<string, string>;
  client: IssuerClient;
  clock: Clock;
  registry: SecretRegistry;
  recentReach?: (fingerprint: string) => Promise<Reach | undefined>;
}

/** The key whose reach is asked, and what its verification said. */
export interface ReachSubject {
  detector: LoadedDetector;
  secret: string;
  parts: Record<string, string>;
  outcome: Outcome;
  approved: ApprovedBase | null;
  fingerprint: string | undefined;
}

/** Every string of a reach through the registry: an issuer could echo the key (or a derived value) back. */
export function scrubReach(r: Reach, registry: SecretRegistry): Reach {
  const s = (x: string) => registry.scrub(x);
  return {
    ...r,
    tags: r.tags.map(s),
    ...(r.account !== undefined ? { account: s(r.account) } : {}),
    ...(r.scopes ? { scopes: r.scopes.map(s) } : {}),
    facts: Object.fromEntries(Object.entries(r.facts).map(([k, v]) => [k, typeof v === 'string' ? s(v) : Array.isArray(v) ? v.map(s) : v])),
    resources: r.resources.map((x) => ({ ...x, name: s(x.name), kind: s(x.kind) })),
    gaps: r.gaps.map(s),
  };
}

/**
 * What a key can do: its detector's reach block, run on the base the key was verified against (and the block's
 * named hosts). Live keys only, except a block that locates the key's host (the verify host may be the wrong
 * site) and reachers that send nothing. Never throws for the issuer's answers; a gap says what is missing.
 */
export async function askReach(asker: ReachAsker, subject: ReachSubject): Promise<Reach | undefined> {
  const { detector, outcome, approved, fingerprint } = subject;
  const rs = detector.def.reach;
  if (!asker.reach || !rs || !detector.def.verify) return undefined;
  let code: CodeReacher | undefined;
  if (rs.kind === 'code') {
    code = asker.reachers.get(rs.reacher);
    if (!code) return undefined;
  }
  const runs = outcome.status === 'live' || (outcome.status === 'unknown' && (code?.offline || (rs.kind === 'http' && !!rs.locate && !!approved)));
  if (!runs || (!approved && !code?.offline)) return undefined;
  const recent = outcome.status === 'live' && fingerprint ? await asker.recentReach?.(fingerprint) : undefined;
  if (recent) return recent;
  const ctx = reachContext(asker, subject, rs.kind === 'http' ? rs.hosts : code!.hosts);
  let draft: ReachDraft;
  try {
    draft = rs.kind === 'http' ? await runHttpReach(rs, ctx) : await code!.reach(ctx);
  } catch (err) {
    // A bug or bad key material: the verification stands, the reach says why it is missing.
    const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    draft = { facts: {}, resources: [], gaps: [`error: ${msg}`], answered: false };
  }
  return finishReach(draft, rs.kind === 'http' ? rs : {}, subject.secret, asker.clock.now());
}

/** The hosts a reach may use (`default` = the verified base, the others by name, each overridable) and how to send. */
function reachContext(asker: ReachAsker, subject: ReachSubject, named: Record<string, string>): ReachContext {
  const { approved, fingerprint } = subject;
  const spec = subject.detector.def.verify!;
  const issuer = spec.issuer;
  const { client, clock, registry } = asker;
  const official: Record<string, string> = { ...named };
  const resolved: Record<string, string> = Object.fromEntries(Object.entries(named).map(([n, url]) => [n, asker.baseUrls[hostKey(issuer, n)] ?? url]));
  if (approved) {
    official.default = spec.kind === 'http' ? spec.base_url : (spec.base_url ?? asker.verifiers.get(spec.verifier)?.baseUrl ?? approved.base);
    resolved.default = approved.base;
  }
  return {
    secret: subject.secret,
    parts: subject.parts,
    identity: subject.outcome.identity ?? {},
    base: (h) => resolved[h],
    officialBase: (h) => official[h],
    now: () => clock.now(),
    sensitive: (v) => registry.add(v),
    send: (h, req) => {
      const base = resolved[h];
      if (!base) return Promise.reject(new Inconclusive(`no host named ${h}`));
      return client.schedule(
        issuer,
        () => client.send(issuer, base, req, { purpose: 'reach', ...(fingerprint ? { fingerprint } : {}), ...(h === 'default' && approved?.pin ? { pin: approved.pin } : {}) }),
        (seconds) => {
          throw new Inconclusive(`not sent: ${issuer} rate limited for ${seconds} s more`);
        },
      );
    },
  };
}
