// SQLite RunsStore: runs (begin/resume/finish), per-repo outcomes, scanned blobs, and recording a repo's scan.
import { hostname } from 'node:os';
import type { Confidence } from '../../core/model.js';
import type { FindingInput, RepoConfigSuppression, RepoScanInput, RepoScanOutcome, RunHandle, RunsStore, RunStatus } from '../../core/store.js';
import type { AddedFindings, BlobToMark, LastRun, MarkedBlobs, RepoScans, Row, RunRecords, SealedFinding } from '../rows.js';
import { blobsToMark, detectedDetail, raisedConfidence, refuseHeldRun, REPO_CONFIG_SUPPRESSIONS, runRepoValues, toRun, toRunRepo } from '../rows.js';
import type { SqliteContext } from './context.js';

export function sqliteRuns(c: SqliteContext): RunsStore {
  return { ...runRecords(c), ...repoScans(c) };
}

/** Runs: begin or resume, totals, close, and reading them back with their per-repo rows. */
function runRecords(c: SqliteContext): RunRecords {
  const getRun = async (id: number) => {
    const r = c.q('SELECT * FROM scan_runs WHERE id = ?').get(id) as Row | undefined;
    return r ? toRun(r) : undefined;
  };
  return {
    async beginRun(kind, target) {
      return c.tx((): RunHandle => {
        const last = c.q('SELECT id, status, pid, host, options FROM scan_runs WHERE kind = ? AND target = ? ORDER BY id DESC LIMIT 1').get(kind, target) as
          | LastRun
          | undefined;
        refuseHeldRun(kind, target, last, hostname());
        if (last && (last.status === 'running' || last.status === 'interrupted')) {
          c.q("UPDATE scan_runs SET status = 'running', pid = ?, host = ?, resumes = resumes + 1, finished_at = NULL WHERE id = ?").run(process.pid, hostname(), last.id);
          const done = c
            .q(`SELECT r.full_name FROM run_repos rr JOIN repos r ON r.id = rr.repo_id WHERE rr.run_id = ? AND rr.status = 'done'`)
            .pluck()
            .all(last.id) as string[];
          return { id: last.id, resumed: true, finishedRepos: new Set(done) };
        }
        const info = c
          .q("INSERT INTO scan_runs (kind, target, started_at, status, pid, host) VALUES (?, ?, ?, 'running', ?, ?)")
          .run(kind, target, c.now(), process.pid, hostname());
        return { id: Number(info.lastInsertRowid), resumed: false, finishedRepos: new Set() };
      });
    },

    async setRunTotal(runId, reposTotal) {
      c.q('UPDATE scan_runs SET repos_total = ? WHERE id = ?').run(reposTotal, runId);
    },

    async finishRun(runId, status, error) {
      c.tx(() => closeRun(c, runId, status, error));
      return (await getRun(runId))!;
    },

    getRun,

    async listRuns(limit = 50) {
      return (c.q('SELECT * FROM scan_runs ORDER BY id DESC LIMIT ?').all(limit) as Row[]).map(toRun);
    },

    async runRepos(runId) {
      const rows = c.q(`SELECT r.full_name AS repo, rr.* FROM run_repos rr JOIN repos r ON r.id = rr.repo_id WHERE rr.run_id = ? ORDER BY r.full_name`).all(runId) as Row[];
      return rows.map(toRunRepo);
    },

    async repoConfigSuppressions() {
      return c.q(REPO_CONFIG_SUPPRESSIONS).all() as RepoConfigSuppression[];
    },
  };
}

/** Recording what one repo's scan found (or that it failed), and the blobs it looked at. */
function repoScans(c: SqliteContext): RepoScans {
  return {
    async scannedBlobs(repo, catalog) {
      const id = c.q('SELECT id FROM repos WHERE full_name = ?').get(repo) as { id: number } | undefined;
      const version = c.q('SELECT id FROM catalog_versions WHERE version = ?').get(catalog) as { id: number } | undefined;
      if (!id || !version) return new Set();
      return new Set(c.q('SELECT oid FROM scanned_blobs WHERE repo_id = ? AND catalog_id = ?').pluck().all(id.id, version.id) as string[]);
    },

    // One transaction: a process killed before the commit leaves nothing behind, so a rerun rescans those blobs.
    async recordRepoScan(runId, repo, input) {
      // Seal outside the transaction: the key may be created on first use (file I/O).
      const { keyId, sealed } = await c.sealer.sealFindings(input.findings);
      const blobs = blobsToMark(input);
      return c.tx((): RepoScanOutcome => {
        const catalogId = input.catalog ? c.catalogId(input.catalog) : null;
        const repoId = c.repoId(repo);
        const now = c.now();
        const { newSecrets, newLocations } = recordFindings(c, runId, repoId, sealed, keyId, now);
        const { blobsScanned, blobsSkipped } = markBlobs(c, runId, repoId, catalogId, blobs);
        c.q(
          'UPDATE repos SET last_scanned_at = ?, last_error = NULL, head_commit = coalesce(?, head_commit), pushed_at = coalesce(?, pushed_at) WHERE id = ?',
        ).run(now, input.headCommit ?? null, input.pushedAt ?? null, repoId);
        if (input.wholeHistory && catalogId !== null) c.q('UPDATE repos SET catalog_id = ? WHERE id = ?').run(catalogId, repoId);
        if (runId !== null) addRunRepo(c, runId, repoId, now, input, blobsScanned, blobsSkipped);
        return { newSecrets, newLocations, blobsScanned, blobsSkipped };
      });
    },

    async recordRepoFailure(runId, repo, error, elapsedMs = 0) {
      c.tx(() => {
        const repoId = c.repoId(repo);
        c.q('UPDATE repos SET last_error = ? WHERE id = ?').run(error, repoId);
        if (runId !== null) {
          c.q(
            `INSERT INTO run_repos (run_id, repo_id, status, finished_at, elapsed_ms, error) VALUES (?, ?, 'failed', ?, ?, ?)
             ON CONFLICT (run_id, repo_id) DO UPDATE SET status = 'failed', finished_at = excluded.finished_at,
               elapsed_ms = excluded.elapsed_ms, error = excluded.error`,
          ).run(runId, repoId, c.now(), Math.round(elapsedMs), error);
        }
      });
    },
  };
}

/** A repo scan's findings: secrets (new or with raised confidence), their locations, a 'detected' event per secret new to the repo; inside a transaction. */
function recordFindings(c: SqliteContext, runId: number | null, repoId: number, sealed: SealedFinding[], keyId: string, now: string): AddedFindings {
  let newSecrets = 0;
  let newLocations = 0;
  for (const { f, enc } of sealed) {
    const { id: secretId, created } = ensureSecret(c, f, enc, keyId, now);
    if (created) newSecrets++;
    const hadRepo = !!c.q('SELECT 1 FROM locations WHERE secret_id = ? AND repo_id = ? LIMIT 1').get(secretId, repoId);
    const added = insertLocations(c, f, secretId, repoId, runId, now);
    newLocations += added;
    if (!hadRepo && added > 0) c.insertEvent({ kind: 'detected', runId: runId ?? undefined, detail: detectedDetail(created, added) }, secretId, repoId, null, now);
  }
  return { newSecrets, newLocations };
}

/** The secret's id; `created` when this call inserted it. */
function ensureSecret(c: SqliteContext, f: FindingInput, enc: Buffer, keyId: string, now: string): { id: number; created: boolean } {
  const existing = c.q('SELECT id, confidence FROM secrets WHERE fingerprint = ?').get(f.fingerprint) as { id: number; confidence: Confidence } | undefined;
  if (existing) {
    const raised = raisedConfidence(existing.confidence, f.confidence);
    if (raised) c.q('UPDATE secrets SET confidence = ? WHERE id = ?').run(raised, existing.id);
    return { id: existing.id, created: false };
  }
  const id = Number(
    c
      .q(
        `INSERT INTO secrets (fingerprint, detector, name, provider, severity, redacted, secret_enc, key_id, detected_at, confidence)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(f.fingerprint, f.detector, f.name, f.provider, f.severity, f.redacted, enc, keyId, now, f.confidence ?? 'medium').lastInsertRowid,
  );
  return { id, created: true };
}

/** The finding's locations not recorded yet; returns how many were added. */
function insertLocations(c: SqliteContext, f: FindingInput, secretId: number, repoId: number, runId: number | null, now: string): number {
  let added = 0;
  for (const l of f.locations) {
    const info = c
      .q(
        `INSERT INTO locations (secret_id, repo_id, blob, commit_oid, path, line, col, author_name, author_email,
           authored_at, decoded, run_id, found_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (secret_id, repo_id, blob, commit_oid, path, line, col) DO NOTHING`,
      )
      .run(
        secretId,
        repoId,
        l.blob ?? '',
        l.commit ?? '',
        l.path,
        l.line,
        l.column,
        l.author?.name ?? null,
        l.author?.email ?? null,
        l.date,
        l.decoded?.length ? JSON.stringify(l.decoded) : null,
        runId,
        now,
      );
    added += info.changes;
  }
  return added;
}

/** Records the blobs looked at under `catalogId`; counts those newly recorded, scanned and skipped. */
function markBlobs(c: SqliteContext, runId: number | null, repoId: number, catalogId: number | null, blobs: BlobToMark[]): MarkedBlobs {
  let blobsScanned = 0;
  let blobsSkipped = 0;
  // A blob already recorded under this catalog is left as it is; under another (or none), recorded again.
  const mark = c.q(
    `INSERT INTO scanned_blobs (repo_id, oid, outcome, run_id, catalog_id) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (repo_id, oid) DO UPDATE SET outcome = excluded.outcome, run_id = excluded.run_id, catalog_id = excluded.catalog_id
     WHERE scanned_blobs.catalog_id IS NOT excluded.catalog_id`,
  );
  for (const [oid, outcome] of blobs) {
    if (mark.run(repoId, oid, outcome, runId, catalogId).changes === 0) continue;
    if (outcome === 'scanned') blobsScanned++;
    else blobsSkipped++;
  }
  return { blobsScanned, blobsSkipped };
}

/** The run's per-repo row for a finished scan; a later batch of the same repo adds to its counters. */
function addRunRepo(c: SqliteContext, runId: number, repoId: number, now: string, input: RepoScanInput, blobsScanned: number, blobsSkipped: number): void {
  c.q(
    `INSERT INTO run_repos (run_id, repo_id, status, finished_at, elapsed_ms, blobs_scanned, blobs_skipped, bytes_scanned, findings,
       suppressed_by_repo_config, error)
     VALUES (?, ?, 'done', ?, ?, ?, ?, ?, ?, ?, NULL)
     ON CONFLICT (run_id, repo_id) DO UPDATE SET status = 'done', finished_at = excluded.finished_at,
       elapsed_ms = elapsed_ms + excluded.elapsed_ms, blobs_scanned = blobs_scanned + excluded.blobs_scanned,
       blobs_skipped = blobs_skipped + excluded.blobs_skipped, bytes_scanned = bytes_scanned + excluded.bytes_scanned,
       findings = findings + excluded.findings,
       suppressed_by_repo_config = suppressed_by_repo_config + excluded.suppressed_by_repo_config, error = NULL`,
  ).run(...runRepoValues(runId, repoId, now, input, blobsScanned, blobsSkipped));
}

/** Sets a run's end and its counters, the sums over its per-repo rows (so a resumed run counts every part); inside a transaction. */
export function closeRun(c: SqliteContext, runId: number, status: Exclude<RunStatus, 'running'>, error?: string): void {
  const s = c
    .q(
      `SELECT count(*) FILTER (WHERE status = 'done') AS done, count(*) FILTER (WHERE status = 'failed') AS failed,
         coalesce(sum(blobs_scanned), 0) AS bs, coalesce(sum(blobs_skipped), 0) AS bk,
         coalesce(sum(bytes_scanned), 0) AS by, coalesce(sum(findings), 0) AS f,
         coalesce(sum(suppressed_by_repo_config), 0) AS rc FROM run_repos WHERE run_id = ?`,
    )
    .get(runId) as { done: number; failed: number; bs: number; bk: number; by: number; f: number; rc: number };
  const newSecrets = c.q("SELECT count(*) FROM events WHERE run_id = ? AND kind = 'detected' AND detail ->> 'first' = 1").pluck().get(runId) as number;
  c.q(
    `UPDATE scan_runs SET status = ?, finished_at = ?, error = ?, repos_done = ?, repos_failed = ?, blobs_scanned = ?,
       blobs_skipped = ?, bytes_scanned = ?, findings = ?, new_secrets = ?, suppressed_by_repo_config = ? WHERE id = ?`,
  ).run(status, c.now(), error ?? null, s.done, s.failed, s.bs, s.bk, s.by, s.f, newSecrets, s.rc, runId);
}
