// The pg-boss job queue on a real PostgreSQL (test/helpers/postgres.ts): processes that open it at the same time on
// a fresh database — workers and `org --enqueue` starting together — all get a queue; none dies of the deadlock
// two concurrent creations of the same queues run into.
import { afterAll, describe, expect, it } from 'vitest';
import { JOB_NAMES } from '../src/core/jobs.js';
import { openPgBossQueue } from '../src/queue/pg-boss.js';
import { pgTestDatabase, type TestDatabase } from './helpers/postgres.js';

const dbs: TestDatabase[] = [];
afterAll(async () => {
  for (const db of dbs) await db.drop();
});

describe('pg-boss queue', () => {
  it('opens in several processes at once on a fresh database, each creating the queues', async () => {
    // a few fresh databases: the race is between the creations, so one try may not meet it
    for (let round = 0; round < 3; round++) {
      const db = await pgTestDatabase('keyloop_queue');
      dbs.push(db);
      // a worker (sets the retry policy) and senders (keep it), as `keyloop worker` and `org --enqueue` open it
      const opened = await Promise.allSettled([
        openPgBossQueue(db.url, { supervise: false, leaseSeconds: 30, maxAttempts: 3 }),
        openPgBossQueue(db.url, { supervise: false, maxConnections: 2 }),
        openPgBossQueue(db.url, { supervise: false, leaseSeconds: 30, maxAttempts: 3 }),
        openPgBossQueue(db.url, { supervise: false, maxConnections: 2 }),
      ]);
      const failed = opened.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []));
      for (const o of opened) if (o.status === 'fulfilled') await o.value.close();
      expect(failed).toEqual([]);
      // and the queues work: a job sent by one is fetched by another
      const [a, b] = await Promise.all([openPgBossQueue(db.url, { supervise: false }), openPgBossQueue(db.url, { supervise: false })]);
      try {
        await a.send(JOB_NAMES[0], { n: round }, { key: `k${round}` });
        const job = await b.fetch(JOB_NAMES[0]);
        expect(job?.data).toEqual({ n: round });
      } finally {
        await a.close();
        await b.close();
      }
    }
  });
});
