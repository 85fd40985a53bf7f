// One HTTP exchange with an issuer: manual redirects, a hard timeout covering the body, a capped body.
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

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** The check could not decide: always maps to `unknown` with this reason (never to dead). */
export class Inconclusive extends Error {
  override name = 'Inconclusive';
  constructor(readonly reason: string, readonly retryAfterMs?: number) {
    super(reason);
  }
}

const MAX_BODY = 256 * 1024;

export async function exchange(fetchImpl: FetchLike, req: HttpRequest, timeoutMs: number): Promise<HttpResponse> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await fetchImpl(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      // Never follow: a redirect could carry the key to another host, and a 3xx proves nothing.
      redirect: 'manual',
      signal: controller.signal,
    });
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
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e && typeof e === 'object' && !seen.has(e)) {
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  // No code: the innermost message, with anything URL-like cut out (a URL may carry the key).
  let inner: unknown = err;
  while (inner instanceof Error && inner.cause instanceof Error) inner = inner.cause;
  const msg = inner instanceof Error ? inner.message.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S*/gi, '<url>').slice(0, 80) : '';
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
