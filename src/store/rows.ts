// Row → port type mapping shared by the SQLite and PostgreSQL adapters (same column names in both schemas; the
// drivers differ only in how booleans and JSON come back), plus the few rules both adapters apply the same way.
import { ConfigError, InternalError } from '../core/errors.js';
import { maxConfidence, type Confidence, type Reach, type Verification } from '../core/model.js';
import type { Clock, VerificationCache } from '../core/ports.js';
import type {
  DeliveryRow,
  DeliveryStatus,
  EventInput,
  EventRow,
  FindingInput,
  IssueRow,
  LocationRow,
  OutboundCallFilter,
  OutboundCallRow,
  OwnerRow,
  RepoRow,
  QueuedRunOptions,
  RepoScanInput,
  RunJobRow,
  RunRepoRow,
  RunRow,
  RunsStore,
  RunStatus,
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

type Words<S extends string> = S extends `${infer W} ${infer R}` ? W | Words<R> : S;
type Camel<S extends string> = S extends `${infer H}_${infer R}` ? `${H}${Capitalize<Camel<R>>}` : S;
type ColumnOf<W extends string> = W extends `${infer C}:${string}` ? C : W;
type FieldOf<W extends string> = W extends `${string}:${infer F}` ? F : Camel<W>;
/** Nothing when the columns name exactly the fields of T, else what is off (the compiler then shows it). */
type Covering<T, S extends string> = [Exclude<keyof T & string, FieldOf<Words<S>>>] extends [never]
  ? [Exclude<FieldOf<Words<S>>, keyof T>] extends [never]
    ? unknown
    : { 'not a field': Exclude<FieldOf<Words<S>>, keyof T> }
  : { 'missing field': Exclude<keyof T & string, FieldOf<Words<S>>> };

/** How a column that is not read as it comes is read: a boolean, JSON (with what NULL reads as), or '' as null too. */
interface ColumnReads<C extends string> {
  bool?: C[];
  json?: Partial<Record<C, 'null' | '[]' | '{}'>>;
  emptyAsNull?: C[];
}

const camel = (column: string) => column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const fresh = { null: () => null, '[]': () => [], '{}': () => ({}) } as const;

/**
 * A row → port type mapper. `columns` lists the row's snake_case columns in the order of the fields (each field
 * the column in camelCase, or the name after `:`); a column reads as the driver gives it, NULL or absent as null,
 * unless `reads` says otherwise. The compiler checks that the columns name every field of T and no other.
 */
export const rowMapper =
  <T>() =>
  <S extends string>(columns: S & Covering<T, S>, reads: NoInfer<ColumnReads<ColumnOf<Words<S>>>> = {}): ((r: Row) => T) => {
    const as = (column: string) => column as ColumnOf<Words<S>>;
    const read = (column: string): ((v: unknown) => unknown) => {
      const asJson = reads.json?.[as(column)];
      if (asJson) return (v) => json(v, fresh[asJson]());
      if (reads.bool?.includes(as(column))) return bool;
      if (reads.emptyAsNull?.includes(as(column))) return (v) => v || null;
      return (v) => v ?? null;
    };
    const fields = columns.split(' ').map((w) => {
      const [column, field = camel(column)] = w.split(':') as [string, string?];
      return { column, field, read: read(column) };
    });
    return (r) => {
      const out: Record<string, unknown> = {};
      for (const f of fields) out[f.field] = f.read(r[f.column]);
      return out as T;
    };
  };

export const toRepo = rowMapper<RepoRow>()(
  'id full_name default_branch clone_url fork archived private mirror_path head_commit last_scanned_at last_error pushed_at catalog',
  { bool: ['fork', 'archived', 'private'] },
);

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

/** The RunsStore half that records a repo's scan: what it found, the blobs it looked at, a repo that failed. */
export type RepoScans = Pick<RunsStore, 'scannedBlobs' | 'recordRepoScan' | 'recordRepoFailure'>;
/** The other half: runs begun or resumed, totals, closed, and read back with their per-repo rows. */
export type RunRecords = Omit<RunsStore, keyof RepoScans>;
/** A finding sealed for storage, as the Sealer hands it back. */
export type SealedFinding = { f: FindingInput; enc: Buffer };
/** What recording a scan's findings added. */
export type AddedFindings = { newSecrets: number; newLocations: number };
/** A blob a scan looked at, and whether it scanned it. */
export type BlobToMark = [oid: string, outcome: 'scanned' | 'skipped'];
/** What marking a scan's blobs counted (blobs already marked by the same catalog are not counted again). */
export type MarkedBlobs = { blobsScanned: number; blobsSkipped: number };

/** The blobs of a RepoScanInput, each once (the last outcome given wins), refused without the catalog that looked at them. */
export function blobsToMark(input: RepoScanInput): BlobToMark[] {
  const blobs = [...new Map(input.blobs)];
  if (blobs.length > 0 && !input.catalog) throw new InternalError('blobs recorded without the version of the catalog that scanned them');
  return blobs;
}

// in the order the run's JSON (keyloop org --format json) has always had; the scan counters are those of run_repos
export const toRun = rowMapper<RunRow>()(
  'id kind target started_at finished_at status resumes repos_total repos_done repos_failed blobs_scanned blobs_skipped bytes_scanned findings new_secrets suppressed_by_repo_config error',
);

export const toRunRepo = rowMapper<RunRepoRow>()('repo status elapsed_ms blobs_scanned blobs_skipped bytes_scanned findings suppressed_by_repo_config error');

export const toRunJob = rowMapper<RunJobRow>()('run_id kind subject data state worker attempts queued_at started_at finished_at result error', {
  json: { data: '{}', result: 'null' },
});

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

export const toSecret = rowMapper<SecretRow>()('id fingerprint detector name provider severity confidence redacted status detected_at');

const toVerificationHead = rowMapper<Omit<VerificationRow, 'identity' | 'reach'>>()('id status checked_at reason');

export function toVerification(r: Row): VerificationRow {
  const identity = json<Record<string, string> | null>(r.identity, null);
  const reach = json<Reach | null>(r.reach, null);
  return { ...toVerificationHead(r), ...(identity ? { identity } : {}), ...(reach ? { reach } : {}) };
}

/** A stored reach column (the newest one) if it was asked at or after `since`. */
export function reachSince(v: unknown, since: string): Reach | undefined {
  const reach = json<Reach | null>(v, null);
  return reach && reach.checkedAt >= since ? reach : undefined;
}

export const toOutboundCall = rowMapper<OutboundCallRow>()('id at purpose issuer fingerprint method url status outcome duration_ms');

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

export const toOwner = rowMapper<OwnerRow>()('repo login source decided_at');

export const toIssue = rowMapper<IssueRow>()('id repo number fingerprint subject_repo state state_reason url assignees created_at updated_at closed_at', {
  json: { assignees: '[]' },
});

export const toEvent = rowMapper<EventRow>()('id at kind fingerprint repo issue_number run_id detail', { json: { detail: 'null' } });

export const toLocation = rowMapper<LocationRow>()(
  'fingerprint repo mirror_path blob commit_oid:commit path line col:column author_name author_email authored_at:date decoded',
  { emptyAsNull: ['blob', 'commit_oid'], json: { decoded: 'null' } },
);

/** One inventory row; `repos`, `owners` and `last_verification` are JSON built by the query. */
export function toSummary(r: Row): SecretSummary {
  const v = json<{ status: Verification['status']; checkedAt: string; reason: string; identity: Record<string, string> | null; reach?: Reach | null } | null>(
    r.last_verification,
    null,
  );
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

export const toDelivery = rowMapper<DeliveryRow>()('seq guid event action repo status attempts error result received_at started_at finished_at', {
  json: { result: 'null' },
});

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
  return status === 'false-positive'
    ? 'marked-false-positive'
    : before === 'false-positive'
      ? 'unmarked-false-positive'
      : status === 'revoked'
        ? 'revoked'
        : 'status-changed';
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
  s: {
    unexpired(fingerprint: string, nowIso: string): Promise<VerificationRow | undefined>;
    exists(fingerprint: string): Promise<boolean>;
    add: SecretsStore['addVerification'];
  },
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
export const verificationEvent = (v: Verification) => ({
  kind: `verified-${v.status}`,
  detail: { reason: v.reason, ...(v.reach ? { reach: v.reach.level } : {}) },
});

/** Column values of an events row (at, kind, secret_id, repo_id, issue_id, run_id, detail). */
export const eventValues = (
  e: Pick<EventInput, 'kind' | 'runId' | 'detail'>,
  secretId: number | null,
  repoId: number | null,
  issueId: number | null,
  at: string,
) => [at, e.kind, secretId, repoId, issueId, e.runId ?? null, e.detail ? JSON.stringify(e.detail) : null];

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
