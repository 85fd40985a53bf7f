// Row → port type mapping shared by the SQLite and PostgreSQL adapters (same column names in both schemas; the
// drivers differ only in how booleans and JSON come back), plus the few rules both adapters apply the same way.
import { ConfigError, InternalError } from '../core/errors.js';
import { maxConfidence, type Confidence, type Reach, type Verification } from '../core/model.js';
import type { CallPurpose, Clock, VerificationCache } from '../core/ports.js';
import type {
  DeliveryRow,
  DeliveryStatus,
  EventInput,
  EventRow,
  IssueRow,
  LocationRow,
  OutboundCallFilter,
  OutboundCallRow,
  OwnerRow,
  OwnerSource,
  RepoRow,
  QueuedRunOptions,
  RepoScanInput,
  RunJobKind,
  RunJobRow,
  RunJobState,
  RunKind,
  RunRepoRow,
  RunRow,
  RunStatus,
  ScanCounts,
  SecretRow,
  SecretsStore,
  SecretStatus,
  SecretSummary,
  VerificationRow,
} from '../core/store.js';

export type Row = Record<string, unknown>;

/** SQLite: INTEGER 0/1; PostgreSQL: boolean. */
export const bool = (v: unknown): boolean => v === 1 || v === 1n || v === true;
/** SQLite: JSON text; PostgreSQL: jsonb, already parsed by the driver. */
export const json = <T>(v: unknown, fallback: T): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v === null || v === undefined ? fallback : (v as T));
const str = (v: unknown): string | null => (v as string | null | undefined) ?? null;

export function toRepo(r: Row): RepoRow {
  return {
    id: r.id as number,
    fullName: r.full_name as string,
    defaultBranch: str(r.default_branch),
    cloneUrl: str(r.clone_url),
    fork: bool(r.fork),
    archived: bool(r.archived),
    private: bool(r.private),
    mirrorPath: str(r.mirror_path),
    headCommit: str(r.head_commit),
    lastScannedAt: str(r.last_scanned_at),
    lastError: str(r.last_error),
    pushedAt: str(r.pushed_at),
    catalog: str(r.catalog),
  };
}

/** Repository rows as toRepo reads them (its catalog's version joined in); both dialects append WHERE/ORDER BY on `r`. */
export const REPOS = 'SELECT r.*, v.version AS catalog FROM repos r LEFT JOIN catalog_versions v ON v.id = r.catalog_id';

/**
 * The secrets inventory (SecretsStore.inventory): every secret with its repos, location count, first and last seen,
 * owners and latest verification. One query for both engines, written with the dialect's JSON functions: `array`
 * aggregates, `object` builds an object, `json` reads a stored JSON column as JSON.
 */
export function inventorySql(d: { array: string; object: string; json: (column: string) => string }): string {
  return `SELECT s.*,
     (SELECT ${d.array}(DISTINCT r.full_name) FROM locations l JOIN repos r ON r.id = l.repo_id WHERE l.secret_id = s.id) AS repos,
     (SELECT count(*) FROM locations l WHERE l.secret_id = s.id) AS n_locations,
     (SELECT min(authored_at) FROM locations l WHERE l.secret_id = s.id) AS first_seen,
     (SELECT max(authored_at) FROM locations l WHERE l.secret_id = s.id) AS last_seen,
     (SELECT ${d.array}(DISTINCT o.login) FROM owners o WHERE o.secret_id = s.id) AS owners,
     (SELECT ${d.object}('status', v.status, 'checkedAt', v.checked_at, 'reason', v.reason, 'identity', ${d.json('v.identity')}, 'reach', ${d.json('v.reach')})
        FROM verifications v WHERE v.secret_id = s.id ORDER BY v.checked_at DESC, v.id DESC LIMIT 1) AS last_verification
   FROM secrets s ORDER BY last_seen DESC NULLS LAST, s.fingerprint`;
}

/** The blobs of a RepoScanInput, each once (the last outcome given wins), refused without the catalog that looked at them. */
export function blobsToMark(input: RepoScanInput): [oid: string, outcome: 'scanned' | 'skipped'][] {
  const blobs = [...new Map(input.blobs)];
  if (blobs.length > 0 && !input.catalog) throw new InternalError('blobs recorded without the version of the catalog that scanned them');
  return blobs;
}

export function toRun(r: Row): RunRow {
  // in the order the run's JSON (keyloop org --format json) has always had
  const { suppressedByRepoConfig, ...counts } = toScanCounts(r);
  return {
    id: r.id as number,
    kind: r.kind as RunKind,
    target: r.target as string,
    startedAt: r.started_at as string,
    finishedAt: str(r.finished_at),
    status: r.status as RunStatus,
    resumes: r.resumes as number,
    reposTotal: r.repos_total as number,
    reposDone: r.repos_done as number,
    reposFailed: r.repos_failed as number,
    ...counts,
    newSecrets: r.new_secrets as number,
    suppressedByRepoConfig,
    error: str(r.error),
  };
}

/** The counter columns scan_runs and run_repos share. */
function toScanCounts(r: Row): ScanCounts {
  return {
    blobsScanned: r.blobs_scanned as number,
    blobsSkipped: r.blobs_skipped as number,
    bytesScanned: r.bytes_scanned as number,
    findings: r.findings as number,
    suppressedByRepoConfig: r.suppressed_by_repo_config as number,
  };
}

export function toRunRepo(r: Row): RunRepoRow {
  return {
    repo: r.repo as string,
    status: r.status as 'done' | 'failed',
    elapsedMs: r.elapsed_ms as number,
    ...toScanCounts(r),
    error: str(r.error),
  };
}

export function toRunJob(r: Row): RunJobRow {
  return {
    runId: r.run_id as number,
    kind: r.kind as RunJobKind,
    subject: r.subject as string,
    data: json<Record<string, unknown>>(r.data, {}),
    state: r.state as RunJobState,
    worker: str(r.worker),
    attempts: r.attempts as number,
    queuedAt: r.queued_at as string,
    startedAt: str(r.started_at),
    finishedAt: str(r.finished_at),
    result: json<Record<string, unknown> | null>(r.result, null),
    error: str(r.error),
  };
}

/** A run's options column, or null for a run not handed to workers. */
export const toRunOptions = (v: unknown): QueuedRunOptions | null => json<QueuedRunOptions | null>(v, null);

/** The last run of a (kind, target), as beginRun and beginQueuedRun read it. */
export interface LastRun {
  id: number;
  status: RunStatus;
  pid: number | null;
  host: string | null;
  options: unknown;
}

/** A run handed to workers and not finished: only they continue it. */
export const queuedAndRunning = (last: LastRun) => last.status === 'running' && last.options !== null && last.options !== undefined;

/** Refuses to start or resume a run while a live process here, or the workers, hold the last one. */
export function refuseHeldRun(kind: string, target: string, last: LastRun | undefined, host: string): void {
  if (!last) return;
  if (queuedAndRunning(last)) throw new ConfigError(`run ${last.id} (${kind} ${target}) is handed to workers and not finished: see \`keyloop runs\``);
  if (heldElsewhere(last, host)) throw new ConfigError(`another keyloop ${kind} run for ${target} is in progress (pid ${last.pid})`);
}

export function toSecret(r: Row): SecretRow {
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

export function toVerification(r: Row): VerificationRow {
  const identity = json<Record<string, string> | null>(r.identity, null);
  const reach = json<Reach | null>(r.reach, null);
  return {
    id: r.id as number,
    status: r.status as Verification['status'],
    checkedAt: r.checked_at as string,
    reason: r.reason as string,
    ...(identity ? { identity } : {}),
    ...(reach ? { reach } : {}),
  };
}

/** A stored reach column (the newest one) if it was asked at or after `since`. */
export function reachSince(v: unknown, since: string): Reach | undefined {
  const reach = json<Reach | null>(v, null);
  return reach && reach.checkedAt >= since ? reach : undefined;
}

export function toOutboundCall(r: Row): OutboundCallRow {
  return {
    id: r.id as number,
    at: r.at as string,
    purpose: r.purpose as CallPurpose,
    issuer: r.issuer as string,
    fingerprint: str(r.fingerprint),
    method: r.method as string,
    url: r.url as string,
    status: (r.status as number | null) ?? null,
    outcome: r.outcome as string,
    durationMs: r.duration_ms as number,
  };
}

/** Column values of an outbound_calls row (at, purpose, issuer, fingerprint, method, url, status, outcome, duration_ms). */
export const outboundCallValues = (c: OutboundCallRow | Omit<OutboundCallRow, 'id'>) => [
  c.at,
  c.purpose,
  c.issuer,
  c.fingerprint,
  c.method,
  c.url,
  c.status,
  c.outcome,
  Math.max(0, Math.round(c.durationMs)),
];

/** The WHERE clause and its values for an audit-log filter; `param(i)` writes the engine's i-th placeholder. */
export function outboundCallWhere(filter: OutboundCallFilter, param: (i: number) => string): { where: string; args: unknown[] } {
  const clauses: string[] = [];
  const args: unknown[] = [];
  for (const [column, v] of [['fingerprint', filter.fingerprint], ['issuer', filter.issuer], ['purpose', filter.purpose], ['at', filter.since]] as const) {
    if (!v) continue;
    args.push(v);
    clauses.push(`${column} ${column === 'at' ? '>=' : '='} ${param(args.length)}`);
  }
  return { where: clauses.length ? 'WHERE ' + clauses.join(' AND ') : '', args };
}

export function toOwner(r: Row): OwnerRow {
  return { repo: r.repo as string, login: r.login as string, source: r.source as OwnerSource, decidedAt: r.decided_at as string };
}

export function toIssue(r: Row): IssueRow {
  return {
    id: r.id as number,
    repo: r.repo as string,
    number: r.number as number,
    fingerprint: r.fingerprint as string,
    subjectRepo: str(r.subject_repo),
    state: r.state as 'open' | 'closed',
    stateReason: str(r.state_reason),
    url: str(r.url),
    assignees: json<string[]>(r.assignees, []),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
    closedAt: str(r.closed_at),
  };
}

export function toEvent(r: Row): EventRow {
  return {
    id: r.id as number,
    at: r.at as string,
    kind: r.kind as string,
    fingerprint: str(r.fingerprint),
    repo: str(r.repo),
    issueNumber: (r.issue_number as number | null) ?? null,
    runId: (r.run_id as number | null) ?? null,
    detail: json<Record<string, unknown> | null>(r.detail, null),
  };
}

export function toLocation(r: Row): LocationRow {
  return {
    fingerprint: r.fingerprint as string,
    repo: r.repo as string,
    mirrorPath: str(r.mirror_path),
    blob: (r.blob as string) || null,
    commit: (r.commit_oid as string) || null,
    path: r.path as string,
    line: r.line as number,
    column: r.col as number,
    authorName: str(r.author_name),
    authorEmail: str(r.author_email),
    date: str(r.authored_at),
    decoded: json<string[] | null>(r.decoded, null),
  };
}

/** One inventory row; `repos`, `owners` and `last_verification` are JSON built by the query. */
export function toSummary(r: Row): SecretSummary {
  const v = json<{ status: Verification['status']; checkedAt: string; reason: string; identity: Record<string, string> | null; reach?: Reach | null } | null>(r.last_verification, null);
  return {
    ...toSecret(r),
    repos: (json<(string | null)[]>(r.repos, []) ?? []).filter((x): x is string => x !== null).sort(),
    locations: r.n_locations as number,
    firstSeen: str(r.first_seen),
    lastSeen: str(r.last_seen),
    lastVerification: v ? { status: v.status, checkedAt: v.checkedAt, reason: v.reason, ...(v.identity ? { identity: v.identity } : {}), ...(v.reach ? { reach: v.reach } : {}) } : null,
    owners: (json<(string | null)[]>(r.owners, []) ?? []).filter((x): x is string => x !== null).sort(),
  };
}

export function toDelivery(r: Row): DeliveryRow {
  return {
    seq: r.seq as number,
    guid: r.guid as string,
    event: r.event as string,
    action: str(r.action),
    repo: str(r.repo),
    status: r.status as DeliveryStatus,
    attempts: r.attempts as number,
    error: str(r.error),
    result: json<unknown>(r.result, null),
    receivedAt: r.received_at as string,
    startedAt: str(r.started_at),
    finishedAt: str(r.finished_at),
  };
}

/** startDelivery's answer when its UPDATE took no row: the delivery ended, another of its repo runs, or it does not exist. */
export const startOutcome = (status: DeliveryStatus | undefined): 'finished' | 'busy' | undefined =>
  status === undefined ? undefined : status === 'queued' ? 'busy' : status === 'running' ? 'busy' : 'finished';

export const emptyDeliveryCounts = (): Record<DeliveryStatus, number> => ({ queued: 0, running: 0, done: 0, failed: 0, ignored: 0 });

/** The normalized form of a fingerprint prefix, or ConfigError. */
export function fingerprintPrefix(prefix: string): string {
  const p = prefix.trim().toLowerCase();
  if (!/^[0-9a-f]{8,64}$/.test(p)) throw new ConfigError('expected a fingerprint (at least 8 hex characters)', 'FINGERPRINT');
  return p;
}

/** The one fingerprint among (at most two) prefix matches, or ConfigError. */
export function onlyMatch(p: string, rows: string[]): string {
  if (rows.length === 0) throw new ConfigError(`no secret with fingerprint ${p}`, 'FINGERPRINT');
  if (rows.length > 1) throw new ConfigError(`fingerprint prefix ${p} is ambiguous; give more characters`, 'FINGERPRINT');
  return rows[0]!;
}

export const noSecret = (fingerprint: string) => new ConfigError(`no secret with fingerprint ${fingerprint}`);

/** The event a status change is logged as. */
export function statusEventKind(before: SecretStatus, status: SecretStatus): string {
  return status === 'false-positive' ? 'marked-false-positive' : before === 'false-positive' ? 'unmarked-false-positive' : status === 'revoked' ? 'revoked' : 'status-changed';
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a 'running' run row still belongs to a live process on this host (so it must not be resumed). */
export function heldElsewhere(last: { status: string; pid: number | null; host: string | null }, host: string): boolean {
  return last.status === 'running' && last.host === host && !!last.pid && last.pid !== process.pid && pidAlive(last.pid);
}

/**
 * The verifier's cache over the verifications table, the same for every adapter: `set` appends to the history
 * (with its event) with an expiry `ttlMs` after the check (never before now); `get` serves the latest check
 * still unexpired. Secrets not in the store are not cached.
 */
export function verificationCacheOver(
  s: { unexpired(fingerprint: string, nowIso: string): Promise<VerificationRow | undefined>; exists(fingerprint: string): Promise<boolean>; add: SecretsStore['addVerification'] },
  clock: Clock,
): VerificationCache {
  return {
    get: async (fp) => {
      const r = await s.unexpired(fp, clock.now().toISOString());
      if (!r) return undefined;
      const { id: _id, ...v } = r;
      return v;
    },
    set: async (fp, v, ttlMs) => {
      if (!(await s.exists(fp))) return;
      const base = Math.max(Date.parse(v.checkedAt) || 0, clock.now().getTime());
      await s.add(fp, v, new Date(base + Math.max(0, ttlMs)).toISOString());
    },
  };
}

/** Column values of a verifications row (secret_id, status, checked_at, reason, identity, expires_at, reach). */
export const verificationValues = (secretId: number, v: Verification, expiresAt?: string) => [
  secretId,
  v.status,
  v.checkedAt,
  v.reason,
  v.identity ? JSON.stringify(v.identity) : null,
  expiresAt ?? null,
  v.reach ? JSON.stringify(v.reach) : null,
];

/** The event a verification is logged as: its status, and the reach level when reach was asked. */
export const verificationEvent = (v: Verification) => ({ kind: `verified-${v.status}`, detail: { reason: v.reason, ...(v.reach ? { reach: v.reach.level } : {}) } });

/** Column values of an events row (at, kind, secret_id, repo_id, issue_id, run_id, detail). */
export const eventValues = (e: Pick<EventInput, 'kind' | 'runId' | 'detail'>, secretId: number | null, repoId: number | null, issueId: number | null, at: string) => [
  at,
  e.kind,
  secretId,
  repoId,
  issueId,
  e.runId ?? null,
  e.detail ? JSON.stringify(e.detail) : null,
];

/** The 'detected' event detail written when a secret is first seen in a repo. */
export const detectedDetail = (created: boolean, added: number) => ({ first: created ? 1 : 0, locations: added });

/**
 * A known secret's new confidence when this scan gives it a higher one than stored (the highest any scan gave
 * it: new locations outside fixtures raise a fixture-only secret), else null.
 */
export function raisedConfidence(stored: Confidence, seen: Confidence | undefined): Confidence | null {
  return seen && maxConfidence(stored, seen) !== stored ? seen : null;
}

/** Per repository: findings its own .keyloop.yaml dropped, over every run (same SQL on both engines). */
export const REPO_CONFIG_SUPPRESSIONS = `SELECT r.full_name AS repo, sum(rr.suppressed_by_repo_config) AS suppressed, count(*) AS runs, max(rr.finished_at) AS "lastAt"
  FROM run_repos rr JOIN repos r ON r.id = rr.repo_id WHERE rr.suppressed_by_repo_config > 0 GROUP BY r.full_name ORDER BY 2 DESC, 1`;

/** Column values of a done run_repos row (run_id, repo_id, finished_at, elapsed_ms, blobs_scanned, blobs_skipped, bytes_scanned, findings, suppressed_by_repo_config). */
export const runRepoValues = (runId: number, repoId: number, now: string, input: RepoScanInput, blobsScanned: number, blobsSkipped: number) => [
  runId,
  repoId,
  now,
  Math.round(input.elapsedMs ?? 0),
  blobsScanned,
  blobsSkipped,
  input.bytesScanned ?? 0,
  input.findings.length,
  input.suppressedByRepoConfig ?? 0,
];
