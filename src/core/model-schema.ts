// The domain model's zod schemas, schema and inferred type under one name, for code that validates data crossing a
// boundary (a report read back, the catalog's YAML, config). The types, the enums' values and the rules on them are
// in model.ts, which loads no zod: `keyloop scan` validates nothing when there is nothing to validate (start-up).
import { z } from 'zod';
import { ACCESS_LEVELS, CONFIDENCES, OWNER_SOURCES, SECRET_STATUSES, SEVERITIES, VERIFICATION_STATUSES } from './model.js';

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

export const VerificationStatus = z.enum(VERIFICATION_STATUSES);

export const AccessLevel = z.enum(ACCESS_LEVELS);

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

export const Confidence = z.enum(CONFIDENCES);
export const Severity = z.enum(SEVERITIES);
export const SecretStatus = z.enum(SECRET_STATUSES);
export const OwnerSource = z.enum(OWNER_SOURCES);

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
