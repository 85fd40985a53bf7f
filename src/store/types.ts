// Row and input types of the store's typed API (no SQL leaks past src/store).
import type { Confidence, Location, Verification } from '../core/model.js';

export type Severity = 'low' | 'medium' | 'high' | 'critical';
export type SecretStatus = 'open' | 'false-positive' | 'revoked' | 'ignored';
export type RunKind = 'org' | 'scan' | 'push' | 'app';
export type RunStatus = 'running' | 'completed' | 'failed' | 'interrupted';
export type OwnerSource = 'commit-author' | 'codeowners' | 'fallback' | 'manual';

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
}

export interface RunRow {
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
  blobsScanned: number;
  blobsSkipped: number;
  bytesScanned: number;
  findings: number;
  newSecrets: number;
  /** Findings dropped by the scanned repositories' own .keyloop.yaml. */
  suppressedByRepoConfig: number;
  error: string | null;
}

export interface RunHandle {
  id: number;
  /** True when this continues a run that was killed or interrupted. */
  resumed: boolean;
  /** Repos (full names) already finished by this run before it was interrupted. */
  finishedRepos: Set<string>;
}

export interface RunRepoRow {
  repo: string;
  status: 'done' | 'failed';
  elapsedMs: number;
  blobsScanned: number;
  blobsSkipped: number;
  bytesScanned: number;
  findings: number;
  suppressedByRepoConfig: number;
  error: string | null;
}

export interface RepoScanInput {
  findings: FindingInput[];
  /** Every blob looked at in this pass, with what happened to it. */
  blobs: Iterable<readonly [oid: string, outcome: 'scanned' | 'skipped']>;
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
