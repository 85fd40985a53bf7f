// Issuers as their API references document them: detectors/verify-docs/<issuer>.yaml (zod-checked) and a loopback
// server that answers one documented response, only once the key is presented where the docs say it goes.
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { SIGNED_SCHEMES, type KeyMaterial, type Req } from '../../testkit/fake-issuer.js';

/** Where a fact comes from. Only the issuer's own pages or code can establish that an answer means a dead key. */
const Reference = z
  .object({
    url: z.string().url(),
    /** issuer-docs: API reference, guide or help page; issuer-code: the issuer's own server or SDK source. */
    kind: z.enum(['issuer-docs', 'issuer-code', 'third-party']),
    /** What the page says that is used here, in our words. */
    says: z.string().min(10),
    /** The stored copies searched had no text of this page: cited from the issuer's site, worth re-reading. */
    unseen: z.literal(true).optional(),
  })
  .strict();

/** `<key>` is the secret under test (matched exactly); any other `<name>` is a companion (any non-empty value). */
const Template = z.string().min(1);

const Credential = z
  .object({
    header: z.record(z.string(), Template).optional(),
    basic: z.tuple([z.string(), z.string()]).optional(),
    query: z.record(z.string(), Template).optional(),
    /** Top-level fields of a JSON body. */
    json: z.record(z.string(), Template).optional(),
    /** The key is in the request path (`<key>` in `request`). */
    in_path: z.literal(true).optional(),
    /** A signature scheme checked with the key material (testkit/fake-issuer.ts SIGNED_SCHEMES). */
    scheme: z.enum(Object.keys(SIGNED_SCHEMES) as [keyof typeof SIGNED_SCHEMES, ...Array<keyof typeof SIGNED_SCHEMES>]).optional(),
  })
  .strict()
  .refine((c) => Object.values(c).some((v) => v !== undefined), 'a credential says where the key goes');
export type Credential = z.infer<typeof Credential>;

export const CASES = ['valid', 'invalid', 'revoked', 'expired', 'malformed', 'forbidden', 'missing-scope', 'rate-limit', 'outage', 'other'] as const;

const DocumentedResponse = z
  .object({
    case: z.enum(CASES),
    status: z.number().int().min(100).max(599),
    headers: z.record(z.string(), z.string()).optional(),
    /** A string is sent as is; anything else as JSON. */
    body: z.unknown().optional(),
    /** What the answer says about the key, as the cited pages establish it (not as the verify block reads it). */
    means: z.enum(['live', 'dead', 'unknown']),
    source: z.array(z.string()).min(1),
    note: z.string().optional(),
  })
  .strict();
export type DocumentedResponse = z.infer<typeof DocumentedResponse>;

const Endpoint = z
  .object({
    /** `METHOD /path?param=value`: documented query parameters are required, others allowed. */
    request: z.string().regex(/^(GET|POST|HEAD|PUT) \/\S*$/),
    /** Any one of these presentations is accepted. */
    credential: z.array(Credential).min(1),
    /** References saying where the key goes. */
    credential_source: z.array(z.string()).min(1),
    responses: z.array(DocumentedResponse).min(2),
  })
  .strict();
export type Endpoint = z.infer<typeof Endpoint>;

export const VerifyDocs = z
  .object({
    issuer: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    references: z.record(z.string(), Reference),
    endpoints: z.array(Endpoint).min(1),
  })
  .strict();
export type VerifyDocs = z.infer<typeof VerifyDocs>;

export function verifyDocsDir(): string {
  return path.resolve(import.meta.dirname, '../../detectors/verify-docs');
}

/** Every docs file, by issuer. Throws with the file name on a schema error or a dangling source. */
export function loadVerifyDocs(dir = verifyDocsDir()): Map<string, VerifyDocs> {
  const out = new Map<string, VerifyDocs>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort()) {
    const parsed = VerifyDocs.safeParse(parseYaml(readFileSync(path.join(dir, f), 'utf8')));
    if (!parsed.success) throw new Error(`${f}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const d = parsed.data;
    if (`${d.issuer}.yaml` !== f) throw new Error(`${f}: issuer ${d.issuer} does not match the file name`);
    for (const e of d.endpoints) {
      for (const s of e.credential_source) if (!d.references[s]) throw new Error(`${f}: ${e.request}: unknown source ${s}`);
      for (const r of e.responses)
        for (const s of r.source) if (!d.references[s]) throw new Error(`${f}: ${e.request} ${r.case}: unknown source ${s}`);
    }
    out.set(d.issuer, d);
  }
  return out;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A template as a regex: `<key>` must equal the key, `<other>` any non-empty run of `free` characters. */
function templateMatches(template: string, value: string, key: string, free: string, flags = ''): boolean {
  const pieces = template.split(/(<[a-z_]+>)/);
  const re = new RegExp('^' + pieces.map((p) => (p === '<key>' ? '(?<key>.+?)' : /^<[a-z_]+>$/.test(p) ? `${free}+?` : escape(p))).join('') + '$', flags);
  const m = re.exec(value);
  return !!m && (!template.includes('<key>') || m.groups?.key === key);
}

function splitRequest(request: string): { method: string; path: string; query: URLSearchParams } {
  const [method, target] = request.split(' ') as [string, string];
  const i = target.indexOf('?');
  return { method, path: i < 0 ? target : target.slice(0, i), query: new URLSearchParams(i < 0 ? '' : target.slice(i + 1)) };
}

/** Does a request (path relative to the server root, undecoded) fall on this documented route? */
export function onRoute(e: Endpoint, method: string, rawPath: string, key = '\0'): boolean {
  const doc = splitRequest(e.request);
  const i = rawPath.indexOf('?');
  const p = decodeURIComponent(i < 0 ? rawPath : rawPath.slice(0, i));
  const q = new URLSearchParams(i < 0 ? '' : rawPath.slice(i + 1));
  if (doc.method !== method) return false;
  // Outside the key, a path placeholder stands for one segment; the key may be anything the issuer issued.
  const pieces = doc.path.split(/(<[a-z_]+>)/);
  const re = new RegExp('^' + pieces.map((x) => (x === '<key>' ? '(?<key>.+?)' : /^<[a-z_]+>$/.test(x) ? '[^/]+?' : escape(x))).join('') + '/?$');
  const m = re.exec(p);
  if (!m) return false;
  if (doc.path.includes('<key>') && key !== '\0' && m.groups?.key !== key) return false;
  for (const [k, v] of doc.query) if (!q.has(k) || !templateMatches(key === '\0' ? v.replaceAll('<key>', '<any>') : v, q.get(k)!, key, '.')) return false;
  return true;
}

function header(req: Req, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** True when the request carries the key (and its companions) as this presentation documents. */
export function presents(c: Credential, e: Endpoint, req: Req, key: string, keys: KeyMaterial): boolean {
  if (c.in_path && !onRoute(e, req.method, req.rawUrl, key)) return false;
  // Header names and auth-scheme words are case-insensitive in HTTP; the key is compared exactly.
  for (const [name, t] of Object.entries(c.header ?? {})) {
    const v = header(req, name);
    if (v === undefined || !templateMatches(t, v, key, '\\S', 'i')) return false;
  }
  if (c.basic) {
    const m = /^Basic\s+(\S+)$/i.exec(header(req, 'authorization') ?? '');
    if (!m) return false;
    const text = Buffer.from(m[1]!, 'base64').toString('utf8');
    const at = text.indexOf(':');
    if (at < 0) return false;
    const [user, pass] = [text.slice(0, at), text.slice(at + 1)];
    const side = (t: string, v: string) => (t === '' ? v === '' : templateMatches(t, v, key, '.'));
    if (!side(c.basic[0], user) || !side(c.basic[1], pass)) return false;
  }
  for (const [name, t] of Object.entries(c.query ?? {})) {
    const v = req.query.get(name);
    if (v === null || !templateMatches(t, v, key, '.')) return false;
  }
  if (c.json) {
    let body: unknown;
    try {
      body = JSON.parse(req.body);
    } catch {
      return false;
    }
    for (const [name, t] of Object.entries(c.json)) {
      const v = (body as Record<string, unknown> | null)?.[name];
      if (typeof v !== 'string' || !templateMatches(t, v, key, '.')) return false;
    }
  }
  if (c.scheme && typeof SIGNED_SCHEMES[c.scheme](req, keys) !== 'string') return false;
  return true;
}

export interface Received {
  method: string;
  rawUrl: string;
  onRoute: boolean;
  presented: boolean;
}

export interface ServedResponse {
  status: number;
  headers?: Record<string, string> | undefined;
  body?: unknown;
}

/**
 * One server for one case: on the documented route with the key presented as documented, it answers `response`;
 * anything else gets a 404 (off the route) or a 401 that names the mistake. Every request is recorded.
 */
export class DocumentedIssuer {
  readonly received: Received[] = [];
  url = '';
  private server!: http.Server;

  private constructor(
    private readonly endpoint: Endpoint,
    private readonly response: ServedResponse,
    private readonly key: string,
    private readonly keys: KeyMaterial,
  ) {}

  static async start(endpoint: Endpoint, response: ServedResponse, key: string, keys: KeyMaterial): Promise<DocumentedIssuer> {
    const d = new DocumentedIssuer(endpoint, response, key, keys);
    d.server = http.createServer((req, res) => void d.handle(req, res));
    await new Promise<void>((resolve) => d.server.listen(0, '127.0.0.1', resolve));
    d.url = `http://127.0.0.1:${(d.server.address() as AddressInfo).port}`;
    return d;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawUrl = req.url ?? '/';
    const i = rawUrl.indexOf('?');
    const r: Req = {
      method: req.method ?? 'GET',
      path: decodeURIComponent(i < 0 ? rawUrl : rawUrl.slice(0, i)),
      query: new URLSearchParams(i < 0 ? '' : rawUrl.slice(i + 1)),
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      rawUrl,
    };
    const routed = onRoute(this.endpoint, r.method, rawUrl);
    const presented = routed && this.endpoint.credential.some((c) => presents(c, this.endpoint, r, this.key, this.keys));
    this.received.push({ method: r.method, rawUrl, onRoute: routed, presented });
    if (!routed) return send(res, { status: 404, body: { message: 'keyloop fake: not a documented route' } });
    if (!presented) return send(res, { status: 401, body: { message: 'keyloop fake: key not presented as documented' } });
    send(res, this.response);
  }
}

function send(res: http.ServerResponse, r: ServedResponse): void {
  const text = typeof r.body === 'string' ? r.body : r.body === undefined ? '' : JSON.stringify(r.body);
  const type = typeof r.body === 'string' || r.body === undefined ? 'text/plain' : 'application/json';
  res.writeHead(r.status, { 'content-type': type, ...r.headers });
  res.end(text);
}

/** The README table of issuers covered (README.md, section verification, between the verify-docs markers). */
export function verifyDocsTable(docs: Map<string, VerifyDocs>): string {
  const statuses = (d: VerifyDocs, means: string) => {
    const s = [...new Set(d.endpoints.flatMap((e) => e.responses.filter((r) => r.means === means).map((r) => r.status)))].sort((a, b) => a - b);
    return s.length ? s.join(', ') : '—';
  };
  const rows = [...docs.values()]
    .sort((a, b) => a.issuer.localeCompare(b.issuer))
    .map((d) => {
      const refs = Object.values(d.references);
      const unseen = refs.filter((r) => r.unseen).length;
      const routes = d.endpoints.map((e) => `\`${e.request.split('?')[0]}\``).join(', ');
      return `| ${d.issuer} | ${routes} | ${statuses(d, 'live')} | ${statuses(d, 'dead')} | ${statuses(d, 'unknown')} | ${refs.length}${unseen ? ` (${unseen} unseen)` : ''} |`;
    });
  return ['| issuer | requests | live on | dead on | unknown on | references |', '|---|---|---|---|---|---|', ...rows].join('\n');
}
