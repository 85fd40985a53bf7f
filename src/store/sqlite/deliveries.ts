// SQLite DeliveriesStore: the App's durable webhook queue (claimed by one statement) and its installed repos.
import type { ClaimedDelivery, DeliveriesStore, DeliveryStatus } from '../../core/store.js';
import { emptyDeliveryCounts, json, startOutcome, toDelivery, type Row } from '../rows.js';
import type { SqliteContext } from './context.js';
import { upsertRepoSync } from './repos.js';

export function sqliteDeliveries(c: SqliteContext): DeliveriesStore {
  return { ...deliveryIntake(c), ...deliveryOutcomes(c), ...deliveryReads(c), ...installationRepos(c) };
}

/** Deliveries in and out of the queue: recorded once by GUID, claimed (the next due, or one by GUID), and those still queued to send again. */
function deliveryIntake(c: SqliteContext): Pick<DeliveriesStore, 'insertDelivery' | 'claimDelivery' | 'startDelivery' | 'queuedDeliveries'> {
  return {
    async insertDelivery(d) {
      const r = c
        .q(
          `INSERT INTO app_deliveries (guid, event, action, installation_id, repo, job, status, received_at, next_attempt_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT (guid) DO NOTHING`,
        )
        .run(d.guid, d.event, d.action, d.installationId, d.repo, d.job === null ? null : JSON.stringify(d.job), d.job === null ? 'ignored' : 'queued', d.receivedAt);
      return r.changes > 0;
    },

    // One statement picks and claims, so two workers can never take the same row; a repo with a running
    // delivery is skipped so its pushes are handled in arrival order against one mirror.
    async claimDelivery(now) {
      const nowMs = now.getTime();
      const row = c
        .q(
          `UPDATE app_deliveries SET status = 'running', attempts = attempts + 1, started_at = @now
           WHERE seq = (
             SELECT d.seq FROM app_deliveries d
             WHERE d.status = 'queued' AND d.next_attempt_at <= @nowMs
               AND (d.repo IS NULL OR NOT EXISTS (
                 SELECT 1 FROM app_deliveries r WHERE r.status = 'running' AND r.repo = d.repo))
               AND NOT EXISTS (
                 SELECT 1 FROM app_deliveries e WHERE e.repo = d.repo AND e.status = 'queued' AND e.seq < d.seq
                   AND e.next_attempt_at > @nowMs)
             ORDER BY d.seq LIMIT 1)
           RETURNING seq, guid, event, repo, job, attempts`,
        )
        .get({ now: now.toISOString(), nowMs }) as Row | undefined;
      if (!row) return undefined;
      let job: unknown;
      try {
        job = json<unknown>(row.job, null);
      } catch {
        job = row.job; // unparsable JSON: the queue's validation reports it
      }
      return { seq: row.seq, guid: row.guid, event: row.event, repo: row.repo, job, attempts: row.attempts } as ClaimedDelivery;
    },

    async startDelivery(guid, now) {
      const row = c
        .q(
          `UPDATE app_deliveries SET status = 'running', attempts = attempts + 1, started_at = ?
           WHERE guid = ? AND status IN ('queued', 'running')
             AND (repo IS NULL OR NOT EXISTS (
               SELECT 1 FROM app_deliveries r WHERE r.status = 'running' AND r.repo = app_deliveries.repo AND r.guid <> app_deliveries.guid))
           RETURNING seq, guid, event, repo, job, attempts`,
        )
        .get(now.toISOString(), guid) as Row | undefined;
      if (row) return { seq: row.seq, guid: row.guid, event: row.event, repo: row.repo, job: json<unknown>(row.job, null), attempts: row.attempts } as ClaimedDelivery;
      return startOutcome(c.q('SELECT status FROM app_deliveries WHERE guid = ?').pluck().get(guid) as DeliveryStatus | undefined);
    },

    async queuedDeliveries(before, limit = 500) {
      return c.q(`SELECT guid FROM app_deliveries WHERE status = 'queued' AND received_at < ? ORDER BY seq LIMIT ?`).pluck().all(before, limit) as string[];
    },
  };
}

/** How an attempt ends: done, retried later, failed, or put back without spending the attempt. */
function deliveryOutcomes(c: SqliteContext): Pick<DeliveriesStore, 'completeDelivery' | 'retryDelivery' | 'failDelivery' | 'requeueDeliveries'> {
  return {
    async completeDelivery(seq, at, result) {
      c.q(`UPDATE app_deliveries SET status = 'done', finished_at = ?, result = ?, error = NULL WHERE seq = ?`).run(at, JSON.stringify(result ?? null), seq);
    },

    async retryDelivery(seq, atMs, error) {
      c.q(`UPDATE app_deliveries SET status = 'queued', next_attempt_at = ?, error = ? WHERE seq = ?`).run(atMs, error, seq);
    },

    async failDelivery(seq, at, error) {
      c.q(`UPDATE app_deliveries SET status = 'failed', finished_at = ?, error = ? WHERE seq = ?`).run(at, error, seq);
    },

    async requeueDeliveries(seq) {
      const set = `UPDATE app_deliveries SET status = 'queued', attempts = max(attempts - 1, 0) WHERE status = 'running'`;
      return (seq === undefined ? c.q(set).run() : c.q(`${set} AND seq = ?`).run(seq)).changes;
    },
  };
}

/** The queue read back: when the next delivery is due, counts by status, one delivery. */
function deliveryReads(c: SqliteContext): Pick<DeliveriesStore, 'nextDeliveryDue' | 'deliveryCounts' | 'getDelivery'> {
  return {
    async nextDeliveryDue() {
      return (c.q(`SELECT min(next_attempt_at) FROM app_deliveries WHERE status = 'queued'`).pluck().get() as number | null) ?? null;
    },

    async deliveryCounts() {
      const out = emptyDeliveryCounts();
      for (const r of c.q(`SELECT status, count(*) AS n FROM app_deliveries GROUP BY status`).all() as { status: DeliveryStatus; n: number }[]) out[r.status] = r.n;
      return out;
    },

    async getDelivery(guid) {
      const r = c.q(`SELECT * FROM app_deliveries WHERE guid = ?`).get(guid) as Row | undefined;
      return r ? toDelivery(r) : undefined;
    },
  };
}

/** The repositories the App is installed on. */
function installationRepos(c: SqliteContext): Pick<DeliveriesStore, 'recordInstallationRepos' | 'installedRepos'> {
  return {
    async recordInstallationRepos(ch) {
      return c.tx(() => {
        for (const r of ch.added) {
          upsertRepoSync(c, { fullName: r.fullName, private: r.private });
          c.q(
            `INSERT INTO app_repos (full_name, github_id, installation_id, private, added_at, removed_at) VALUES (?, ?, ?, ?, ?, NULL)
             ON CONFLICT (full_name) DO UPDATE SET github_id = coalesce(excluded.github_id, github_id),
               installation_id = excluded.installation_id, private = excluded.private, removed_at = NULL`,
          ).run(r.fullName, r.githubId ?? null, ch.installationId, r.private ? 1 : 0, ch.at);
        }
        let removed = ch.removed;
        if (ch.forgetInstallation) {
          const current = c.q('SELECT full_name FROM app_repos WHERE installation_id = ? AND removed_at IS NULL').pluck().all(ch.installationId) as string[];
          removed = [...new Set([...removed, ...current])];
        }
        const forget = c.q('UPDATE app_repos SET removed_at = ? WHERE full_name = ? AND removed_at IS NULL');
        for (const name of removed) forget.run(ch.at, name);
        return removed;
      });
    },

    async installedRepos() {
      return c.q('SELECT full_name AS fullName, installation_id AS installationId FROM app_repos WHERE removed_at IS NULL ORDER BY full_name').all() as {
        fullName: string;
        installationId: number;
      }[];
    },
  };
}
