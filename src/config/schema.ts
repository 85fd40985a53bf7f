// keyloop configuration as written (YAML). Unknown keys are errors in operator files, reported with the field path.
// Which fields a repository's own .keyloop.yaml may set is REPOSITORY_FIELDS: only those that narrow the report.
import { z } from 'zod';

const IssuerOverride = z
  .object({
    baseUrl: z.string().url().optional(),
    /** The issuer's other hosts by the name its detectors' reach blocks give them (Datadog sites, AWS IAM). */
    hosts: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'host names are lowercase'), z.string().url()).optional(),
  })
  .strict()
  .refine((o) => o.baseUrl !== undefined || o.hosts !== undefined, 'baseUrl or hosts');

/** One allowlisted fingerprint (hex, as keyloop prints it). */
export const FingerprintEntry = z.string().regex(/^[0-9a-f]{16,64}$/, 'expected a hex fingerprint');

export const ConfigFile = z
  .object({
    /** Glob patterns (picomatch, matched against repo-relative paths) never scanned / reported. */
    paths: z.object({ exclude: z.array(z.string()).default([]) }).strict().default({ exclude: [] }),
    detectors: z
      .object({
        /** Detector ids turned off. */
        disable: z.array(z.string()).default([]),
        /** When non-empty, only these detector ids run. */
        only: z.array(z.string()).default([]),
      })
      .strict()
      .default({ disable: [], only: [] }),
    allow: z
      .object({
        /** RE2 patterns: a finding whose secret matches one is dropped. */
        regexes: z.array(z.string()).default([]),
        /** Fingerprints (hex, as printed by keyloop) accepted as not-a-leak. */
        fingerprints: z.array(FingerprintEntry).default([]),
      })
      .strict()
      .default({ regexes: [], fingerprints: [] }),
    fingerprint: z.object({ key: z.string().min(8) }).strict().optional(),
    /** Per-issuer base URL overrides: `issuers.github.baseUrl` (GitHub Enterprise), test fakes… Operator only. */
    issuers: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'issuer ids are lowercase'), IssuerOverride).default({}),
    verify: z
      .object({
        timeoutMs: z.number().int().positive().max(120_000).default(10_000),
        cacheTtlHours: z.number().positive().default(24),
        /** Ask a live key's issuer what the key can do (reach) when the issue loop and the App verify. */
        reach: z.boolean().default(true),
      })
      .strict()
      .default({ timeoutMs: 10_000, cacheTtlHours: 24, reach: true }),
    /** Owner attribution, issue lifecycle and policy: validated by the issue loop (src/core/loop-config.ts). */
    owners: z.unknown().optional(),
    issues: z.unknown().optional(),
    policy: z.unknown().optional(),
  })
  .strict();
export type ConfigFile = z.infer<typeof ConfigFile>;

/**
 * The only fields a repository config (a `.keyloop.yaml` inside scanned content) may set: each can only drop
 * findings from the report. Everything else (issuers, verify, fingerprint, owners, issues, policy) decides where
 * data goes or who is told, so it comes from the operator alone.
 */
export const REPOSITORY_FIELDS = ['paths.exclude', 'detectors.disable', 'detectors.only', 'allow.regexes', 'allow.fingerprints'] as const;
export type RepositoryField = (typeof REPOSITORY_FIELDS)[number];
