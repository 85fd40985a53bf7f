// The issue loop's re-verification, plus the last use of a live fine-grained GitHub token from its organization's
// token list (src/reach/org-token-grants.ts), listed with the operator's credentials once per organization per run.
import type { ListOrgTokenGrants } from '../reach/org-token-grants.js';
import { lastUseFromOrgGrants } from '../reach/org-token-grants.js';
import type { Reverify } from './run.js';

/** Detectors whose keys are fine-grained personal access tokens (the only ones in an organization's token list). */
const FINE_GRAINED = new Set(['github-fine-grained-pat']);

export function withOrgTokenLastUse(reverify: Reverify, o: { list: ListOrgTokenGrants; orgs: () => Promise<ReadonlySet<string>> }): Reverify {
  let orgs: Promise<ReadonlySet<string>> | undefined;
  return async (req) => {
    const v = await reverify(req);
    if (!v || v.status !== 'live' || !v.reach || !FINE_GRAINED.has(req.detector)) return v;
    orgs ??= o.orgs();
    return { ...v, reach: await lastUseFromOrgGrants(v.reach, { orgs: await orgs, list: o.list }) };
  };
}
