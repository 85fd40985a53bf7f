// The SQLite store (better-sqlite3, WAL): the only module that speaks SQL. Secrets are sealed with AES-256-GCM.
import { ensurePrivateFile, mkdirPrivateSync, narrow } from '../util/private-fs.js';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { systemClock, type Clock, type VerificationCache } from '../core/ports.js';
import { ConfigError, InternalError } from '../core/errors.js';
import { maxConfidence, type Confidence, type Verification } from '../core/model.js';
import { loadMigrations, migrate } from './migrate.js';
import { keyId, open as unseal, seal } from './secret-key.js';
import type {
  EventInput,
  EventRow,
  FindingInput,
  IssueInput,
  IssueRow,
  LocationRow,
  OwnerRow,
  OwnerSource,
  RepoInput,
  RepoRow,
  RepoScanInput,
  RepoScanOutcome,
  RunHandle,
  RunKind,
  RunRepoRow,
  RunRow,
  RunStatus,
  SecretRow,
  SecretStatus,
  SecretSummary,
  VerificationRow,
} from './types.js';

export interface OpenStoreOptions {
  /** The at-rest key, or a function producing it (called only when a secret is first written or read). */
  key?: Buffer | (() => Buffer);
  clock?: Clock;
  /** Override the migrations directory (tests, bundles). */
  migrationsDir?: string;
  readonly?: boolean;
}

type Row = Record<string, unknown>;
const b = (v: unknown) => v === 1 || v === 1n;
const json = <T>(v: unknown, fallback: T): T => (typeof v === 'string' ? (JSON.parse(v) as T) : fallback);

/** Opens (creating if needed) and migrates the database at `path`. */
export function openStore(path: string, opts: OpenStoreOptions = {}): Store {
  const onDisk = path !== ':memory:' && !opts.readonly;
  if (onDisk) {
    // the database holds author e-mails, paths and previews (secrets encrypted): 0600, and SQLite gives its
    // -wal and -shm files the mode of the database file
    mkdirPrivateSync(dirname(path));
    ensurePrivateFile(path);
  }
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  } catch (err) {
    throw new ConfigError(`cannot open database ${path}: ${(err as Error).message}`, '--db');
  }
  db.pragma('busy_timeout = 10000');
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    // NORMAL under WAL: a committed transaction survives a process kill; only an OS crash may lose the last ones.
    db.pragma('synchronous = NORMAL');
  }
  if (onDisk) for (const side of ['-wal', '-shm']) narrow(path + side);
  db.pragma('foreign_keys = ON');
  if (!opts.readonly) migrate(db, loadMigrations(opts.migrationsDir));
  return new Store(db, opts);
}

export class Store {
  private readonly clock: Clock;
  private keyCache: Buffer | null = null;
  private readonly stmts = new Map<string, Database.Statement>();

  constructor(
    readonly db: Database.Database,
    private readonly opts: OpenStoreOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
  }

  close(): void {
    this.db.close();
  }

  private now(): string {
    return this.clock.now().toISOString();
  }

  private q(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  private key(): Buffer {
    if (this.keyCache) return this.keyCache;
    const k = typeof this.opts.key === 'function' ? this.opts.key() : this.opts.key;
    if (!k) throw new ConfigError('this command needs the store key: set KEYLOOP_KEY or --key-file');
    const id = keyId(k);
    const stored = this.q("SELECT value FROM meta WHERE key = 'key_id'").get() as { value: string } | undefined;
    if (!stored) this.q("INSERT INTO meta (key, value) VALUES ('key_id', ?)").run(id);
    else if (stored.value !== id) {
      throw new ConfigError(`the store key does not match the one this database was written with (key id ${stored.value}, got ${id})`, '--key-file');
    }
    this.keyCache = k;
    return k;
  }

  // ---- repos ----------------------------------------------------------------------------------------------

  /** Inserts or refreshes a repo's metadata; returns its id. Fields left undefined keep their stored value. */
  upsertRepo(r: RepoInput): number {
    const existing = this.q('SELECT id FROM repos WHERE full_name = ?').get(r.fullName) as { id: number } | undefined;
    const flag = (v: boolean | undefined) => (v === undefined ? null : v ? 1 : 0);
    if (!existing) {
      const info = this.q(
        `INSERT INTO repos (full_name, default_branch, clone_url, fork, archived, private, mirror_path)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(r.fullName, r.defaultBranch ?? null, r.cloneUrl ?? null, flag(r.fork) ?? 0, flag(r.archived) ?? 0, flag(r.private) ?? 0, r.mirrorPath ?? null);
      return Number(info.lastInsertRowid);
    }
    this.q(
      `UPDATE repos SET default_branch = coalesce(?, default_branch), clone_url = coalesce(?, clone_url),
         fork = coalesce(?, fork), archived = coalesce(?, archived), private = coalesce(?, private),
         mirror_path = coalesce(?, mirror_path) WHERE id = ?`,
    ).run(r.defaultBranch ?? null, r.cloneUrl ?? null, flag(r.fork), flag(r.archived), flag(r.private), r.mirrorPath ?? null, existing.id);
    return existing.id;
  }

  getRepo(fullName: string): RepoRow | undefined {
    const row = this.q('SELECT * FROM repos WHERE full_name = ?').get(fullName) as Row | undefined;
    return row ? toRepo(row) : undefined;
  }

  listRepos(): RepoRow[] {
    return (this.q('SELECT * FROM repos ORDER BY full_name').all() as Row[]).map(toRepo);
  }

  private repoId(fullName: string): number {
    const row = this.q('SELECT id FROM repos WHERE full_name = ?').get(fullName) as { id: number } | undefined;
    return row ? row.id : this.upsertRepo({ fullName });
  }

  // ---- runs -----------------------------------------------------------------------------------------------

  /**
   * Starts a run, or resumes the latest run for the same (kind, target) if it never finished (killed or
   * interrupted). A run still held by a live process on this host is refused.
   */
  beginRun(kind: RunKind, target: string): RunHandle {
    return this.db
      .transaction((): RunHandle => {
        const last = this.q('SELECT id, status, pid, host FROM scan_runs WHERE kind = ? AND target = ? ORDER BY id DESC LIMIT 1').get(kind, target) as
          | { id: number; status: RunStatus; pid: number | null; host: string | null }
          | undefined;
        if (last && (last.status === 'running' || last.status === 'interrupted')) {
          if (last.status === 'running' && last.host === hostname() && last.pid && last.pid !== process.pid && pidAlive(last.pid)) {
            throw new ConfigError(`another keyloop ${kind} run for ${target} is in progress (pid ${last.pid})`);
          }
          this.q("UPDATE scan_runs SET status = 'running', pid = ?, host = ?, resumes = resumes + 1, finished_at = NULL WHERE id = ?").run(
            process.pid,
            hostname(),
            last.id,
          );
          const done = this.q(
            `SELECT r.full_name AS name FROM run_repos rr JOIN repos r ON r.id = rr.repo_id WHERE rr.run_id = ? AND rr.status = 'done'`,
          ).all(last.id) as { name: string }[];
          return { id: last.id, resumed: true, finishedRepos: new Set(done.map((d) => d.name)) };
        }
        const info = this.q("INSERT INTO scan_runs (kind, target, started_at, status, pid, host) VALUES (?, ?, ?, 'running', ?, ?)").run(
          kind,
          target,
          this.now(),
          process.pid,
          hostname(),
        );
        return { id: Number(info.lastInsertRowid), resumed: false, finishedRepos: new Set() };
      })
      .immediate();
  }

  setRunTotal(runId: number, reposTotal: number): void {
    this.q('UPDATE scan_runs SET repos_total = ? WHERE id = ?').run(reposTotal, runId);
  }

  /** Closes a run; its counters are the sums over its per-repo rows (so a resumed run counts every part). */
  finishRun(runId: number, status: Exclude<RunStatus, 'running'>, error?: string): RunRow {
    this.db
      .transaction(() => {
        const s = this.q(
          `SELECT count(*) FILTER (WHERE status = 'done') AS done, count(*) FILTER (WHERE status = 'failed') AS failed,
             coalesce(sum(blobs_scanned), 0) AS bs, coalesce(sum(blobs_skipped), 0) AS bk,
             coalesce(sum(bytes_scanned), 0) AS by, coalesce(sum(findings), 0) AS f,
             coalesce(sum(suppressed_by_repo_config), 0) AS rc FROM run_repos WHERE run_id = ?`,
        ).get(runId) as { done: number; failed: number; bs: number; bk: number; by: number; f: number; rc: number };
        const newSecrets = (this.q("SELECT count(*) AS n FROM events WHERE run_id = ? AND kind = 'detected' AND detail ->> 'first' = 1").get(runId) as { n: number }).n;
        this.q(
          `UPDATE scan_runs SET status = ?, finished_at = ?, error = ?, repos_done = ?, repos_failed = ?, blobs_scanned = ?,
             blobs_skipped = ?, bytes_scanned = ?, findings = ?, new_secrets = ?, suppressed_by_repo_config = ? WHERE id = ?`,
        ).run(status, this.now(), error ?? null, s.done, s.failed, s.bs, s.bk, s.by, s.f, newSecrets, s.rc, runId);
      })
      .immediate();
    return this.getRun(runId)!;
  }

  getRun(id: number): RunRow | undefined {
    const r = this.q('SELECT * FROM scan_runs WHERE id = ?').get(id) as Row | undefined;
    return r ? toRun(r) : undefined;
  }

  listRuns(limit = 50): RunRow[] {
    return (this.q('SELECT * FROM scan_runs ORDER BY id DESC LIMIT ?').all(limit) as Row[]).map(toRun);
  }

  /** Per repository: findings its own .keyloop.yaml dropped, over every run, and when that last happened. */
  repoConfigSuppressions(): { repo: string; suppressed: number; runs: number; lastAt: string }[] {
    return this.q(
      `SELECT r.full_name AS repo, sum(rr.suppressed_by_repo_config) AS suppressed, count(*) AS runs, max(rr.finished_at) AS lastAt
       FROM run_repos rr JOIN repos r ON r.id = rr.repo_id WHERE rr.suppressed_by_repo_config > 0 GROUP BY r.full_name ORDER BY 2 DESC, 1`,
    ).all() as { repo: string; suppressed: number; runs: number; lastAt: string }[];
  }

  runRepos(runId: number): RunRepoRow[] {
    return (
      this.q(
        `SELECT r.full_name AS repo, rr.* FROM run_repos rr JOIN repos r ON r.id = rr.repo_id WHERE rr.run_id = ? ORDER BY r.full_name`,
      ).all(runId) as Row[]
    ).map((r) => ({
      repo: r.repo as string,
      status: r.status as 'done' | 'failed',
      elapsedMs: r.elapsed_ms as number,
      blobsScanned: r.blobs_scanned as number,
      blobsSkipped: r.blobs_skipped as number,
      bytesScanned: r.bytes_scanned as number,
      findings: r.findings as number,
      suppressedByRepoConfig: r.suppressed_by_repo_config as number,
      error: (r.error as string | null) ?? null,
    }));
  }

  // ---- scanning -------------------------------------------------------------------------------------------

  /** Blob oids already looked at in this repo: the pipeline's skipBlob. */
  scannedBlobs(repo: string): Set<string> {
    const id = this.q('SELECT id FROM repos WHERE full_name = ?').get(repo) as { id: number } | undefined;
    if (!id) return new Set();
    const rows = this.q('SELECT oid FROM scanned_blobs WHERE repo_id = ?').pluck().all(id.id) as string[];
    return new Set(rows);
  }

  /**
   * Records one repo's scan (or one batch of it; per-run counters add up) in ONE transaction: findings, their
   * locations, and the blobs that produced them. A process killed before the commit leaves nothing behind, so a
   * rerun rescans exactly those blobs.
   */
  recordRepoScan(runId: number | null, repo: string, input: RepoScanInput): RepoScanOutcome {
    // Encrypt outside the transaction: the key may be created on first use (file I/O).
    const sealed = input.findings.map((f) => ({ f, enc: this.sealSecret(f) }));
    const keyIdValue = sealed.length ? keyId(this.key()) : '';
    return this.db
      .transaction((): RepoScanOutcome => {
        const repoId = this.repoId(repo);
        const now = this.now();
        let newSecrets = 0;
        let newLocations = 0;
        for (const { f, enc } of sealed) {
          const { secretId, created } = this.ensureSecret(f, enc, keyIdValue, now);
          if (created) newSecrets++;
          const hadRepo = !!this.q('SELECT 1 FROM locations WHERE secret_id = ? AND repo_id = ? LIMIT 1').get(secretId, repoId);
          let added = 0;
          for (const l of f.locations) {
            const info = this.q(
              `INSERT INTO locations (secret_id, repo_id, blob, commit_oid, path, line, col, author_name, author_email,
                 authored_at, decoded, run_id, found_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (secret_id, repo_id, blob, commit_oid, path, line, col) DO NOTHING`,
            ).run(
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
          newLocations += added;
          if (!hadRepo && added > 0) {
            this.insertEvent({ kind: 'detected', runId: runId ?? undefined, detail: { first: created ? 1 : 0, locations: added } }, secretId, repoId, null, now);
          }
        }
        let blobsScanned = 0;
        let blobsSkipped = 0;
        const mark = this.q('INSERT INTO scanned_blobs (repo_id, oid, outcome, run_id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING');
        for (const [oid, outcome] of input.blobs) {
          if (mark.run(repoId, oid, outcome, runId).changes === 0) continue;
          if (outcome === 'scanned') blobsScanned++;
          else blobsSkipped++;
        }
        this.q(
          'UPDATE repos SET last_scanned_at = ?, last_error = NULL, head_commit = coalesce(?, head_commit), pushed_at = coalesce(?, pushed_at) WHERE id = ?',
        ).run(now, input.headCommit ?? null, input.pushedAt ?? null, repoId);
        if (runId !== null) {
          this.q(
            `INSERT INTO run_repos (run_id, repo_id, status, finished_at, elapsed_ms, blobs_scanned, blobs_skipped, bytes_scanned, findings,
               suppressed_by_repo_config, error)
             VALUES (?, ?, 'done', ?, ?, ?, ?, ?, ?, ?, NULL)
             ON CONFLICT (run_id, repo_id) DO UPDATE SET status = 'done', finished_at = excluded.finished_at,
               elapsed_ms = elapsed_ms + excluded.elapsed_ms, blobs_scanned = blobs_scanned + excluded.blobs_scanned,
               blobs_skipped = blobs_skipped + excluded.blobs_skipped, bytes_scanned = bytes_scanned + excluded.bytes_scanned,
               findings = findings + excluded.findings,
               suppressed_by_repo_config = suppressed_by_repo_config + excluded.suppressed_by_repo_config, error = NULL`,
          ).run(
            runId,
            repoId,
            now,
            Math.round(input.elapsedMs ?? 0),
            blobsScanned,
            blobsSkipped,
            input.bytesScanned ?? 0,
            input.findings.length,
            input.suppressedByRepoConfig ?? 0,
          );
        }
        return { newSecrets, newLocations, blobsScanned, blobsSkipped };
      })
      .immediate();
  }

  /** A repo that could not be listed, fetched or scanned: the run goes on, the error is kept. */
  recordRepoFailure(runId: number | null, repo: string, error: string, elapsedMs = 0): void {
    this.db
      .transaction(() => {
        const repoId = this.repoId(repo);
        const now = this.now();
        this.q('UPDATE repos SET last_error = ? WHERE id = ?').run(error, repoId);
        if (runId !== null) {
          this.q(
            `INSERT INTO run_repos (run_id, repo_id, status, finished_at, elapsed_ms, error) VALUES (?, ?, 'failed', ?, ?, ?)
             ON CONFLICT (run_id, repo_id) DO UPDATE SET status = 'failed', finished_at = excluded.finished_at,
               elapsed_ms = excluded.elapsed_ms, error = excluded.error`,
          ).run(runId, repoId, now, Math.round(elapsedMs), error);
        }
      })
      .immediate();
  }

  private sealSecret(f: FindingInput): Buffer {
    const plaintext = Buffer.from(JSON.stringify({ secret: f.secret, parts: f.parts ?? {} }), 'utf8');
    try {
      return seal(this.key(), plaintext, f.fingerprint);
    } finally {
      plaintext.fill(0);
    }
  }

  private ensureSecret(f: FindingInput, enc: Buffer, kid: string, now: string): { secretId: number; created: boolean } {
    const existing = this.q('SELECT id, confidence FROM secrets WHERE fingerprint = ?').get(f.fingerprint) as { id: number; confidence: Confidence } | undefined;
    if (existing) {
      // the highest any scan gave it: new locations outside fixtures raise a fixture-only secret
      if (f.confidence && maxConfidence(existing.confidence, f.confidence) !== existing.confidence) {
        this.q('UPDATE secrets SET confidence = ? WHERE id = ?').run(f.confidence, existing.id);
      }
      return { secretId: existing.id, created: false };
    }
    const info = this.q(
      `INSERT INTO secrets (fingerprint, detector, name, provider, severity, redacted, secret_enc, key_id, detected_at, confidence)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(f.fingerprint, f.detector, f.name, f.provider, f.severity, f.redacted, enc, kid, now, f.confidence ?? 'medium');
    return { secretId: Number(info.lastInsertRowid), created: true };
  }

  // ---- secrets --------------------------------------------------------------------------------------------

  private secretId(fingerprint: string): number {
    const row = this.q('SELECT id FROM secrets WHERE fingerprint = ?').get(fingerprint) as { id: number } | undefined;
    if (!row) throw new ConfigError(`no secret with fingerprint ${fingerprint}`);
    return row.id;
  }

  getSecret(fingerprint: string): SecretRow | undefined {
    const r = this.q('SELECT * FROM secrets WHERE fingerprint = ?').get(fingerprint) as Row | undefined;
    return r ? toSecret(r) : undefined;
  }

  /** Resolves a fingerprint prefix (≥ 8 hex characters) to the one full fingerprint it names. */
  resolveFingerprint(prefix: string): string {
    const p = prefix.trim().toLowerCase();
    if (!/^[0-9a-f]{8,64}$/.test(p)) throw new ConfigError('expected a fingerprint (at least 8 hex characters)', 'FINGERPRINT');
    const rows = this.q('SELECT fingerprint FROM secrets WHERE fingerprint >= ? AND fingerprint < ? ORDER BY fingerprint LIMIT 2')
      .pluck()
      .all(p, p + 'g') as string[];
    if (rows.length === 0) throw new ConfigError(`no secret with fingerprint ${p}`, 'FINGERPRINT');
    if (rows.length > 1) throw new ConfigError(`fingerprint prefix ${p} is ambiguous; give more characters`, 'FINGERPRINT');
    return rows[0]!;
  }

  listSecrets(): SecretRow[] {
    return (this.q('SELECT * FROM secrets ORDER BY id').all() as Row[]).map(toSecret);
  }

  /** Decrypts a stored secret for re-verification. Holds plaintext: register it with the SecretRegistry. */
  revealSecret(fingerprint: string): { secret: string; parts: Record<string, string> } {
    const row = this.q('SELECT secret_enc FROM secrets WHERE fingerprint = ?').get(fingerprint) as { secret_enc: Buffer } | undefined;
    if (!row) throw new ConfigError(`no secret with fingerprint ${fingerprint}`);
    const plain = unseal(this.key(), row.secret_enc, fingerprint);
    try {
      const v = JSON.parse(plain.toString('utf8')) as { secret: string; parts: Record<string, string> };
      return { secret: v.secret, parts: v.parts ?? {} };
    } finally {
      plain.fill(0);
    }
  }

  setSecretStatus(fingerprint: string, status: SecretStatus, detail?: Record<string, unknown>): void {
    this.db
      .transaction(() => {
        const id = this.secretId(fingerprint);
        const before = (this.q('SELECT status FROM secrets WHERE id = ?').get(id) as { status: SecretStatus }).status;
        if (before === status) return;
        this.q('UPDATE secrets SET status = ? WHERE id = ?').run(status, id);
        const kind =
          status === 'false-positive' ? 'marked-false-positive' : before === 'false-positive' ? 'unmarked-false-positive' : status === 'revoked' ? 'revoked' : 'status-changed';
        this.insertEvent({ kind, detail: { from: before, to: status, ...detail } }, id, null, null, this.now());
      })
      .immediate();
  }

  // ---- verifications --------------------------------------------------------------------------------------

  /** Appends a verification (history is kept) and its event. */
  addVerification(fingerprint: string, v: Verification, expiresAt?: string): void {
    this.db
      .transaction(() => {
        const id = this.secretId(fingerprint);
        this.q('INSERT INTO verifications (secret_id, status, checked_at, reason, identity, expires_at) VALUES (?, ?, ?, ?, ?, ?)').run(
          id,
          v.status,
          v.checkedAt,
          v.reason,
          v.identity ? JSON.stringify(v.identity) : null,
          expiresAt ?? null,
        );
        this.insertEvent({ kind: `verified-${v.status}`, detail: { reason: v.reason } }, id, null, null, v.checkedAt);
      })
      .immediate();
  }

  /**
   * The verifier's cache port over the verifications table: `set` appends to the history (with its event),
   * `get` serves the latest result still inside its TTL. Secrets not in the store are not cached.
   */
  verificationCache(): VerificationCache {
    return {
      get: (fp) => {
        const r = this.q(
          `SELECT v.* FROM verifications v JOIN secrets s ON s.id = v.secret_id
           WHERE s.fingerprint = ? AND v.expires_at > ? ORDER BY v.checked_at DESC, v.id DESC LIMIT 1`,
        ).get(fp, this.now()) as Row | undefined;
        if (!r) return undefined;
        const { id: _id, ...v } = toVerification(r);
        return v;
      },
      set: (fp, v, ttlMs) => {
        if (!this.getSecret(fp)) return;
        const base = Math.max(Date.parse(v.checkedAt) || 0, this.clock.now().getTime());
        this.addVerification(fp, v, new Date(base + Math.max(0, ttlMs)).toISOString());
      },
    };
  }

  /** Oldest first. */
  verifications(fingerprint: string): VerificationRow[] {
    return (
      this.q(
        `SELECT v.* FROM verifications v JOIN secrets s ON s.id = v.secret_id WHERE s.fingerprint = ? ORDER BY v.checked_at, v.id`,
      ).all(fingerprint) as Row[]
    ).map(toVerification);
  }

  latestVerification(fingerprint: string): VerificationRow | undefined {
    const r = this.q(
      `SELECT v.* FROM verifications v JOIN secrets s ON s.id = v.secret_id WHERE s.fingerprint = ? ORDER BY v.checked_at DESC, v.id DESC LIMIT 1`,
    ).get(fingerprint) as Row | undefined;
    return r ? toVerification(r) : undefined;
  }

  // ---- owners and the email → login cache -----------------------------------------------------------------

  setOwner(fingerprint: string, repo: string, login: string, source: OwnerSource): void {
    this.q(
      `INSERT INTO owners (secret_id, repo_id, login, source, decided_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (secret_id, repo_id, login) DO UPDATE SET source = excluded.source, decided_at = excluded.decided_at`,
    ).run(this.secretId(fingerprint), this.repoId(repo), login, source, this.now());
  }

  owners(fingerprint: string): OwnerRow[] {
    return (
      this.q(
        `SELECT r.full_name AS repo, o.login, o.source, o.decided_at FROM owners o JOIN secrets s ON s.id = o.secret_id
         JOIN repos r ON r.id = o.repo_id WHERE s.fingerprint = ? ORDER BY r.full_name, o.login`,
      ).all(fingerprint) as Row[]
    ).map((r) => ({ repo: r.repo as string, login: r.login as string, source: r.source as OwnerSource, decidedAt: r.decided_at as string }));
  }

  /** undefined: never asked; login null: GitHub maps the email to no account. */
  getEmailLogin(email: string): { login: string | null; checkedAt: string } | undefined {
    const r = this.q('SELECT login, checked_at FROM email_logins WHERE email = ?').get(email) as { login: string | null; checked_at: string } | undefined;
    return r ? { login: r.login, checkedAt: r.checked_at } : undefined;
  }

  setEmailLogin(email: string, login: string | null): void {
    this.q(
      `INSERT INTO email_logins (email, login, checked_at) VALUES (?, ?, ?)
       ON CONFLICT (email) DO UPDATE SET login = excluded.login, checked_at = excluded.checked_at`,
    ).run(email, login, this.now());
  }

  // ---- issues ---------------------------------------------------------------------------------------------

  /** Inserts or updates the issue (repo, number); closed_at follows state. */
  upsertIssue(i: IssueInput): IssueRow {
    return this.db
      .transaction((): IssueRow => {
        const repoId = this.repoId(i.repo);
        const secretId = this.secretId(i.fingerprint);
        const subject = i.subjectRepo ? this.repoId(i.subjectRepo) : null;
        const now = this.now();
        this.q(
          `INSERT INTO issues (repo_id, number, secret_id, subject_repo_id, state, state_reason, url, assignees, created_at, updated_at, closed_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (repo_id, number) DO UPDATE SET secret_id = excluded.secret_id,
             subject_repo_id = coalesce(excluded.subject_repo_id, subject_repo_id), state = excluded.state,
             state_reason = excluded.state_reason, url = coalesce(excluded.url, url), assignees = excluded.assignees,
             updated_at = excluded.updated_at,
             closed_at = CASE WHEN excluded.state = 'closed' THEN coalesce(closed_at, excluded.updated_at) ELSE NULL END`,
        ).run(repoId, i.number, secretId, subject, i.state, i.stateReason ?? null, i.url ?? null, JSON.stringify(i.assignees ?? []), now, now, i.state === 'closed' ? now : null);
        return this.getIssue(i.repo, i.number)!;
      })
      .immediate();
  }

  getIssue(repo: string, number: number): IssueRow | undefined {
    const r = this.q(`${ISSUE_SELECT} WHERE r.full_name = ? AND i.number = ?`).get(repo, number) as Row | undefined;
    return r ? toIssue(r) : undefined;
  }

  /** Issues about a secret, optionally only those about its leak in `subjectRepo` (or living in it). */
  issuesFor(fingerprint: string, subjectRepo?: string): IssueRow[] {
    const rows = this.q(`${ISSUE_SELECT} WHERE s.fingerprint = ? ORDER BY i.id`).all(fingerprint) as Row[];
    return rows.map(toIssue).filter((i) => !subjectRepo || (i.subjectRepo ?? i.repo) === subjectRepo);
  }

  listIssues(filter: { state?: 'open' | 'closed' } = {}): IssueRow[] {
    const rows = filter.state
      ? (this.q(`${ISSUE_SELECT} WHERE i.state = ? ORDER BY i.id`).all(filter.state) as Row[])
      : (this.q(`${ISSUE_SELECT} ORDER BY i.id`).all() as Row[]);
    return rows.map(toIssue);
  }

  // ---- events ---------------------------------------------------------------------------------------------

  addEvent(e: EventInput): void {
    const secretId = e.fingerprint ? this.secretId(e.fingerprint) : null;
    const repoId = e.repo ? this.repoId(e.repo) : null;
    let issueId: number | null = null;
    if (e.issue) {
      const row = this.q('SELECT i.id FROM issues i JOIN repos r ON r.id = i.repo_id WHERE r.full_name = ? AND i.number = ?').get(e.issue.repo, e.issue.number) as
        | { id: number }
        | undefined;
      if (!row) throw new InternalError(`event for unknown issue ${e.issue.repo}#${e.issue.number}`);
      issueId = row.id;
    }
    this.insertEvent(e, secretId, repoId, issueId, this.now());
  }

  private insertEvent(e: Pick<EventInput, 'kind' | 'runId' | 'detail'>, secretId: number | null, repoId: number | null, issueId: number | null, at: string): void {
    this.q('INSERT INTO events (at, kind, secret_id, repo_id, issue_id, run_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      at,
      e.kind,
      secretId,
      repoId,
      issueId,
      e.runId ?? null,
      e.detail ? JSON.stringify(e.detail) : null,
    );
  }

  events(filter: { fingerprint?: string; kind?: string; sinceId?: number } = {}): EventRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    const and = (clause: string, arg: unknown) => {
      where.push(clause);
      args.push(arg);
    };
    if (filter.fingerprint) and('s.fingerprint = ?', filter.fingerprint);
    if (filter.kind) and('e.kind = ?', filter.kind);
    if (filter.sinceId !== undefined) and('e.id > ?', filter.sinceId);
    const sql = `SELECT e.*, s.fingerprint, r.full_name AS repo, i.number AS issue_number FROM events e
      LEFT JOIN secrets s ON s.id = e.secret_id LEFT JOIN repos r ON r.id = e.repo_id LEFT JOIN issues i ON i.id = e.issue_id
      ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY e.id`;
    return (this.q(sql).all(...args) as Row[]).map((r) => ({
      id: r.id as number,
      at: r.at as string,
      kind: r.kind as string,
      fingerprint: (r.fingerprint as string | null) ?? null,
      repo: (r.repo as string | null) ?? null,
      issueNumber: (r.issue_number as number | null) ?? null,
      runId: (r.run_id as number | null) ?? null,
      detail: json<Record<string, unknown> | null>(r.detail, null),
    }));
  }

  // ---- queries --------------------------------------------------------------------------------------------

  /** The secrets inventory, most recently introduced first. */
  inventory(): SecretSummary[] {
    const rows = this.q(
      `SELECT s.*,
         (SELECT json_group_array(DISTINCT r.full_name) FROM locations l JOIN repos r ON r.id = l.repo_id WHERE l.secret_id = s.id) AS repos,
         (SELECT count(*) FROM locations l WHERE l.secret_id = s.id) AS n_locations,
         (SELECT min(authored_at) FROM locations l WHERE l.secret_id = s.id) AS first_seen,
         (SELECT max(authored_at) FROM locations l WHERE l.secret_id = s.id) AS last_seen,
         (SELECT json_group_array(DISTINCT o.login) FROM owners o WHERE o.secret_id = s.id) AS owners,
         (SELECT json_object('status', v.status, 'checkedAt', v.checked_at, 'reason', v.reason, 'identity', json(v.identity))
            FROM verifications v WHERE v.secret_id = s.id ORDER BY v.checked_at DESC, v.id DESC LIMIT 1) AS last_verification
       FROM secrets s ORDER BY last_seen DESC NULLS LAST, s.fingerprint`,
    ).all() as Row[];
    return rows.map((r) => {
      const v = json<{ status: Verification['status']; checkedAt: string; reason: string; identity: Record<string, string> | null } | null>(r.last_verification, null);
      return {
        ...toSecret(r),
        repos: (json<string[]>(r.repos, []) ?? []).sort(),
        locations: r.n_locations as number,
        firstSeen: (r.first_seen as string | null) ?? null,
        lastSeen: (r.last_seen as string | null) ?? null,
        lastVerification: v ? { status: v.status, checkedAt: v.checkedAt, reason: v.reason, ...(v.identity ? { identity: v.identity } : {}) } : null,
        owners: json<string[]>(r.owners, []).sort(),
      };
    });
  }

  /** Every place a secret appears (or every place of every secret when no fingerprint is given). */
  locations(fingerprint?: string): LocationRow[] {
    const sql = `SELECT s.fingerprint, r.full_name AS repo, r.mirror_path, l.* FROM locations l
      JOIN secrets s ON s.id = l.secret_id JOIN repos r ON r.id = l.repo_id
      ${fingerprint ? 'WHERE s.fingerprint = ?' : ''} ORDER BY s.fingerprint, r.full_name, l.authored_at, l.commit_oid, l.path, l.line, l.col`;
    const rows = (fingerprint ? this.q(sql).all(fingerprint) : this.q(sql).all()) as Row[];
    return rows.map((r) => ({
      fingerprint: r.fingerprint as string,
      repo: r.repo as string,
      mirrorPath: (r.mirror_path as string | null) ?? null,
      blob: (r.blob as string) || null,
      commit: (r.commit_oid as string) || null,
      path: r.path as string,
      line: r.line as number,
      column: r.col as number,
      authorName: (r.author_name as string | null) ?? null,
      authorEmail: (r.author_email as string | null) ?? null,
      date: (r.authored_at as string | null) ?? null,
      decoded: json<string[] | null>(r.decoded, null),
    }));
  }
}

const ISSUE_SELECT = `SELECT i.*, r.full_name AS repo, s.fingerprint, sr.full_name AS subject_repo FROM issues i
  JOIN repos r ON r.id = i.repo_id JOIN secrets s ON s.id = i.secret_id LEFT JOIN repos sr ON sr.id = i.subject_repo_id`;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function toRepo(r: Row): RepoRow {
  return {
    id: r.id as number,
    fullName: r.full_name as string,
    defaultBranch: (r.default_branch as string | null) ?? null,
    cloneUrl: (r.clone_url as string | null) ?? null,
    fork: b(r.fork),
    archived: b(r.archived),
    private: b(r.private),
    mirrorPath: (r.mirror_path as string | null) ?? null,
    headCommit: (r.head_commit as string | null) ?? null,
    lastScannedAt: (r.last_scanned_at as string | null) ?? null,
    lastError: (r.last_error as string | null) ?? null,
    pushedAt: (r.pushed_at as string | null) ?? null,
  };
}

function toRun(r: Row): RunRow {
  return {
    id: r.id as number,
    kind: r.kind as RunKind,
    target: r.target as string,
    startedAt: r.started_at as string,
    finishedAt: (r.finished_at as string | null) ?? null,
    status: r.status as RunStatus,
    resumes: r.resumes as number,
    reposTotal: r.repos_total as number,
    reposDone: r.repos_done as number,
    reposFailed: r.repos_failed as number,
    blobsScanned: r.blobs_scanned as number,
    blobsSkipped: r.blobs_skipped as number,
    bytesScanned: r.bytes_scanned as number,
    findings: r.findings as number,
    newSecrets: r.new_secrets as number,
    suppressedByRepoConfig: r.suppressed_by_repo_config as number,
    error: (r.error as string | null) ?? null,
  };
}

function toSecret(r: Row): SecretRow {
  return {
    id: r.id as number,
    fingerprint: r.fingerprint as string,
    detector: r.detector as string,
    name: r.name as string,
    provider: r.provider as string,
    severity: r.severity as SecretRow['severity'],
    confidence: r.confidence as Confidence,
    redacted: r.redacted as string,
    status: r.status as SecretStatus,
    detectedAt: r.detected_at as string,
  };
}

function toVerification(r: Row): VerificationRow {
  const identity = json<Record<string, string> | null>(r.identity, null);
  return {
    id: r.id as number,
    status: r.status as Verification['status'],
    checkedAt: r.checked_at as string,
    reason: r.reason as string,
    ...(identity ? { identity } : {}),
  };
}

function toIssue(r: Row): IssueRow {
  return {
    id: r.id as number,
    repo: r.repo as string,
    number: r.number as number,
    fingerprint: r.fingerprint as string,
    subjectRepo: (r.subject_repo as string | null) ?? null,
    state: r.state as 'open' | 'closed',
    stateReason: (r.state_reason as string | null) ?? null,
    url: (r.url as string | null) ?? null,
    assignees: json<string[]>(r.assignees, []),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
    closedAt: (r.closed_at as string | null) ?? null,
  };
}
