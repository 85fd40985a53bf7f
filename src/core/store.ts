// The Store port: what keyloop keeps between runs, split by concern, with its row and input types. Async because
// PostgreSQL is; src/store/sqlite and src/store/postgres implement it, test/store-contract.ts holds them to it.
import type { Confidence, Location, OwnerSource, Reach, SecretStatus, Severity, Verification } from './model.js';
import type { AuditSink, CallPurpose, OutboundCall, VerificationCache } from './ports.js';

// The ground types the store's rows use, defined once in model.ts (zod enum and type under one name).
export type { OwnerSource, SecretStatus, Severity };

export type RunKind = 'org' | 'scan' | 'push' | 'app';
export type RunStatus = 'running' | 'completed' | 'failed' | 'interrupted';

/** Kinds written by keyloop today; the column accepts any lowercase-kebab kind so later features can add theirs. */
export type EventKind =
  | 'detected'
  | 'verified-live'
  | 'verified-dead'
  | 'verified-unknown'
  | 'issue-opened'
  | 'commented'
  | 'assigned'
  | 'closed'
  | 'reopened'
  | 'marked-false-positive'
  | 'unmarked-false-positive'
  | 'revoked'
  | (string & {});

/** What the pipeline hands over: structurally the pipeline's RawFinding. `secret`/`parts` are sealed before storage. */
export interface FindingInput {
  detector: string;
  name: string;
  provider: string;
  severity: Severity;
  /** Absent: `medium` for a new secret, unchanged for a known one. */
  confidence?: Confidence;
  fingerprint: string;
  redacted: string;
  secret: string;
  parts: Record<string, string>;
  locations: Location[];
}

export interface RepoInput {
  fullName: string;
  defaultBranch?: string | null;
  cloneUrl?: string | null;
  fork?: boolean;
  archived?: boolean;
  private?: boolean;
  mirrorPath?: string | null;
}

export interface RepoRow {
  id: number;
  fullName: string;
  defaultBranch: string | null;
  cloneUrl: string | null;
  fork: boolean;
  archived: boolean;
  private: boolean;
  mirrorPath: string | null;
  headCommit: string | null;
  lastScannedAt: string | null;
  lastError: string | null;
  /** Host's pushed_at recorded with the last successful scan. */
  pushedAt: string | null;
  /** The catalog version of the last scan of its whole history (null: none recorded one). */
  catalog: string | null;
}

/** What scanning counted: over one repository, or summed over a run's repositories. */
export interface ScanCounts {
  blobsScanned: number;
  blobsSkipped: number;
  bytesScanned: number;
  findings: number;
  /** Findings dropped by the scanned repositories' own .keyloop.yaml. */
  suppressedByRepoConfig: number;
}

export interface RunRow extends ScanCounts {
  id: number;
  kind: RunKind;
  target: string;
  startedAt: string;
  finishedAt: string | null;
  status: RunStatus;
  resumes: number;
  reposTotal: number;
  reposDone: number;
  reposFailed: number;
  newSecrets: number;
  error: string | null;
}

export interface RunHandle {
  id: number;
  /** True when this continues a run that was killed or interrupted. */
  resumed: boolean;
  /** Repos (full names) already finished by this run before it was interrupted. */
  finishedRepos: Set<string>;
}

export interface RunRepoRow extends ScanCounts {
  repo: string;
  status: 'done' | 'failed';
  elapsedMs: number;
  error: string | null;
}

export interface RepoConfigSuppression {
  repo: string;
  suppressed: number;
  runs: number;
  lastAt: string;
}

export interface RepoScanInput {
  findings: FindingInput[];
  /** Every blob looked at in this pass, with what happened to it. */
  blobs: Iterable<readonly [oid: string, outcome: 'scanned' | 'skipped']>;
  /**
   * The version of the catalog that looked at `blobs` (detection/catalog-version.ts); required when there are any.
   * A blob recorded before under another version is recorded again, and counted as scanned in this run.
   */
  catalog?: string;
  /** This pass covered the repository's whole history: `catalog` becomes the repository's (RepoRow.catalog). */
  wholeHistory?: boolean;
  bytesScanned?: number;
  headCommit?: string | null;
  /** Host's pushed_at as listed before this scan's fetch (saved only with a successful scan). */
  pushedAt?: string | null;
  elapsedMs?: number;
  /** Findings the repository's own .keyloop.yaml dropped before this record. */
  suppressedByRepoConfig?: number;
}

export interface RepoScanOutcome {
  newSecrets: number;
  newLocations: number;
  blobsScanned: number;
  blobsSkipped: number;
}

export interface SecretRow {
  id: number;
  fingerprint: string;
  detector: string;
  name: string;
  provider: string;
  severity: Severity;
  /** The highest confidence any scan gave the secret (a live verification raises it to high when read). */
  confidence: Confidence;
  redacted: string;
  status: SecretStatus;
  detectedAt: string;
}

export interface VerificationRow extends Verification {
  id: number;
}

export interface OwnerRow {
  repo: string;
  login: string;
  source: OwnerSource;
  decidedAt: string;
}

export interface IssueInput {
  /** Repo the issue lives in. */
  repo: string;
  number: number;
  fingerprint: string;
  /** Repo the leak is in, when different from `repo` (private triage repo). */
  subjectRepo?: string;
  state: 'open' | 'closed';
  stateReason?: string | null;
  url?: string | null;
  assignees?: string[];
}

export interface IssueRow {
  id: number;
  repo: string;
  number: number;
  fingerprint: string;
  subjectRepo: string | null;
  state: 'open' | 'closed';
  stateReason: string | null;
  url: string | null;
  assignees: string[];
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
}

export interface EventInput {
  kind: EventKind;
  fingerprint?: string;
  repo?: string;
  issue?: { repo: string; number: number };
  runId?: number;
  detail?: Record<string, unknown>;
}

export interface EventRow {
  id: number;
  at: string;
  kind: EventKind;
  fingerprint: string | null;
  repo: string | null;
  issueNumber: number | null;
  runId: number | null;
  detail: Record<string, unknown> | null;
}

/** One line of the secrets inventory. */
export interface SecretSummary extends SecretRow {
  repos: string[];
  locations: number;
  /** Earliest / latest author date among the locations (when the secret entered history). */
  firstSeen: string | null;
  lastSeen: string | null;
  lastVerification: Verification | null;
  owners: string[];
}

/** A place a secret appears, for `keyloop where` and the HEAD-presence check. */
export interface LocationRow {
  fingerprint: string;
  repo: string;
  mirrorPath: string | null;
  blob: string | null;
  commit: string | null;
  path: string;
  line: number;
  column: number;
  authorName: string | null;
  authorEmail: string | null;
  date: string | null;
  decoded: string[] | null;
}

export interface IssueClaim {
  /** True when this call holds the claim (it was free, stale, or already this claimant's). */
  won: boolean;
  /** Who holds it now, and since when. */
  claimant: string;
  claimedAt: string;
}

// ---- App deliveries (the durable webhook queue of src/app/queue.ts) ---------------------------------------

export type DeliveryStatus = 'queued' | 'running' | 'done' | 'failed' | 'ignored';

export interface DeliveryRecordInput {
  guid: string;
  event: string;
  action: string | null;
  installationId: number | null;
  /** owner/name the work touches: at most one delivery per repo runs at a time. */
  repo: string | null;
  /** The normalized job (JSON-serializable), or null for a delivery acknowledged and ignored. */
  job: unknown;
  receivedAt: string;
}

export interface ClaimedDelivery {
  seq: number;
  guid: string;
  event: string;
  repo: string | null;
  /** As stored (parsed JSON); the queue validates it. */
  job: unknown;
  /** Including this one. */
  attempts: number;
}

export interface DeliveryRow {
  seq: number;
  guid: string;
  event: string;
  action: string | null;
  repo: string | null;
  status: DeliveryStatus;
  attempts: number;
  error: string | null;
  result: unknown;
  receivedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface InstallationReposChange {
  installationId: number;
  added: { fullName: string; githubId?: number | null; private: boolean }[];
  removed: string[];
  /** The App was uninstalled: every repo of the installation is removed. */
  forgetInstallation: boolean;
  at: string;
}

// ---- runs handed to workers (keyloop org --enqueue) ----------------------------------------------------------

export type RunJobKind = 'scan-repo' | 'verify' | 'issue-sync';
export type RunJobState = 'queued' | 'running' | 'done' | 'failed';

/** What an enqueued run asked for; the workers that finish its jobs act on it. */
export interface QueuedRunOptions {
  /** Sync GitHub issues once every repository is scanned (and verified). */
  issues: boolean;
  /** Re-verify the secrets each repository's scan found. */
  verify: boolean;
  rescan: boolean;
  refetch: boolean;
}

export interface RunJobInput {
  kind: RunJobKind;
  /** owner/name, or a batch label for verify. */
  subject: string;
  /** The job's payload: names, ids, fingerprints; never a token or a secret. */
  data: Record<string, unknown>;
}

export interface RunJobRow extends RunJobInput {
  runId: number;
  state: RunJobState;
  /** host:pid of the worker holding it (or that held it last). */
  worker: string | null;
  attempts: number;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  result: Record<string, unknown> | null;
  error: string | null;
}

/** What comes after every job of a run has finished: more jobs, or the end of the run. */
export type RunAdvance = { add: RunJobInput[] } | { finish: { status: 'completed' | 'failed'; error?: string } };

/** The jobs of runs handed to workers. */
export interface RunJobsStore {
  /**
   * Starts an org run for workers, or returns the unfinished one for the same target (so a rerun of the enqueue
   * finishes it). Refused (ConfigError) while a local run of that target is held by a live process.
   */
  beginQueuedRun(target: string, options: QueuedRunOptions): Promise<{ id: number; resumed: boolean }>;
  /** null: not a run handed to workers. */
  runOptions(runId: number): Promise<QueuedRunOptions | null>;
  /** Adds queued jobs to a running run; ones it has already are left as they are. Returns those added. */
  addRunJobs(runId: number, jobs: RunJobInput[]): Promise<RunJobInput[]>;
  /** Marks a job running for `worker`, counting the try; null when it finished already (a repeated delivery). */
  startRunJob(runId: number, kind: RunJobKind, subject: string, worker: string): Promise<RunJobRow | null>;
  /** Ends a job (done or failed) unless it has ended already. */
  finishRunJob(runId: number, kind: RunJobKind, subject: string, end: { state: 'done' | 'failed'; result?: Record<string, unknown>; error?: string }): Promise<void>;
  /** Ordered by kind, then subject. */
  runJobs(runId: number): Promise<RunJobRow[]>;
  /** Jobs of running runs still queued after `olderThanMs`: sent to the queue again in case their sender died first. */
  queuedRunJobs(olderThanMs: number): Promise<RunJobRow[]>;
  /**
   * Once every job of a running run has finished, `decide` says what comes next and it is applied atomically:
   * of several callers at once, one does it. null: the run is not running, or jobs are still out.
   */
  advanceRun(runId: number, decide: (run: RunRow, jobs: RunJobRow[]) => RunAdvance): Promise<RunAdvance | null>;
}

// ---- the port ---------------------------------------------------------------------------------------------

/** Repositories as last seen, keyed by full name. */
export interface ReposStore {
  /** Inserts or refreshes a repo's metadata; returns its id. Fields left undefined keep their stored value. */
  upsertRepo(r: RepoInput): Promise<number>;
  getRepo(fullName: string): Promise<RepoRow | undefined>;
  /** Ordered by full name. */
  listRepos(): Promise<RepoRow[]>;
}

/** Runs, their per-repo outcomes, and what a scan found (each record* call is one atomic step). */
export interface RunsStore {
  /**
   * Starts a run, or resumes the latest run for the same (kind, target) if it never finished (killed or
   * interrupted). A run still held by a live process on this host is refused (ConfigError).
   */
  beginRun(kind: RunKind, target: string): Promise<RunHandle>;
  setRunTotal(runId: number, reposTotal: number): Promise<void>;
  /** Closes a run; its counters are the sums over its per-repo rows (so a resumed run counts every part). */
  finishRun(runId: number, status: Exclude<RunStatus, 'running'>, error?: string): Promise<RunRow>;
  getRun(id: number): Promise<RunRow | undefined>;
  /** Newest first. */
  listRuns(limit?: number): Promise<RunRow[]>;
  /** Ordered by repo. */
  runRepos(runId: number): Promise<RunRepoRow[]>;
  /** Per repository: findings its own .keyloop.yaml dropped, over every run, and when that last happened. */
  repoConfigSuppressions(): Promise<RepoConfigSuppression[]>;
  /** Blob oids this repo last recorded as looked at by catalog version `catalog`: the pipeline's `known`. */
  scannedBlobs(repo: string, catalog: string): Promise<Set<string>>;
  /**
   * Records one repo's scan (or one batch of it; per-run counters add up) atomically: findings (sealed), their
   * locations, 'detected' events, the blobs looked at and the run's per-repo row. Recording the same input twice
   * adds nothing the second time but the per-run counters.
   */
  recordRepoScan(runId: number | null, repo: string, input: RepoScanInput): Promise<RepoScanOutcome>;
  /** A repo that could not be listed, fetched or scanned: the run goes on, the error is kept. */
  recordRepoFailure(runId: number | null, repo: string, error: string, elapsedMs?: number): Promise<void>;
}

/** Secrets (sealed at rest), their verifications, owners, the email → login cache, and the inventory queries. */
export interface SecretsStore {
  getSecret(fingerprint: string): Promise<SecretRow | undefined>;
  /** Resolves a fingerprint prefix (≥ 8 hex characters) to the one full fingerprint it names (ConfigError otherwise). */
  resolveFingerprint(prefix: string): Promise<string>;
  /** In insertion order. */
  listSecrets(): Promise<SecretRow[]>;
  /** Decrypts a stored secret for re-verification. Holds plaintext: register it with the SecretRegistry. */
  revealSecret(fingerprint: string): Promise<{ secret: string; parts: Record<string, string> }>;
  /** Changes the triage status and logs the change as an event; a no-op when unchanged. */
  setSecretStatus(fingerprint: string, status: SecretStatus, detail?: Record<string, unknown>): Promise<void>;
  /** Appends a verification (history is kept) and its event. */
  addVerification(fingerprint: string, v: Verification, expiresAt?: string): Promise<void>;
  /** Oldest first. */
  verifications(fingerprint: string): Promise<VerificationRow[]>;
  latestVerification(fingerprint: string): Promise<VerificationRow | undefined>;
  /** The newest reach recorded for a secret if it was asked at or after `since` (ISO): the verifier keeps it instead of asking again. */
  recentReach(fingerprint: string, since: string): Promise<Reach | undefined>;
  /**
   * The verifier's cache over the verifications table: `set` appends to the history (with its event), `get`
   * serves the latest result still inside its TTL. Secrets not in the store are not cached.
   */
  verificationCache(): VerificationCache;
  setOwner(fingerprint: string, repo: string, login: string, source: OwnerSource): Promise<void>;
  owners(fingerprint: string): Promise<OwnerRow[]>;
  /** undefined: never asked; login null: GitHub maps the email to no account. Case-insensitive on the email. */
  getEmailLogin(email: string): Promise<{ login: string | null; checkedAt: string } | undefined>;
  setEmailLogin(email: string, login: string | null): Promise<void>;
  /** The secrets inventory, most recently introduced first. */
  inventory(): Promise<SecretSummary[]>;
  /** Every place a secret appears (or every place of every secret when no fingerprint is given). */
  locations(fingerprint?: string): Promise<LocationRow[]>;
}

/** Issues on the host as recorded, the per-(secret, leaking repo) issue claim, and the append-only event log. */
export interface IssuesStore {
  /** Inserts or updates the issue (repo, number); closed_at follows state. */
  upsertIssue(i: IssueInput): Promise<IssueRow>;
  getIssue(repo: string, number: number): Promise<IssueRow | undefined>;
  /** Issues about a secret, optionally only those about its leak in `subjectRepo` (or living in it). */
  issuesFor(fingerprint: string, subjectRepo?: string): Promise<IssueRow[]>;
  listIssues(filter?: { state?: 'open' | 'closed' }): Promise<IssueRow[]>;
  /**
   * The unique key behind "one issue per secret × leaking repo": the first claimant wins, even with processes
   * racing; a claim older than `staleMs` (its holder died before recording the issue) may be taken over.
   */
  claimIssue(fingerprint: string, subjectRepo: string, claimant: string, opts?: { staleMs?: number }): Promise<IssueClaim>;
  addEvent(e: EventInput): Promise<void>;
  /** Ordered by id. */
  events(filter?: { fingerprint?: string; kind?: string; sinceId?: number }): Promise<EventRow[]>;
}

/** The App's durable delivery queue and the repositories it is installed on. */
export interface DeliveriesStore {
  /** false: this GUID was recorded before (a redelivery); nothing changes. */
  insertDelivery(d: DeliveryRecordInput): Promise<boolean>;
  /**
   * Picks and marks running the oldest due delivery whose repo has none running (and no earlier one waiting for
   * a retry), counting the attempt. Two callers never get the same row.
   */
  claimDelivery(now: Date): Promise<ClaimedDelivery | undefined>;
  /**
   * Claims one delivery by GUID (a job of the shared queue names it): queued, or running under a holder whose lease
   * ran out. 'finished': it ended already (a repeated job); 'busy': another delivery of its repo runs now;
   * undefined: no such delivery.
   */
  startDelivery(guid: string, now: Date): Promise<ClaimedDelivery | 'finished' | 'busy' | undefined>;
  /** GUIDs of deliveries still queued that arrived before `before` (ISO), oldest first: sent to the shared queue again. */
  queuedDeliveries(before: string, limit?: number): Promise<string[]>;
  completeDelivery(seq: number, at: string, result: unknown): Promise<void>;
  /** Back to queued until `atMs` (epoch ms) with the error of this attempt. */
  retryDelivery(seq: number, atMs: number, error: string): Promise<void>;
  failDelivery(seq: number, at: string, error: string): Promise<void>;
  /** A running delivery goes back to queued without spending its attempt (shutdown); `seq` omitted: every running one. */
  requeueDeliveries(seq?: number): Promise<number>;
  /** Epoch ms of the earliest queued delivery, or null. */
  nextDeliveryDue(): Promise<number | null>;
  deliveryCounts(): Promise<Record<DeliveryStatus, number>>;
  getDelivery(guid: string): Promise<DeliveryRow | undefined>;
  /** Applies an installation change atomically (repos upserted too); returns the repos removed. */
  recordInstallationRepos(change: InstallationReposChange): Promise<string[]>;
  /** Repositories the App currently covers (not removed), by full name. */
  installedRepos(): Promise<{ fullName: string; installationId: number }[]>;
}

/** The audit log of every request keyloop sent with a secret in it (never the secret): `keyloop audit` reads it. */
export interface AuditStore {
  /** Appends one call. */
  recordOutboundCall(c: OutboundCall): Promise<void>;
  /** The verifier's and revoker's audit port over the log. */
  auditSink(): AuditSink;
  /** Oldest first, filtered. */
  outboundCalls(filter?: OutboundCallFilter): Promise<OutboundCallRow[]>;
}

export interface OutboundCallFilter {
  fingerprint?: string;
  issuer?: string;
  purpose?: CallPurpose;
  /** ISO time: calls at or after it. */
  since?: string;
}

export interface OutboundCallRow extends OutboundCall {
  id: number;
}

/** Everything keyloop keeps. Open one with src/store/open.ts (`openStore(spec)`); close it when done. */
export interface Store extends ReposStore, RunsStore, RunJobsStore, SecretsStore, IssuesStore, DeliveriesStore, AuditStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Where it lives, safe to print (a file path, or a URL without its password). */
  readonly location: string;
  close(): Promise<void>;
}
