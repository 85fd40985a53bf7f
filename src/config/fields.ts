// What the configuration is when no file is written, and the names of its fields. No zod here: a scan without a
// config file validates nothing and never loads it (start-up). config/schema.ts builds the written form on these.

/** Every top-level section of a config file (config/schema.ts ConfigFile has exactly these). */
export const CONFIG_SECTIONS = ['paths', 'detectors', 'allow', 'fingerprint', 'issuers', 'verify', 'owners', 'issues', 'policy'] as const;

/** The sections and fields ConfigFile fills in when a file leaves them out (and all of them with no file). */
export const CONFIG_DEFAULTS = {
  paths: { exclude: [] as string[] },
  detectors: { disable: [] as string[], only: [] as string[] },
  allow: { regexes: [] as string[], fingerprints: [] as string[] },
  issuers: {},
  verify: { timeoutMs: 10_000, cacheTtlHours: 24, reach: true },
};

/** A fingerprint as keyloop prints it (hex HMAC-SHA256, possibly shortened). */
export const FINGERPRINT_PATTERN = /^[0-9a-f]{16,64}$/;

/**
 * The only fields a repository config (a `.keyloop.yaml` inside scanned content) may set: each can only drop
 * findings from the report. Everything else (issuers, verify, fingerprint, owners, issues, policy) decides where
 * data goes or who is told, so it comes from the operator alone.
 */
export const REPOSITORY_FIELDS = ['paths.exclude', 'detectors.disable', 'detectors.only', 'allow.regexes', 'allow.fingerprints'] as const;
export type RepositoryField = (typeof REPOSITORY_FIELDS)[number];
