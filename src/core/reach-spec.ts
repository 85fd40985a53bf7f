// The `reach:` and `revoke:` blocks of a detector: what to ask a live key's issuer about what the key can do, and how
// to revoke the key through the issuer's own API. Validated with zod at load (detection/schema.ts); run by src/reach
// and src/revoke. A ground type, like the verify spec: the catalog's schema uses it without importing what runs it.
import { httpOrCode } from './spec-kind.js';
import { z } from 'zod';
import { AccessLevel } from './model-schema.js';

const Name = z.string().regex(/^[a-z][a-z0-9_]*$/);
const Template = z.string();
const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/**
 * Where a value comes from in an answer: `json:<dotted.path>` (`json:` alone is the whole body; `a[].b` maps over
 * an array), `header:<name>`, or `status` (the HTTP status).
 */
export const Source = z.string().regex(/^(json:.*|header:[A-Za-z0-9-]+|status)$/, 'json:<path>, header:<name> or status');
export type Source = z.infer<typeof Source>;

/** A test on one item of a list answer (dotted path inside the item). */
export const ItemTest = z
  .object({
    path: z.string(),
    equals: Scalar.optional(),
    in: z.array(Scalar).optional(),
  })
  .strict()
  .refine((t) => t.equals !== undefined || t.in !== undefined, 'equals or in');
export type ItemTest = z.infer<typeof ItemTest>;

/** A test on what is known so far: a fact, or the key's own prefix (Stripe live vs test keys). */
export const FactTest = z
  .object({
    fact: Name.optional(),
    /** The fact equals this value. */
    equals: Scalar.optional(),
    /** The fact (a string, or any element of a list) is one of these. */
    any: z.array(z.string()).optional(),
    /** The fact (or any element) starts with one of these. */
    prefix: z.array(z.string()).optional(),
    /** The fact (or any element) contains one of these (Slack `chat:write`, SendGrid `mail.send`). */
    contains: z.array(z.string()).optional(),
    /** The fact is known (true) or not (false). */
    exists: z.boolean().optional(),
    /** The secret starts with one of these (local: nothing is sent). */
    secret_prefix: z.array(z.string()).optional(),
  })
  .strict()
  .refine((t) => (t.fact !== undefined) !== (t.secret_prefix !== undefined), 'either fact or secret_prefix')
  .refine((t) => t.secret_prefix !== undefined || [t.equals, t.any, t.prefix, t.contains, t.exists].some((x) => x !== undefined), 'a fact test needs equals, any, prefix, contains or exists');
export type FactTest = z.infer<typeof FactTest>;

/** Items of a list answer become resources: each with a name, an access level and maybe a public flag. */
export const ResourcesSpec = z
  .object({
    /** The list: `json:` (the body is the list), `json:repositories` … */
    items: z.string().regex(/^json:.*$/),
    /** The list is an object whose keys are the names (npm: {"pkg": "read-write"}); each value is the item. */
    entries: z.boolean().default(false),
    kind: Name,
    /** Path of the name inside an item (ignored with `entries`). */
    name: z.string().default(''),
    /** One level for all, or rules tried in order (a rule without `if` always applies). */
    access: z.union([AccessLevel, z.array(z.object({ if: ItemTest.optional(), level: AccessLevel }).strict()).min(1)]),
    public: ItemTest.optional(),
    /** Tags the key gets when it can write to at least one of these (npm packages: publish). */
    write_tags: z.array(z.string().regex(/^[a-z][a-z0-9-]*$/)).default([]),
  })
  .strict();
export type ResourcesSpec = z.infer<typeof ResourcesSpec>;

export const Paginate = z.union([
  /** RFC 8288 Link header, rel="next" (GitHub, GitLab, Heroku-style Range is not supported). */
  z.literal('link'),
  /**
   * A cursor in the body sent back as a query parameter (Slack response_metadata.next_cursor, OpenAI last_id);
   * with `more`, only while that value is true (OpenAI and Anthropic lists: has_more).
   */
  z.object({ cursor: Source, param: z.string().regex(/^[a-z_]+$/), more: Source.optional() }).strict(),
  /** The next page's URL in the body (npm urls.next, DigitalOcean links.pages.next); must stay within the base. */
  z.object({ next_url: Source }).strict(),
]);
export type Paginate = z.infer<typeof Paginate>;

export const ReachRequest = z
  .object({
    name: Name,
    /** A named host of the block (`hosts`); default: the base URL the key was verified against. */
    host: Name.optional(),
    method: z.enum(['GET', 'POST']).default('GET'),
    /** Required with POST: why this POST only reads (Slack's Web API takes reads as POST). */
    read_only: z.string().optional(),
    /** May use {{secret}}, {{parts.NAME}} and, in the path only, {{facts.NAME}} (percent-encoded). */
    path: Template,
    headers: z.record(z.string(), Template).default({}),
    basic: z.tuple([Template, Template]).optional(),
    body: Template.optional(),
    /** Sent only when this holds. */
    when: FactTest.optional(),
    paginate: Paginate.optional(),
    max_pages: z.number().int().min(1).max(20).default(5),
    /** Facts taken from the (first page's) answer. Names with a meaning: account, scopes, expires_at, last_used_at. */
    facts: z.record(Name, Source).default({}),
    resources: ResourcesSpec.optional(),
    /** A 2xx answer counts only when this holds (Slack answers 200 {"ok":false,"error":…}); `error` names the reason. */
    require: z.object({ path: z.string(), equals: Scalar, error: z.string().optional() }).strict().optional(),
    /** Answers that mean "this key may not ask that": fact NAME = false instead of a gap (IAM not readable …). */
    denied: z.object({ status: z.array(z.number().int().min(400).max(499)).min(1), fact: Name }).strict().optional(),
  })
  .strict()
  .refine((r) => r.method === 'GET' || !!r.read_only, 'a POST needs read_only: why it changes nothing');
export type ReachRequest = z.infer<typeof ReachRequest>;

/** What a fact or the key's prefix says about its reach. */
export const Grant = z
  .object({
    if: FactTest,
    level: AccessLevel.optional(),
    tags: z.array(z.string().regex(/^[a-z][a-z0-9-]*$/)).default([]),
    /** Said in the result's gaps when the test holds: what the answers cannot tell (fine-grained permissions …). */
    note: z.string().optional(),
  })
  .strict()
  .refine((g) => g.level !== undefined || g.tags.length > 0 || g.note !== undefined, 'a grant sets a level, tags or a note');
export type Grant = z.infer<typeof Grant>;

/**
 * A ceiling on resources of one kind: the issuer lists what the *account* may do, the key may do less (a classic
 * GitHub token without the repo scope cannot push wherever its user can).
 */
export const Limit = z
  .object({
    kind: Name,
    max: AccessLevel,
    /** Applies when this holds (default: always) … */
    when: FactTest.optional(),
    /** … and this does not. */
    unless: FactTest.optional(),
  })
  .strict();
export type Limit = z.infer<typeof Limit>;

/**
 * Which of the block's hosts the key belongs to (Datadog keys live on one site): each host is asked in order
 * (the one named by a companion first) until one answers `found`. The rest of the block goes to that host.
 */
export const Locate = z
  .object({
    path: Template,
    headers: z.record(z.string(), Template).default({}),
    found: z.object({ status: z.array(z.number().int()).min(1), json: z.object({ path: z.string(), equals: Scalar }).strict().optional() }).strict(),
    /** A companion naming the host (compared with the end of each host name: "datadoghq.eu"). */
    part: Name.optional(),
    /** The fact the found host's name is recorded under. */
    fact: Name,
  })
  .strict();
export type Locate = z.infer<typeof Locate>;

export const {
  Http: HttpReach,
  Code: CodeReach,
  Spec: ReachSpec,
} = httpOrCode(
  {
    /** Other official hosts of the same issuer, by name (override: `issuers.<id>.hosts.<name>`); https only. */
    hosts: z.record(Name, z.string().startsWith('https://')).default({}),
    locate: Locate.optional(),
    requests: z.array(ReachRequest).min(1),
    grants: z.array(Grant).default([]),
    limits: z.array(Limit).default([]),
    /** The issuer's pages the requests, fields and grants come from. */
    references: z.array(z.string().url()).min(1),
  },
  {
    /** Name of a reacher registered in src/reach/issuers/. */
    reacher: z.string(),
    references: z.array(z.string().url()).min(1),
  },
);
export type HttpReach = z.infer<typeof HttpReach>;
export type CodeReach = z.infer<typeof CodeReach>;
export type ReachSpec = z.infer<typeof ReachSpec>;

/** What every revoke block may say besides how to send it. */
const revokeCommon = {
  /** Default: the base URL the key is verified against; a named host may be given instead. */
  base_url: z.string().startsWith('https://').optional(),
  /** What happens after the call (GitHub notifies the token's owner; nothing is revoked by hand). */
  note: z.string().optional(),
  /** Why the key may still work right after a revocation the issuer accepted (GitHub revokes asynchronously …). */
  pending: z.string().optional(),
  references: z.array(z.string().url()).min(1),
};

/**
 * `revoke:` how the issuer's own API revokes the key (GitHub's public credential revocation, GitLab's
 * `DELETE /personal_access_tokens/self`, Slack's `auth.revoke`, …). Run only by `keyloop revoke` (or the
 * operator's revocation policy); never as part of a scan.
 */
export const {
  Http: HttpRevoke,
  Code: CodeRevoke,
  Spec: RevokeSpec,
} = httpOrCode(
  {
    method: z.enum(['POST', 'DELETE']),
    path: Template,
    headers: z.record(z.string(), Template).default({}),
    basic: z.tuple([Template, Template]).optional(),
    /** JSON body: string values are templates (rendered, then the whole is serialized). */
    json: z.unknown().optional(),
    /** Form body (application/x-www-form-urlencoded): values are templates. */
    form: z.record(z.string(), Template).optional(),
    /** Answers that mean the issuer revoked (or accepted to revoke) the key. */
    ok: z
      .array(
        z
          .object({
            status: z.array(z.number().int().min(200).max(299)).min(1),
            json: z.object({ path: z.string(), equals: Scalar }).strict().optional(),
          })
          .strict(),
      )
      .min(1),
    ...revokeCommon,
  },
  // a revocation that needs more than one request (npm: find the token's key, then delete it), in src/revoke/issuers/
  {
    /** Name of a revoker registered in src/revoke/issuers/. */
    revoker: z.string(),
    ...revokeCommon,
  },
);
export type HttpRevoke = z.infer<typeof HttpRevoke>;
export type CodeRevoke = z.infer<typeof CodeRevoke>;
export type RevokeSpec = z.infer<typeof RevokeSpec>;
