// Verification runtime: live | dead | unknown per secret, with host rules, per-issuer queues, Retry-After and a cache;
// for a live key, what it can reach (src/reach), asked of the same issuer through the same queue.
import type { Finding, Reach, Verification } from '../core/model.js';
import { systemClock, type AuditSink, type Clock, type VerificationCache } from '../core/ports.js';
import type { LoadedDetector } from '../detection/types.js';
import { finishReach } from '../reach/finish.js';
import { codeReachers as defaultCodeReachers } from '../reach/issuers/index.js';
import { runHttpReach } from '../reach/run-http.js';
import type { CodeReacher, ReachContext, ReachDraft } from '../reach/types.js';
import { silentLogger, type Logger } from '../util/logger.js';
import type { SecretRegistry } from '../util/redact.js';
import { Inconclusive, type FetchLike } from './http-client.js';
import { buildRequest, judge, type Outcome } from './http.js';
import { createIssuerClient, type IssuerClient, type IssuerLimits } from './issuer-client.js';
import { codeVerifiers as defaultCodeVerifiers } from './issuers/index.js';
import type { CodeVerifier } from './issuers/types.js';
import { checkDataDerivedUrl, checkIssuerOverrides, systemLookup, type Lookup, type PinnedAddress } from './net.js';
import type { HttpVerify, VerifySpec } from '../core/verify-spec.js';
import { encodeHostValue, placeholders, render, UnsafeValueError } from './template.js';

export type { IssuerLimits } from './issuer-client.js';

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

function serverErrorRules(spec: HttpVerify): HttpVerify {
  const bodyRules = (rules: HttpVerify['live']) => rules.filter((r) => r.body_contains !== undefined || r.json !== undefined);
  return { ...spec, live: bodyRules(spec.live), dead: bodyRules(spec.dead) };
}

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

/** The override key of an issuer's named host (`issuers.<id>.hosts.<host>`). */
export const hostKey = (issuer: string, host: string) => `${issuer}:${host}`;

/** A check's answer, with what the key can do when reach ran. */
type Checked = Outcome & { reach?: Reach };

/** Every string of a reach through the registry: an issuer could echo the key (or a derived value) back. */
function scrubReach(r: Reach, registry: SecretRegistry): Reach {
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

export function createVerifier(opts: VerifierOptions): Verifier {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? silentLogger;
  const registry = opts.registry;
  const lookup = opts.lookup ?? systemLookup;
  const cacheTtlMs = opts.cacheTtlMs ?? 24 * 3600_000;
  const verifiers = opts.codeVerifiers ?? defaultCodeVerifiers;
  const reachers = opts.codeReachers ?? defaultCodeReachers;
  const baseUrls = opts.baseUrls ?? {};
  const allowInsecure = !!opts.allowInsecure;
  checkIssuerOverrides(baseUrls, allowInsecure);
  for (const [id, url] of Object.entries(baseUrls).sort()) {
    const [issuer, host] = id.split(':');
    logger.info(registry.scrub(`verification: ${issuer}${host ? ` (${host})` : ''} keys go to ${shownUrl(url)} (operator override)`));
  }
  const client =
    opts.client ??
    createIssuerClient({
      registry,
      clock,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.limits ? { limits: opts.limits } : {}),
      ...(opts.maxPauseMs !== undefined ? { maxPauseMs: opts.maxPauseMs } : {}),
      ...(opts.audit ? { audit: opts.audit } : {}),
    });
  const inflight = new Map<string, Promise<Verification>>();

  const result = (o: Checked): Verification => {
    const v: Verification = { status: o.status, checkedAt: clock.now().toISOString(), reason: registry.scrub(o.reason) };
    if (o.identity) v.identity = Object.fromEntries(Object.entries(o.identity).map(([k, x]) => [k, registry.scrub(x)]));
    if (o.reach) v.reach = scrubReach(o.reach, registry);
    return v;
  };

  /** The approved base URL, or an Outcome saying why nothing will be sent. */
  const resolveBase = async (
    issuer: string,
    template: string,
    allowedHosts: readonly string[] | undefined,
    parts: Record<string, string>,
  ): Promise<{ base: string; pin?: PinnedAddress } | Outcome> => {
    const override = baseUrls[issuer];
    if (override) return { base: override };
    const ph = placeholders(template);
    if (ph.secret) return { status: 'unknown', reason: 'refused: base URL may not contain the secret' };
    if (ph.parts.length === 0) {
      if (!template.startsWith('https://')) return { status: 'unknown', reason: 'refused: official base URL is not https' };
      return { base: template };
    }
    let rendered;
    try {
      rendered = render(template, { secret: '', parts }, encodeHostValue);
    } catch (err) {
      if (err instanceof UnsafeValueError) return { status: 'unknown', reason: `refused: ${err.message}` };
      throw err;
    }
    if (!rendered.ok) return { status: 'unknown', reason: `missing part ${rendered.missing}` };
    let url: URL;
    try {
      url = new URL(rendered.value);
    } catch {
      return { status: 'unknown', reason: 'refused: base URL from scanned data is not a URL' };
    }
    if (!allowedHosts?.length) return { status: 'unknown', reason: 'refused: data-derived host without allowed_hosts' };
    const check = await checkDataDerivedUrl(url, allowedHosts, lookup, { allowLoopback: allowInsecure });
    if (!check.ok) return { status: 'unknown', reason: check.reason };
    return { base: rendered.value, pin: check.pin };
  };

  const notSent = (issuer: string) => (seconds: number) => {
    throw new Inconclusive(`not sent: ${issuer} rate limited for ${seconds} s more`);
  };

  /**
   * What a key can do: its detector's reach block, run on the base the key was verified against (and the block's
   * named hosts). Live keys only, except a block that locates the key's host (the verify host may be the wrong
   * site) and reachers that send nothing. Never throws for the issuer's answers; a gap says what is missing.
   */
  const reachOf = async (
    detector: LoadedDetector,
    secret: string,
    parts: Record<string, string>,
    outcome: Outcome,
    approved: { base: string; pin?: PinnedAddress } | null,
    fingerprint: string | undefined,
  ): Promise<Reach | undefined> => {
    const rs = detector.def.reach;
    const spec = detector.def.verify;
    if (!opts.reach || !rs || !spec) return undefined;
    let code: CodeReacher | undefined;
    if (rs.kind === 'code') {
      code = reachers.get(rs.reacher);
      if (!code) return undefined;
    }
    const runs = outcome.status === 'live' || (outcome.status === 'unknown' && (code?.offline || (rs.kind === 'http' && !!rs.locate && !!approved)));
    if (!runs || (!approved && !code?.offline)) return undefined;
    const recent = outcome.status === 'live' && fingerprint ? await opts.recentReach?.(fingerprint) : undefined;
    if (recent) return recent;
    const issuer = spec.issuer;
    const named = rs.kind === 'http' ? rs.hosts : code!.hosts;
    const official: Record<string, string> = { ...named };
    const resolved: Record<string, string> = Object.fromEntries(Object.entries(named).map(([n, url]) => [n, baseUrls[hostKey(issuer, n)] ?? url]));
    if (approved) {
      official.default = spec.kind === 'http' ? spec.base_url : (spec.base_url ?? verifiers.get(spec.verifier)?.baseUrl ?? approved.base);
      resolved.default = approved.base;
    }
    const ctx: ReachContext = {
      secret,
      parts,
      identity: outcome.identity ?? {},
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
          notSent(issuer),
        );
      },
    };
    let draft: ReachDraft;
    try {
      draft = rs.kind === 'http' ? await runHttpReach(rs, ctx) : await code!.reach(ctx);
    } catch (err) {
      // A bug or bad key material: the verification stands, the reach says why it is missing.
      const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      draft = { facts: {}, resources: [], gaps: [`error: ${msg}`], answered: false };
    }
    return finishReach(draft, rs.kind === 'http' ? rs : {}, secret, clock.now());
  };

  /** One check, no cache. Never throws. */
  const check = async (detector: LoadedDetector, secret: string, parts: Record<string, string>, fingerprint?: string): Promise<Checked> => {
    // a hash proves nothing to an issuer and is never sent anywhere, whatever a catalog file says
    if (detector.def.class === 'password-hash') return { status: 'unknown', reason: 'not verifiable: a password hash' };
    const spec: VerifySpec | undefined = detector.def.verify;
    if (!spec) return { status: 'unknown', reason: 'not verifiable: detector has no verify block' };
    if (spec.unsafe && !opts.allowUnsafe) {
      const skipped: Outcome = { status: 'unknown', reason: `skipped: side effects (${spec.unsafe})` };
      const reach = await reachOf(detector, secret, parts, skipped, null, fingerprint);
      return reach ? { ...skipped, reach } : skipped;
    }
    const issuer = spec.issuer;
    let code: CodeVerifier | undefined;
    if (spec.kind === 'code') {
      code = verifiers.get(spec.verifier);
      if (!code) return { status: 'unknown', reason: `not verifiable: no code verifier named ${spec.verifier}` };
    }
    const template = spec.kind === 'http' ? spec.base_url : (spec.base_url ?? code!.baseUrl);
    const allowed = spec.kind === 'http' ? spec.allowed_hosts : code!.allowedHosts;
    let approved: { base: string; pin?: PinnedAddress };
    let outcome: Outcome;
    try {
      const resolved = await resolveBase(issuer, template, allowed, parts);
      if ('status' in resolved) return resolved;
      approved = resolved;
      const { base, pin } = resolved;
      const call = { purpose: 'verify' as const, ...(fingerprint ? { fingerprint } : {}), ...(pin ? { pin } : {}) };
      outcome = await client.schedule(
        issuer,
        async (): Promise<Outcome> => {
          try {
            if (spec.kind === 'http') {
              const built = buildRequest(spec, base, { secret, parts });
              if (!built.ok) return { status: 'unknown', reason: built.reason };
              const res = await client.send(issuer, base, built.request, { ...call, passServerErrors: true });
              if (res.status < 500) return judge(spec, res);
              // A 5xx is an outage unless a rule names it together with a body (Mandrill answers 500 Invalid_Key).
              const o = judge(serverErrorRules(spec), res);
              return o.status === 'unknown' ? { status: 'unknown', reason: `issuer error: HTTP ${res.status}` } : o;
            }
            return await code!.verify({
              secret,
              parts,
              baseUrl: base,
              send: (req) => client.send(issuer, base, req, call),
              now: () => clock.now(),
              sensitive: (v) => registry.add(v),
            });
          } catch (err) {
            if (err instanceof Inconclusive) return { status: 'unknown', reason: err.reason };
            throw err;
          }
        },
        (seconds) => ({ status: 'unknown', reason: `not sent: ${issuer} rate limited for ${seconds} s more` }),
      );
    } catch (err) {
      // A bug or bad key material (e.g. a PEM that does not parse) is not an answer from the issuer.
      const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      return { status: 'unknown', reason: `error: ${msg}` };
    }
    if (outcome.status === 'dead') return outcome;
    const reach = await reachOf(detector, secret, parts, outcome, approved, fingerprint);
    if (!reach) return outcome;
    const rs = detector.def.reach;
    const located = rs?.kind === 'http' && rs.locate ? reach.facts[rs.locate.fact] : undefined;
    if (outcome.status === 'unknown' && typeof located === 'string') {
      // The key answered on another host of its issuer (a Datadog key of the EU site): it is live there.
      return { status: 'live', reason: `the key is valid on ${located} (found by reach; the verify host said: ${outcome.reason})`, ...(outcome.identity ? { identity: outcome.identity } : {}), reach };
    }
    return { ...outcome, reach };
  };

  const register = (secret: string, parts: Record<string, string>) => {
    registry.add(secret);
    // Companions can be secrets too (AWS secret key beside its id, webhook paths); names, hosts and e-mails are not.
    for (const v of Object.values(parts)) if (partIsSensitive(v)) registry.add(v);
  };

  const cached = async (fp: string, run: () => Promise<Verification>): Promise<Verification> => {
    const hit = await opts.cache?.get(fp);
    if (hit) return hit;
    const running = inflight.get(fp);
    if (running) return running;
    const p = run()
      .then(async (v) => {
        if (v.status !== 'unknown') await opts.cache?.set(fp, v, cacheTtlMs);
        return v;
      })
      .finally(() => inflight.delete(fp));
    inflight.set(fp, p);
    return p;
  };

  const log = (detector: LoadedDetector, v: Verification) =>
    logger.debug(registry.scrub(`verify ${detector.def.id} (${issuerOf(detector)}): ${v.status}: ${v.reason}${v.reach ? `; reach ${v.reach.level}` : ''}`));

  const verify = async (req: VerifyRequest): Promise<Verification> => {
    register(req.secret, req.parts);
    const v = await cached(req.fingerprint, async () => result(await check(req.detector, req.secret, req.parts, req.fingerprint)));
    log(req.detector, v);
    return v;
  };

  const verifyAll = async (reqs: Iterable<VerifyRequest>): Promise<Map<string, Verification>> => {
    const list = [...reqs];
    for (const r of list) register(r.secret, r.parts);
    const out = new Map<string, Verification>();

    // Ambiguity: which issuers claim each secret (generic detectors without a verify block do not count).
    const claims = new Map<string, Map<string, string>>(); // secret → issuer → detector id
    for (const r of list) {
      if (r.detector.def.generic && !r.detector.def.verify) continue;
      const m = claims.get(r.secret) ?? new Map<string, string>();
      if (!m.has(issuerOf(r.detector))) m.set(issuerOf(r.detector), r.detector.def.id);
      claims.set(r.secret, m);
    }

    const byFp = new Map<string, VerifyRequest[]>();
    for (const r of list) {
      const issuers = claims.get(r.secret);
      if (issuers && issuers.size > 1) {
        const ids = [...issuers.values()].sort();
        const reason = `ambiguous: claimed by ${ids.slice(0, -1).join(', ')} and ${ids.at(-1)}`;
        out.set(r.fingerprint, result({ status: 'unknown', reason }));
        continue;
      }
      const group = byFp.get(r.fingerprint) ?? [];
      group.push(r);
      byFp.set(r.fingerprint, group);
    }

    await Promise.all(
      [...byFp].map(async ([fp, group]) => {
        const first = group[0]!;
        // The same secret may sit next to different companions (AWS secret beside several key ids): try each.
        const partSets = new Map<string, Record<string, string>>();
        for (const r of group) partSets.set(JSON.stringify(Object.entries(r.parts).sort()), r.parts);
        const v = await cached(fp, async () => {
          let firstDead: Checked | undefined;
          let firstUnknown: Checked | undefined;
          for (const parts of [...partSets.values()].slice(0, MAX_PART_SETS)) {
            const o = await check(first.detector, first.secret, parts, fp);
            if (o.status === 'live') return result(o);
            if (o.status === 'dead') firstDead ??= o;
            else firstUnknown ??= o;
          }
          return result(firstUnknown ?? firstDead!);
        });
        log(first.detector, v);
        out.set(fp, v);
      }),
    );
    return out;
  };

  return { verify, verifyAll };
}

/**
 * CLI entry point: attach a verification to each finding. `requests` carry the plaintext (from the matches);
 * findings without a request (no plaintext at hand) are left unverified.
 */
export async function verifyFindings(
  findings: Finding[],
  requests: Iterable<VerifyRequest>,
  verifier: Verifier,
): Promise<Finding[]> {
  const results = await verifier.verifyAll(requests);
  return findings.map((f) => {
    const v = results.get(f.fingerprint);
    return v ? { ...f, verification: v } : f;
  });
}

/** --only-live. */
export function onlyLive(findings: Finding[]): Finding[] {
  return findings.filter((f) => f.verification?.status === 'live');
}
