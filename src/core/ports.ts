// Ports: what the core needs from the outside world. Adapters implement these; the core imports no adapter.
import type { Origin, RawFinding, Verification } from './model.js';

/** Which blobs of a repository to enumerate. */
export type BlobSelection =
  /** Every blob reachable from every ref (heads, tags, remotes, pull refs, notes…). */
  | { kind: 'all' }
  /** Blobs of the HEAD tree only (--no-history). */
  | { kind: 'head' }
  /** Blobs in the index (stage 0) whose content differs from HEAD's at that path (--staged: the pre-commit case). */
  | { kind: 'staged' }
  /** Blobs introduced by commits reachable from `to` and not from any of `exclude` (the push case, --range A..B). */
  | { kind: 'range'; to: string; exclude: string[] };

/** One unique blob with every place it was introduced. */
export interface BlobEntry {
  oid: string;
  size: number;
  /** One per (introducing commit, path); for 'staged' a single origin with commit '' and the index path. */
  origins: Origin[];
}

export interface EnumerationProblem {
  /** e.g. 'missing-object', 'corrupt-object', 'bad-ref' */
  kind: string;
  oid?: string;
  /** Path the object was found at, when known. */
  path?: string;
  detail: string;
}

export interface Enumeration {
  blobs: BlobEntry[];
  problems: EnumerationProblem[];
  /** Commits walked (0 for 'staged' / 'head'). */
  commits: number;
}

export type BlobRead =
  | { oid: string; data: Buffer }
  | { oid: string; error: 'missing-object' | 'corrupt-object' | 'too-large'; detail: string; size?: number };

/**
 * Read access to one repository's object database. Two adapters (native git CLI, isomorphic pure JS) must
 * produce identical enumerations (same blobs, same origins, same order after sorting) for the same repo.
 */
export interface GitObjects {
  readonly backend: 'native' | 'isomorphic';
  /** Enumerate unique blobs with provenance. Sorted by oid; origins sorted by (date, commit, path). */
  enumerate(selection: BlobSelection): Promise<Enumeration>;
  /**
   * Stream blob contents for `oids` in an order of the adapter's choosing (pack order is fastest).
   * Blobs larger than `maxBlobSize` are not read: they yield an error entry 'too-large' with the size.
   * Never loads the whole repository into memory.
   */
  read(oids: Iterable<string>, opts: { maxBlobSize: number }): AsyncIterable<BlobRead>;
  /** Resolve a revision (branch, tag, sha, HEAD) to a commit oid, or null. */
  resolve(rev: string): Promise<string | null>;
  close(): Promise<void>;
}

/** Wall clock, injectable for tests. */
/**
 * Verification as the use case sees it: asks each finding's own issuer (the plaintext is on the finding) and answers
 * one verdict per fingerprint it could check. src/verification implements it over a catalog (findingsVerifier).
 */
export interface FindingsVerifier {
  verify(findings: readonly RawFinding[]): Promise<Map<string, Verification>>;
}

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

/**
 * Verification results by finding fingerprint, kept for a TTL so re-scans do not call issuers again.
 * In-memory in src/verification/cache.ts; the SQLite store implements it for persistent runs. Sync or async.
 */
export interface VerificationCache {
  get(fingerprint: string): Verification | undefined | Promise<Verification | undefined>;
  set(fingerprint: string, verification: Verification, ttlMs: number): void | Promise<void>;
}

/** A repository as the host (GitHub, GHES) describes it. */
export interface HostedRepo {
  /** owner/name */
  fullName: string;
  owner: string;
  name: string;
  /** null for an empty repository. */
  defaultBranch: string | null;
  /** HTTPS clone URL; credentials never go into it. */
  cloneUrl: string;
  private: boolean;
  fork: boolean;
  archived: boolean;
  /** Size in KB as reported by the host (0 for empty). */
  sizeKb: number;
  /** Last push as reported by the host (ISO 8601): an unchanged value lets a crawl skip the fetch. */
  pushedAt?: string | null;
}

export interface RepoFilter {
  includeForks?: boolean;
  includeArchived?: boolean;
  /** Globs (picomatch) on the repo name or owner/name; empty = all. */
  include?: string[];
  exclude?: string[];
}

/** Credentials for git over HTTPS (Basic auth, e.g. x-access-token:<token>), never embedded in a URL. */
export interface GitCredentials {
  username: string;
  password: string;
}

/** Where repositories come from: list an org's (or an installation's) repos and fetch them. */
export interface RepoHost {
  /** Every repo of `owner` that passes `filter`, following pagination. HostError when the owner is unknown. */
  listRepos(owner: string, filter?: RepoFilter): Promise<HostedRepo[]>;
  /** One repo, or null when it does not exist (or is not visible). */
  getRepo(fullName: string): Promise<HostedRepo | null>;
  /** Credentials for cloning/fetching `fullName`, or null for anonymous access. */
  gitCredentials(fullName: string): Promise<GitCredentials | null>;
}

export interface TrackedIssue {
  repo: string;
  number: number;
  url: string;
  title: string;
  body: string;
  state: 'open' | 'closed';
  stateReason: string | null;
  labels: string[];
  assignees: string[];
}

export interface IssueSpec {
  title: string;
  body: string;
  labels: string[];
  assignees: string[];
  /** Hidden marker in the body that identifies the issue across runs (e.g. `<!-- keyloop:fp=… -->`). */
  marker: string;
}

/**
 * The IssueTracker port (below) plus what the issue loop needs beyond renovate-style ensure*: implemented for GitHub
 * in src/adapters/github/issue-tracker.ts.
 */
export interface LoopTracker extends IssueTracker {
  /** Reopens a closed issue, commenting first. */
  reopenIssue(repo: string, number: number, comment?: string): Promise<void>;
  /** Adds labels, keeping the issue's others. */
  addLabels(repo: string, number: number, labels: string[]): Promise<void>;
  removeLabels(repo: string, number: number, labels: string[]): Promise<void>;
  /** Commits API `author.login`, null when the author email maps to no account. */
  commitAuthorLogin(repo: string, sha: string): Promise<string | null>;
  /** Whether `repo` is private; null when it cannot be seen. */
  repoIsPrivate(repo: string): Promise<boolean | null>;
  /** POST /credentials/revoke, unauthenticated, in batches of at most 1000. */
  revokeCredentials(tokens: string[]): Promise<void>;
}

/**
 * Issues on the host, idempotent like renovate's platform: calling ensure* twice with the same input changes
 * nothing the second time. Implemented in src/adapters/github/issue-tracker.ts.
 */
export interface IssueTracker {
  /** Issues in `repo` carrying every label in `labels`, open and closed. */
  listIssues(repo: string, labels: string[]): Promise<TrackedIssue[]>;
  /** Creates the issue, or updates (and with `reopen`, reopens) the one carrying `spec.marker`. */
  ensureIssue(
    repo: string,
    spec: IssueSpec,
    opts?: { reopen?: boolean },
  ): Promise<{ issue: TrackedIssue; action: 'created' | 'updated' | 'reopened' | 'unchanged' }>;
  /** Closes the issue (with an optional final comment); a no-op when already closed. */
  ensureIssueClosed(repo: string, number: number, opts?: { comment?: string; reason?: 'completed' | 'not_planned' }): Promise<'closed' | 'already-closed'>;
  comment(repo: string, number: number, body: string): Promise<void>;
  /** Whether `login` can be assigned issues in `repo`. */
  canAssign(repo: string, login: string): Promise<boolean>;
}

export type * from './store.js';

/** Why a request carrying a secret was sent. */
export type CallPurpose = 'verify' | 'reach' | 'revoke';

/**
 * One request keyloop sent with a secret in it, as the audit log keeps it: never the secret (the URL is scrubbed
 * with the secret registry; headers and bodies are not kept).
 */
export interface OutboundCall {
  at: string;
  purpose: CallPurpose;
  /** Issuer id (queue and override key). */
  issuer: string;
  /** The secret the call was about, when known. */
  fingerprint: string | null;
  method: string;
  /** Origin and path (query values kept only after scrubbing). */
  url: string;
  /** HTTP status; null when no answer came (timeout, network error). */
  status: number | null;
  /**
   * `sending` (written before the request goes out), then `answered` or why there was no usable answer (timeout,
   * network code, rate limited, redirect …). A `sending` with no record after it: keyloop stopped, or the answer
   * could not be written.
   */
  outcome: string;
  durationMs: number;
}

/** The first record of every call, written before it is sent. */
export const AUDIT_SENDING = 'sending';

/** Where outbound calls are recorded (the store's audit log). Throws when it cannot write: the call is then not made. */
export type AuditSink = (call: OutboundCall) => void | Promise<void>;
