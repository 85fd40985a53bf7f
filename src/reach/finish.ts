// From what the issuer answered (a ReachDraft) to a Reach: the fields with a meaning, the strongest level, tags
// from grants and resources, counts, and the resources worth showing.
import { accessAtLeast, maxAccess, type AccessLevel, type FactValue, type Reach, type ReachResource } from '../core/model.js';
import { factHolds } from './run-http.js';
import type { Grant, Limit } from '../core/reach-spec.js';
import type { ReachDraft } from './types.js';

/** Resources kept in the result (counts cover all of them). */
export const MAX_RESOURCES = 50;

const RANK: Record<AccessLevel, number> = { admin: 0, write: 1, read: 2 };

/** Scopes as the issuer lists them: a list, or one string separated by commas and/or spaces. */
function scopeList(v: FactValue | null | undefined): string[] | undefined {
  if (Array.isArray(v)) return v.filter((s) => s !== '');
  if (typeof v === 'string') return v.split(/[\s,]+/).filter((s) => s !== '');
  return undefined;
}

/** An ISO time from a string or a Unix epoch (seconds); null stays null (the issuer said never). */
function time(v: FactValue | null | undefined): string | null | undefined {
  if (v === null) return null;
  if (typeof v === 'number') return new Date(v * 1000).toISOString();
  if (typeof v !== 'string' || v === '') return undefined;
  // GitHub's expiration header: "2031-01-01 00:00:00 UTC"
  const t = Date.parse(v.replace(/ UTC$/, 'Z').replace(/^(\d{4}-\d\d-\d\d) (\d)/, '$1T$2'));
  return Number.isNaN(t) ? v : new Date(t).toISOString();
}

export function finishReach(draft: ReachDraft, rules: { grants?: readonly Grant[]; limits?: readonly Limit[] }, secret: string, now: Date): Reach {
  const facts = { ...draft.facts };
  const scopes = scopeList(facts.scopes);
  if (scopes) facts.scopes = scopes;
  const tags = new Set(draft.tags ?? []);
  let level: AccessLevel | 'unknown' = draft.level ?? (draft.answered ? 'read' : 'unknown');
  const raise = (l: AccessLevel) => (level = level === 'unknown' ? l : maxAccess(level, l));
  const gaps = [...draft.gaps];
  for (const g of rules.grants ?? []) {
    if (!factHolds(g.if, facts, secret)) continue;
    if (g.level) raise(g.level);
    for (const t of g.tags) tags.add(t);
    if (g.note) gaps.push(g.note);
  }
  const ceilings = (rules.limits ?? []).filter((l) => (!l.when || factHolds(l.when, facts, secret)) && !(l.unless && factHolds(l.unless, facts, secret)));
  const cap = (r: ReachResource): ReachResource => {
    let access = r.access;
    for (const l of ceilings) if (l.kind === r.kind && !accessAtLeast(l.max, access)) access = l.max;
    return access === r.access ? r : { ...r, access };
  };
  const counts: Record<string, number> = {};
  const add = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);
  // the same resource may come from two requests (orgs from two lists): keep its strongest access
  const byKey = new Map<string, ReachResource>();
  for (const r of draft.resources.map(cap)) {
    const k = `${r.kind}\0${r.name}`;
    const prev = byKey.get(k);
    if (!prev) byKey.set(k, { ...r });
    else {
      prev.access = maxAccess(prev.access, r.access);
      if (r.public) prev.public = true;
    }
  }
  const resources = [...byKey.values()];
  for (const r of resources) {
    add(r.kind);
    add(`${r.kind}:${r.access}`);
    if (r.public) add(`${r.kind}:public`);
    if (r.public && accessAtLeast(r.access, 'write')) {
      add(`${r.kind}:public-write`);
      tags.add('public-write');
    }
    raise(r.access);
  }
  if (level === 'admin') tags.add('admin');
  if (level === 'write' || level === 'admin') tags.add('write');
  resources.sort((a, b) => RANK[a.access] - RANK[b.access] || Number(!!b.public) - Number(!!a.public) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));

  const out: Reach = {
    checkedAt: now.toISOString(),
    level,
    tags: [...tags].sort(),
    facts: {},
    resources: resources.slice(0, MAX_RESOURCES),
    counts,
    gaps,
  };
  const account = facts.account;
  if (typeof account === 'string' || typeof account === 'number') out.account = String(account);
  if (scopes) out.scopes = scopes;
  const expires = time(facts.expires_at);
  if (expires !== undefined) out.expiresAt = expires;
  const used = time(facts.last_used_at);
  if (used !== undefined) out.lastUsedAt = used;
  for (const [k, v] of Object.entries(facts)) {
    if (['account', 'scopes', 'expires_at', 'last_used_at'].includes(k) || v === null) continue;
    out.facts[k] = v;
  }
  return out;
}
