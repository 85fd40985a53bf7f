// `keyloop audit`: every request keyloop sent with a secret (verification, reach, revocation) as the store recorded
// it — issuer, endpoint, time, answer, never the secret — and with --check, proof that each went only to a host
// of its own issuer and that no recorded URL holds a stored secret.
import { resolve } from 'node:path';
import type { CommandContext } from '../context.js';
import { ConfigError } from '../../src/core/errors.js';
import { AUDIT_SENDING, type CallPurpose, type OutboundCall } from '../../src/core/ports.js';
import { loadOperatorConfig } from '../../src/config/load.js';
import { issuerOverrides } from '../../src/config/normalize.js';
import { defaultDetectorsDir, loadCatalog } from '../../src/detection/load.js';
import type { Catalog } from '../../src/detection/types.js';
import { codeReachers } from '../../src/reach/issuers/index.js';
import type { Store } from '../../src/core/store.js';
import { codeVerifiers } from '../../src/verification/issuers/index.js';
import { hostMatches } from '../../src/verification/net.js';
import { placeholders } from '../../src/verification/template.js';
import { renderTable } from './secrets.js';
import { withCommandStore } from './store.js';

export interface AuditCommandOptions {
  db?: string;
  format: 'table' | 'json';
  fingerprint?: string;
  issuer?: string;
  purpose?: CallPurpose;
  /** ISO date or time: calls at or after it. */
  since?: string;
  /** Exit 1 when a call went outside its issuer's hosts, or a recorded URL holds a stored secret. */
  check: boolean;
  config?: string;
  githubUrl?: string;
  detectors?: string;
  keyFile?: string;
}

/** Where an issuer's keys may go: exact origins (official or overridden) and host patterns of data-derived hosts. */
export interface Destinations {
  origins: Set<string>;
  hostPatterns: string[];
}

const originOf = (url: string) => {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
};

/** Every destination the catalog and the operator's overrides allow, by issuer. */
export function destinations(catalog: Catalog, overrides: Record<string, string>): Map<string, Destinations> {
  const out = new Map<string, Destinations>();
  const of = (issuer: string) => {
    let d = out.get(issuer);
    if (!d) out.set(issuer, (d = { origins: new Set(), hostPatterns: [] }));
    return d;
  };
  const addBase = (issuer: string, template: string | undefined, allowed?: readonly string[]) => {
    if (!template) return;
    const d = of(issuer);
    if (placeholders(template).parts.length) d.hostPatterns.push(...(allowed ?? []));
    else {
      const o = originOf(template);
      if (o) d.origins.add(o);
    }
  };
  for (const { def } of catalog.detectors) {
    const v = def.verify;
    if (!v) continue;
    if (v.kind === 'http') addBase(v.issuer, v.base_url, v.allowed_hosts);
    else {
      const code = codeVerifiers.get(v.verifier);
      addBase(v.issuer, v.base_url ?? code?.baseUrl, code?.allowedHosts);
    }
    const r = def.reach;
    if (r?.kind === 'http') for (const url of Object.values(r.hosts)) addBase(v.issuer, url);
    if (r?.kind === 'code') for (const url of Object.values(codeReachers.get(r.reacher)?.hosts ?? {})) addBase(v.issuer, url);
    if (def.revoke?.base_url) addBase(v.issuer, def.revoke.base_url);
  }
  for (const [key, url] of Object.entries(overrides)) {
    const o = originOf(url);
    if (o) of(key.split(':')[0]!).origins.add(o);
  }
  return out;
}

/** Why a call is outside its issuer's destinations, or null. */
export function outsideProblem(call: OutboundCall, dest: Map<string, Destinations>): string | null {
  const d = dest.get(call.issuer);
  if (!d) return `no known destination for issuer ${call.issuer}`;
  let u: URL;
  try {
    u = new URL(call.url);
  } catch {
    return 'not a URL';
  }
  if (d.origins.has(u.origin)) return null;
  if (u.protocol === 'https:' && !u.port && hostMatches(u.hostname, d.hostPatterns)) return null;
  return `${u.origin} is not a host of ${call.issuer}`;
}

async function secretsInUrls(store: Store, calls: OutboundCall[]): Promise<string[]> {
  const found: string[] = [];
  for (const s of await store.listSecrets()) {
    const { secret, parts } = await store.revealSecret(s.fingerprint);
    const values = [secret, ...Object.values(parts).filter((p) => p.length >= 16)];
    for (const c of calls) if (values.some((v) => v.length >= 8 && (c.url.includes(v) || c.url.includes(encodeURIComponent(v))))) found.push(`${c.at} ${c.issuer} ${c.method}: holds the secret ${s.fingerprint.slice(0, 12)}`);
  }
  return found;
}

export async function auditCommand(opts: AuditCommandOptions, ctx: CommandContext): Promise<number> {
  if (opts.since && Number.isNaN(Date.parse(opts.since))) throw new ConfigError(`not a date: ${opts.since}`, '--since');
  const keyed = !!(opts.check && (ctx.env.KEYLOOP_KEY || opts.keyFile));
  return withCommandStore(opts, ctx, { mode: 'existing', ...(keyed ? { key: 'load' as const } : {}) }, async (store) => {
    const fingerprint = opts.fingerprint ? await store.resolveFingerprint(opts.fingerprint) : undefined;
    const calls = await store.outboundCalls({
      ...(fingerprint ? { fingerprint } : {}),
      ...(opts.issuer ? { issuer: opts.issuer } : {}),
      ...(opts.purpose ? { purpose: opts.purpose } : {}),
      ...(opts.since ? { since: new Date(Date.parse(opts.since)).toISOString() } : {}),
    });
    let problems: string[] = [];
    if (opts.check) {
      const config = await loadOperatorConfig({ explicit: opts.config, cwd: ctx.cwd, env: ctx.env });
      const catalog = loadCatalog(opts.detectors ? resolve(ctx.cwd, opts.detectors) : defaultDetectorsDir());
      const dest = destinations(catalog, issuerOverrides(config, { flag: opts.githubUrl, env: ctx.env }));
      problems = calls.flatMap((c) => {
        const p = outsideProblem(c, dest);
        return p ? [`${c.at} ${c.purpose} ${c.method} ${c.url}: ${p}`] : [];
      });
      if (keyed) problems.push(...(await secretsInUrls(store, calls)));
    }
    if (opts.format === 'json') {
      ctx.stdout.write(JSON.stringify(opts.check ? { calls, check: { ok: problems.length === 0, problems, secretsChecked: !!keyed } } : calls, null, 2) + '\n');
    } else {
      const rows = calls.map((c) => [c.at.replace(/\.\d{3}Z$/, 'Z'), c.purpose, c.issuer, c.fingerprint?.slice(0, 12) ?? '-', c.method, c.url, c.status === null ? '-' : String(c.status), c.outcome, String(c.durationMs)]);
      ctx.stdout.write(renderTable(['AT', 'PURPOSE', 'ISSUER', 'SECRET', 'METHOD', 'URL', 'STATUS', 'OUTCOME', 'MS'], rows, { maxWidth: { 5: 80, 7: 40 } }));
      // Each call has a `sending` record, written before it went out, then one with its answer.
      const answers = calls.filter((c) => c.outcome !== AUDIT_SENDING);
      const hosts = new Map<string, number>();
      for (const c of answers) {
        const k = `${c.issuer} ${originOf(c.url) ?? '?'}`;
        hosts.set(k, (hosts.get(k) ?? 0) + 1);
      }
      ctx.stdout.write(`${answers.length} call(s) with a secret; by issuer and host:\n`);
      for (const [k, n] of [...hosts].sort()) ctx.stdout.write(`  ${k}: ${n}\n`);
      const unanswered = calls.length - 2 * answers.length;
      if (unanswered > 0) ctx.stdout.write(`${unanswered} call(s) sent with no answer recorded (keyloop stopped, or the answer could not be written)\n`);
      if (opts.check) {
        if (problems.length) for (const p of problems) ctx.stdout.write(`OUTSIDE: ${p}\n`);
        else ctx.stdout.write(`check: every call went to a host of its own issuer${keyed ? ', and no recorded URL holds a stored secret' : ' (set KEYLOOP_KEY or --key-file to also check the URLs for stored secrets)'}\n`);
      }
    }
    return problems.length ? 1 : 0;
  });
}
