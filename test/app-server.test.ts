// The webhook endpoint against a running server: signature checks on the raw body, size limit, durable enqueue.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Server } from 'node:http';
import { sign } from '@octokit/webhooks-methods';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { DeliveryQueue, type Delivery } from '../src/app/queue.js';
import { closeServer, createAppServer, listen, WEBHOOK_PATH } from '../src/app/server.js';
import { createLogger } from '../src/util/logger.js';
import { SecretRegistry } from '../src/util/redact.js';
import { tempDir } from '../testkit/git-repo.js';

const SECRET = 'test-webhook-secret-' + randomUUID();
const sha = (c: string) => c.repeat(40);

function pushPayload(over: Record<string, unknown> = {}) {
  return {
    ref: 'refs/heads/main',
    before: sha('a'),
    after: sha('b'),
    created: false,
    deleted: false,
    forced: false,
    repository: { id: 1, full_name: 'acme/app', clone_url: 'http://127.0.0.1:1/acme/app.git', default_branch: 'main', private: true },
    installation: { id: 7 },
    head_commit: { id: sha('b'), message: 'add config' },
    commits: [{ id: sha('b'), message: 'commit message that must not be stored' }],
    ...over,
  };
}

interface Harness {
  url: string;
  server: Server;
  queue: DeliveryQueue;
  seen: Delivery[];
  logs: string[];
  dbPath: string;
}
const open: Harness[] = [];

async function start(opts: { maxBody?: number; handler?: (d: Delivery) => Promise<unknown> } = {}): Promise<Harness> {
  const dbPath = path.join(await tempDir('keyloop-app-'), 'keyloop.db');
  const store = openSqliteStore(dbPath);
  const seen: Delivery[] = [];
  const logs: string[] = [];
  const logger = createLogger({ registry: new SecretRegistry(), level: 'debug', write: (l) => logs.push(l) });
  const queue = new DeliveryQueue({
    store,
    logger,
    handler: async (d) => {
      seen.push(d);
      return opts.handler ? opts.handler(d) : { ok: true };
    },
  });
  await queue.start();
  const server = createAppServer({ secret: SECRET, queue, logger, maxBody: opts.maxBody });
  const url = (await listen(server, 0, '127.0.0.1')) + WEBHOOK_PATH;
  const h = { url, server, queue, seen, logs, dbPath };
  open.push(h);
  return h;
}

afterEach(async () => {
  for (const h of open.splice(0)) {
    await closeServer(h.server);
    await h.queue.stop(1000);
  }
});

async function post(url: string, body: string, headers: Record<string, string>) {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, json: (await res.json().catch(() => null)) as Record<string, unknown> | null };
}

async function signed(event: string, payload: unknown, guid = randomUUID(), secret = SECRET) {
  const body = JSON.stringify(payload);
  return { body, headers: { 'x-github-event': event, 'x-github-delivery': guid, 'x-hub-signature-256': await sign(secret, body) } };
}

describe('POST /api/github/webhooks', () => {
  it('accepts a correctly signed push, stores a normalized job (no commit messages) and runs it once', async () => {
    const h = await start();
    const guid = randomUUID();
    const { body, headers } = await signed('push', pushPayload(), guid);
    const r = await post(h.url, body, headers);
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ status: 'queued', delivery: guid });
    await h.queue.drained();
    expect(h.seen).toHaveLength(1);
    expect(h.seen[0]!.job).toMatchObject({ kind: 'push', before: sha('a'), after: sha('b'), repo: { fullName: 'acme/app' }, installationId: 7 });
    expect(JSON.stringify(h.seen[0]!.job)).not.toContain('must not be stored');
    expect(await h.queue.get(guid)).toMatchObject({ status: 'done', attempts: 1 });
    // A redelivery of the same GUID is acknowledged and not run again.
    const again = await post(h.url, body, headers);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ status: 'duplicate' });
    await h.queue.drained();
    expect(h.seen).toHaveLength(1);
  });

  it('rejects a signature made with the wrong secret, and stores nothing', async () => {
    const h = await start();
    const { body, headers } = await signed('push', pushPayload(), randomUUID(), 'not-the-secret');
    const r = await post(h.url, body, headers);
    expect(r.status).toBe(401);
    expect(await h.queue.counts()).toEqual({ queued: 0, running: 0, done: 0, failed: 0, ignored: 0 });
    expect(h.logs.join('\n')).toMatch(/signature does not match/);
    expect(h.logs.join('\n')).not.toContain('acme/app');
  });

  it('rejects a body altered after signing (signature is over the raw bytes)', async () => {
    const h = await start();
    const { body, headers } = await signed('push', pushPayload());
    // Same JSON value, different bytes: a verifier that re-serialized the parsed object would accept this.
    const r = await post(h.url, body.replace('{', '{ '), headers);
    expect(r.status).toBe(401);
    expect(((c) => c.queued + c.done)(await h.queue.counts())).toBe(0);
  });

  it('rejects a missing signature header', async () => {
    const h = await start();
    const { body, headers } = await signed('push', pushPayload());
    const { ['x-hub-signature-256']: _drop, ...rest } = headers;
    const r = await post(h.url, body, rest);
    expect(r.status).toBe(401);
    expect(((c) => c.queued + c.done)(await h.queue.counts())).toBe(0);
  });

  it('rejects malformed JSON that is correctly signed', async () => {
    const h = await start();
    const body = '{"ref": "refs/heads/main", ';
    const r = await post(h.url, body, { 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': await sign(SECRET, body) });
    expect(r.status).toBe(400);
    expect(r.json?.error).toMatch(/not valid JSON/);
    expect(h.seen).toHaveLength(0);
  });

  it('rejects a signed push whose payload lacks the fields the scan relies on', async () => {
    const h = await start();
    const { body, headers } = await signed('push', { ...pushPayload(), after: 'not-a-sha' });
    const r = await post(h.url, body, headers);
    expect(r.status).toBe(400);
    expect(r.json?.error).toMatch(/after/);
  });

  it('answers 413 to an oversized body without queueing it', async () => {
    const h = await start({ maxBody: 64 * 1024 });
    const { body, headers } = await signed('push', { ...pushPayload(), padding: 'x'.repeat(100 * 1024) });
    const r = await post(h.url, body, headers);
    expect(r.status).toBe(413);
    expect(((c) => c.queued + c.done)(await h.queue.counts())).toBe(0);
  });

  it('acknowledges other events and records them as ignored; answers ping', async () => {
    const h = await start();
    const s = await signed('star', { action: 'created', repository: { full_name: 'acme/app' } });
    expect((await post(h.url, s.body, s.headers)).status).toBe(200);
    const p = await signed('ping', { zen: 'Keep it logically awesome.' });
    expect((await post(h.url, p.body, p.headers)).json).toMatchObject({ pong: true });
    await h.queue.drained();
    expect(h.seen).toHaveLength(0);
    expect((await h.queue.counts()).ignored).toBe(1);
  });

  it('serves /healthz and 404 elsewhere', async () => {
    const h = await start();
    const base = h.url.replace(WEBHOOK_PATH, '');
    const r = await fetch(base + '/healthz');
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ ok: true, deliveries: { queued: 0 } });
    expect((await fetch(base + '/nope')).status).toBe(404);
    expect((await fetch(h.url)).status).toBe(405);
  });
});
