// Domain model shared by every stage: its types, the enums' values and the rules on them. Loads no zod: the
// schemas the object types are inferred from are in model-schema.ts, for code that validates (start-up: a
// `keyloop scan` with nothing to validate never loads zod).
import type { Finding, Origin, Verification } from './model-schema.js';

export type { Author, FactValue, Finding, IncompleteItem, Location, Origin, Reach, ReachResource, Verification } from './model-schema.js';

/** A unit of content to scan: a git blob (oid = blob sha) or a plain file (oid = null). */
export interface ScanItem {
  /** Blob object id, or null for a file read from a plain directory / working tree. */
  oid: string | null;
  /** Every place this content appears (one per introducing commit+path; one entry with commit '' for plain files). */
  origins: Origin[];
  size: number;
}

export const VERIFICATION_STATUSES = ['live', 'dead', 'unknown'] as const;
export type VerificationStatus = (typeof VERIFICATION_STATUSES)[number];

/** How far a key reaches on something: read < write < admin. */
export const ACCESS_LEVELS = ['read', 'write', 'admin'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];
const ACCESS_RANK: Record<AccessLevel, number> = { read: 0, write: 1, admin: 2 };
export function maxAccess(a: AccessLevel, b: AccessLevel): AccessLevel {
  return ACCESS_RANK[a] >= ACCESS_RANK[b] ? a : b;
}
export function accessAtLeast(a: AccessLevel, min: AccessLevel): boolean {
  return ACCESS_RANK[a] >= ACCESS_RANK[min];
}

/** How sure keyloop is that a finding is a real secret (detection/confidence.ts). */
export const CONFIDENCES = ['low', 'medium', 'high'] as const;
export type Confidence = (typeof CONFIDENCES)[number];
const CONFIDENCE_RANK: Record<Confidence, number> = { low: 0, medium: 1, high: 2 };

export function atLeast(c: Confidence, min: Confidence): boolean {
  return CONFIDENCE_RANK[c] >= CONFIDENCE_RANK[min];
}

export function maxConfidence(a: Confidence, b: Confidence): Confidence {
  return CONFIDENCE_RANK[a] >= CONFIDENCE_RANK[b] ? a : b;
}

/** Records a verification on a finding: a key its issuer accepted is `high` whatever matched it. */
export function applyVerification(f: { verification?: Verification; confidence: Confidence }, v: Verification): void {
  f.verification = v;
  if (v.status === 'live') f.confidence = 'high';
}

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Where a secret stands: open until rotated (`revoked`) or triaged (`false-positive`, accepted risk: `ignored`). */
export const SECRET_STATUSES = ['open', 'false-positive', 'revoked', 'ignored'] as const;
export type SecretStatus = (typeof SECRET_STATUSES)[number];

/** Who made a login a secret's owner: attribution's tiers (AttributedSource), or a person assigning the issue. */
export const OWNER_SOURCES = ['commit-author', 'codeowners', 'fallback', 'manual'] as const;
export type OwnerSource = (typeof OWNER_SOURCES)[number];
/** The sources attribution itself decides from (src/attribution/owners.ts). */
export type AttributedSource = Exclude<OwnerSource, 'manual'>;

/** Plaintext finding, in-process only: reporters drop `secret`/`parts` unless --reveal. */
export interface RawFinding extends Omit<Finding, 'secret'> {
  secret: string;
  parts: Record<string, string>;
}

/** --only-live: the findings whose key its issuer said is live. */
export function onlyLive<F extends Pick<Finding, 'verification'>>(findings: F[]): F[] {
  return findings.filter((f) => f.verification?.status === 'live');
}

/** Raw match from the detection engine, before grouping into findings. Holds plaintext: never log it. */
export interface Match {
  detectorId: string;
  /** The captured secret (UTF-8 decoded). */
  secret: string;
  /** Named companion values found near the secret (e.g. AWS key id beside its secret key). */
  parts: Record<string, string>;
  /** Byte offset of the secret in the scanned buffer (original buffer when decoded: offset of the encoded span). */
  offset: number;
  line: number;
  column: number;
  decoded?: string[];
  /** Other detectors that matched this secret here and lost to this one (detection/specificity.ts). */
  alsoMatched?: string[];
  /**
   * A scan for any path (ScanContext.anyPath): bit k set when the match holds for paths of class k
   * (detection/filters.ts pathClass). Resolved with the real path before the match leaves the scanner.
   */
  pathClasses?: number;
}

export interface SkippedItem {
  path: string;
  blob: string | null;
  reason: 'binary' | 'too-large' | 'unreadable' | 'missing-object' | 'corrupt-object' | 'excluded' | 'error';
  detail?: string;
}

export interface ScanStats {
  blobs: number;
  bytes: number;
  skipped: number;
  findings: number;
  elapsedMs: number;
}
