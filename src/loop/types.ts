// Shapes shared by the lifecycle planner (pure) and its executor (talks to GitHub and the store).
import type { Confidence, SecretStatus, Verification } from '../core/model.js';
import type { BodyLocation, IssueSubject } from '../notify/issue-body.js';

/** An issue as GitHub (or the store, when GitHub was not asked) knows it. */
export interface KnownIssue {
  /** Repo the issue lives in. */
  repo: string;
  number: number;
  state: 'open' | 'closed';
  stateReason: string | null;
  labels: string[];
  assignees: string[];
  url: string | null;
  /** Known to the store (false: found on GitHub by its marker only, e.g. after the database was lost). */
  inStore: boolean;
  /** State the store last recorded, when it differs GitHub changed it by hand. */
  storeState?: 'open' | 'closed';
}

export interface SubjectLocation extends BodyLocation {
  key: string;
}

/** One (secret, leaking repo) pair: the unit that gets at most one issue. */
export interface Subject extends IssueSubject {
  secretStatus: SecretStatus;
  /** Stored confidence (the highest any scan gave the secret); issues open from issues.minConfidence up. */
  confidence: Confidence;
  repoPrivate: boolean;
  locations: SubjectLocation[];
  /** Full verification history, oldest first. */
  verifications: Verification[];
  issue: KnownIssue | null;
  /** Location keys already shown in the issue (body or comments). */
  reportedLocations: ReadonlySet<string>;
  lastReminderAt: string | null;
  /** A revoke request for this token was already sent. */
  revokeRequested: boolean;
  /** `keyloop revoke` revoked it (who, when): one dead check after that is enough to close its issues. */
  revokedByKeyloop?: { by: string; at: string };
  /** Owners, resolved before planning for subjects that may get a new issue. */
  owners?: PlannedOwners;
}

export interface PlannedOwners {
  assignees: string[];
  /** Assignable users in fallback order (assignees first). */
  candidates: string[];
  teams: string[];
  notes: string[];
}

interface Base {
  fingerprint: string;
  /** Leaking repo. */
  subjectRepo: string;
}

export type Action =
  | (Base & {
      kind: 'open';
      issueRepo: string;
      title: string;
      body: string;
      labels: string[];
      assignees: string[];
      candidates: string[];
      teams: string[];
      locations: string[];
    })
  | (Base & { kind: 'adopt'; issue: KnownIssue })
  | (Base & { kind: 'comment-locations'; issue: KnownIssue; body: string; locations: string[] })
  | (Base & { kind: 'close-revoked'; issue: KnownIssue; body: string; revokedAt: string })
  | (Base & { kind: 'reopen'; issue: KnownIssue; body: string })
  | (Base & { kind: 'remind'; issue: KnownIssue; body: string; mentions: string[] })
  | (Base & { kind: 'triage-from-github'; issue: KnownIssue; verdict: 'false-positive' | 'accepted-risk' })
  | (Base & { kind: 'close-triaged'; issue: KnownIssue; verdict: 'false-positive' | 'accepted-risk' })
  | (Base & { kind: 'sync-issue'; issue: KnownIssue })
  | (Base & { kind: 'revoke-token' })
  | (Base & { kind: 'warn'; message: string });

export type ActionKind = Action['kind'];
