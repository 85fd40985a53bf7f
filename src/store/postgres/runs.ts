// PostgreSQL RunsStore: runs (begin/resume under an advisory lock), per-repo outcomes, scanned blobs, and
// recording a repo's scan in one transaction with set-based inserts.
import { hostname } from 'node:os';
import type pg from 'pg';
import type { Confidence } from '../../core/model.js';
import type { FindingInput, RepoConfigSuppression, RepoScanInput, RepoScanOutcome, RunHandle, RunsStore, RunStatus } from '../../core/store.js';
import type { AddedFindings, BlobToMark, LastRun, MarkedBlobs, RepoScans, RunRecords, SealedFinding } from '../rows.js';
import { blobsToMark, detectedDetail, raisedConfidence, refuseHeldRun, REPO_CONFIG_SUPPRESSIONS, runRepoValues, toRun, toRunRepo } from '../rows.js';
import type { PgContext } from './context.js';

/** Array parameters per statement: large enough to be few round trips, small enough for any server. */
const CHUNK = 5000;

export function pgRuns(c: PgContext): RunsStore {
  return { ...runRecords(c), ...repoScans(c) };
}

/** Runs: begin or resume, totals, close, and reading them back with their per-repo rows. */
function runRecords(c: PgContext): RunRecords {
  const getRun = async (id: number) => {
    const r = await c.one('SELECT * FROM scan_runs WHERE id = $1', [id]);
    return r ? toRun(r) : undefined;
  };
  return {
    async beginRun(kind, target) {
      return c.tx(async (db): Promise<RunHandle> => {
        // Two processes beginning the same (kind, target) at once: one waits, then sees the other's run.
        await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`keyloop-run:${kind}:${target}`]);
        const last = await c.one<LastRun>(
          'SELECT id, status, pid, host, options FROM scan_runs WHERE kind = $1 AND target = $2 ORDER BY id DESC LIMIT 1',
          [kind, target],
          db,
        );
        refuseHeldRun(kind, target, last, hostname());
        if (last && (last.status === 'running' || last.status === 'interrupted')) {
          await c.q("UPDATE scan_runs SET status = 'running', pid = $1, host = $2, resumes = resumes + 1, finished_at = NULL WHERE id = $3", [process.pid, hostname(), last.id], db);
          const done = await c.q<{ full_name: string }>(
            `SELECT r.full_name FROM run_repos rr JOIN repos r ON r.id = rr.repo_id WHERE rr.run_id = $1 AND rr.status = 'done'`,
            [last.id],
            db,
          );
          return { id: last.id, resumed: true, finishedRepos: new Set(done.map((d) => d.full_name)) };
        }
        const row = await c.one<{ id: number }>(
          "INSERT INTO scan_runs (kind, target, started_at, status, pid, host) VALUES ($1, $2, $3, 'running', $4, $5) RETURNING id",
          [kind, target, c.now(), process.pid, hostname()],
          db,
        );
        return { id: row!.id, resumed: false, finishedRepos: new Set() };
      });
    },

    async setRunTotal(runId, reposTotal) {
      await c.q('UPDATE scan_runs SET repos_total = $1 WHERE id = $2', [reposTotal, runId]);
    },

    async finishRun(runId, status, error) {
      await c.tx(async (db) => closeRun(c, db, runId, status, error));
      return (await getRun(runId))!;
    },

    getRun,

    async listRuns(limit = 50) {
      return (await c.q('SELECT * FROM scan_runs ORDER BY id DESC LIMIT $1', [limit])).map(toRun);
    },

    async runRepos(runId) {
      const rows = await c.q(`SELECT r.full_name AS repo, rr.* FROM run_repos rr JOIN repos r ON r.id = rr.repo_id WHERE rr.run_id = $1 ORDER BY r.full_name`, [runId]);
      return rows.map(toRunRepo);
    },

    async repoConfigSuppressions() {
      return c.q<RepoConfigSuppression>(REPO_CONFIG_SUPPRESSIONS);
    },
  };
}

/** Recording what one repo's scan found (or that it failed), and the blobs it looked at. */
function repoScans(c: PgContext): RepoScans {
  return {
    async scannedBlobs(repo, catalog) {
      const rows = await c.q<{ oid: string }>(
        `SELECT b.oid FROM scanned_blobs b JOIN repos r ON r.id = b.repo_id JOIN catalog_versions v ON v.id = b.catalog_id
         WHERE r.full_name = $1 AND v.version = $2`,
        [repo, catalog],
      );
      return new Set(rows.map((r) => r.oid));
    },

    async recordRepoScan(runId, repo, input) {
      const { keyId, sealed } = await c.sealer.sealFindings(input.findings);
      // Two workers recording the same secrets in different orders would deadlock on the secrets' unique key:
      // each first takes a lock per fingerprint in one global order, then writes in the input order (as SQLite).
      const order = [...new Set(sealed.map((x) => x.f.fingerprint))].sort();
      const blobs = blobsToMark(input);
      const catalogId = input.catalog ? await c.catalogId(input.catalog) : null;
      return c.tx(async (db): Promise<RepoScanOutcome> => {
        for (const fp of order) await db.query("SELECT pg_advisory_xact_lock(hashtextextended('keyloop-secret:' || $1, 0))", [fp]);
        const repoId = await c.repoId(repo, db);
        const now = c.now();
        const { newSecrets, newLocations } = await recordFindings(c, db, runId, repoId, sealed, keyId, now);
        const { blobsScanned, blobsSkipped } = await markBlobs(c, db, runId, repoId, catalogId, blobs);
        await c.q(
          'UPDATE repos SET last_scanned_at = $1, last_error = NULL, head_commit = coalesce($2, head_commit), pushed_at = coalesce($3, pushed_at) WHERE id = $4',
          [now, input.headCommit ?? null, input.pushedAt ?? null, repoId],
          db,
        );
        if (input.wholeHistory && catalogId !== null) await c.q('UPDATE repos SET catalog_id = $1 WHERE id = $2', [catalogId, repoId], db);
        if (runId !== null) await addRunRepo(c, db, runId, repoId, now, input, blobsScanned, blobsSkipped);
        return { newSecrets, newLocations, blobsScanned, blobsSkipped };
      });
    },

    async recordRepoFailure(runId, repo, error, elapsedMs = 0) {
      await c.tx(async (db) => {
        const repoId = await c.repoId(repo, db);
        await c.q('UPDATE repos SET last_error = $1 WHERE id = $2', [error, repoId], db);
        if (runId !== null) {
          await c.q(
            `INSERT INTO run_repos (run_id, repo_id, status, finished_at, elapsed_ms, error) VALUES ($1, $2, 'failed', $3, $4, $5)
             ON CONFLICT (run_id, repo_id) DO UPDATE SET status = 'failed', finished_at = excluded.finished_at,
               elapsed_ms = excluded.elapsed_ms, error = excluded.error`,
            [runId, repoId, c.now(), Math.round(elapsedMs), error],
            db,
          );
        }
      });
    },
  };
}

/** A repo scan's findings: secrets (new or with raised confidence), their locations, a 'detected' event per secret new to the repo; inside a transaction. */
async function recordFindings(c: PgContext, db: pg.PoolClient, runId: number | null, repoId: number, sealed: SealedFinding[], keyId: string, now: string): Promise<AddedFindings> {
  let newSecrets = 0;
  let newLocations = 0;
  for (const { f, enc } of sealed) {
    const { id: secretId, created } = await ensureSecret(c, db, f, enc, keyId, now);
    if (created) newSecrets++;
    const hadRepo = !!(await c.one('SELECT 1 FROM locations WHERE secret_id = $1 AND repo_id = $2 LIMIT 1', [secretId, repoId], db));
    const added = await insertLocations(c, db, f, secretId, repoId, runId, now);
    newLocations += added;
    if (!hadRepo && added > 0) await c.insertEvent({ kind: 'detected', runId: runId ?? undefined, detail: detectedDetail(created, added) }, secretId, repoId, null, now, db);
  }
  return { newSecrets, newLocations };
}

/** Records the blobs looked at under `catalogId`, in chunks; counts those newly recorded, scanned and skipped. */
async function markBlobs(c: PgContext, db: pg.PoolClient, runId: number | null, repoId: number, catalogId: number | null, blobs: BlobToMark[]): Promise<MarkedBlobs> {
  let blobsScanned = 0;
  let blobsSkipped = 0;
  for (let i = 0; i < blobs.length; i += CHUNK) {
    const part = blobs.slice(i, i + CHUNK);
    // As SQLite: a blob already recorded under this catalog is left as it is; under another (or none), recorded again.
    const rows = await c.q<{ outcome: string }>(
      `INSERT INTO scanned_blobs (repo_id, oid, outcome, run_id, catalog_id)
       SELECT $1, u.oid, u.outcome, $4, $5::bigint FROM unnest($2::text[], $3::text[]) AS u(oid, outcome)
       ON CONFLICT (repo_id, oid) DO UPDATE SET outcome = excluded.outcome, run_id = excluded.run_id, catalog_id = excluded.catalog_id
       WHERE scanned_blobs.catalog_id IS DISTINCT FROM excluded.catalog_id
       RETURNING outcome`,
      [repoId, part.map((b) => b[0]), part.map((b) => b[1]), runId, catalogId],
      db,
    );
    for (const r of rows) if (r.outcome === 'scanned') blobsScanned++;
    else blobsSkipped++;
  }
  return { blobsScanned, blobsSkipped };
}

/** The secret's id; `created` when this transaction inserted it (a concurrent writer's insert is waited for). */
async function ensureSecret(c: PgContext, db: pg.PoolClient, f: FindingInput, enc: Buffer, keyId: string, now: string): Promise<{ id: number; created: boolean }> {
  const found = await c.one<{ id: number; confidence: Confidence }>('SELECT id, confidence FROM secrets WHERE fingerprint = $1', [f.fingerprint], db);
  if (found) {
    const raised = raisedConfidence(found.confidence, f.confidence);
    if (raised) await c.q('UPDATE secrets SET confidence = $1 WHERE id = $2', [raised, found.id], db);
    return { id: found.id, created: false };
  }
  const ins = await c.one<{ id: number }>(
    `INSERT INTO secrets (fingerprint, detector, name, provider, severity, redacted, secret_enc, key_id, detected_at, confidence)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (fingerprint) DO NOTHING RETURNING id`,
    [f.fingerprint, f.detector, f.name, f.provider, f.severity, f.redacted, enc, keyId, now, f.confidence ?? 'medium'],
    db,
  );
  if (ins) return { id: ins.id, created: true };
  // Unreachable while the per-fingerprint advisory lock is held; kept so a caller without it stays correct.
  return ensureSecret(c, db, f, enc, keyId, now);
}

/** The finding's locations not recorded yet; returns how many were added. */
async function insertLocations(c: PgContext, db: pg.PoolClient, f: FindingInput, secretId: number, repoId: number, runId: number | null, now: string): Promise<number> {
  const ls = f.locations;
  if (ls.length === 0) return 0;
  const rows = await c.q(
    `INSERT INTO locations (secret_id, repo_id, blob, commit_oid, path, line, col, author_name, author_email, authored_at, decoded, run_id, found_at)
     SELECT $1, $2, u.blob, u.commit_oid, u.path, u.line, u.col, u.author_name, u.author_email, u.authored_at, u.decoded, $12, $13
     FROM unnest($3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::text[], $9::text[], $10::text[], $11::jsonb[])
       AS u(blob, commit_oid, path, line, col, author_name, author_email, authored_at, decoded)
     ON CONFLICT (secret_id, repo_id, blob, commit_oid, path, line, col) DO NOTHING RETURNING 1`,
    [
      secretId,
      repoId,
      ls.map((l) => l.blob ?? ''),
      ls.map((l) => l.commit ?? ''),
      ls.map((l) => l.path),
      ls.map((l) => l.line),
      ls.map((l) => l.column),
      ls.map((l) => l.author?.name ?? null),
      ls.map((l) => l.author?.email ?? null),
      ls.map((l) => l.date),
      ls.map((l) => (l.decoded?.length ? JSON.stringify(l.decoded) : null)),
      runId,
      now,
    ],
    db,
  );
  return rows.length;
}

/** The run's per-repo row for a finished scan; a later batch of the same repo adds to its counters. */
async function addRunRepo(c: PgContext, db: pg.PoolClient, runId: number, repoId: number, now: string, input: RepoScanInput, blobsScanned: number, blobsSkipped: number): Promise<void> {
  await c.q(
    `INSERT INTO run_repos (run_id, repo_id, status, finished_at, elapsed_ms, blobs_scanned, blobs_skipped, bytes_scanned, findings,
       suppressed_by_repo_config, error)
     VALUES ($1, $2, 'done', $3, $4, $5, $6, $7, $8, $9, NULL)
     ON CONFLICT (run_id, repo_id) DO UPDATE SET status = 'done', finished_at = excluded.finished_at,
       elapsed_ms = run_repos.elapsed_ms + excluded.elapsed_ms, blobs_scanned = run_repos.blobs_scanned + excluded.blobs_scanned,
       blobs_skipped = run_repos.blobs_skipped + excluded.blobs_skipped, bytes_scanned = run_repos.bytes_scanned + excluded.bytes_scanned,
       findings = run_repos.findings + excluded.findings,
       suppressed_by_repo_config = run_repos.suppressed_by_repo_config + excluded.suppressed_by_repo_config, error = NULL`,
    runRepoValues(runId, repoId, now, input, blobsScanned, blobsSkipped),
    db,
  );
}

/** Sets a run's end and its counters, the sums over its per-repo rows (so a resumed run counts every part). */
export async function closeRun(c: PgContext, db: pg.PoolClient, runId: number, status: Exclude<RunStatus, 'running'>, error?: string): Promise<void> {
  await c.q(
    `UPDATE scan_runs SET status = $1, finished_at = $2, error = $3,
       repos_done = s.done, repos_failed = s.failed, blobs_scanned = s.bs, blobs_skipped = s.bk, bytes_scanned = s.by,
       findings = s.f, new_secrets = (SELECT count(*) FROM events WHERE run_id = $4 AND kind = 'detected' AND detail ->> 'first' = '1'),
       suppressed_by_repo_config = s.rc
     FROM (SELECT count(*) FILTER (WHERE status = 'done') AS done, count(*) FILTER (WHERE status = 'failed') AS failed,
             coalesce(sum(blobs_scanned), 0) AS bs, coalesce(sum(blobs_skipped), 0) AS bk,
             coalesce(sum(bytes_scanned), 0) AS by, coalesce(sum(findings), 0) AS f,
             coalesce(sum(suppressed_by_repo_config), 0) AS rc FROM run_repos WHERE run_id = $4) s
     WHERE id = $4`,
    [status, c.now(), error ?? null, runId],
    db,
  );
}
