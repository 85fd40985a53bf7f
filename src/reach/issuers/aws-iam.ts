// AWS key reach: the caller (from STS GetCallerIdentity at verification) and, when the key may read IAM, the
// policies attached to its user and the user's groups, and when the key was last used. SigV4 signing is code.
import { maxAccess, type AccessLevel } from '../../core/model.js';
import type { HttpResponse } from '../../verification/http-client.js';
import { pair, signedQuery, tag } from '../../verification/issuers/aws-sts.js';
import type { CodeReacher, ReachDraft } from '../types.js';

const IAM_VERSION = '2010-05-08';
/** Groups whose policies are read (each costs a call). */
const MAX_GROUPS = 5;

/** Every <tag>…</tag> value in an XML answer (AWS Query API answers are flat enough for this). */
function tags(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}>([^<]{1,256})</${name}>`, 'g'))].map((m) => m[1]!);
}

/**
 * What an AWS managed policy grants, by name. Customer policies and inline policies are not read (their
 * documents would need GetPolicyVersion and an evaluator): they are listed, and the level stays what is known.
 */
export function policyLevel(name: string): { level?: AccessLevel; tags: string[] } {
  if (name === 'AdministratorAccess' || name === 'IAMFullAccess' || name === 'AWSOrganizationsFullAccess') return { level: 'admin', tags: ['iam'] };
  if (name === 'PowerUserAccess') return { level: 'write', tags: ['prod'] };
  if (/^(Billing|AWSBillingConductorFullAccess|job-function\/Billing)$/.test(name)) return { level: 'write', tags: ['billing'] };
  if (/FullAccess$/.test(name)) return { level: 'write', tags: [] };
  if (/ReadOnly(Access)?$|^ViewOnlyAccess$|^SecurityAudit$/.test(name)) return { level: 'read', tags: [] };
  return { tags: [] };
}

export const awsIam: CodeReacher = {
  name: 'aws-iam',
  hosts: { iam: 'https://iam.amazonaws.com' },
  needs: 'the key pair (as for aws-sts) and the arn verification recorded; IAM read permission for policies and last use',
  async reach(ctx): Promise<ReachDraft> {
    const draft: ReachDraft = { facts: {}, resources: [], gaps: [], answered: false, tags: [] };
    const p = pair(ctx.secret, ctx.parts);
    const arn = ctx.identity.arn;
    if (!p || !arn) {
      draft.gaps.push(!p ? 'missing part: AWS key id and secret key pair' : 'no ARN from verification');
      return draft;
    }
    draft.answered = true;
    const user = principalUser(ctx, arn, draft);
    if (!user) return draft;
    const iam = iamCaller(ctx, p, draft);
    const { policies, groupNames, inlineNames } = await userPolicies(iam, user, draft);
    await lastUse(iam, p.id, draft);
    if (iam.readable !== undefined) draft.facts.iam_readable = iam.readable;
    const unique = [...new Set(policies)].sort();
    if (unique.length) draft.facts.policies = unique;
    if (inlineNames.length) {
      draft.facts.inline_policies = inlineNames;
      draft.gaps.push(`inline policies not evaluated: ${inlineNames.slice(0, 5).join(', ')}`);
    }
    if (groupNames.length) draft.facts.groups = groupNames;
    for (const name of unique) {
      const l = policyLevel(name);
      if (l.level) draft.level = draft.level === undefined || draft.level === 'unknown' ? l.level : maxAccess(draft.level, l.level);
      draft.tags!.push(...l.tags);
      draft.resources.push({ kind: 'policy', name, access: l.level ?? 'read' });
    }
    return draft;
  },
};

type ReachContext = Parameters<CodeReacher['reach']>[0];
type KeyPair = NonNullable<ReturnType<typeof pair>>;

/**
 * The principal from the verified ARN, recorded in the draft; the IAM user's name when it is one (policies are read
 * for IAM users only). The root user is settled here: every permission, billing included, not limited by IAM.
 */
function principalUser(ctx: ReachContext, arn: string, draft: ReachDraft): string | null {
  draft.facts.account = arn;
  if (ctx.identity.account) draft.facts.aws_account = ctx.identity.account;
  const m = /^arn:aws[\w-]*:(iam|sts)::(\d{12}):(.+)$/.exec(arn);
  const principal = m?.[3] ?? '';
  if (principal === 'root') {
    draft.level = 'admin';
    draft.tags!.push('root', 'billing', 'iam');
    draft.facts.principal = 'root';
    return null;
  }
  const user = /^user\/(?:.+\/)?([\w+=,.@-]{1,64})$/.exec(principal)?.[1];
  draft.facts.principal = principal.split('/')[0] ?? principal;
  if (!user) draft.gaps.push(`principal ${draft.facts.principal}: policies are read for IAM users only`);
  return user ?? null;
}

/** Signed IAM queries with this key; a refusal or failure becomes a gap, and AccessDenied says IAM is not readable. */
interface IamCaller {
  call(action: string, params: Record<string, string>): Promise<string | null>;
  readable: boolean | undefined;
}

function iamCaller(ctx: ReachContext, p: KeyPair, draft: ReachDraft): IamCaller {
  const caller: IamCaller = {
    readable: undefined,
    async call(what, params) {
      const req = signedQuery(ctx.base('iam')!, 'iam', { Action: what, Version: IAM_VERSION, ...params }, p, ctx.now(), (v) => ctx.sensitive(v));
      let res: HttpResponse;
      try {
        res = await ctx.send('iam', req);
      } catch (err) {
        draft.gaps.push(`${what}: ${(err as { reason?: string }).reason ?? (err as Error).message}`);
        return null;
      }
      if (res.status === 200) return res.body;
      const code = tag(res.body, 'Code');
      if (res.status === 403 && code === 'AccessDenied') {
        caller.readable ??= false;
        draft.gaps.push(`${what}: not allowed for this key (AccessDenied)`);
      } else draft.gaps.push(`${what}: HTTP ${res.status}${code ? ` ${code}` : ''}`);
      return null;
    },
  };
  return caller;
}

/** The user's attached policies and those of its groups (up to MAX_GROUPS), its inline policies and groups. */
async function userPolicies(iam: IamCaller, user: string, draft: ReachDraft): Promise<{ policies: string[]; groupNames: string[]; inlineNames: string[] }> {
  const policies: string[] = [];
  const attached = await iam.call('ListAttachedUserPolicies', { UserName: user });
  if (attached !== null) {
    iam.readable = true;
    policies.push(...tags(attached, 'PolicyName'));
  }
  const inline = await iam.call('ListUserPolicies', { UserName: user });
  const inlineNames = inline !== null ? tags(inline, 'member') : [];
  const groups = await iam.call('ListGroupsForUser', { UserName: user });
  const groupNames = groups !== null ? tags(groups, 'GroupName') : [];
  for (const g of groupNames.slice(0, MAX_GROUPS)) {
    const gp = await iam.call('ListAttachedGroupPolicies', { GroupName: g });
    if (gp !== null) policies.push(...tags(gp, 'PolicyName'));
  }
  if (groupNames.length > MAX_GROUPS) draft.gaps.push(`groups: policies of ${groupNames.length - MAX_GROUPS} more group(s) not read`);
  return { policies, groupNames, inlineNames };
}

/** When, where and for which service the key was last used (GetAccessKeyLastUsed). */
async function lastUse(iam: IamCaller, keyId: string, draft: ReachDraft): Promise<void> {
  const used = await iam.call('GetAccessKeyLastUsed', { AccessKeyId: keyId });
  if (used === null) return;
  // LastUsedDate is absent when the key was never used (ServiceName and Region are then "N/A").
  draft.facts.last_used_at = tag(used, 'LastUsedDate') ?? null;
  const service = tag(used, 'ServiceName');
  if (service && service !== 'N/A') draft.facts.last_used_service = service;
  const region = tag(used, 'Region');
  if (region && region !== 'N/A') draft.facts.last_used_region = region;
}
