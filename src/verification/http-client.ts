// One HTTP exchange with an issuer: manual redirects, a hard timeout covering the body, a capped body. A request to
// a host derived from scanned data goes to the address that was checked (PinnedAddress), never to a new DNS answer.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Readable } from 'node:stream';
import { causeCode, innermostError } from '../util/error-chain.js';
import type { PinnedAddress } from './net.js';
export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: string;
}

/** fetch, plus `pin`: connect to that address (TLS name and Host stay the URL's host). */
export type FetchLike = (input: string, init: RequestInit, pin?: PinnedAddress) => Promise<Response>;

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * fetch over node:http(s) to a fixed address: the socket goes to `pin.address` (no DNS lookup at all), SNI and
 * the certificate check use the URL's host name, and so does the Host header. Redirects are not followed.
 * `tls.ca` replaces the trusted roots (tests with a self-signed issuer).
 */
export function pinnedFetch(url: string, init: RequestInit, pin: PinnedAddress, tls: { ca?: string | Buffer } = {}): Promise<Response> {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  if (!secure && u.protocol !== 'http:') return Promise.reject(new TypeError(`unsupported protocol ${u.protocol}`));
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((v, k) => (headers[k] = v));
  headers.host = u.host;
  const body = typeof init.body === 'string' ? init.body : undefined;
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  const options: https.RequestOptions = {
    host: pin.address,
    family: pin.family,
    port: u.port || (secure ? 443 : 80),
    path: u.pathname + u.search,
    method: init.method ?? 'GET',
    headers,
    agent: false,
    ...(init.signal ? { signal: init.signal } : {}),
    ...(secure ? { servername: net.isIP(u.hostname.replace(/^\[|\]$/g, '')) ? undefined : u.hostname, ...(tls.ca ? { ca: tls.ca } : {}) } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(options, (res) => {
      const status = res.statusCode ?? 0;
      const h = new Headers();
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) h.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
      try {
        if (NULL_BODY.has(status)) {
          res.resume();
          resolve(new Response(null, { status, headers: h }));
        } else resolve(new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, { status, headers: h }));
      } catch (err) {
        res.destroy();
        reject(err instanceof Error ? err : new Error(String(err))); // a status Response cannot carry (below 200): the caller reports a network error
      }
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Global fetch, or pinnedFetch when the host came from scanned data. */
export const defaultFetch: FetchLike = (url, init, pin) => (pin ? pinnedFetch(url, init, pin) : fetch(url, init));

/** The check could not decide: always maps to `unknown` with this reason (never to dead). */
export class Inconclusive extends Error {
  override name = 'Inconclusive';
  constructor(readonly reason: string, readonly retryAfterMs?: number) {
    super(reason);
  }
}

const MAX_BODY = 256 * 1024;

export async function exchange(fetchImpl: FetchLike, req: HttpRequest, timeoutMs: number, pin?: PinnedAddress): Promise<HttpResponse> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const init: RequestInit = {
      method: req.method,
      headers: req.headers,
      body: req.body,
      // Never follow: a redirect could carry the key to another host, and a 3xx proves nothing.
      redirect: 'manual',
      signal: controller.signal,
    };
    const res = await (pin ? fetchImpl(req.url, init, pin) : fetchImpl(req.url, init));
    const body = await readCapped(res);
    return { status: res.status, headers: res.headers, body };
  } catch (err) {
    if (controller.signal.aborted) throw new Inconclusive(`timeout after ${timeoutMs} ms`);
    throw new Inconclusive(`network: ${describeNetworkError(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

async function readCapped(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= MAX_BODY) {
      await reader.cancel().catch(() => {});
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_BODY).toString('utf8');
}

/** A short, host-free description: error codes only, so no URL (which may hold a key, e.g. Telegram) leaks. */
function describeNetworkError(err: unknown): string {
  const code = causeCode(err);
  if (code) return code;
  // No code: the innermost message, with anything URL-like cut out (a URL may carry the key).
  const msg = innermostError(err)?.message.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S*/gi, '<url>').slice(0, 80) ?? '';
  return msg || (err instanceof Error ? err.name : 'request failed');
}

/** Retry-After as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}
