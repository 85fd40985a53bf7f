// Runs a declarative `reach: {kind: http}` block: locate the key's host, send each request (following pages), and
// collect facts and resources. Every request goes through ctx.send (queue, base check, audit); nothing here
// decides where a key may go.
import type { AccessLevel, FactValue, ReachResource } from '../core/model.js';
import { Inconclusive, type HttpResponse } from '../verification/http-client.js';
import { buildRequest, joinUrl } from '../verification/http.js';
import { encodePathValue } from '../verification/template.js';
import type { FactTest, HttpReach, ItemTest, Paginate, ReachRequest, ResourcesSpec, Source } from '../core/reach-spec.js';
import type { ReachContext, ReachDraft } from './types.js';

/** Resources kept per request before the rest are only counted (a token with 50k repositories). */
const MAX_ITEMS = 5000;

/** A dotted path where `a[]` maps over an array (`repos[].full_name`) and a number indexes one (`accounts.0.sid`); '' is the value itself. */
export function readPath(value: unknown, path: string): unknown {
  if (path === '') return value;
  const [head, ...rest] = path.split('.');
  const tail = rest.join('.');
  if (head!.endsWith('[]')) {
    const list = readPath(value, head!.slice(0, -2));
    if (!Array.isArray(list)) return undefined;
    return list.map((x) => readPath(x, tail)).filter((x) => x !== undefined);
  }
  if (Array.isArray(value) && /^\d+$/.test(head!)) {
    const next = (value as unknown[])[Number(head)];
    return rest.length ? readPath(next, tail) : next;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const next = (value as Record<string, unknown>)[head!];
  return rest.length ? readPath(next, tail) : next;
}

/** A fact as kept: strings (cut to 200), numbers, booleans, lists of strings (at most 100); null when the issuer said null. */
export function toFact(v: unknown): FactValue | null | undefined {
  if (v === null) return null;
  if (typeof v === 'string') return v.slice(0, 200);
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'boolean') return v;
  if (Array.isArray(v)) {
    const strings = v.filter((x): x is string | number => typeof x === 'string' || typeof x === 'number').map((x) => String(x).slice(0, 200));
    return strings.slice(0, 100);
  }
  return undefined;
}

function jsonOf(res: HttpResponse): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(res.body) };
  } catch {
    return { ok: false };
  }
}

/** The value a Source names in an answer (undefined: not there, or the body is not JSON). */
export function readSource(source: Source, res: HttpResponse, json: () => { ok: boolean; value?: unknown }): unknown {
  if (source === 'status') return res.status;
  if (source.startsWith('header:')) return res.headers.get(source.slice('header:'.length)) ?? undefined;
  const j = json();
  return j.ok ? readPath(j.value, source.slice('json:'.length)) : undefined;
}

function itemMatches(item: unknown, t: ItemTest): boolean {
  const v = readPath(item, t.path);
  if (t.equals !== undefined && v !== t.equals) return false;
  if (t.in !== undefined && !t.in.some((x) => x === v)) return false;
  return true;
}

/** Does a fact test hold for these facts and this secret? */
export function factHolds(t: FactTest, facts: Record<string, FactValue | null>, secret: string): boolean {
  if (t.secret_prefix) return t.secret_prefix.some((p) => secret.startsWith(p));
  const v = facts[t.fact!];
  if (t.exists !== undefined && (v !== undefined && v !== null) !== t.exists) return false;
  if (t.equals !== undefined && v !== t.equals) return false;
  const values = Array.isArray(v) ? v : v === undefined || v === null ? [] : [String(v)];
  if (t.any !== undefined && !values.some((x) => t.any!.includes(x))) return false;
  if (t.prefix !== undefined && !values.some((x) => t.prefix!.some((p) => x.startsWith(p)))) return false;
  if (t.contains !== undefined && !values.some((x) => t.contains!.some((p) => x.includes(p)))) return false;
  return true;
}

function resourcesOf(spec: ResourcesSpec, res: HttpResponse, json: () => { ok: boolean; value?: unknown }): ReachResource[] | null {
  const list = readSource(spec.items, res, json);
  let items: Array<{ name: unknown; item: unknown }>;
  if (spec.entries) {
    if (list === null || typeof list !== 'object' || Array.isArray(list)) return null;
    items = Object.entries(list as Record<string, unknown>).map(([name, item]) => ({ name, item }));
  } else {
    if (!Array.isArray(list)) return null;
    items = (list as unknown[]).map((item) => ({ name: readPath(item, spec.name), item }));
  }
  const out: ReachResource[] = [];
  for (const { name, item } of items) {
    if (typeof name !== 'string' && typeof name !== 'number') continue;
    let access: AccessLevel | undefined;
    if (typeof spec.access === 'string') access = spec.access;
    else access = spec.access.find((r) => !r.if || itemMatches(item, r.if))?.level;
    if (!access) continue;
    const r: ReachResource = { kind: spec.kind, name: String(name).slice(0, 200), access };
    if (spec.public) r.public = itemMatches(item, spec.public);
    out.push(r);
  }
  return out;
}

/** The URL of the next page, or null. A Link header's URL is taken as is; send() refuses one outside the base. */
function nextPage(p: Paginate, res: HttpResponse, json: () => { ok: boolean; value?: unknown }, current: string, base: string): string | null {
  if (p === 'link') {
    const link = res.headers.get('link');
    if (!link) return null;
    for (const part of link.split(',')) {
      const m = /<([^>]+)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim());
      if (m && m[2]!.split(/\s+/).includes('next')) return m[1]!;
    }
    return null;
  }
  if ('cursor' in p) {
    if (p.more !== undefined && readSource(p.more, res, json) !== true) return null;
    const c = readSource(p.cursor, res, json);
    if (typeof c !== 'string' || c === '') return null;
    const u = new URL(current);
    u.searchParams.set(p.param, c);
    return u.toString();
  }
  const n = readSource(p.next_url, res, json);
  if (typeof n !== 'string' || n === '') return null;
  // A root-relative URI (Twilio's next_page_uri) is relative to the issuer's API root: the base URL, prefix kept.
  if (n.startsWith('/') && !n.startsWith('//')) return joinUrl(base, n);
  try {
    return new URL(n).toString();
  } catch {
    return null;
  }
}

/** {{facts.NAME}} in a path, percent-encoded (so an issuer's value cannot add a placeholder, a query or a segment). */
function renderFacts(path: string, facts: Record<string, FactValue | null>): { ok: true; path: string } | { ok: false; missing: string } {
  let missing: string | undefined;
  const out = path.replace(/\{\{\s*facts\.([a-z][a-z0-9_]*)\s*\}\}/g, (_m, name: string) => {
    const v = facts[name];
    if (typeof v !== 'string' && typeof v !== 'number') {
      missing ??= name;
      return '';
    }
    return encodePathValue(String(v)).replace(/\//g, '%2F');
  });
  return missing === undefined ? { ok: true, path: out } : { ok: false, missing };
}

async function runRequest(r: ReachRequest, host: string, ctx: ReachContext, draft: ReachDraft): Promise<void> {
  const base = ctx.base(host);
  if (!base) {
    draft.gaps.push(`${r.name}: no host named ${host}`);
    return;
  }
  const path = renderFacts(r.path, draft.facts);
  if (!path.ok) {
    draft.gaps.push(`${r.name}: not asked (${path.missing} unknown)`);
    return;
  }
  const built = buildRequest({ method: r.method, path: path.path, headers: r.headers, basic: r.basic, body: r.body }, base, { secret: ctx.secret, parts: ctx.parts });
  if (!built.ok) {
    draft.gaps.push(`${r.name}: ${built.reason}`);
    return;
  }
  let url = built.request.url;
  const collected: ReachResource[] = [];
  for (let page = 1; page <= r.max_pages; page++) {
    let res: HttpResponse;
    try {
      res = await ctx.send(host, { ...built.request, url });
    } catch (err) {
      if (!(err instanceof Inconclusive)) throw err;
      draft.gaps.push(`${r.name}${page > 1 ? ` (page ${page})` : ''}: ${err.reason}`);
      break;
    }
    if (res.status >= 400) {
      if (page === 1 && r.denied?.status.includes(res.status)) draft.facts[r.denied.fact] = false;
      else draft.gaps.push(`${r.name}${page > 1 ? ` (page ${page})` : ''}: HTTP ${res.status}`);
      break;
    }
    let parsed: { ok: true; value: unknown } | { ok: false } | undefined;
    const json = () => (parsed ??= jsonOf(res));
    if (r.require) {
      const j = json();
      if (!j.ok || readPath(j.value, r.require.path) !== r.require.equals) {
        const why = j.ok ? readPath(j.value, r.require.error ?? 'error') : undefined;
        draft.gaps.push(`${r.name}: ${typeof why === 'string' ? why.slice(0, 80) : 'refused'}`);
        break;
      }
    }
    draft.answered = true;
    if (page === 1) {
      if (r.denied) draft.facts[r.denied.fact] = true;
      for (const [name, source] of Object.entries(r.facts)) {
        const v = toFact(readSource(source, res, json));
        if (v !== undefined) draft.facts[name] = v;
      }
    }
    if (r.resources) {
      const found = resourcesOf(r.resources, res, json);
      if (found === null) {
        draft.gaps.push(`${r.name}: answer without the expected list`);
        break;
      }
      collected.push(...found);
      if (collected.length >= MAX_ITEMS) {
        draft.gaps.push(`${r.name}: more than ${MAX_ITEMS} ${r.resources.kind} entries; counted up to there`);
        break;
      }
    }
    if (!r.paginate) break;
    const next = nextPage(r.paginate, res, json, url, base);
    if (!next) break;
    if (page === r.max_pages) {
      draft.gaps.push(`${r.name}: stopped after ${r.max_pages} pages`);
      break;
    }
    url = next;
  }
  draft.resources.push(...collected);
  if (r.resources?.write_tags.length && collected.some((x) => x.access !== 'read')) (draft.tags ??= []).push(...r.resources.write_tags);
}

function hostName(url: string | undefined): string {
  try {
    return url ? new URL(url).hostname : '';
  } catch {
    return '';
  }
}

/** Which host the key belongs to: the one a companion names first, then the others in order. */
async function locate(spec: HttpReach, ctx: ReachContext, draft: ReachDraft): Promise<string | null> {
  const l = spec.locate!;
  const names = ['default', ...Object.keys(spec.hosts)];
  const hint = l.part ? ctx.parts[l.part]?.toLowerCase() : undefined;
  if (hint) {
    const i = names.findIndex((n) => hostName(ctx.officialBase(n)).endsWith(hint));
    if (i > 0) names.unshift(...names.splice(i, 1));
  }
  for (const name of names) {
    const base = ctx.base(name);
    if (!base) continue;
    const built = buildRequest({ method: 'GET', path: l.path, headers: l.headers }, base, { secret: ctx.secret, parts: ctx.parts });
    if (!built.ok) {
      draft.gaps.push(`locate: ${built.reason}`);
      return null;
    }
    let res: HttpResponse;
    try {
      res = await ctx.send(name, built.request);
    } catch (err) {
      if (!(err instanceof Inconclusive)) throw err;
      draft.gaps.push(`locate ${hostName(ctx.officialBase(name))}: ${err.reason}`);
      continue;
    }
    if (!l.found.status.includes(res.status)) continue;
    if (l.found.json) {
      const j = jsonOf(res);
      if (!j.ok || readPath(j.value, l.found.json.path) !== l.found.json.equals) continue;
    }
    draft.answered = true;
    draft.facts[l.fact] = hostName(ctx.officialBase(name));
    return name;
  }
  return null;
}

export async function runHttpReach(spec: HttpReach, ctx: ReachContext): Promise<ReachDraft> {
  const draft: ReachDraft = { facts: {}, resources: [], gaps: [], answered: false };
  let home = 'default';
  if (spec.locate) {
    const found = await locate(spec, ctx, draft);
    if (!found) {
      draft.gaps.push('locate: no host accepted the key');
      return draft;
    }
    home = found;
  }
  // In order: a later request may use an earlier one's facts (npm asks /-/user/{{facts.account}}/package).
  for (const r of spec.requests) {
    if (r.when && !factHolds(r.when, draft.facts, ctx.secret)) continue;
    await runRequest(r, r.host ?? home, ctx, draft);
  }
  return draft;
}
