// The App's HTTP surface: POST /api/github/webhooks and GET /healthz. Everything before the signature check is
// bounded: headers are checked and an oversized Content-Length refused before the body is read; the body streams
// into the HMAC and a capped buffer; few unauthenticated bodies are read at once, with a byte budget across them;
// slow clients time out. A verified delivery is written to the durable queue before the 2xx reply.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../core/errors.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { normalizeEvent } from './events.js';
import type { DeliveryQueueLike } from './queue.js';

export const WEBHOOK_PATH = '/api/github/webhooks';
export const DEFAULT_MAX_BODY = 25 * 1024 * 1024;
export const DEFAULT_MAX_PENDING_BODIES = 8;
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;

export interface AppServerOptions {
  secret: string;
  queue: DeliveryQueueLike;
  logger?: Logger;
  /** Bytes; a larger Content-Length gets 413 without being read, a larger chunked body 413 once it passes this. */
  maxBody?: number;
  /** Bodies read at once before their signature is known (default 8); more get 503. */
  maxPendingBodies?: number;
  /** Bytes buffered across those bodies (default 64 MiB, never below maxBody); a body that would pass it gets 503. */
  maxPendingBytes?: number;
  /** Milliseconds to receive the request headers (default 10 s) and the whole request (default 30 s). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Milliseconds a refused upload is still drained so the client can read the answer, then the socket closes. */
  drainMs?: number;
  /** What became of each signed delivery (metrics). */
  onDelivery?: (outcome: 'queued' | 'ignored' | 'duplicate') => void;
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

const SIGNATURE = /^sha256=([0-9a-f]{64})$/;
const GUID = /^[A-Za-z0-9._:-]{1,128}$/;
const EVENT = /^[a-z_]{1,64}$/;

/** A body read in full (and its HMAC), or the status that refused it. */
type BodyResult = { ok: true; body: Buffer; digest: Buffer } | { ok: false; status: 413 | 503 | 400; error: string };

export function createAppServer(opts: AppServerOptions): Server {
  if (!opts.secret) throw new ConfigError('WEBHOOK_SECRET is required', 'WEBHOOK_SECRET');
  const log = opts.logger ?? silentLogger;
  const max = opts.maxBody ?? DEFAULT_MAX_BODY;
  const requestTimeout = opts.requestTimeoutMs ?? 30_000;
  const headersTimeout = Math.min(opts.headersTimeoutMs ?? 10_000, requestTimeout);
  const hook: Webhook = {
    opts,
    log,
    max,
    // Long enough for a busy client to read the answer; draining holds no memory, only the connection.
    drainMs: Math.min(opts.drainMs ?? 5000, requestTimeout),
    budget: bodyBudget(Math.max(1, opts.maxPendingBodies ?? DEFAULT_MAX_PENDING_BODIES), Math.max(max, opts.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES)),
  };
  return createServer(
    {
      headersTimeout,
      requestTimeout,
      // Node checks those timeouts on this period (30 s by default): often enough that they mean what they say.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
    },
    (req, res) => {
      const url = (req.url ?? '/').split('?')[0];
      const handle = async () => {
        if (url === WEBHOOK_PATH && req.method === 'POST') return webhook(hook, req, res);
        if (url === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) return reply(res, 200, { ok: true, deliveries: await opts.queue.counts() });
        if (url === WEBHOOK_PATH) return reply(res, 405, { error: 'use POST' });
        reply(res, 404, { error: 'not found' });
      };
      handle().catch((e: unknown) => {
        // Never echo the payload: only the error's message, scrubbed by the logger.
        log.error(`app: ${req.method} ${url} failed: ${(e as Error).message}`);
        reply(res, 500, { error: 'internal error' });
      });
    },
  );
}

/** What the webhook endpoint works with: the options, the per-body limit and the budget shared by unverified bodies. */
interface Webhook {
  opts: AppServerOptions;
  log: Logger;
  max: number;
  drainMs: number;
  budget: BodyBudget;
}

/** Bodies read at once before their signature is known, and the bytes they hold: bounded together. */
interface BodyBudget {
  /** Takes a slot and `bytes`; false when either is spent. */
  open(bytes: number): boolean;
  /** `more` bytes for a body already open; false when the byte budget is spent. */
  grow(more: number): boolean;
  /** Gives back the slot and the bytes held. */
  close(bytes: number): void;
}

function bodyBudget(maxBodies: number, maxBytes: number): BodyBudget {
  let bodies = 0;
  let bytes = 0;
  return {
    open(n) {
      if (bodies >= maxBodies || bytes + n > maxBytes) return false;
      bodies++;
      bytes += n;
      return true;
    },
    grow(more) {
      if (bytes + more > maxBytes) return false;
      bytes += more;
      return true;
    },
    close(n) {
      bodies--;
      bytes -= n;
    },
  };
}

/**
 * Answers now and stops reading: the rest of the upload stays in the kernel (TCP backpressure) instead of being
 * read and thrown away, which would cost memory until the next GC. While the upload is unfinished the answer is
 * written whole (Content-Length) but the response is not ended: ending it would let Node close a
 * `Connection: close` socket at once, and a client still sending would get a reset instead of the answer.
 * The connection is closed after `drainMs`, or when the client hangs up.
 */
function refuse(hook: Webhook, req: IncomingMessage, res: ServerResponse, status: number, error: string, tag: string): void {
  hook.log.warn(`app: rejected ${tag}: ${error}`);
  const headers: Record<string, string> = status === 503 ? { 'retry-after': '5' } : {};
  if (req.complete) return reply(res, status, { error }, headers);
  req.removeAllListeners('data');
  req.pause();
  const t = setTimeout(() => req.socket.destroy(), hook.drainMs);
  t.unref();
  req.socket.once('close', () => clearTimeout(t));
  const text = JSON.stringify({ error });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), connection: 'close', ...headers });
  res.write(text);
}

/** Streams the body into the HMAC and a buffer, within the per-body limit and the shared budget. */
function readBody(hook: Webhook, req: IncomingMessage, declared: number | null): Promise<BodyResult> {
  const { budget, max } = hook;
  let reserved = declared ?? 0;
  if (!budget.open(reserved)) return Promise.resolve({ ok: false, status: 503, error: 'too many webhook bodies in flight, retry later' });
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    budget.close(reserved);
  };
  return new Promise<BodyResult>((resolve) => {
    const hmac = createHmac('sha256', hook.opts.secret);
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (r: BodyResult) => {
      if (released) return;
      if (!r.ok) chunks.length = 0;
      release();
      resolve(r);
    };
    req.on('data', (c: Buffer) => {
      if (released) return;
      size += c.length;
      if (size > max) return done({ ok: false, status: 413, error: `body larger than ${max} bytes` });
      if (size > reserved) {
        // A chunked body (or one longer than it said): grow the reservation or give up.
        const more = size - reserved;
        if (!budget.grow(more)) return done({ ok: false, status: 503, error: 'too many webhook bytes in flight, retry later' });
        reserved += more;
      }
      hmac.update(c);
      chunks.push(c);
    });
    req.on('end', () => done({ ok: true, body: Buffer.concat(chunks, size), digest: hmac.digest() }));
    req.on('error', () => done({ ok: false, status: 400, error: 'request body could not be read' }));
    // A client that hangs up (or is timed out) mid-body frees its share at once.
    req.on('close', () => done({ ok: false, status: 400, error: 'connection closed before the body ended' }));
  });
}

/** The delivery's headers, checked before a byte of the body is read, or the status that refuses them. */
type Headers =
  | { ok: true; guid: string; event: string; digest: Buffer; declared: number | null }
  | { ok: false; status: number; error: string };

function checkHeaders(req: IncomingMessage, max: number): Headers {
  const guid = header(req, 'x-github-delivery');
  const event = header(req, 'x-github-event');
  const signature = header(req, 'x-hub-signature-256');
  const ctype = header(req, 'content-type') ?? '';
  const cl = header(req, 'content-length');
  const declared = cl === undefined ? null : Number(cl);
  if (declared !== null && declared > max) return { ok: false, status: 413, error: `body larger than ${max} bytes` };
  if (!signature) return { ok: false, status: 401, error: 'missing X-Hub-Signature-256 header' };
  const sig = SIGNATURE.exec(signature);
  if (!sig) return { ok: false, status: 401, error: 'malformed X-Hub-Signature-256 header (expected sha256=<64 hex>)' };
  if (!guid || !event) return { ok: false, status: 400, error: 'missing X-GitHub-Delivery or X-GitHub-Event header' };
  if (!GUID.test(guid) || !EVENT.test(event)) return { ok: false, status: 400, error: 'malformed X-GitHub-Delivery or X-GitHub-Event header' };
  if (!/^application\/json\b/i.test(ctype)) return { ok: false, status: 415, error: 'set the webhook content type to application/json' };
  return { ok: true, guid, event, digest: Buffer.from(sig[1]!, 'hex'), declared };
}

async function webhook(hook: Webhook, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { opts, log } = hook;
  const guid = header(req, 'x-github-delivery');
  const event = header(req, 'x-github-event');
  // Header values are attacker-chosen: log them only once they have a known shape.
  const tag = `delivery ${guid && GUID.test(guid) ? guid : '?'} (${event && EVENT.test(event) ? event : '?'})`;
  const h = checkHeaders(req, hook.max);
  if (!h.ok) return refuse(hook, req, res, h.status, h.error, tag);
  const read = await readBody(hook, req, h.declared);
  if (!read.ok) return refuse(hook, req, res, read.status, read.error, tag);
  // HMAC-SHA256 over the raw bytes as received (never a re-serialized object), compared in constant time.
  if (!timingSafeEqual(read.digest, h.digest)) {
    log.warn(`app: rejected ${tag}: signature does not match`);
    return reply(res, 401, { error: 'signature does not match' });
  }
  let payload: unknown;
  try {
    payload = JSON.parse(read.body.toString('utf8'));
  } catch {
    log.warn(`app: rejected ${tag}: body is not JSON`);
    return reply(res, 400, { error: 'body is not valid JSON' });
  }
  if (h.event === 'ping') return reply(res, 200, { ok: true, pong: true });
  let normalized;
  try {
    normalized = normalizeEvent(h.event, payload);
  } catch (e) {
    log.warn(`app: rejected ${tag}: ${(e as Error).message}`);
    return reply(res, 400, { error: (e as Error).message });
  }
  const outcome = await opts.queue.enqueue({ guid: h.guid, event: h.event, ...normalized });
  opts.onDelivery?.(outcome);
  log.info(`app: ${tag} ${outcome}`);
  reply(res, outcome === 'queued' ? 202 : 200, { ok: true, delivery: h.guid, status: outcome });
}

export async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return `http://${h}:${a.port}`;
}

/** Stops accepting connections; requests already being read finish (they only write a row). */
export async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
