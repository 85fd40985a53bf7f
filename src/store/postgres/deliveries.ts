// PostgreSQL DeliveriesStore: the App's durable webhook queue, claimable by several processes at once (a claim
// re-checks the row's status and a partial unique index keeps one running delivery per repo), and its repos.
import type { ClaimedDelivery, DeliveriesStore, DeliveryStatus } from '../../core/store.js';
import { emptyDeliveryCounts, startOutcome, toDelivery } from '../rows.js';
import type { PgContext } from './context.js';
import { upsertRepoOn } from './repos.js';

/** A claim that lost a race to another process is retried this many times before reporting "nothing due". */
const CLAIM_TRIES = 5;

export function pgDeliveries(c: PgContext): DeliveriesStore {
  return { ...deliveryIntake(c), ...deliveryOutcomes(c), ...deliveryReads(c), ...installationRepos(c) };
}

/** Deliveries in and out of the queue: recorded once by GUID, claimed (the next due, or one by GUID), and those still queued to send again. */
function deliveryIntake(c: PgContext): Pick<DeliveriesStore, 'insertDelivery' | 'claimDelivery' | 'startDelivery' | 'queuedDeliveries'> {
  return {
    async insertDelivery(d) {
      const rows = await c.q(
        `INSERT INTO app_deliveries (guid, event, action, installation_id, repo, job, status, received_at, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0) ON CONFLICT (guid) DO NOTHING RETURNING seq`,
        [d.guid, d.event, d.action, d.installationId, d.repo, d.job === null ? null : JSON.stringify(d.job), d.job === null ? 'ignored' : 'queued', d.receivedAt],
      );
      return rows.length > 0;
    },

    async claimDelivery(now) {
      const nowMs = now.getTime();
      for (let i = 0; i < CLAIM_TRIES; i++) {
        const pick = await c.one<{ seq: number }>(
          `SELECT d.seq FROM app_deliveries d
           WHERE d.status = 'queued' AND d.next_attempt_at <= $1
             AND (d.repo IS NULL OR NOT EXISTS (SELECT 1 FROM app_deliveries r WHERE r.status = 'running' AND r.repo = d.repo))
             AND NOT EXISTS (SELECT 1 FROM app_deliveries e WHERE e.repo = d.repo AND e.status = 'queued' AND e.seq < d.seq AND e.next_attempt_at > $1)
           ORDER BY d.seq LIMIT 1`,
          [nowMs],
        );
        if (!pick) return undefined;
        try {
          // The status test is re-checked on the row's latest version: of two processes that picked the same row,
          // only the first gets it back.
          const row = await c.one<ClaimedDelivery>(
            `UPDATE app_deliveries SET status = 'running', attempts = attempts + 1, started_at = $2
             WHERE seq = $1 AND status = 'queued' RETURNING seq, guid, event, repo, job, attempts`,
            [pick.seq, now.toISOString()],
          );
          if (row) return row;
        } catch (err) {
          // Another process started a delivery of the same repo meanwhile (app_deliveries_one_running).
          if ((err as { code?: string }).code !== '23505') throw err;
        }
      }
      return undefined;
    },

    async startDelivery(guid, now) {
      try {
        const row = await c.one<ClaimedDelivery>(
          `UPDATE app_deliveries SET status = 'running', attempts = attempts + 1, started_at = $2
           WHERE guid = $1 AND status IN ('queued', 'running') RETURNING seq, guid, event, repo, job, attempts`,
          [guid, now.toISOString()],
        );
        if (row) return row;
      } catch (err) {
        // app_deliveries_one_running: another delivery of this repo runs now.
        if ((err as { code?: string }).code === '23505') return 'busy';
        throw err;
      }
      return startOutcome((await c.one<{ status: DeliveryStatus }>('SELECT status FROM app_deliveries WHERE guid = $1', [guid]))?.status);
    },

    async queuedDeliveries(before, limit = 500) {
      return (await c.q<{ guid: string }>(`SELECT guid FROM app_deliveries WHERE status = 'queued' AND received_at < $1 ORDER BY seq LIMIT $2`, [before, limit])).map((r) => r.guid);
    },
  };
}

/** How an attempt ends: done, retried later, failed, or put back without spending the attempt. */
function deliveryOutcomes(c: PgContext): Pick<DeliveriesStore, 'completeDelivery' | 'retryDelivery' | 'failDelivery' | 'requeueDeliveries'> {
  return {
    async completeDelivery(seq, at, result) {
      await c.q(`UPDATE app_deliveries SET status = 'done', finished_at = $1, result = $2, error = NULL WHERE seq = $3`, [at, JSON.stringify(result ?? null), seq]);
    },

    async retryDelivery(seq, atMs, error) {
      await c.q(`UPDATE app_deliveries SET status = 'queued', next_attempt_at = $1, error = $2 WHERE seq = $3`, [atMs, error, seq]);
    },

    async failDelivery(seq, at, error) {
      await c.q(`UPDATE app_deliveries SET status = 'failed', finished_at = $1, error = $2 WHERE seq = $3`, [at, error, seq]);
    },

    async requeueDeliveries(seq) {
      const set = `UPDATE app_deliveries SET status = 'queued', attempts = greatest(attempts - 1, 0) WHERE status = 'running'`;
      const rows = seq === undefined ? await c.q(`${set} RETURNING seq`) : await c.q(`${set} AND seq = $1 RETURNING seq`, [seq]);
      return rows.length;
    },
  };
}

/** The queue read back: when the next delivery is due, counts by status, one delivery. */
function deliveryReads(c: PgContext): Pick<DeliveriesStore, 'nextDeliveryDue' | 'deliveryCounts' | 'getDelivery'> {
  return {
    async nextDeliveryDue() {
      return (await c.one<{ at: number | null }>(`SELECT min(next_attempt_at) AS at FROM app_deliveries WHERE status = 'queued'`))?.at ?? null;
    },

    async deliveryCounts() {
      const out = emptyDeliveryCounts();
      for (const r of await c.q<{ status: DeliveryStatus; n: number }>(`SELECT status, count(*) AS n FROM app_deliveries GROUP BY status`)) out[r.status] = r.n;
      return out;
    },

    async getDelivery(guid) {
      const r = await c.one(`SELECT * FROM app_deliveries WHERE guid = $1`, [guid]);
      return r ? toDelivery(r) : undefined;
    },
  };
}

/** The repositories the App is installed on. */
function installationRepos(c: PgContext): Pick<DeliveriesStore, 'recordInstallationRepos' | 'installedRepos'> {
  return {
    async recordInstallationRepos(ch) {
      return c.tx(async (db) => {
        for (const r of ch.added) {
          await upsertRepoOn(c, { fullName: r.fullName, private: r.private }, db);
          await c.q(
            `INSERT INTO app_repos (full_name, github_id, installation_id, private, added_at, removed_at) VALUES ($1, $2, $3, $4, $5, NULL)
             ON CONFLICT (full_name) DO UPDATE SET github_id = coalesce(excluded.github_id, app_repos.github_id),
               installation_id = excluded.installation_id, private = excluded.private, removed_at = NULL`,
            [r.fullName, r.githubId ?? null, ch.installationId, r.private, ch.at],
            db,
          );
        }
        let removed = ch.removed;
        if (ch.forgetInstallation) {
          const current = await c.q<{ full_name: string }>('SELECT full_name FROM app_repos WHERE installation_id = $1 AND removed_at IS NULL', [ch.installationId], db);
          removed = [...new Set([...removed, ...current.map((r) => r.full_name)])];
        }
        for (const name of removed) await c.q('UPDATE app_repos SET removed_at = $1 WHERE full_name = $2 AND removed_at IS NULL', [ch.at, name], db);
        return removed;
      });
    },

    async installedRepos() {
      return c.q<{ fullName: string; installationId: number }>(
        'SELECT full_name AS "fullName", installation_id AS "installationId" FROM app_repos WHERE removed_at IS NULL ORDER BY full_name',
      );
    },
  };
}
