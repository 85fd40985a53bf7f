// keyloop configuration as written (YAML). Unknown keys are errors in operator files, reported with the field path.
// Which fields a repository's own .keyloop.yaml may set is REPOSITORY_FIELDS: only those that narrow the report.
import { z } from 'zod';
import { CONFIG_DEFAULTS as D, FINGERPRINT_PATTERN } from './fields.js';

export { REPOSITORY_FIELDS, type RepositoryField } from './fields.js';

const IssuerOverride = z
  .object({
    baseUrl: z.string().url().optional(),
    /** The issuer's other hosts by the name its detectors' reach blocks give them (Datadog sites, AWS IAM). */
    hosts: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'host names are lowercase'), z.string().url()).optional(),
  })
  .strict()
  .refine((o) => o.baseUrl !== undefined || o.hosts !== undefined, 'baseUrl or hosts');

/** One allowlisted fingerprint (hex, as keyloop prints it). */
export const FingerprintEntry = z.string().regex(FINGERPRINT_PATTERN, 'expected a hex fingerprint');

export const ConfigFile = z
  .object({
    /** Glob patterns (picomatch, matched against repo-relative paths) never scanned / reported. */
    paths: z.object({ exclude: z.array(z.string()).default(D.paths.exclude) }).strict().default(D.paths),
    detectors: z
      .object({
        /** Detector ids turned off. */
        disable: z.array(z.string()).default(D.detectors.disable),
        /** When non-empty, only these detector ids run. */
        only: z.array(z.string()).default(D.detectors.only),
      })
      .strict()
      .default(D.detectors),
    allow: z
      .object({
        /** RE2 patterns: a finding whose secret matches one is dropped. */
        regexes: z.array(z.string()).default(D.allow.regexes),
        /** Fingerprints (hex, as printed by keyloop) accepted as not-a-leak. */
        fingerprints: z.array(FingerprintEntry).default(D.allow.fingerprints),
      })
      .strict()
      .default(D.allow),
    fingerprint: z.object({ key: z.string().min(8) }).strict().optional(),
    /** Per-issuer base URL overrides: `issuers.github.baseUrl` (GitHub Enterprise), test fakes… Operator only. */
    issuers: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'issuer ids are lowercase'), IssuerOverride).default(D.issuers),
    verify: z
      .object({
        timeoutMs: z.number().int().positive().max(120_000).default(D.verify.timeoutMs),
        cacheTtlHours: z.number().positive().default(D.verify.cacheTtlHours),
        /** Ask a live key's issuer what the key can do (reach) when the issue loop and the App verify. */
        reach: z.boolean().default(D.verify.reach),
      })
      .strict()
      .default(D.verify),
    /** Owner attribution, issue lifecycle and policy: validated by the issue loop (src/core/loop-config.ts). */
    owners: z.unknown().optional(),
    issues: z.unknown().optional(),
    policy: z.unknown().optional(),
  })
  .strict();
export type ConfigFile = z.infer<typeof ConfigFile>;
