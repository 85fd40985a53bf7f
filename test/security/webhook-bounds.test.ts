// The webhook server under hostile clients: headers that are missing, malformed or of the wrong type; bodies too
// large (declared or chunked); more unauthenticated bodies or bytes than the server takes at once; slow clients;
// and, in a child process running the real `keyloop app`, a burst of unsigned 25 MiB uploads whose RSS must stay
// bounded and come back down afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http, { type Server } from 'node:http';
import net from 'node:net';
import path, { join } from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryQueue, type Delivery } from '../../src/app/queue.js';
import { closeServer, createAppServer, listen, WEBHOOK_PATH, type AppServerOptions } from '../../src/app/server.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import { createLogger } from '../../src/util/logger.js';
import { SecretRegistry } from '../../src/util/redact.js';
import { compileCli } from '../../testkit/compile-cli.js';
import { tempDir } from '../../testkit/git-repo.js';

const SECRET = 'bounds-secret-' + randomUUID();
const MiB = 1024 * 1024;
const sha = (c: string) => c.repeat(40);
const payload = () =>
  JSON.stringify({ ref: 'refs/heads/main', before: sha('a'), after: sha('b'), repository: { id: 1, full_name: 'acme/app', private: true }, installation: { id: 7 } });
/** Well-formed but wrong: what an attacker without the secret can send. */
const forged = () => 'sha256=' + randomBytes(32).toString('hex');

interface Harness {
  url: string;
  port: number;
  server: Server;
  queue: DeliveryQueue;
  store: SqliteStore;
  seen: Delivery[];
  logs: string[];
}
const open: Harness[] = [];
const sockets: net.Socket[] = [];

async function start(opts: Partial<Omit<AppServerOptions, 'secret' | 'queue'>> = {}): Promise<Harness> {
  const store = openSqliteStore(path.join(await tempDir('keyloop-bounds-'), 'k.db'));
  const seen: Delivery[] = [];
  const logs: string[] = [];
  const logger = createLogger({ registry: new SecretRegistry(), level: 'debug', write: (l) => logs.push(l) });
  const queue = new DeliveryQueue({ store, logger, handler: async (d) => void seen.push(d) });
  await queue.start();
  const server = createAppServer({ secret: SECRET, queue, logger, drainMs: 200, ...opts });
  const base = await listen(server, 0, '127.0.0.1');
  const h = { url: base + WEBHOOK_PATH, port: Number(new URL(base).port), server, queue, store, seen, logs };
  open.push(h);
  return h;
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const h of open.splice(0)) {
    h.server.closeAllConnections();
    await closeServer(h.server);
    await h.queue.stop(500);
    await h.store.close();
  }
});

async function post(h: Harness, body: string, headers: Record<string, string | undefined>) {
  const clean = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const res = await fetch(h.url, { method: 'POST', body, headers: clean });
  return { status: res.status, json: (await res.json().catch(() => null)) as { error?: string } | null };
}

async function signedHeaders(body: string) {
  return { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': await sign(SECRET, body) };
}

/** A raw connection that sends `head` (and optionally part of a body) and then stalls; resolves with what came back. */
function stall(h: Harness, head: string): { socket: net.Socket; answer: Promise<string> } {
  const socket = net.connect(h.port, '127.0.0.1');
  sockets.push(socket);
  let got = '';
  socket.on('data', (d) => (got += d.toString('latin1')));
  socket.on('error', () => {});
  socket.write(head);
  const answer = new Promise<string>((resolve) => socket.on('close', () => resolve(got)));
  return { socket, answer };
}

const uploadHead = (h: Harness, extra: string) =>
  `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: 127.0.0.1:${h.port}\r\ncontent-type: application/json\r\nx-github-event: push\r\n` +
  `x-github-delivery: ${randomUUID()}\r\nx-hub-signature-256: ${forged()}\r\n${extra}\r\n`;

/** Retries a signed delivery until it is accepted: the server frees a slot when it sees the close (no time asserted). */
async function acceptedEventually(h: Harness): Promise<number> {
  let status = 0;
  for (let i = 0; i < 200 && status !== 202; i++) {
    if (i) await new Promise((r) => setTimeout(r, 20));
    const body = payload();
    status = (await post(h, body, await signedHeaders(body))).status;
  }
  return status;
}

describe('headers are checked before the body is read', () => {
  it.each([
    ['sha256=zz', 'non-hex'],
    ['sha1=' + 'a'.repeat(40), 'sha1'],
    ['sha256=' + 'a'.repeat(63), 'short'],
    ['sha256=' + 'A'.repeat(64), 'upper-case hex'],
    ['  ', 'blank'],
  ])('a malformed signature (%s, %s) gets 401 and nothing is queued', async (sig) => {
    const h = await start();
    const body = payload();
    const r = await post(h, body, { ...(await signedHeaders(body)), 'x-hub-signature-256': sig });
    expect(r.status).toBe(401);
    expect(r.json?.error).toMatch(/X-Hub-Signature-256/);
    expect(await h.queue.counts()).toMatchObject({ queued: 0, done: 0 });
  });

  it.each(['x-github-delivery', 'x-github-event'])('a correctly signed body without %s gets 400 and nothing is queued', async (name) => {
    const h = await start();
    const body = payload();
    const r = await post(h, body, { ...(await signedHeaders(body)), [name]: undefined });
    expect(r.status).toBe(400);
    expect(r.json?.error).toMatch(/X-GitHub-Delivery or X-GitHub-Event/);
    expect(await h.queue.counts()).toMatchObject({ queued: 0, done: 0 });
  });

  it.each([
    ['application/x-www-form-urlencoded', 415],
    ['text/plain', 415],
    [undefined, 415],
  ])('content type %s gets %d even when signed', async (ctype, status) => {
    const h = await start();
    const body = payload();
    const r = await post(h, body, { ...(await signedHeaders(body)), 'content-type': ctype });
    expect(r.status).toBe(status);
    expect(await h.queue.counts()).toMatchObject({ queued: 0, done: 0 });
  });

  it('a Content-Length over the limit is refused before any of the body is sent', async () => {
    const h = await start({ maxBody: 64 * 1024 });
    const { answer } = stall(h, uploadHead(h, `content-length: ${64 * 1024 + 1}\r\n`));
    expect(await answer).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('a chunked body over the limit gets 413 and the server stops reading it', async () => {
    const h = await start({ maxBody: 64 * 1024 });
    const { socket, answer } = stall(h, uploadHead(h, 'transfer-encoding: chunked\r\n'));
    const piece = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 8; i++) socket.write(`${piece.length.toString(16)}\r\n${piece}\r\n`);
    expect(await answer).toMatch(/^HTTP\/1\.1 413 /);
  });
});

describe('unauthenticated bodies are bounded in number and bytes', () => {
  it('past maxPendingBodies uploads in flight, the next request gets 503; once they go, deliveries are accepted again', async () => {
    const h = await start({ maxPendingBodies: 3 });
    const stalled = Array.from({ length: 3 }, () => stall(h, uploadHead(h, 'content-length: 1000\r\n') + 'x'.repeat(10)));
    // The server has taken all three once a fourth is refused; a signed one is refused too (its signature is unknown until read).
    let status = 0;
    for (let i = 0; i < 200 && status !== 503; i++) {
      if (i) await new Promise((r) => setTimeout(r, 20));
      const body = payload();
      status = (await post(h, body, await signedHeaders(body))).status;
    }
    expect(status).toBe(503);
    for (const s of stalled) s.socket.destroy();
    expect(await acceptedEventually(h)).toBe(202);
  });

  it('a body that would pass maxPendingBytes gets 503 (declared or chunked)', async () => {
    const h = await start({ maxBody: 256 * 1024, maxPendingBytes: 256 * 1024 });
    const first = stall(h, uploadHead(h, `content-length: ${200 * 1024}\r\n`) + 'x'.repeat(10));
    const second = stall(h, uploadHead(h, `content-length: ${100 * 1024}\r\n`));
    expect(await second.answer).toMatch(/^HTTP\/1\.1 503 /);
    const chunked = stall(h, uploadHead(h, 'transfer-encoding: chunked\r\n'));
    const piece = 'x'.repeat(32 * 1024);
    for (let i = 0; i < 4; i++) chunked.socket.write(`${piece.length.toString(16)}\r\n${piece}\r\n`);
    expect(await chunked.answer).toMatch(/^HTTP\/1\.1 503 /);
    first.socket.destroy();
    expect(await acceptedEventually(h)).toBe(202);
  });
});

describe('slow clients time out (slowloris)', () => {
  it('headers that never finish: the server closes the connection', async () => {
    const h = await start({ headersTimeoutMs: 300, requestTimeoutMs: 600 });
    const { answer } = stall(h, `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nx-github-event: pu`);
    await answer; // resolves only when the server hangs up; the test timeout is the only clock
  });

  it('a body that never finishes: the server closes the connection and frees its slot', async () => {
    const h = await start({ headersTimeoutMs: 300, requestTimeoutMs: 600, maxPendingBodies: 1 });
    const { answer } = stall(h, uploadHead(h, 'content-length: 1000\r\n') + 'x'.repeat(10));
    await answer;
    expect(await acceptedEventually(h)).toBe(202);
  });
});

// ---- RSS under an unauthenticated upload burst, in a child process running the real CLI ----------------------

/** RSS above the idle baseline allowed during and after the burst. */
const PEAK_BOUND = 320 * MiB;
const AFTER_BOUND = 224 * MiB;

function rssBytes(pid: number): number {
  if (existsSync(`/proc/${pid}/status`)) {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m) return Number(m[1]) * 1024;
  }
  return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) * 1024;
}

/** One unsigned upload of `size` bytes (declared, or chunked when `chunked`); stops sending once answered. */
function upload(port: number, size: number, chunked: boolean, slab: Buffer): Promise<number | 'reset'> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: number | 'reset') => {
      if (settled) return;
      settled = true;
      req.destroy();
      resolve(r);
    };
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: WEBHOOK_PATH,
      method: 'POST',
      agent: false,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': forged(),
        ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(size) }),
      },
    });
    req.on('response', (res) => {
      res.resume();
      finish(res.statusCode ?? 0);
    });
    req.on('error', () => finish('reset'));
    let sent = 0;
    const pump = () => {
      while (!settled && sent < size) {
        const n = Math.min(slab.length, size - sent);
        sent += n;
        if (!req.write(n === slab.length ? slab : slab.subarray(0, n))) return void req.once('drain', pump);
      }
      if (!settled) req.end();
    };
    pump();
  });
}

describe('RSS of `keyloop app` under 40 unsigned 25 MiB uploads', () => {
  let child: ChildProcess | undefined;
  let bundle: Awaited<ReturnType<typeof compileCli>>;
  beforeAll(async () => {
    bundle = await compileCli('webhook-bounds');
  });
  afterAll(() => {
    child?.kill('SIGKILL');
    bundle?.remove();
  });

  it('answers 401/413/503, stays bounded during the burst and after it', async () => {
    const dir = await tempDir('keyloop-bounds-app-');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    child = spawn(
      process.execPath,
      [bundle.main, 'app', '--port', '0', '--host', '127.0.0.1', '--db', join(dir, 'k.db'), '--cache-dir', join(dir, 'cache'), '--github-url', 'http://127.0.0.1:9', '--no-verify'],
      {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          XDG_CONFIG_HOME: dir,
          APP_ID: '4242',
          PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
          WEBHOOK_SECRET: SECRET,
          KEYLOOP_KEY: randomBytes(32).toString('hex'),
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const pid = child.pid!;
    let stderr = '';
    const port = await new Promise<number>((resolve, reject) => {
      child!.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /keyloop app http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
        if (m) resolve(Number(m[1]));
      });
      child!.on('exit', (code) => reject(new Error(`keyloop app exited ${code}: ${stderr}`)));
    });
    // Baseline after a few small requests, so lazily loaded code is in.
    for (let i = 0; i < 5; i++) await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.arrayBuffer());
    const baseline = rssBytes(pid);

    const slab = randomBytes(MiB);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 20);
    const size = 25 * MiB;
    const results = await Promise.all([
      ...Array.from({ length: 20 }, () => upload(port, size, false, slab)),
      ...Array.from({ length: 20 }, () => upload(port, size, true, slab)),
      upload(port, size + 1, false, slab),
    ]);
    clearInterval(sampler);
    peak = Math.max(peak, rssBytes(pid));

    const counts = results.reduce<Record<string, number>>((m, r) => ((m[String(r)] = (m[String(r)] ?? 0) + 1), m), {});
    // After the burst the server settles: poll until RSS is back under the bound (memory, not time, is asserted).
    let after = rssBytes(pid);
    for (let i = 0; i < 100 && after > baseline + AFTER_BOUND; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = rssBytes(pid);
    }
    const mb = (n: number) => `${Math.round(n / MiB)} MB`;
    const figures = `baseline ${mb(baseline)}, peak ${mb(peak)}, after ${mb(after)}, answers ${JSON.stringify(counts)}`;
    console.log(`webhook burst: ${figures}`);
    // Every upload was answered with a refusal: 401 (read, signature wrong), 413 (too large), 503 (over the caps).
    expect(Object.keys(counts).every((k) => ['401', '413', '503'].includes(k)), figures).toBe(true);
    expect(counts['503'] ?? 0, figures).toBeGreaterThan(0);
    expect(counts['413'] ?? 0, figures).toBeGreaterThan(0);
    // Before the bounds: 40 × 25 MiB buffered, ~1.1 GB, and it stayed there. Now: at most the 64 MiB budget of
    // bodies being read, plus what V8 and malloc have not handed back yet (measured: +110 to +150 MB).
    expect(peak - baseline, figures).toBeLessThan(PEAK_BOUND);
    expect(after - baseline, figures).toBeLessThan(AFTER_BOUND);
    // Still serving.
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});
