// Declarative `kind: http` checks: build the request from the verify block, judge the response by its rules.
import type { HttpVerify, ResponseRule } from '../core/verify-spec.js';
import type { HttpRequest, HttpResponse } from './http-client.js';
import { encodePathValue, render, type TemplateVars } from './template.js';

export interface Outcome {
  status: 'live' | 'dead' | 'unknown';
  reason: string;
  identity?: Record<string, string>;
}

export type Built = { ok: true; request: HttpRequest } | { ok: false; reason: string };

/** The request half of a block: verify blocks, reach requests and revoke blocks share it. */
export type RequestTemplate = Pick<HttpVerify, 'path' | 'headers' | 'basic' | 'body'> & { method: string };

/** `base` is the approved base URL (override or rendered official one); the path is appended by concatenation. */
export function buildRequest(spec: RequestTemplate, base: string, vars: TemplateVars): Built {
  const path = render(spec.path, vars, encodePathValue);
  if (!path.ok) return { ok: false, reason: `missing part ${path.missing}` };
  if (/(^|\/)\.\.?(\/|$|\?)/.test(path.value)) return { ok: false, reason: 'refused: dot segment in path' };
  const headers: Record<string, string> = { 'user-agent': 'keyloop-verify' };
  for (const [name, template] of Object.entries(spec.headers)) {
    const v = render(template, vars);
    if (!v.ok) return { ok: false, reason: `missing part ${v.missing}` };
    if (/[\r\n]/.test(v.value)) return { ok: false, reason: `refused: header ${name} would contain a line break` };
    headers[name.toLowerCase()] = v.value;
  }
  if (spec.basic) {
    const user = render(spec.basic[0], vars);
    const pass = render(spec.basic[1], vars);
    if (!user.ok) return { ok: false, reason: `missing part ${user.missing}` };
    if (!pass.ok) return { ok: false, reason: `missing part ${pass.missing}` };
    headers.authorization = 'Basic ' + Buffer.from(`${user.value}:${pass.value}`).toString('base64');
  }
  let body: string | undefined;
  if (spec.body !== undefined) {
    const b = render(spec.body, vars);
    if (!b.ok) return { ok: false, reason: `missing part ${b.missing}` };
    body = b.value;
  }
  return { ok: true, request: { method: spec.method, url: joinUrl(base, path.value), headers, ...(body !== undefined ? { body } : {}) } };
}

/** String concatenation, because new URL(path, base) drops the base's path prefix (/api/v3, /github/…). */
export function joinUrl(base: string, path: string): string {
  if (path === '') return base;
  const b = base.endsWith('/') ? base.slice(0, -1) : base;
  return path.startsWith('/') || path.startsWith('?') ? b + path : `${b}/${path}`;
}

export function judge(spec: HttpVerify, res: HttpResponse): Outcome {
  let parsed: { ok: boolean; value?: unknown } | undefined;
  const json = () => {
    if (!parsed) {
      try {
        parsed = { ok: true, value: JSON.parse(res.body) };
      } catch {
        parsed = { ok: false };
      }
    }
    return parsed;
  };
  const matches = (rule: ResponseRule) => {
    if (!rule.status.includes(res.status)) return false;
    if (rule.body_contains !== undefined && !res.body.includes(rule.body_contains)) return false;
    if (rule.json) {
      const j = json();
      if (!j.ok) return false;
      if (getPath(j.value, rule.json.path) !== rule.json.equals) return false;
    }
    return true;
  };
  // Rule lists may be empty here (server-error rules only); the schema requires at least one of each otherwise.
  const live = spec.live.find(matches);
  if (live) {
    const identity = extractIdentity(spec.identity, res, () => json());
    return { status: 'live', reason: live.reason ?? `HTTP ${res.status}`, ...(identity ? { identity } : {}) };
  }
  const dead = spec.dead.find(matches);
  if (dead) return { status: 'dead', reason: dead.reason ?? `HTTP ${res.status}` };
  return { status: 'unknown', reason: `unexpected response: HTTP ${res.status}` };
}

export function getPath(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function extractIdentity(
  spec: Record<string, string> | undefined,
  res: HttpResponse,
  json: () => { ok: boolean; value?: unknown },
): Record<string, string> | undefined {
  if (!spec) return undefined;
  const out: Record<string, string> = {};
  for (const [name, source] of Object.entries(spec)) {
    let v: unknown;
    if (source.startsWith('header:')) v = res.headers.get(source.slice('header:'.length));
    else {
      const j = json();
      v = j.ok ? getPath(j.value, source.slice('json:'.length)) : undefined;
    }
    if (typeof v === 'string' && v !== '') out[name] = v.slice(0, 200);
    else if (typeof v === 'number' || typeof v === 'boolean') out[name] = String(v);
  }
  return Object.keys(out).length ? out : undefined;
}
