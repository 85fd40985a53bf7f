// The App's HTTP surface: POST /api/github/webhooks (signature checked on the raw body before anything else)
// and GET /healthz. A verified delivery is written to the durable queue before the 2xx reply.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhooks } from '@octokit/webhooks';
import { ConfigError } from '../core/errors.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { normalizeEvent } from './events.js';
import type { DeliveryQueue } from './queue.js';

export const WEBHOOK_PATH = '/api/github/webhooks';
export const DEFAULT_MAX_BODY = 25 * 1024 * 1024;

export interface AppServerOptions {
  secret: string;
  queue: DeliveryQueue;
  logger?: Logger;
  /** Bytes; larger bodies get 413 without being read (GitHub caps payloads at 25 MiB). */
  maxBody?: number;
}

class HttpFailure extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      reject(new HttpFailure(413, `body larger than ${max} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > max) {
        failed = true;
        chunks.length = 0;
        reject(new HttpFailure(413, `body larger than ${max} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      if (!failed) reject(e);
    });
  });
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

export function createAppServer(opts: AppServerOptions): Server {
  if (!opts.secret) throw new ConfigError('WEBHOOK_SECRET is required', 'WEBHOOK_SECRET');
  const webhooks = new Webhooks({ secret: opts.secret });
  const log = opts.logger ?? silentLogger;
  const max = opts.maxBody ?? DEFAULT_MAX_BODY;

  async function webhook(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const guid = header(req, 'x-github-delivery');
    const event = header(req, 'x-github-event');
    const signature = header(req, 'x-hub-signature-256');
    const tag = `delivery ${guid ?? '?'} (${event ?? '?'})`;
    let body: Buffer;
    try {
      body = await readBody(req, max);
    } catch (e) {
      const status = e instanceof HttpFailure ? e.status : 400;
      log.warn(`app: rejected ${tag}: ${(e as Error).message}`);
      reply(res, status, { error: (e as Error).message });
      // Stop reading an oversized upload; the reply above is already on its way.
      if (status === 413) res.on('finish', () => req.destroy());
      return;
    }
    if (!signature) {
      log.warn(`app: rejected ${tag}: missing X-Hub-Signature-256`);
      return reply(res, 401, { error: 'missing X-Hub-Signature-256 header' });
    }
    // HMAC-SHA256 over the raw bytes as received (never a re-serialized object), compared in constant time.
    let ok = false;
    try {
      ok = await webhooks.verify(body.toString('utf8'), signature);
    } catch {
      ok = false;
    }
    if (!ok) {
      log.warn(`app: rejected ${tag}: signature does not match`);
      return reply(res, 401, { error: 'signature does not match' });
    }
    if (!guid || !event) {
      log.warn(`app: rejected ${tag}: missing X-GitHub-Delivery or X-GitHub-Event`);
      return reply(res, 400, { error: 'missing X-GitHub-Delivery or X-GitHub-Event header' });
    }
    const ctype = header(req, 'content-type') ?? '';
    if (!/^application\/json\b/i.test(ctype)) {
      log.warn(`app: rejected ${tag}: content type ${ctype || 'missing'}`);
      return reply(res, 415, { error: 'set the webhook content type to application/json' });
    }
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      log.warn(`app: rejected ${tag}: body is not JSON`);
      return reply(res, 400, { error: 'body is not valid JSON' });
    }
    if (event === 'ping') return reply(res, 200, { ok: true, pong: true });
    let normalized;
    try {
      normalized = normalizeEvent(event, payload);
    } catch (e) {
      log.warn(`app: rejected ${tag}: ${(e as Error).message}`);
      return reply(res, 400, { error: (e as Error).message });
    }
    const outcome = opts.queue.enqueue({ guid, event, ...normalized });
    log.info(`app: ${tag} ${outcome}`);
    reply(res, outcome === 'queued' ? 202 : 200, { ok: true, delivery: guid, status: outcome });
  }

  return createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const handle = async () => {
      if (url === WEBHOOK_PATH && req.method === 'POST') return webhook(req, res);
      if (url === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) return reply(res, 200, { ok: true, deliveries: opts.queue.counts() });
      if (url === WEBHOOK_PATH) return reply(res, 405, { error: 'use POST' });
      reply(res, 404, { error: 'not found' });
    };
    handle().catch((e: unknown) => {
      // Never echo the payload: only the error's message, scrubbed by the logger.
      log.error(`app: ${req.method} ${url} failed: ${(e as Error).message}`);
      reply(res, 500, { error: 'internal error' });
    });
  });
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
