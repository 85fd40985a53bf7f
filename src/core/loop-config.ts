// The `owners`, `issues` and `policy` sections of .keyloop.yaml (the issue loop's config): written form, defaults,
// cross-field rules. Ground types: config/, attribution/, the loop and the App read them.
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { LOOP_DEFAULTS as D } from './loop-defaults.js';
import { Confidence } from './model-schema.js';

export { defaultLoopConfig } from './loop-defaults.js';

const Login = z.string().regex(/^@?[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, 'expected a GitHub login');
const Team = z.string().regex(/^@?[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9._-]+$/, 'expected a team as org/team-slug');
const UserOrTeam = z.union([Team, Login]);
const RepoName = z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'expected owner/repo');

export const OwnersConfig = z
  .object({
    /** Last resort when neither the commit author nor CODEOWNERS gives an assignable owner: a user or a team. */
    fallback: UserOrTeam.optional(),
    /** Extra bot patterns (picomatch globs, case-insensitive) matched against author email and name. */
    bots: z.array(z.string().min(1)).default(D.owners.bots),
    /** Use CODEOWNERS from the mirror's default branch. */
    codeowners: z.boolean().default(D.owners.codeowners),
    /** Resolve commit authors to logins (noreply parsing, then the commits API). */
    commitAuthors: z.boolean().default(D.owners.commitAuthors),
    /** Days an "email maps to no account" answer is trusted before asking GitHub again. */
    unknownEmailTtlDays: z.number().positive().default(D.owners.unknownEmailTtlDays),
  })
  .strict();

export const IssuesConfig = z
  .object({
    enabled: z.boolean().default(D.issues.enabled),
    /** Which verification states open an issue. */
    openOn: z.enum(['live', 'live-or-unknown']).default(D.issues.openOn),
    /**
     * Lowest confidence that opens an issue (a live key is always high): by default a generic guess (low) never
     * lands on a person's desk unverified.
     */
    minConfidence: Confidence.default(D.issues.minConfidence),
    /** Private repo (owner/name) that receives issues for leaks in public repos. Unset: public leaks get no issue. */
    repo: RepoName.optional(),
    /** Extra labels on every issue. */
    labels: z.array(z.string().min(1).max(50)).default(D.issues.labels),
    /** Consecutive dead checks before an issue is closed. */
    closeAfterDeadChecks: z.number().int().min(1).max(10).default(D.issues.closeAfterDeadChecks),
    /** Web base for permalinks (GitHub Enterprise: https://ghe.example.com). */
    webUrl: z.string().url().default(D.issues.webUrl),
  })
  .strict();

export const PolicyConfig = z
  .object({
    /** A key live for longer than this (days since detection) gets reminder comments. */
    maxLiveDays: z.number().positive().default(D.policy.maxLiveDays),
    /** Minimum days between two reminders on one issue. */
    remindEveryDays: z.number().positive().default(D.policy.remindEveryDays),
    /** Team (org/slug) or user mentioned in reminders. */
    escalate: UserOrTeam.optional(),
    /** Send leaked GitHub tokens to POST /credentials/revoke (irreversible; GitHub notifies the token owner). */
    revokeGitHubTokens: z.boolean().default(D.policy.revokeGitHubTokens),
  })
  .strict();

export type OwnersConfig = z.infer<typeof OwnersConfig>;
export type IssuesConfig = z.infer<typeof IssuesConfig>;
export type PolicyConfig = z.infer<typeof PolicyConfig>;

export interface LoopConfig {
  owners: OwnersConfig;
  issues: IssuesConfig;
  policy: PolicyConfig;
}

/** Validates the three raw sections (as left `unknown` by src/config/schema.ts). Errors carry the field path. */
export function parseLoopConfig(raw: { owners?: unknown; issues?: unknown; policy?: unknown }, file = '.keyloop.yaml'): LoopConfig {
  const parse = <T extends z.ZodType>(schema: T, value: unknown, section: string): z.infer<T> => {
    const r = schema.safeParse(value ?? {});
    if (r.success) return r.data;
    const issue = r.error.issues[0];
    const field = [section, ...(issue?.path ?? []).map(String)].join('.');
    throw new ConfigError(issue?.message ?? 'invalid', `${file}: ${field}`);
  };
  return {
    owners: parse(OwnersConfig, raw.owners, 'owners'),
    issues: parse(IssuesConfig, raw.issues, 'issues'),
    policy: parse(PolicyConfig, raw.policy, 'policy'),
  };
}

/** `@org/team` → team, `@login`/`login` → user; leading @ dropped. */
export function parsePrincipal(s: string): { kind: 'user'; login: string } | { kind: 'team'; org: string; slug: string } {
  const t = s.replace(/^@/, '');
  const slash = t.indexOf('/');
  if (slash > 0) return { kind: 'team', org: t.slice(0, slash), slug: t.slice(slash + 1) };
  return { kind: 'user', login: t };
}
