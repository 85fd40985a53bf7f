// detectors/*.yaml as written: one file per provider, validated with zod. See README "Adding a detector".
import { z } from 'zod';
import { Severity } from '../core/model-schema.js';
import { VerifySpec } from '../core/verify-spec.js';
import { ReachSpec, RevokeSpec } from '../core/reach-spec.js';

export const Checksum = z.enum(['github-crc32', 'npm-crc32', 'pypi-macaroon', 'jwt', 'luhn']);
export type Checksum = z.infer<typeof Checksum>;

/** Value decoders of obfuscated credential stores (src/detection/stores/): the capture is decoded before filters. */
export const ValueDecoder = z.enum(['filezilla-base64', 'winscp', 'jetbrains-xor', 'basic-auth']);
export type ValueDecoder = z.infer<typeof ValueDecoder>;

/**
 * What a detector reports. `credential`: a secret that grants access. `password-hash`: a stored hash of a password
 * (crypt formats, NTLM): cracking it is work, so it reports at low or medium severity and is never verified.
 */
export const DetectorClass = z.enum(['credential', 'password-hash']);
export type DetectorClass = z.infer<typeof DetectorClass>;

export const Companion = z
  .object({
    /** Name under which the value is passed to verification ({{parts.NAME}}). */
    name: z.string().regex(/^[a-z][a-z0-9_]*$/),
    /** RE2 pattern with exactly one capture group. */
    pattern: z.string(),
    /** Bytes searched either side of the secret. */
    within: z.number().int().positive().max(65536).default(1024),
    /** When true a secret without its companion nearby is not reported. */
    required: z.boolean().default(false),
  })
  .strict();
export type Companion = z.infer<typeof Companion>;

export const DetectorDef = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/),
    name: z.string().min(3),
    /** Case-insensitive literals; the detector runs only near a hit of one of them. At least one (see file_max_bytes). */
    keywords: z.array(z.string().min(2)).default([]),
    /**
     * Key files that hold nothing but the key (Rails `config/master.key`): the pattern also runs on every content
     * of at most this many bytes, keyword or not. Such a detector may have no keywords.
     */
    file_max_bytes: z.number().int().positive().max(4096).optional(),
    /** RE2 pattern with exactly one capture group: the secret. */
    pattern: z.string(),
    severity: Severity.default('high'),
    class: DetectorClass.default('credential'),
    /** Minimum Shannon entropy (bits per character) of the captured secret. */
    entropy: z.number().min(0).max(8).optional(),
    checksum: Checksum.optional(),
    /**
     * The capture is an obfuscated store value (WinSCP `Password=`, FileZilla `<Pass encoding="base64">`, …): the
     * named decoder turns it into the password, which filters judge and the finding reports. Undecodable: dropped.
     */
    decode: ValueDecoder.optional(),
    /** RE2 patterns: a secret (captured text) matching any of them is dropped. */
    allow: z.array(z.string()).default([]),
    /** Generic (keyword/assignment) detectors lose to a provider detector claiming the same secret. */
    generic: z.boolean().default(false),
    /**
     * Which detector reports a secret that several match, before anything specificity.ts weighs: a file format's own
     * detector (`.pypirc`) over a general format's that also reads it (INI). Default 0.
     */
    precedence: z.number().int().min(0).max(3).default(0),
    /** The pattern may span lines (PEM blocks). Other detectors' matches never contain a line break. */
    multiline: z.boolean().default(false),
    companions: z.array(Companion).default([]),
    verify: VerifySpec.optional(),
    /** What a live key can do: asked of the verify block's issuer (src/reach). */
    reach: ReachSpec.optional(),
    /** How the issuer's own API revokes the key (`keyloop revoke`). */
    revoke: RevokeSpec.optional(),
    references: z.array(z.string()).default([]),
    /** Texts that must produce a finding of this detector, and that secret when given as {text, secret}. */
    examples: z.array(z.union([z.string(), z.object({ text: z.string(), secret: z.string() }).strict()])).min(1),
    /** Texts that must not produce a finding of this detector. */
    negative_examples: z.array(z.string()).default([]),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.keywords.length === 0 && d.file_max_bytes === undefined)
      ctx.addIssue({ code: 'custom', path: ['keywords'], message: 'at least one keyword (or file_max_bytes)' });
    // reach and revoke talk to the verify block's issuer, through its base URL and rate limits: never another one
    if ((d.reach || d.revoke) && !d.verify)
      ctx.addIssue({ code: 'custom', path: ['verify'], message: 'reach and revoke need a verify block (it names the issuer)' });
    if (d.class !== 'password-hash') return;
    // a hash is not a live credential: nothing to ask an issuer, and cracking it is work
    if (d.verify) ctx.addIssue({ code: 'custom', path: ['verify'], message: 'a password-hash detector is never verified' });
    if (d.severity !== 'low' && d.severity !== 'medium')
      ctx.addIssue({ code: 'custom', path: ['severity'], message: 'a password-hash detector reports at low or medium severity' });
  });
export type DetectorDef = z.infer<typeof DetectorDef>;

export const ProviderFile = z
  .object({
    provider: z
      .object({
        /** Lowercase issuer id, same as the file name without .yaml. */
        id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
        name: z.string(),
        /** Markdown rotation steps, quoted in issue bodies. */
        rotation: z.string().optional(),
        /** Where the owner revokes or rotates the key (the issuer's console page, or its how-to when the page is per account). */
        revoke_page: z.string().url().startsWith('https://').optional(),
        references: z.array(z.string()).default([]),
      })
      .strict(),
    detectors: z.array(DetectorDef).min(1),
  })
  .strict();
export type ProviderFile = z.infer<typeof ProviderFile>;
