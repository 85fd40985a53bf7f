// `keyloop secrets`: the inventory of every secret in the store, with whether it is still at the default branch HEAD.
import { existsSync } from 'node:fs';
import type { CommandContext } from '../context.js';
import { escapeControls } from '../../src/util/terminal-safe.js';
import { headBlobs } from '../../src/sources/mirror.js';
import type { LocationRow, SecretSummary, Store } from '../../src/core/store.js';
import type { RawFinding } from '../../src/core/model.js';
import { atLeast, type Confidence } from '../../src/core/model.js';
import { byRisk, riskOf, type Risk } from '../../src/core/risk.js';
import { sarifReporter } from '../../src/notify/reporters/index.js';
import { VERSION } from '../../src/version.js';
import { withCommandStore } from './store.js';

export interface SecretsCommandOptions {
  db?: string;
  format: 'table' | 'json' | 'sarif';
  /** List only secrets at this confidence or above (default low: all). */
  minConfidence?: Confidence;
  /** recent (default): most recently introduced first; risk: highest risk first. */
  sort?: 'recent' | 'risk';
  /** Only live keys whose issuer says they were not used for this many days (or never): safe to revoke first. */
  unused?: number;
}

/**
 * A live key whose issuer reports its last use (GitLab, AWS …) and that was not used for `days` days, or never.
 * Keys whose issuer does not expose it are never listed: no answer is not "unused".
 */
export function unusedFor(r: Pick<InventoryRow, 'lastVerification'>, days: number, now: Date): boolean {
  const v = r.lastVerification;
  if (v?.status !== 'live' || v.reach?.lastUsedAt === undefined) return false;
  if (v.reach.lastUsedAt === null) return true;
  return now.getTime() - Date.parse(v.reach.lastUsedAt) >= days * 86_400_000;
}

/** 'head': in the default branch's current tree; 'history': only in past commits; 'unknown': no mirror to check. */
export type Presence = 'head' | 'history' | 'unknown';

export interface InventoryRow extends Omit<SecretSummary, 'id'> {
  presence: Presence;
  /** f(what the key can do, how exposed it is): src/core/risk.ts. */
  risk: Risk;
}

/** Checks each location's blob against the HEAD tree of its repo's mirror (one `ls-tree` per repo). */
export async function presenceOf(locations: LocationRow[]): Promise<Map<string, Presence>> {
  const heads = new Map<string, Promise<Set<string> | null>>();
  const headOf = (l: LocationRow) => {
    if (!l.mirrorPath || !existsSync(l.mirrorPath)) return Promise.resolve(null);
    let p = heads.get(l.mirrorPath);
    if (!p) {
      p = headBlobs(l.mirrorPath).catch(() => null);
      heads.set(l.mirrorPath, p);
    }
    return p;
  };
  const out = new Map<string, Presence>();
  for (const l of locations) {
    if (out.get(l.fingerprint) === 'head') continue;
    const set = l.blob ? await headOf(l) : null;
    const here: Presence = set === null ? 'unknown' : set.has(l.blob!) ? 'head' : 'history';
    const prev = out.get(l.fingerprint);
    // Any HEAD hit wins; a checked "history" beats "unknown".
    if (!prev || here === 'head' || (prev === 'unknown' && here === 'history')) out.set(l.fingerprint, here);
  }
  return out;
}

export async function inventory(store: Store, now: Date = new Date()): Promise<InventoryRow[]> {
  const presence = await presenceOf(await store.locations());
  const publicRepos = new Set((await store.listRepos()).filter((r) => !r.private).map((r) => r.fullName));
  return (await store.inventory()).map(({ id: _id, ...s }) => {
    // a key its issuer accepted is high whatever matched it
    const confidence = s.lastVerification?.status === 'live' ? 'high' : s.confidence;
    return {
      ...s,
      confidence,
      presence: presence.get(s.fingerprint) ?? 'unknown',
      risk: riskOf({
        status: s.lastVerification?.status ?? null,
        reach: s.lastVerification?.reach ?? null,
        confidence,
        triage: s.status,
        publicRepo: s.repos.some((r) => publicRepos.has(r)),
        firstSeen: s.firstSeen,
        locations: s.locations,
        repos: s.repos.length,
        now,
      }),
    };
  });
}

export async function secretsCommand(opts: SecretsCommandOptions, ctx: CommandContext): Promise<number> {
  const { rows, locations } = await withCommandStore(opts, ctx, { mode: 'existing' }, async (store) => {
    const now = new Date();
    let rows = (await inventory(store, now)).filter((r) => atLeast(r.confidence, opts.minConfidence ?? 'low'));
    if (opts.unused !== undefined) rows = rows.filter((r) => unusedFor(r, opts.unused!, now));
    if (opts.sort === 'risk') rows.sort(byRisk);
    return { rows, locations: opts.format === 'sarif' ? await store.locations() : [] };
  });
  if (opts.format === 'sarif') {
    ctx.stdout.write(inventorySarif(rows, locations));
    return 0;
  }
  if (opts.format === 'json') {
    ctx.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  const day = (s: string | null) => s?.slice(0, 10) ?? '-';
  const table = rows.map((r) => [
    r.detector,
    r.confidence,
    r.fingerprint.slice(0, 12),
    r.redacted,
    String(r.repos.length),
    day(r.firstSeen),
    day(r.lastSeen),
    r.status,
    r.presence,
    r.lastVerification ? `${r.lastVerification.status} ${day(r.lastVerification.checkedAt)}` : '-',
    r.lastVerification?.reach ? r.lastVerification.reach.level : '-',
    r.risk.severity === 'none' ? '-' : `${r.risk.score} ${r.risk.severity}`,
    ...(opts.unused !== undefined ? [r.lastVerification?.reach?.lastUsedAt === null ? 'never' : day(r.lastVerification?.reach?.lastUsedAt ?? null)] : []),
    r.owners.join(',') || '-',
  ]);
  ctx.stdout.write(
    renderTable(['DETECTOR', 'CONF', 'FINGERPRINT', 'SECRET', 'REPOS', 'FIRST SEEN', 'LAST SEEN', 'STATUS', 'PRESENT', 'VERIFIED', 'REACH', 'RISK', ...(opts.unused !== undefined ? ['LAST USED'] : []), 'OWNER'], table, {
      maxWidth: { 0: 28, 3: 20 },
    }) +
      `\n${rows.length} secret(s); ${rows.filter((r) => r.presence === 'head').length} still at HEAD` +
      (opts.unused !== undefined ? `; live and unused for ${opts.unused}+ days (or never) by what their issuers report (GitLab, AWS, GitHub organizations)` : '') +
      '\n',
  );
  return 0;
}

/** Plain aligned columns; cells longer than their max width are cut with an ellipsis. */
export function renderTable(headers: string[], rows: string[][], opts: { maxWidth?: Record<number, number> } = {}): string {
  const cut = (s: string, i: number) => {
    const max = opts.maxWidth?.[i];
    return max && s.length > max ? s.slice(0, max - 1) + '…' : s;
  };
  // cells hold repo names, paths and authors from scanned content: control characters are made visible
  const cells = [headers, ...rows.map((r) => r.map((c, i) => cut(escapeControls(c), i)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/**
 * The org inventory as SARIF (one result per location; the artifact path is `owner/repo/path`). The store holds
 * no plaintext, and the reporter only prints it with reveal, which is never set here.
 */
export function inventorySarif(rows: InventoryRow[], locations: LocationRow[]): string {
  const byFp = new Map<string, LocationRow[]>();
  for (const l of locations) byFp.set(l.fingerprint, [...(byFp.get(l.fingerprint) ?? []), l]);
  const findings: RawFinding[] = rows
    .filter((r) => r.status === 'open')
    .map((r) => ({
      detector: r.detector,
      name: r.name,
      provider: r.provider,
      severity: r.severity,
      confidence: r.confidence,
      fingerprint: r.fingerprint,
      secret: '',
      parts: {},
      redacted: r.redacted,
      locations: (byFp.get(r.fingerprint) ?? []).map((l) => ({
        commit: l.commit,
        author: l.authorName !== null ? { name: l.authorName, email: l.authorEmail ?? '' } : null,
        date: l.date,
        path: `${l.repo}/${l.path}`,
        line: l.line,
        column: l.column,
        blob: l.blob,
        ...(l.decoded ? { decoded: l.decoded } : {}),
      })),
      ...(r.lastVerification ? { verification: r.lastVerification } : {}),
    }))
    .filter((f) => f.locations.length > 0);
  return sarifReporter({ findings, reveal: false, stats: { blobs: 0, bytes: 0, skipped: 0, findings: findings.length, elapsedMs: 0 }, skipped: [], incomplete: [], toolVersion: VERSION });
}
