// Verification runtime: live | dead | unknown per secret, with host rules, per-issuer queues, Retry-After and a cache.
import PQueue from 'p-queue';
import type { Finding, Verification } from '../core/model.js';
import { systemClock, type Clock, type VerificationCache } from '../core/ports.js';
import type { LoadedDetector } from '../detection/types.js';
import { silentLogger, type Logger } from '../util/logger.js';
import type { SecretRegistry } from '../util/redact.js';
import { defaultFetch, exchange, Inconclusive, parseRetryAfter, type FetchLike, type HttpRequest, type HttpResponse } from './http-client.js';
import { buildRequest, judge, type Outcome } from './http.js';
import { codeVerifiers as defaultCodeVerifiers } from './issuers/index.js';
import type { CodeVerifier } from './issuers/types.js';
import { checkDataDerivedUrl, checkIssuerOverrides, systemLookup, type Lookup, type PinnedAddress } from './net.js';
import type { HttpVerify, VerifySpec } from './spec.js';
import { encodeHostValue, placeholders, render, UnsafeValueError } from './template.js';

export interface IssuerLimits {
  concurrency?: number;
  /** At most `intervalCap` requests per `intervalMs` to one issuer. */
  intervalCap?: number;
  intervalMs?: number;
}

export interface VerifierOptions {
  /**
   * Operator overrides by issuer id (`issuers.<id>.baseUrl`; `github` = --github-url): https, or loopback http
   * with `allowInsecure`. Checked when the verifier is made (ConfigError) and logged then, without secrets.
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

const DEFAULT_LIMITS: Required<IssuerLimits> = { concurrency: 4, intervalCap: 10, intervalMs: 1000 };
const MAX_PART_SETS = 4;

function withinBase(url: string, base: string): boolean {
  try {
    const u = new URL(url);
    const b = new URL(base);
    const prefix = b.pathname.endsWith('/') ? b.pathname : b.pathname + '/';
    return u.origin === b.origin && !u.username && !u.password && (u.pathname === b.pathname || u.pathname.startsWith(prefix));
  } catch {
    return false;
  }
}

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

export function createVerifier(opts: VerifierOptions): Verifier {
  const fetchImpl: FetchLike = opts.fetch ?? defaultFetch;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? silentLogger;
  const registry = opts.registry;
  const lookup = opts.lookup ?? systemLookup;
  const cacheTtlMs = opts.cacheTtlMs ?? 24 * 3600_000;
  const maxPauseMs = opts.maxPauseMs ?? 60_000;
  const verifiers = opts.codeVerifiers ?? defaultCodeVerifiers;
  const baseUrls = opts.baseUrls ?? {};
  const allowInsecure = !!opts.allowInsecure;
  checkIssuerOverrides(baseUrls, allowInsecure);
  for (const [id, url] of Object.entries(baseUrls).sort()) logger.info(registry.scrub(`verification: ${id} keys go to ${shownUrl(url)} (operator override)`));

  const queues = new Map<string, PQueue>();
  /** Monotonic ms until which an issuer asked us to stay away. */
  const backoffUntil = new Map<string, number>();
  const inflight = new Map<string, Promise<Verification>>();

  const queueFor = (issuer: string) => {
    let q = queues.get(issuer);
    if (!q) {
      const l = { ...DEFAULT_LIMITS, ...opts.limits?.[issuer] };
      q = new PQueue({ concurrency: l.concurrency, intervalCap: l.intervalCap, interval: l.intervalMs });
      queues.set(issuer, q);
    }
    return q;
  };

  const result = (o: Outcome): Verification => {
    const v: Verification = { status: o.status, checkedAt: clock.now().toISOString(), reason: registry.scrub(o.reason) };
    if (o.identity) v.identity = Object.fromEntries(Object.entries(o.identity).map(([k, x]) => [k, registry.scrub(x)]));
    return v;
  };

  const backOff = (issuer: string, ms: number) => {
    const until = performance.now() + ms;
    if ((backoffUntil.get(issuer) ?? 0) < until) backoffUntil.set(issuer, until);
    const q = queueFor(issuer);
    // Hold queued checks while the pause is short; long waits are not sat out (later checks return unknown).
    const pause = Math.min(ms, maxPauseMs);
    if (pause > 0 && !q.isPaused) {
      q.pause();
      setTimeout(() => q.start(), pause);
    }
  };

  const send = async (issuer: string, base: string, req: HttpRequest, passServerErrors = false, pin?: PinnedAddress): Promise<HttpResponse> => {
    // A verifier may only talk to the base it was approved for (parsed: 'https://a.com@evil' shares a string prefix).
    if (!withinBase(req.url, base)) throw new Inconclusive('refused: request outside the issuer base URL');
    const res = await exchange(fetchImpl, req, timeoutMs, pin);
    const rateLimited =
      res.status === 429 ||
      (res.status === 403 && res.headers.get('x-ratelimit-remaining') === '0') ||
      (res.status === 503 && res.headers.has('retry-after'));
    if (rateLimited) {
      const now = clock.now();
      let ms = parseRetryAfter(res.headers.get('retry-after'), now);
      const reset = res.headers.get('x-ratelimit-reset');
      if (ms === undefined && reset && /^\d+$/.test(reset)) ms = Math.max(0, Number(reset) * 1000 - now.getTime());
      backOff(issuer, ms ?? 1000);
      const after = ms === undefined ? '' : `, retry after ${Math.ceil(ms / 1000)} s`;
      throw new Inconclusive(`rate limited (HTTP ${res.status}${after})`, ms);
    }
    if (res.status >= 300 && res.status < 400) throw new Inconclusive(`redirect (HTTP ${res.status}) not followed`);
    if (res.status >= 500 && !passServerErrors) throw new Inconclusive(`issuer error: HTTP ${res.status}`);
    if (res.status < 200) throw new Inconclusive(`unexpected response: HTTP ${res.status}`);
    return res;
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

  /** One check, no cache. Never throws. */
  const check = async (detector: LoadedDetector, secret: string, parts: Record<string, string>): Promise<Outcome> => {
    // a hash proves nothing to an issuer and is never sent anywhere, whatever a catalog file says
    if (detector.def.class === 'password-hash') return { status: 'unknown', reason: 'not verifiable: a password hash' };
    const spec: VerifySpec | undefined = detector.def.verify;
    if (!spec) return { status: 'unknown', reason: 'not verifiable: detector has no verify block' };
    if (spec.unsafe && !opts.allowUnsafe) return { status: 'unknown', reason: `skipped: side effects (${spec.unsafe})` };
    const issuer = spec.issuer;
    let code: CodeVerifier | undefined;
    if (spec.kind === 'code') {
      code = verifiers.get(spec.verifier);
      if (!code) return { status: 'unknown', reason: `not verifiable: no code verifier named ${spec.verifier}` };
    }
    const template = spec.kind === 'http' ? spec.base_url : (spec.base_url ?? code!.baseUrl);
    const allowed = spec.kind === 'http' ? spec.allowed_hosts : code!.allowedHosts;
    try {
      const resolved = await resolveBase(issuer, template, allowed, parts);
      if ('status' in resolved) return resolved;
      const { base, pin } = resolved;
      return await queueFor(issuer).add(async (): Promise<Outcome> => {
        const wait = (backoffUntil.get(issuer) ?? 0) - performance.now();
        if (wait > maxPauseMs) return { status: 'unknown', reason: `not sent: ${issuer} rate limited for ${Math.ceil(wait / 1000)} s more` };
        // Timers may fire a little early, and checks already past the paused queue still owe the issuer its wait.
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        try {
          if (spec.kind === 'http') {
            const built = buildRequest(spec, base, { secret, parts });
            if (!built.ok) return { status: 'unknown', reason: built.reason };
            const res = await send(issuer, base, built.request, true, pin);
            if (res.status < 500) return judge(spec, res);
            // A 5xx is an outage unless a rule names it together with a body (Mandrill answers 500 Invalid_Key).
            const o = judge(serverErrorRules(spec), res);
            return o.status === 'unknown' ? { status: 'unknown', reason: `issuer error: HTTP ${res.status}` } : o;
          }
          return await code!.verify({
            secret,
            parts,
            baseUrl: base,
            send: (req) => send(issuer, base, req, false, pin),
            now: () => clock.now(),
            sensitive: (v) => registry.add(v),
          });
        } catch (err) {
          if (err instanceof Inconclusive) return { status: 'unknown', reason: err.reason };
          throw err;
        }
      });
    } catch (err) {
      // A bug or bad key material (e.g. a PEM that does not parse) is not an answer from the issuer.
      const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      return { status: 'unknown', reason: `error: ${msg}` };
    }
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
    logger.debug(registry.scrub(`verify ${detector.def.id} (${issuerOf(detector)}): ${v.status}: ${v.reason}`));

  const verify = async (req: VerifyRequest): Promise<Verification> => {
    register(req.secret, req.parts);
    const v = await cached(req.fingerprint, async () => result(await check(req.detector, req.secret, req.parts)));
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
          let firstDead: Outcome | undefined;
          let firstUnknown: Outcome | undefined;
          for (const parts of [...partSets.values()].slice(0, MAX_PART_SETS)) {
            const o = await check(first.detector, first.secret, parts);
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
