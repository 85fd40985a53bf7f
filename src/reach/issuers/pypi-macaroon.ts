// PyPI API token reach, read from the token itself: a PyPI token is a macaroon whose caveats say what it may
// upload to (every project of the user, or named projects) and until when. Nothing is sent.
import { pypiMacaroonIdentifiers } from '../../detection/checksums.js';
import type { CodeReacher, ReachDraft } from '../types.js';

/**
 * One caveat as warehouse serializes it: `[tag, …fields]` (0 Expiration [expires_at, not_before], 1 ProjectName
 * [names], 2 ProjectID [ids], 3 RequestUser [user_id], 4 OIDCPublisher, 5 Permission), or the legacy
 * `{"version": 1, "permissions": "user" | {"projects": [...]}}`.
 */
export function readCaveat(text: string, draft: ReachDraft): void {
  let c: unknown;
  try {
    c = JSON.parse(text);
  } catch {
    draft.gaps.push('a caveat is not JSON');
    return;
  }
  if (Array.isArray(c)) {
    const [tag, a, b] = c as [unknown, unknown, unknown];
    if (tag === 0 && typeof a === 'number') {
      draft.facts.expires_at = a;
      if (typeof b === 'number') draft.facts.not_before = new Date(b * 1000).toISOString();
    } else if (tag === 1 && Array.isArray(a)) draft.facts.projects = a.filter((x): x is string => typeof x === 'string');
    else if (tag === 2 && Array.isArray(a)) draft.facts.project_ids = a.filter((x): x is string => typeof x === 'string');
    else if (tag === 3 && typeof a === 'string') draft.facts.user_id = a;
    else if (tag === 4) draft.facts.oidc_publisher = typeof a === 'string' ? a : true;
    else if (tag === 5) draft.facts.permissions = typeof a === 'number' ? a : String(a);
    else draft.gaps.push(`unknown caveat tag ${String(tag).slice(0, 10)}`);
    return;
  }
  if (c && typeof c === 'object') {
    const p = (c as { permissions?: unknown }).permissions;
    if (p === 'user') draft.facts.scope = 'user';
    else if (p && typeof p === 'object' && Array.isArray((p as { projects?: unknown }).projects))
      draft.facts.projects = ((p as { projects: unknown[] }).projects).filter((x): x is string => typeof x === 'string');
    return;
  }
  draft.gaps.push('a caveat of an unknown shape');
}

export const pypiMacaroon: CodeReacher = {
  name: 'pypi-macaroon',
  hosts: {},
  offline: true,
  needs: 'secret: the pypi-… token (its caveats are read locally)',
  async reach(ctx): Promise<ReachDraft> {
    const draft: ReachDraft = { facts: {}, resources: [], gaps: [], answered: false, tags: ['publish'] };
    const ids = pypiMacaroonIdentifiers(ctx.secret);
    if (!ids) {
      draft.gaps.push('not a PyPI macaroon');
      return draft;
    }
    draft.answered = true;
    for (const id of ids.slice(1)) readCaveat(id.toString('utf8'), draft);
    const projects = draft.facts.projects;
    if (Array.isArray(projects) && projects.length) {
      draft.facts.scope = 'projects';
      for (const name of projects) draft.resources.push({ kind: 'package', name, access: 'write', public: true });
    } else {
      // No project caveat: the token uploads to every project its user can.
      draft.facts.scope ??= 'user';
      draft.level = 'write';
    }
    return draft;
  },
};
