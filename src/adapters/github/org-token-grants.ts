// An organization's fine-grained personal access tokens as GitHub lists them to the operator's GitHub App
// (GET /orgs/{org}/personal-access-tokens, every page), read once per organization per run. Never sends a leaked key.
import { z } from 'zod';
import type { ListOrgTokenGrants, OrgTokenGrant } from '../../reach/org-token-grants.js';
import { hostError, type GitHubClient } from './client.js';

/** A time GitHub wrote, as ISO; null stays null (never expires, never used), anything unreadable fails the entry. */
const Time = z
  .string()
  .refine((t) => !Number.isNaN(Date.parse(t)), 'a time')
  .transform((t) => new Date(Date.parse(t)).toISOString())
  .nullable();

/** The fields keyloop reads of GitHub's organization-programmatic-access-grant. */
const Grant = z
  .object({
    owner: z.object({ login: z.string() }).passthrough(),
    token_name: z.string().nullish(),
    token_expires_at: Time,
    token_last_used_at: Time,
  })
  .passthrough();

export function orgTokenGrants(octokit: GitHubClient): ListOrgTokenGrants {
  const cache = new Map<string, ReturnType<ListOrgTokenGrants>>();
  const fetchOnce = async (org: string): ReturnType<ListOrgTokenGrants> => {
    let items: unknown[];
    try {
      items = await octokit.paginate(octokit.rest.orgs.listPatGrants, { org, per_page: 100 });
    } catch (err) {
      const e = hostError(`GET /orgs/${org}/personal-access-tokens`, err);
      const needs =
        e.status === 403 || e.status === 404 ? ' (GitHub lists them only to a GitHub App with the organization permission "Personal access tokens: read")' : '';
      return { error: `${e.message}${needs}` };
    }
    const grants: OrgTokenGrant[] = [];
    for (const item of items) {
      const g = Grant.safeParse(item);
      if (!g.success) return { error: `GitHub's token list of ${org} has an entry keyloop does not read` };
      grants.push({
        owner: g.data.owner.login,
        tokenName: g.data.token_name ?? null,
        expiresAt: g.data.token_expires_at,
        lastUsedAt: g.data.token_last_used_at,
      });
    }
    return { grants };
  };
  return (org) => {
    const key = org.toLowerCase();
    let p = cache.get(key);
    if (!p) cache.set(key, (p = fetchOnce(org)));
    return p;
  };
}
