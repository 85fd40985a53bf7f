// Revoking a key through its issuer's own API (the detector's `revoke:` block): one declared request, or a revoker in
// code (issuers/) where it takes more, always to the key's own issuer through the shared issuer client (queue, base
// check, audit). Only an explicit command calls this.
import type { LoadedDetector } from '../detection/types.js';
import type { HttpRevoke } from '../core/reach-spec.js';
import { readPath } from '../reach/run-http.js';
import { Inconclusive, type HttpRequest, type HttpResponse } from '../verification/http-client.js';
import { buildRequest } from '../verification/http.js';
import type { IssuerClient } from '../verification/issuer-client.js';
import { codeRevokers } from './issuers/index.js';
import type { RevokeOutcome } from './types.js';
import { placeholders, render, type TemplateVars } from '../verification/template.js';

export interface RevokeTarget {
  detector: LoadedDetector;
  secret: string;
  parts: Record<string, string>;
  fingerprint: string;
}

export type RevokeResult =
  | { ok: true; issuer: string; method: string; endpoint: string; status: number }
  | { ok: false; issuer: string; method: string; endpoint: string; status: number | null; reason: string };

/** The issuer's base URL for a revoke block: an operator override, else the block's or the verify block's official one. */
export function revokeBase(detector: LoadedDetector, baseUrls: Record<string, string>): { issuer: string; base: string } | { error: string } {
  const verify = detector.def.verify;
  const spec = detector.def.revoke;
  if (!verify || !spec) return { error: `${detector.def.id} has no revoke block: the issuer offers no self-service revocation keyloop knows of` };
  const override = baseUrls[verify.issuer];
  if (override) return { issuer: verify.issuer, base: override };
  const official = spec.base_url ?? (verify.kind === 'http' ? verify.base_url : verify.base_url);
  if (!official) return { error: `${detector.def.id}: no base URL for the revoke request` };
  // A host taken from scanned data is not a place keyloop sends a revocation to on its own.
  if (placeholders(official).parts.length || placeholders(official).secret) return { error: `${detector.def.id}: the issuer's host comes from scanned data; revoke it in the console` };
  if (!official.startsWith('https://')) return { error: `${detector.def.id}: the revoke base URL is not https` };
  return { issuer: verify.issuer, base: official };
}

/** Deep copy of a JSON template with every string rendered (the secret goes in as a JSON string, escaped by stringify). */
function renderJson(v: unknown, vars: TemplateVars): { ok: true; value: unknown } | { ok: false; missing: string } {
  if (typeof v === 'string') {
    const r = render(v, vars);
    return r.ok ? { ok: true, value: r.value } : r;
  }
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (const x of v) {
      const r = renderJson(x, vars);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return { ok: true, value: out };
  }
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const r = renderJson(x, vars);
      if (!r.ok) return r;
      out[k] = r.value;
    }
    return { ok: true, value: out };
  }
  return { ok: true, value: v };
}

export function buildRevokeRequest(spec: HttpRevoke, base: string, vars: TemplateVars): { ok: true; request: HttpRequest } | { ok: false; reason: string } {
  const built = buildRequest({ method: spec.method, path: spec.path, headers: spec.headers, basic: spec.basic }, base, vars);
  if (!built.ok) return built;
  const req = built.request;
  req.headers['user-agent'] = 'keyloop-revoke';
  if (spec.json !== undefined) {
    const j = renderJson(spec.json, vars);
    if (!j.ok) return { ok: false, reason: `missing part ${j.missing}` };
    req.body = JSON.stringify(j.value);
    req.headers['content-type'] ??= 'application/json';
  } else if (spec.form) {
    const form = new URLSearchParams();
    for (const [k, t] of Object.entries(spec.form)) {
      const r = render(t, vars);
      if (!r.ok) return { ok: false, reason: `missing part ${r.missing}` };
      form.set(k, r.value);
    }
    req.body = form.toString();
    req.headers['content-type'] ??= 'application/x-www-form-urlencoded';
  }
  return { ok: true, request: req };
}

/** The request that revokes (method and path template): the block's, or its code revoker's. */
function revokeRequestShape(t: RevokeTarget): { method: string; path: string } | { error: string } {
  const spec = t.detector.def.revoke!;
  if (spec.kind === 'http') return spec;
  const code = codeRevokers.get(spec.revoker);
  return code ?? { error: `${t.detector.def.id}: no revoker named ${spec.revoker}` };
}

/** What the revoke request will be, without sending it: for the confirmation prompt and --dry-run. */
export function describeRevoke(t: RevokeTarget, baseUrls: Record<string, string>): { issuer: string; method: string; endpoint: string } | { error: string } {
  const b = revokeBase(t.detector, baseUrls);
  if ('error' in b) return b;
  const shape = revokeRequestShape(t);
  if ('error' in shape) return shape;
  return { issuer: b.issuer, method: shape.method, endpoint: shownEndpoint(b.base, shape.path) };
}

/** Base and path as printed and recorded: a placeholder (the secret, a looked-up key) shows as `…`. */
const shownEndpoint = (base: string, path: string) => `${base.replace(/\/+$/, '')}${path.replace(/\{\{[^}]*\}\}/g, '…')}`;

/** Sends the block's one request and reads the answer by its `ok` rules. */
async function revokeHttp(spec: HttpRevoke, t: RevokeTarget, base: string, send: (req: HttpRequest) => Promise<HttpResponse>): Promise<RevokeOutcome> {
  const built = buildRevokeRequest(spec, base, { secret: t.secret, parts: t.parts });
  if (!built.ok) return { ok: false, status: null, reason: built.reason };
  const res = await send(built.request);
  let parsed: unknown;
  let jsonOk = false;
  try {
    parsed = JSON.parse(res.body);
    jsonOk = true;
  } catch {
    // a 204 has no body
  }
  const ok = spec.ok.some((r) => r.status.includes(res.status) && (!r.json || (jsonOk && readPath(parsed, r.json.path) === r.json.equals)));
  return ok ? { ok: true, status: res.status } : { ok: false, status: res.status, reason: `the issuer answered HTTP ${res.status}` };
}

/** Revokes through the block (or its code revoker), every request in the issuer's queue. Never throws for the issuer's answers. */
export async function revokeKey(t: RevokeTarget, opts: { client: IssuerClient; baseUrls: Record<string, string> }): Promise<RevokeResult> {
  const spec = t.detector.def.revoke;
  const b = revokeBase(t.detector, opts.baseUrls);
  const shape = spec ? revokeRequestShape(t) : { error: 'no revoke block' };
  const method = 'method' in shape ? shape.method : '-';
  if ('error' in b || 'error' in shape || !spec) {
    return { ok: false, issuer: t.detector.def.verify?.issuer ?? t.detector.provider.id, method, endpoint: '-', status: null, reason: 'error' in b ? b.error : 'error' in shape ? shape.error : 'no revoke block' };
  }
  const endpoint = shownEndpoint(b.base, shape.path);
  const send = (req: HttpRequest) =>
    opts.client.schedule(
      b.issuer,
      () => opts.client.send(b.issuer, b.base, req, { purpose: 'revoke', fingerprint: t.fingerprint }),
      (s) => {
        throw new Inconclusive(`not sent: ${b.issuer} rate limited for ${s} s more`);
      },
    );
  try {
    const out = spec.kind === 'http' ? await revokeHttp(spec, t, b.base, send) : await codeRevokers.get(spec.revoker)!.revoke({ secret: t.secret, parts: t.parts, base: b.base, send });
    return { issuer: b.issuer, method, endpoint, ...out };
  } catch (err) {
    if (err instanceof Inconclusive) return { ok: false, issuer: b.issuer, method, endpoint, status: null, reason: err.reason };
    throw err;
  }
}
