// The durable queue on a real SQLite store: retries with backoff, permanent failure, per-repo ordering,
// a 500-delivery burst through the running server, and a restart mid-burst.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import type { Job } from '../src/app/events.js';
import { DeliveryQueue, PermanentError, type Delivery } from '../src/app/queue.js';
import { closeServer, createAppServer, listen, WEBHOOK_PATH } from '../src/app/server.js';
import { tempDir } from '../testkit/git-repo.js';

const SECRET = 'queue-test-secret';
const sha = (n: number) => n.toString(16).padStart(40, '0');

function pushJob(repo: string, n: number): Job {
  return {
    kind: 'push',
    repo: { fullName: repo, private: true },
    installationId: 1,
    ref: 'refs/heads/main',
    before: sha(n),
    after: sha(n + 1),
    created: false,
    deleted: false,
    forced: false,
  };
}

async function dbFile() {
  return path.join(await tempDir('keyloop-queue-'), 'q.db');
}

describe('DeliveryQueue', () => {
  it('retries a failing delivery with backoff, then succeeds; a permanent error fails at once', async () => {
    const store = openSqliteStore(await dbFile());
    const attempts = new Map<string, number>();
    const delays: number[] = [];
    const q = new DeliveryQueue({
      store,
      maxAttempts: 4,
      backoff: (n) => {
        delays.push(n);
        return 20 * n;
      },
      handler: async (d) => {
        const n = (attempts.get(d.guid) ?? 0) + 1;
        attempts.set(d.guid, n);
        if (d.guid === 'flaky' && n < 3) throw new Error(`transient ${n}`);
        if (d.guid === 'broken') throw new PermanentError('repository gone');
        if (d.guid === 'always') throw new Error('still down');
        return { n };
      },
    });
    await q.start();
    for (const guid of ['flaky', 'broken', 'always']) await q.enqueue({ guid, event: 'push', action: null, installationId: 1, repo: null, job: pushJob(`acme/${guid}`, 1) });
    await q.drained();
    expect(await q.get('flaky')).toMatchObject({ status: 'done', attempts: 3, result: { n: 3 } });
    expect(await q.get('broken')).toMatchObject({ status: 'failed', attempts: 1, error: 'PermanentError: repository gone' });
    expect(await q.get('always')).toMatchObject({ status: 'failed', attempts: 4, error: 'Error: still down' });
    expect(attempts.get('always')).toBe(4);
    expect(delays.filter((d) => d === 1).length).toBe(2); // flaky + always after their first failure
    await q.stop(100);
  });

  it('runs deliveries of one repository one at a time, in arrival order', async () => {
    const store = openSqliteStore(await dbFile());
    const order: string[] = [];
    let active = 0;
    let maxActive = 0;
    const q = new DeliveryQueue({
      store,
      concurrency: 4,
      handler: async (d) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 5));
        order.push(d.guid);
        active--;
      },
    });
    for (let i = 0; i < 12; i++) await q.enqueue({ guid: `g${i}`, event: 'push', action: null, installationId: 1, repo: null, job: pushJob('acme/one', i) });
    await q.start();
    await q.drained();
    expect(order).toEqual(Array.from({ length: 12 }, (_, i) => `g${i}`));
    expect(maxActive).toBe(1);
    await q.stop(100);
  });

  it('a burst of 500 signed deliveries: none lost, none processed twice', async () => {
    const store = openSqliteStore(await dbFile());
    const runs = new Map<string, number>();
    const q = new DeliveryQueue({
      store,
      concurrency: 4,
      handler: async (d) => {
        runs.set(d.guid, (runs.get(d.guid) ?? 0) + 1);
        await new Promise((r) => setImmediate(r));
        return null;
      },
    });
    await q.start();
    const server = createAppServer({ secret: SECRET, queue: q });
    const url = (await listen(server, 0, '127.0.0.1')) + WEBHOOK_PATH;
    const guids = Array.from({ length: 500 }, () => randomUUID());
    const statuses = await Promise.all(
      guids.map(async (guid, i) => {
        const body = JSON.stringify({
          ref: 'refs/heads/main',
          before: sha(i),
          after: sha(i + 1),
          repository: { full_name: `acme/r${i % 25}`, private: true },
          installation: { id: 3 },
        });
        const res = await fetch(url, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': guid, 'x-hub-signature-256': await sign(SECRET, body) },
        });
        return res.status;
      }),
    );
    expect(statuses.every((s) => s === 202)).toBe(true);
    await q.drained();
    expect(runs.size).toBe(500);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(await q.counts()).toMatchObject({ done: 500, queued: 0, running: 0, failed: 0 });
    await closeServer(server);
    await q.stop(100);
  });

  it('a restart mid-burst: the first process stops with work queued, the second finishes it, each exactly once', async () => {
    const file = await dbFile();
    const runs = new Map<string, number>();
    const record = (d: Delivery) => runs.set(d.guid, (runs.get(d.guid) ?? 0) + 1);
    const guids = Array.from({ length: 120 }, () => randomUUID());
    // The first process finishes the first FINISHED deliveries; every later one it starts runs until aborted.
    // Claims go by arrival, one repo at a time, and a delivery is posted only after the previous one was
    // queued: so once both slots hold a delivery, exactly FINISHED are done and the rest are still queued,
    // whatever the machine's speed.
    const FINISHED = 10;
    const finishes = new Set<string>(guids.slice(0, FINISHED));
    let held = 0;
    let bothHeld!: () => void;
    const slotsFull = new Promise<void>((resolve) => (bothHeld = resolve));

    const store1 = openSqliteStore(file);
    const q1 = new DeliveryQueue({
      store: store1,
      concurrency: 2,
      handler: async (d, signal) => {
        if (!finishes.has(d.guid)) {
          if (++held === 2) bothHeld();
          // Honours the abort like real handlers: the stop below is the only way out.
          await new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
        }
        record(d);
      },
    });
    await q1.start();
    const server = createAppServer({ secret: SECRET, queue: q1 });
    const url = (await listen(server, 0, '127.0.0.1')) + WEBHOOK_PATH;
    for (const [i, guid] of guids.entries()) {
      const body = JSON.stringify({ ref: 'refs/heads/main', before: sha(i), after: sha(i + 1), repository: { full_name: `acme/r${i % 8}` }, installation: { id: 3 } });
      const res = await fetch(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': guid, 'x-hub-signature-256': await sign(SECRET, body) },
      });
      expect(res.status).toBe(202);
    }
    await closeServer(server);
    await slotsFull;
    // A grace shorter than any held delivery: both are aborted and requeued, not lost.
    const stopped = await q1.stop(5);
    expect(stopped.requeued).toBe(2);
    expect(await q1.counts()).toMatchObject({ done: FINISHED, queued: guids.length - FINISHED, running: 0, failed: 0 });
    expect([...runs.keys()].sort()).toEqual([...finishes].sort());
    await store1.close();

    const store2 = openSqliteStore(file);
    const q2 = new DeliveryQueue({ store: store2, concurrency: 4, handler: async (d) => void record(d) });
    await q2.start();
    await q2.drained();
    expect(await q2.counts()).toMatchObject({ done: 120, queued: 0, running: 0, failed: 0 });
    expect(runs.size).toBe(120);
    expect([...runs.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    // An aborted attempt is given back: nothing reads as retried.
    expect((await Promise.all(guids.map((g) => q2.get(g)))).every((d) => d!.attempts === 1)).toBe(true);
    await q2.stop(100);
  });

  it('a process that died with a delivery running: the next start requeues it', async () => {
    const file = await dbFile();
    const store1 = openSqliteStore(file);
    // Recorded and claimed, then the process is gone before it finishes.
    await store1.insertDelivery({ guid: 'crashed', event: 'push', action: null, installationId: 1, repo: 'acme/x', job: pushJob('acme/x', 1), receivedAt: new Date().toISOString() });
    expect(await store1.claimDelivery(new Date())).toMatchObject({ guid: 'crashed', attempts: 1 });
    await store1.close();
    const seen: string[] = [];
    const q = new DeliveryQueue({ store: openSqliteStore(file), handler: async (d) => void seen.push(d.guid) });
    await q.start();
    await q.drained();
    expect(seen).toEqual(['crashed']);
    expect(await q.get('crashed')).toMatchObject({ status: 'done', attempts: 1 });
    await q.stop(100);
  });
});
