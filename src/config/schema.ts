// .keyloop.yaml as written. Unknown keys are errors, reported with the path of the bad field.
import { z } from 'zod';

const IssuerOverride = z.object({ baseUrl: z.string().url() }).strict();

export const ConfigFile = z
  .object({
    /** Glob patterns (picomatch, matched against repo-relative paths) never scanned. */
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
        /** RE2 patterns: a finding whose secret or line matches one is dropped. */
        regexes: z.array(z.string()).default([]),
        /** Fingerprints (hex, as printed by keyloop) accepted as not-a-leak. */
        fingerprints: z.array(z.string().regex(/^[0-9a-f]{16,64}$/, 'expected a hex fingerprint')).default([]),
      })
      .strict()
      .default({ regexes: [], fingerprints: [] }),
    fingerprint: z.object({ key: z.string().min(8) }).strict().optional(),
    /** Per-issuer base URL overrides: `issuers.github.baseUrl` (GitHub Enterprise), test fakes… */
    issuers: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'issuer ids are lowercase'), IssuerOverride).default({}),
    verify: z
      .object({
        timeoutMs: z.number().int().positive().max(120_000).default(10_000),
        cacheTtlHours: z.number().positive().default(24),
      })
      .strict()
      .default({ timeoutMs: 10_000, cacheTtlHours: 24 }),
    /** Owner attribution, issue lifecycle and policy: validated by the issue loop (src/loop/config.ts). */
    owners: z.unknown().optional(),
    issues: z.unknown().optional(),
    policy: z.unknown().optional(),
  })
  .strict();
export type ConfigFile = z.infer<typeof ConfigFile>;
