// Domain model shared by every stage: zod schema and inferred type under one name.
import { z } from 'zod';

export const Author = z.object({ name: z.string(), email: z.string() });
export type Author = z.infer<typeof Author>;

/** Where a blob entered history: the commit that introduced it at `path` (differs from every parent there). */
export const Origin = z.object({
  commit: z.string(),
  author: Author,
  /** Author date, ISO 8601. */
  date: z.string(),
  subject: z.string(),
  path: z.string(),
});
export type Origin = z.infer<typeof Origin>;

/** A unit of content to scan: a git blob (oid = blob sha) or a plain file (oid = null). */
export interface ScanItem {
  /** Blob object id, or null for a file read from a plain directory / working tree. */
  oid: string | null;
  /** Every place this content appears (one per introducing commit+path; one entry with commit '' for plain files). */
  origins: Origin[];
  size: number;
}

export const VerificationStatus = z.enum(['live', 'dead', 'unknown']);
export type VerificationStatus = z.infer<typeof VerificationStatus>;

/** How far a key reaches on something: read < write < admin. */
export const AccessLevel = z.enum(['read', 'write', 'admin']);
export type AccessLevel = z.infer<typeof AccessLevel>;
const ACCESS_RANK: Record<AccessLevel, number> = { read: 0, write: 1, admin: 2 };
export function maxAccess(a: AccessLevel, b: AccessLevel): AccessLevel {
  return ACCESS_RANK[a] >= ACCESS_RANK[b] ? a : b;
}
export function accessAtLeast(a: AccessLevel, min: AccessLevel): boolean {
  return ACCESS_RANK[a] >= ACCESS_RANK[min];
}

/** A thing the key can touch (repository, package, project, domain, account …) and how. */
export const ReachResource = z.object({
  kind: z.string(),
  name: z.string(),
  access: AccessLevel,
  /** The resource is public (a public repository, a public package): writing to it reaches everyone. */
  public: z.boolean().optional(),
});
export type ReachResource = z.infer<typeof ReachResource>;

export const FactValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);
export type FactValue = z.infer<typeof FactValue>;

/**
 * What a live key can do, as its own issuer reports it (src/reach). Never holds the secret: values come from the
 * issuer's answers and pass through the SecretRegistry before they are kept.
 */
export const Reach = z.object({
  checkedAt: z.string(),
  /** Strongest access found; `unknown` when no request answered. */
  level: z.union([AccessLevel, z.literal('unknown')]),
  /** What makes the key dangerous beyond its level: admin, write, prod, billing, publish, public-write, pii … */
  tags: z.array(z.string()),
  /** Who the key acts as (login, e-mail, account id, team …). */
  account: z.string().optional(),
  scopes: z.array(z.string()).optional(),
  /** null: the issuer says the key never expires; absent: not known. */
  expiresAt: z.string().nullable().optional(),
  /** Only where the issuer exposes it; null: never used. */
  lastUsedAt: z.string().nullable().optional(),
  /** Everything else the issuer told (organization, project, mode, site, team …). */
  facts: z.record(z.string(), FactValue),
  /** The resources reached, strongest first (at most 50 kept); `counts` covers all of them. */
  resources: z.array(ReachResource),
  /** `<kind>` and `<kind>:<level>` → how many (e.g. repository: 40, repository:admin: 3, repository:public-write: 1). */
  counts: z.record(z.string(), z.number()),
  /** Requests that did not answer, so the picture may be incomplete (e.g. "orgs: HTTP 403"). */
  gaps: z.array(z.string()),
});
export type Reach = z.infer<typeof Reach>;

export const Verification = z.object({
  status: VerificationStatus,
  checkedAt: z.string(),
  reason: z.string(),
  /** What the issuer said about the key when cheap to learn: login, scopes, account, arn, team, expiry … */
  identity: z.record(z.string(), z.string()).optional(),
  /** What the key can do (src/reach), when reach analysis ran for a live key. */
  reach: Reach.optional(),
});
export type Verification = z.infer<typeof Verification>;

/** How sure keyloop is that a finding is a real secret (detection/confidence.ts). */
export const Confidence = z.enum(['low', 'medium', 'high']);
export type Confidence = z.infer<typeof Confidence>;
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

export const Severity = z.enum(['low', 'medium', 'high', 'critical']);
export type Severity = z.infer<typeof Severity>;

/** Where a secret stands: open until rotated (`revoked`) or triaged (`false-positive`, accepted risk: `ignored`). */
export const SecretStatus = z.enum(['open', 'false-positive', 'revoked', 'ignored']);
export type SecretStatus = z.infer<typeof SecretStatus>;

/** Who made a login a secret's owner: attribution's tiers (AttributedSource), or a person assigning the issue. */
export const OwnerSource = z.enum(['commit-author', 'codeowners', 'fallback', 'manual']);
export type OwnerSource = z.infer<typeof OwnerSource>;
/** The sources attribution itself decides from (src/attribution/owners.ts). */
export type AttributedSource = Exclude<OwnerSource, 'manual'>;

export const Location = z.object({
  /** Commit that introduced the blob at `path`; null for plain files / staged content. */
  commit: z.string().nullable(),
  author: Author.nullable(),
  date: z.string().nullable(),
  path: z.string(),
  /** 1-based line; 1-based column in UTF-16 code units of the line (SARIF's default columnKind). */
  line: z.number().int().positive(),
  column: z.number().int().positive(),
  /** Blob oid the match was found in, null for plain files. */
  blob: z.string().nullable(),
  /** Decoders applied to reach the secret, outermost first (e.g. ["base64"]); absent when found in plain text. */
  decoded: z.array(z.string()).optional(),
  /** `fixture`: the path is a test fixture or example (test/, fixtures/, examples/ …): lower confidence. */
  context: z.enum(['fixture']).optional(),
});
export type Location = z.infer<typeof Location>;

export const Finding = z.object({
  detector: z.string(),
  /** Human name of the detector. */
  name: z.string(),
  provider: z.string(),
  severity: Severity,
  confidence: Confidence,
  /** Other detectors that matched the same secret (one finding per secret: the most specific detector's). */
  alsoMatched: z.array(z.string()).optional(),
  /** hex HMAC-SHA256(fingerprint key, detector + "\0" + secret). */
  fingerprint: z.string(),
  /** Plaintext: present only with --reveal. */
  secret: z.string().optional(),
  redacted: z.string(),
  locations: z.array(Location),
  verification: Verification.optional(),
});
export type Finding = z.infer<typeof Finding>;

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

/**
 * Something the scan could not read, so a secret might be in it: an unreadable object (corrupt, truncated,
 * missing), a blob over --max-blob-size, an unreadable file. Any such entry makes the scan *incomplete*.
 */
export const IncompleteItem = z.object({
  /** Object id (blob, tree, commit) when known; null for plain files or a failure no object is named in. */
  object: z.string().nullable(),
  /** Path of the content, when known. */
  path: z.string().optional(),
  /** Why, as a stable code: too-large, missing-object, corrupt-object, unreadable, error, git-error… */
  reason: z.string(),
  /** The reason in words (git's message, the size and the limit…). */
  detail: z.string().optional(),
});
export type IncompleteItem = z.infer<typeof IncompleteItem>;

export interface ScanStats {
  blobs: number;
  bytes: number;
  skipped: number;
  findings: number;
  elapsedMs: number;
}
