// Which entry of an organization's fine-grained token list is a leaked token: only one with the token's owner and
// expiry to the second, among tokens whose repositories are all that organization's; anything else is a reason.
import { describe, expect, it } from 'vitest';
import type { Reach } from '../src/core/model.js';
import { GAP, lastUseFromOrgGrants, type OrgTokenGrant } from '../src/reach/org-token-grants.js';

const reach = (over: Partial<Reach> = {}): Reach => ({
  checkedAt: '2025-01-01T00:00:00.000Z',
  level: 'write',
  tags: [],
  account: 'alice',
  expiresAt: '2031-03-01T10:20:30.000Z',
  facts: {},
  resources: [{ kind: 'repository', name: 'acme/api', access: 'write' }],
  counts: { repository: 1 },
  gaps: [],
  ...over,
});
const grant = (over: Partial<OrgTokenGrant> = {}): OrgTokenGrant => ({
  owner: 'Alice',
  tokenName: 'deploy',
  expiresAt: '2031-03-01T10:20:30.999Z',
  lastUsedAt: '2024-06-01T00:00:00.000Z',
  ...over,
});

async function lastUse(r: Reach, grants: OrgTokenGrant[] | { error: string }, orgs = ['acme']) {
  const asked: string[] = [];
  const out = await lastUseFromOrgGrants(r, { orgs: new Set(orgs), list: async (org) => (asked.push(org), Array.isArray(grants) ? { grants } : grants) });
  return { out, asked, gaps: out.gaps.filter((g) => g.startsWith(GAP)).map((g) => g.slice(GAP.length)) };
}

describe('last use from the organization token list', () => {
  it('one entry with the owner (any case) and the expiry to the second: its last use (null: never used)', async () => {
    const { out, asked } = await lastUse(reach(), [grant(), grant({ owner: 'bob' }), grant({ expiresAt: '2031-03-01T10:20:31.000Z', lastUsedAt: null })]);
    expect(asked).toEqual(['acme']);
    expect(out.lastUsedAt).toBe('2024-06-01T00:00:00.000Z');
    expect(out.facts).toEqual({ last_used_from: "acme's fine-grained token list", token_name: 'deploy' });
    expect((await lastUse(reach(), [grant({ lastUsedAt: null })])).out.lastUsedAt).toBeNull();
  });

  it('none, or several alike: unknown, with the reason; a later run replaces the reason instead of adding one', async () => {
    expect((await lastUse(reach(), [grant({ owner: 'bob' })])).gaps).toEqual(["no token of alice in acme's list expires at 2031-03-01T10:20:30.000Z"]);
    const twins = await lastUse(reach(), [grant(), grant({ tokenName: 'other' })]);
    expect(twins.out.lastUsedAt).toBeUndefined();
    expect(twins.gaps).toEqual(["2 tokens of alice in acme's list expire at 2031-03-01T10:20:30.000Z: not told apart"]);
    expect((await lastUse(twins.out, [grant(), grant()])).gaps).toHaveLength(1);
  });

  it('nothing is asked when the token cannot be placed in one covered organization', async () => {
    const cases: Array<[Reach, string, string[]?]> = [
      [reach({ expiresAt: undefined }), "the token has no expiry to tell it apart from its owner's other tokens"],
      [reach({ expiresAt: null }), "the token has no expiry to tell it apart from its owner's other tokens"],
      [reach({ account: undefined }), 'the token owner is not known'],
      [reach({ resources: [] }), 'the token reaches no repository, so its organization is not known'],
      [
        reach({
          resources: [
            { kind: 'repository', name: 'acme/api', access: 'write' },
            { kind: 'repository', name: 'other/x', access: 'read' },
          ],
        }),
        "the token reaches repositories of 2 owners, not one organization's",
      ],
      [
        reach({ resources: [{ kind: 'repository', name: 'Alice/dotfiles', access: 'admin' }] }),
        'a token of a personal account: GitHub lists last use only for organizations',
      ],
      [reach(), 'the token belongs to acme, an organization this run does not cover', ['elsewhere']],
    ];
    for (const [r, why, orgs] of cases) {
      const { asked, gaps, out } = await lastUse(r, [grant()], orgs);
      expect(asked).toEqual([]);
      expect(gaps).toEqual([why]);
      expect(out.lastUsedAt).toBeUndefined();
    }
  });

  it('a list the operator may not read: its reason', async () => {
    expect((await lastUse(reach(), { error: 'HTTP 403: Resource not accessible by integration' })).gaps).toEqual([
      'HTTP 403: Resource not accessible by integration',
    ]);
  });
});
