// The `verify:` block of a detector: how to ask the issuer whether a key is live. Validated with zod at load;
// a ground type, since detection (the schema) and verification (the checks) both read it.
import { z } from 'zod';
import { httpOrCode } from './spec-kind.js';

/** Template strings may use {{secret}}, {{parts.NAME}} (companion values) and {{base64 X:Y}} is NOT supported:
 *  use `auth: {basic: [user, pass]}` for Basic auth instead. */
const Template = z.string();

/** One response rule. All given conditions must hold. */
export const ResponseRule = z
  .object({
    status: z.array(z.number().int().min(100).max(599)).min(1),
    /** Substring that must appear in the body. */
    body_contains: z.string().optional(),
    /** JSON body: dotted path must equal the value. */
    json: z.object({ path: z.string(), equals: z.union([z.string(), z.number(), z.boolean(), z.null()]) }).optional(),
    /** Why, recorded as the verification reason. */
    reason: z.string().optional(),
  })
  .strict();
export type ResponseRule = z.infer<typeof ResponseRule>;

/** Issuer id (lowercase): key for `issuers.<id>.baseUrl` overrides, rate-limit queues and the allowlist. */
const IssuerId = z.string().regex(/^[a-z0-9][a-z0-9-]*$/);

export const {
  Http: HttpVerify,
  Code: CodeVerify,
  Spec: VerifySpec,
} = httpOrCode(
  {
    issuer: IssuerId,
    /** Official base URL, https. May contain {{parts.NAME}} for hosts taken from scanned data (then `allowed_hosts` is required). */
    base_url: z.string(),
    /** Hosts (glob with leading `*.`) that a data-derived base_url may resolve to. */
    allowed_hosts: z.array(z.string()).optional(),
    method: z.enum(['GET', 'POST', 'HEAD', 'PUT']).default('GET'),
    /** Path appended to the base URL by string concatenation (not new URL(path, base)). */
    path: Template,
    headers: z.record(z.string(), Template).default({}),
    /** Basic auth [user, password] templates. */
    basic: z.tuple([Template, Template]).optional(),
    body: Template.optional(),
    /** Rules are tried in order: first `live` match → live, else first `dead` match → dead, else unknown. */
    live: z.array(ResponseRule).min(1),
    /** May be empty where the issuer documents no answer that proves the key dead: the check then says live or unknown. */
    dead: z.array(ResponseRule),
    /** What to record about the key: name → 'json:dotted.path' | 'header:name'. */
    identity: z.record(z.string(), z.string().regex(/^(json|header):.+$/)).optional(),
    /** Set when the request has a side effect (writes, rotates, notifies): runs only with --verify-unsafe. */
    unsafe: z.string().optional(),
  },
  {
    issuer: IssuerId,
    /** Name of a verifier registered in src/verification/issuers/ (e.g. 'aws-sts', 'azure-storage', 'gcp-sa', 'github-app'). */
    verifier: z.string(),
    base_url: z.string().optional(),
    unsafe: z.string().optional(),
  },
);
export type HttpVerify = z.infer<typeof HttpVerify>;
export type CodeVerify = z.infer<typeof CodeVerify>;
export type VerifySpec = z.infer<typeof VerifySpec>;
