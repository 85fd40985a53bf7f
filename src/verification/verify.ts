// Verification runtime: live | dead | unknown per secret, with host rules, per-issuer queues, Retry-After and a cache;
// for a live key, what it can reach (src/reach), asked of the same issuer through the same queue.
import type { Reach, Verification } from '../core/model.js';
import { systemClock, type AuditSink, type Clock, type VerificationCache } from '../core/ports.js';
import type { LoadedDetector } from '../detection/types.js';
import { codeReachers as defaultCodeReachers } from '../reach/issuers/index.js';
import type { CodeReacher } from '../reach/types.js';
import { silentLogger, type Logger } from '../util/logger.js';
import type { SecretRegistry } from '../util/redact.js';
import { scrubReach } from './ask-reach.js';
import { checkKey, type Checked, type Checker } from './check.js';
import type { FetchLike } from './http-client.js';
import { createIssuerClient, type IssuerClient, type IssuerLimits } from './issuer-client.js';
import { codeVerifiers as defaultCodeVerifiers } from './issuers/index.js';
import type { CodeVerifier } from './issuers/types.js';
import { checkIssuerOverrides, systemLookup, type Lookup } from './net.js';

export type { IssuerLimits } from './issuer-client.js';
export { hostKey } from './ask-reach.js';

export interface VerifierOptions {
  /**
   * Operator overrides by issuer id (`issuers.<id>.baseUrl`; `github` = --github-url) and by `<id>:<host>` for an
   * issuer's other hosts (`issuers.<id>.hosts.<host>`): https, or loopback http with `allowInsecure`. Checked when
   * the verifier is made (ConfigError) and logged then, without secrets.
   */
  baseUrls?: Record<string, string>;
  /** --allow-insecure-issuers: plain http to loopback overrides, and loopback answers for data-derived hosts (tests). */
  allowInsecure?: boolean;
  fetch?: FetchLike;
  timeoutMs?: number;
  /** --verify-unsafe: also run checks whose request has a side effect. */
  allowUnsafe?: boolean;
  cache?: VerificationCache;
  /** How long live/dead results are reused; unknown results are never cached. */
  cacheTtlMs?: number;
  clock?: Clock;
  logger?: Logger;
  registry: SecretRegistry;
  /** DNS for data-derived hosts (injectable for tests). */
  lookup?: Lookup;
  limits?: Record<string, IssuerLimits>;
  /** Longest Retry-After the queue waits out; beyond it, checks for that issuer return unknown until the time passes. */
  maxPauseMs?: number;
  codeVerifiers?: ReadonlyMap<string, CodeVerifier>;
  /** Also ask what a live key can do (its detector's `reach:` block), with the same issuer, queue and rules. */
  reach?: boolean;
  codeReachers?: ReadonlyMap<string, CodeReacher>;
  /**
   * A reach recent enough to keep (the store's last one within the verify cache TTL): a live key's reach is not
   * asked again on every loop run, sparing the issuer's rate limits.
   */
  recentReach?: (fingerprint: string) => Promise<Reach | undefined>;
  /** Every request sent with a secret is recorded here (the store's audit log). */
  audit?: AuditSink;
  /** Share one client (queues, rate limits, audit) with other senders (revocation); default: a new one. */
  client?: IssuerClient;
}

export interface VerifyRequest {
  detector: LoadedDetector;
  /** Plaintext; registered with the SecretRegistry before anything can log it. */
  secret: string;
  parts: Record<string, string>;
  fingerprint: string;
}

export interface Verifier {
  verify(req: VerifyRequest): Promise<Verification>;
  /** One result per fingerprint. A secret claimed by detectors of different issuers is sent to none of them. */
  verifyAll(reqs: Iterable<VerifyRequest>): Promise<Map<string, Verification>>;
}

const MAX_PART_SETS = 4;

function partIsSensitive(v: string): boolean {
  return v.length >= 16 && !v.includes('@') && !/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(v);
}

export function issuerOf(detector: LoadedDetector): string {
  return detector.def.verify?.issuer ?? detector.provider.id;
}

/** An override as logged: origin and path only (no credentials, no query). */
const shownUrl = (url: string) => {
  const u = new URL(url);
  return u.origin + u.pathname;
};

export function createVerifier(opts: VerifierOptions): Verifier {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? silentLogger;
  const registry = opts.registry;
  const baseUrls = opts.baseUrls ?? {};
  const allowInsecure = !!opts.allowInsecure;
  checkIssuerOverrides(baseUrls, allowInsecure);
  logOverrides(baseUrls, logger, registry);
  const checker: Checker = {
    reach: !!opts.reach,
    reachers: opts.codeReachers ?? defaultCodeReachers,
    verifiers: opts.codeVerifiers ?? defaultCodeVerifiers,
    baseUrls,
    client: opts.client ?? clientFor(opts, clock),
    clock,
    registry,
    ...(opts.recentReach ? { recentReach: opts.recentReach } : {}),
    lookup: opts.lookup ?? systemLookup,
    allowInsecure,
    allowUnsafe: !!opts.allowUnsafe,
  };
  const cached = cacheFor(opts.cache, opts.cacheTtlMs ?? 24 * 3600_000);
  const result = (o: Checked) => toVerification(o, clock, registry);
  const log = (detector: LoadedDetector, v: Verification) =>
    logger.debug(registry.scrub(`verify ${detector.def.id} (${issuerOf(detector)}): ${v.status}: ${v.reason}${v.reach ? `; reach ${v.reach.level}` : ''}`));

  const verify = async (req: VerifyRequest): Promise<Verification> => {
    register(registry, req);
    const v = await cached(req.fingerprint, async () => result(await checkKey(checker, req)));
    log(req.detector, v);
    return v;
  };

  const verifyAll = async (reqs: Iterable<VerifyRequest>): Promise<Map<string, Verification>> => {
    const list = [...reqs];
    for (const r of list) register(registry, r);
    const out = new Map<string, Verification>();
    const { ambiguous, byFp } = groupRequests(list);
    for (const [fp, reason] of ambiguous) out.set(fp, result({ status: 'unknown', reason }));
    await Promise.all(
      [...byFp].map(async ([fp, group]) => {
        const first = group[0]!;
        const v = await cached(fp, async () => result(await checkPartSets(checker, group, fp)));
        log(first.detector, v);
        out.set(fp, v);
      }),
    );
    return out;
  };

  return { verify, verifyAll };
}

function logOverrides(baseUrls: Record<string, string>, logger: Logger, registry: SecretRegistry): void {
  for (const [id, url] of Object.entries(baseUrls).sort()) {
    const [issuer, host] = id.split(':');
    logger.info(registry.scrub(`verification: ${issuer}${host ? ` (${host})` : ''} keys go to ${shownUrl(url)} (operator override)`));
  }
}

function clientFor(opts: VerifierOptions, clock: Clock): IssuerClient {
  return createIssuerClient({
    registry: opts.registry,
    clock,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.maxPauseMs !== undefined ? { maxPauseMs: opts.maxPauseMs } : {}),
    ...(opts.audit ? { audit: opts.audit } : {}),
  });
}

/** A check's answer as stored and shown: every string through the registry. */
function toVerification(o: Checked, clock: Clock, registry: SecretRegistry): Verification {
  const v: Verification = { status: o.status, checkedAt: clock.now().toISOString(), reason: registry.scrub(o.reason) };
  if (o.identity) v.identity = Object.fromEntries(Object.entries(o.identity).map(([k, x]) => [k, registry.scrub(x)]));
  if (o.reach) v.reach = scrubReach(o.reach, registry);
  return v;
}

function register(registry: SecretRegistry, req: VerifyRequest): void {
  registry.add(req.secret);
  // Companions can be secrets too (AWS secret key beside its id, webhook paths); names, hosts and e-mails are not.
  for (const v of Object.values(req.parts)) if (partIsSensitive(v)) registry.add(v);
}

/** One run per fingerprint at a time, reused from the cache; unknown results are not cached. */
function cacheFor(cache: VerificationCache | undefined, ttlMs: number) {
  const inflight = new Map<string, Promise<Verification>>();
  return async (fp: string, run: () => Promise<Verification>): Promise<Verification> => {
    const hit = await cache?.get(fp);
    if (hit) return hit;
    const running = inflight.get(fp);
    if (running) return running;
    const p = run()
      .then(async (v) => {
        if (v.status !== 'unknown') await cache?.set(fp, v, ttlMs);
        return v;
      })
      .finally(() => inflight.delete(fp));
    inflight.set(fp, p);
    return p;
  };
}

/**
 * Requests by fingerprint, and the fingerprints of secrets that detectors of different issuers claim (generic
 * detectors without a verify block do not count), with the reason none of them is asked.
 */
function groupRequests(list: VerifyRequest[]): { ambiguous: Map<string, string>; byFp: Map<string, VerifyRequest[]> } {
  const claims = new Map<string, Map<string, string>>(); // secret → issuer → detector id
  for (const r of list) {
    if (r.detector.def.generic && !r.detector.def.verify) continue;
    const m = claims.get(r.secret) ?? new Map<string, string>();
    if (!m.has(issuerOf(r.detector))) m.set(issuerOf(r.detector), r.detector.def.id);
    claims.set(r.secret, m);
  }
  const ambiguous = new Map<string, string>();
  const byFp = new Map<string, VerifyRequest[]>();
  for (const r of list) {
    const issuers = claims.get(r.secret);
    if (issuers && issuers.size > 1) {
      const ids = [...issuers.values()].sort();
      ambiguous.set(r.fingerprint, `ambiguous: claimed by ${ids.slice(0, -1).join(', ')} and ${ids.at(-1)}`);
      continue;
    }
    const group = byFp.get(r.fingerprint) ?? [];
    group.push(r);
    byFp.set(r.fingerprint, group);
  }
  return { ambiguous, byFp };
}

/** The same secret may sit next to different companions (AWS secret beside several key ids): try each, live first. */
async function checkPartSets(checker: Checker, group: VerifyRequest[], fp: string): Promise<Checked> {
  const first = group[0]!;
  const partSets = new Map<string, Record<string, string>>();
  for (const r of group) partSets.set(JSON.stringify(Object.entries(r.parts).sort()), r.parts);
  let firstDead: Checked | undefined;
  let firstUnknown: Checked | undefined;
  for (const parts of [...partSets.values()].slice(0, MAX_PART_SETS)) {
    const o = await checkKey(checker, { detector: first.detector, secret: first.secret, parts, fingerprint: fp });
    if (o.status === 'live') return o;
    if (o.status === 'dead') firstDead ??= o;
    else firstUnknown ??= o;
  }
  return firstUnknown ?? firstDead!;
}

/** --only-live (in core/model.ts, which `keyloop scan` loads anyway). */
export { onlyLive } from '../core/model.js';
