// When a live fine-grained GitHub token was last used, from its organization's list of fine-grained tokens
// (GET /orgs/{org}/personal-access-tokens: owner, token_expires_at, token_last_used_at; only a GitHub App with the
// organization permission "Personal access tokens" (read) may list it). Nothing in the list names the token itself,
// so an entry is taken for the leaked token only when it cannot be another: the token reaches repositories of that
// one organization (a fine-grained token has a single resource owner), and exactly one of the organization's
// entries has the token's owner and the token's expiry to the second (GitHub-Authentication-Token-Expiration).
// Anything less (no expiry, no repository, several alike, no permission) leaves the last use unknown, with why.
import type { Reach } from '../core/model.js';

/** One entry of an organization's fine-grained token list (the fields keyloop reads). */
export interface OrgTokenGrant {
  owner: string;
  tokenName: string | null;
  /** ISO time; null: the token never expires. */
  expiresAt: string | null;
  /** ISO time; null: never used. */
  lastUsedAt: string | null;
}

/** Lists an organization's fine-grained tokens with the operator's credentials, or says why it cannot. */
export type ListOrgTokenGrants = (org: string) => Promise<{ grants: OrgTokenGrant[] } | { error: string }>;

/** Every gap this step writes starts so: a later run replaces them instead of adding more. */
export const GAP = 'last use (organization token list): ';

const second = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** The one organization whose repositories the token reaches, or why there is none. */
function resourceOwner(reach: Reach, login: string): { org: string } | { why: string } {
  const owners = new Set(reach.resources.filter((r) => r.kind === 'repository').map((r) => r.name.split('/')[0]!.toLowerCase()));
  if (owners.size === 0) return { why: 'the token reaches no repository, so its organization is not known' };
  if (owners.size > 1) return { why: `the token reaches repositories of ${owners.size} owners, not one organization's` };
  const [org] = [...owners] as [string];
  if (org === login.toLowerCase()) return { why: 'a token of a personal account: GitHub lists last use only for organizations' };
  return { org };
}

/**
 * The reach of a live fine-grained token with its last use from the organization's token list when exactly one entry
 * can be it, else with a gap saying why not. `orgs`: the organizations the operator covers (lowercase); others are
 * not asked.
 */
export async function lastUseFromOrgGrants(reach: Reach, o: { orgs: ReadonlySet<string>; list: ListOrgTokenGrants }): Promise<Reach> {
  const out: Reach = { ...reach, gaps: reach.gaps.filter((g) => !g.startsWith(GAP)) };
  const gap = (why: string) => ({ ...out, gaps: [...out.gaps, GAP + why] });
  if (!reach.account) return gap('the token owner is not known');
  if (!reach.expiresAt) return gap("the token has no expiry to tell it apart from its owner's other tokens");
  const owner = resourceOwner(reach, reach.account);
  if ('why' in owner) return gap(owner.why);
  if (!o.orgs.has(owner.org)) return gap(`the token belongs to ${owner.org}, an organization this run does not cover`);
  const listed = await o.list(owner.org);
  if ('error' in listed) return gap(listed.error);
  const login = reach.account.toLowerCase();
  const alike = listed.grants.filter((g) => g.owner.toLowerCase() === login && g.expiresAt !== null && second(g.expiresAt) === second(reach.expiresAt!));
  if (alike.length === 0) return gap(`no token of ${reach.account} in ${owner.org}'s list expires at ${reach.expiresAt}`);
  if (alike.length > 1) return gap(`${alike.length} tokens of ${reach.account} in ${owner.org}'s list expire at ${reach.expiresAt}: not told apart`);
  const g = alike[0]!;
  return {
    ...out,
    lastUsedAt: g.lastUsedAt,
    facts: { ...out.facts, last_used_from: `${owner.org}'s fine-grained token list`, ...(g.tokenName ? { token_name: g.tokenName } : {}) },
  };
}
