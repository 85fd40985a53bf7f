// The one way keyloop sends a request carrying a secret: per-issuer queue and rate limits, Retry-After, the
// approved-base check, and an audit entry for every call. Verification, reach and revocation all send through it.
import PQueue from 'p-queue';
import { AUDIT_SENDING, systemClock, type AuditSink, type CallPurpose, type Clock } from '../core/ports.js';
import type { SecretRegistry } from '../util/redact.js';
import { defaultFetch, exchange, Inconclusive, parseRetryAfter, type FetchLike, type HttpRequest, type HttpResponse } from './http-client.js';
import type { PinnedAddress } from './net.js';

export interface IssuerLimits {
  concurrency?: number;
  /** At most `intervalCap` requests per `intervalMs` to one issuer. */
  intervalCap?: number;
  intervalMs?: number;
}

export interface IssuerClientOptions {
  fetch?: FetchLike;
  timeoutMs?: number;
  clock?: Clock;
  registry: SecretRegistry;
  limits?: Record<string, IssuerLimits>;
  /** Longest Retry-After the queue waits out; beyond it, calls to that issuer are not sent until the time passes. */
  maxPauseMs?: number;
  /**
   * Every call is recorded here (the store's audit log) twice: `sending` before it goes out, then its answer. A call
   * whose first record cannot be written is not sent; one whose answer cannot be written is not used (Inconclusive).
   * Without a sink, calls are not recorded.
   */
  audit?: AuditSink;
}

export interface SendOptions {
  purpose: CallPurpose;
  fingerprint?: string;
  /** Hand 5xx answers back instead of throwing (a verify rule may name a 5xx with a body). */
  passServerErrors?: boolean;
  /** Connect to this address (a host from scanned data, resolved and checked once). */
  pin?: PinnedAddress;
}

export interface IssuerClient {
  /**
   * Runs `work` in the issuer's queue, after any pause the issuer asked for; a pause longer than maxPauseMs gives
   * `tooLong(seconds)` instead of waiting.
   */
  schedule<T>(issuer: string, work: () => Promise<T>, tooLong: (seconds: number) => T): Promise<T>;
  /**
   * One request to `base` of `issuer`. 3xx, 429 (and GitHub's 403 with no quota left), 5xx (unless passed), 1xx,
   * timeouts and network errors throw Inconclusive. Refuses a URL outside `base`. Not queued: call inside schedule.
   */
  send(issuer: string, base: string, req: HttpRequest, opts: SendOptions): Promise<HttpResponse>;
}

const DEFAULT_LIMITS: Required<IssuerLimits> = { concurrency: 4, intervalCap: 10, intervalMs: 1000 };
/** Network errors of a reused connection the peer had closed (the request was not answered). */
const STALE_SOCKET = /^network: (ECONNRESET|EPIPE|UND_ERR_SOCKET)$/;

/** Same origin, no credentials, and the path at or under the base's path ('https://a.com@evil' shares a prefix). */
export function withinBase(url: string, base: string): boolean {
  try {
    const u = new URL(url);
    const b = new URL(base);
    const prefix = b.pathname.endsWith('/') ? b.pathname : b.pathname + '/';
    return u.origin === b.origin && !u.username && !u.password && (u.pathname === b.pathname || u.pathname.startsWith(prefix));
  } catch {
    return false;
  }
}

/** The URL as the audit log keeps it: no credentials, no fragment, the secret (and anything derived) scrubbed. */
export function auditedUrl(url: string, registry: SecretRegistry): string {
  try {
    const u = new URL(url);
    return registry.scrub(`${u.origin}${u.pathname}${u.search}`).slice(0, 500);
  } catch {
    return '(not a URL)';
  }
}

export function createIssuerClient(opts: IssuerClientOptions): IssuerClient {
  const fetchImpl: FetchLike = opts.fetch ?? defaultFetch;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const clock = opts.clock ?? systemClock;
  const queues = issuerQueues(opts.limits, opts.maxPauseMs ?? 60_000);
  const record = auditRecorder(opts, clock);

  const send = async (issuer: string, base: string, req: HttpRequest, o: SendOptions): Promise<HttpResponse> => {
    // A call may only go to the base it was approved for.
    if (!withinBase(req.url, base)) throw new Inconclusive('refused: request outside the issuer base URL');
    let started = performance.now();
    let res: HttpResponse;
    for (let attempt = 1; ; attempt++) {
      // Recorded before it goes out: a key is never sent where the log cannot say so.
      await record(issuer, req, o, started, null, AUDIT_SENDING);
      try {
        res = await exchange(fetchImpl, req, timeoutMs, o.pin);
        break;
      } catch (err) {
        await record(issuer, req, o, started, null, err instanceof Inconclusive ? err.reason : 'error');
        // A kept-alive connection the issuer closed just as it was reused: the request never got an answer. Every
        // request sent here reads or revokes (idempotent), so it is sent once more on a new connection.
        if (attempt === 1 && err instanceof Inconclusive && STALE_SOCKET.test(err.reason)) {
          started = performance.now();
          continue;
        }
        throw err;
      }
    }
    const rateLimited = isRateLimited(res);
    await record(issuer, req, o, started, res.status, rateLimited ? 'rate limited' : 'answered');
    if (rateLimited) {
      const ms = retryAfterMs(res, clock.now());
      queues.backOff(issuer, ms ?? 1000);
      const after = ms === undefined ? '' : `, retry after ${Math.ceil(ms / 1000)} s`;
      throw new Inconclusive(`rate limited (HTTP ${res.status}${after})`, ms);
    }
    if (res.status >= 300 && res.status < 400) throw new Inconclusive(`redirect (HTTP ${res.status}) not followed`);
    if (res.status >= 500 && !o.passServerErrors) throw new Inconclusive(`issuer error: HTTP ${res.status}`);
    if (res.status < 200) throw new Inconclusive(`unexpected response: HTTP ${res.status}`);
    return res;
  };

  return { schedule: queues.schedule, send };
}

/** One queue per issuer with its limits, and the pauses issuers ask for (Retry-After), held or refused. */
function issuerQueues(limits: Record<string, IssuerLimits> | undefined, maxPauseMs: number) {
  const queues = new Map<string, PQueue>();
  /** Monotonic ms until which an issuer asked us to stay away. */
  const backoffUntil = new Map<string, number>();

  const queueFor = (issuer: string) => {
    let q = queues.get(issuer);
    if (!q) {
      const l = { ...DEFAULT_LIMITS, ...limits?.[issuer] };
      q = new PQueue({ concurrency: l.concurrency, intervalCap: l.intervalCap, interval: l.intervalMs });
      queues.set(issuer, q);
    }
    return q;
  };

  const backOff = (issuer: string, ms: number) => {
    const until = performance.now() + ms;
    if ((backoffUntil.get(issuer) ?? 0) < until) backoffUntil.set(issuer, until);
    const q = queueFor(issuer);
    // Hold queued calls while the pause is short; long waits are not sat out (later calls are not sent).
    const pause = Math.min(ms, maxPauseMs);
    if (pause > 0 && !q.isPaused) {
      q.pause();
      setTimeout(() => q.start(), pause);
    }
  };

  const schedule = <T>(issuer: string, work: () => Promise<T>, tooLong: (seconds: number) => T): Promise<T> =>
    queueFor(issuer).add<T>(async (): Promise<T> => {
      const wait = (backoffUntil.get(issuer) ?? 0) - performance.now();
      if (wait > maxPauseMs) return tooLong(Math.ceil(wait / 1000));
      // Timers may fire a little early, and calls already past the paused queue still owe the issuer its wait.
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      return work();
    });

  return { backOff, schedule };
}

/**
 * One audit entry (URL and outcome scrubbed), or nothing without an audit sink. An entry that cannot be written makes
 * the call Inconclusive: a `sending` one keeps the request from going out, an answer's keeps it from being used.
 */
function auditRecorder(opts: IssuerClientOptions, clock: Clock) {
  return async (issuer: string, req: HttpRequest, o: SendOptions, started: number, status: number | null, outcome: string) => {
    if (!opts.audit) return;
    try {
      await opts.audit({
        at: clock.now().toISOString(),
        purpose: o.purpose,
        issuer,
        fingerprint: o.fingerprint ?? null,
        method: req.method,
        url: auditedUrl(req.url, opts.registry),
        status,
        outcome: opts.registry.scrub(outcome),
        durationMs: Math.round(performance.now() - started),
      });
    } catch (err) {
      const why = opts.registry.scrub(err instanceof Error ? err.message : String(err));
      throw new Inconclusive(outcome === AUDIT_SENDING ? `not sent: the audit log cannot record the call (${why})` : `answer not used: the audit log cannot record it (${why})`);
    }
  };
}

function isRateLimited(res: HttpResponse): boolean {
  return (
    res.status === 429 ||
    (res.status === 403 && res.headers.get('x-ratelimit-remaining') === '0') ||
    (res.status === 503 && res.headers.has('retry-after'))
  );
}

/** The wait a rate-limited answer asks for: Retry-After, else GitHub's x-ratelimit-reset (epoch seconds). */
function retryAfterMs(res: HttpResponse, now: Date): number | undefined {
  const ms = parseRetryAfter(res.headers.get('retry-after'), now);
  const reset = res.headers.get('x-ratelimit-reset');
  if (ms === undefined && reset && /^\d+$/.test(reset)) return Math.max(0, Number(reset) * 1000 - now.getTime());
  return ms;
}
