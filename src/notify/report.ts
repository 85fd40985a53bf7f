// The loop's report: what is open, what was rotated and how fast, who owns what, how precise each detector is.
// Computed from the store only; renderers (Markdown, JSON, HTML) format this one structure.
import type { Reach, Verification } from '../core/model.js';
import { byRisk, riskOf, RiskSeverity, type Risk } from '../core/risk.js';
import type { IssueRow, LocationRow, SecretRow, SecretStatus, Store, VerificationRow } from '../core/store.js';

export interface SecretReport {
  fingerprint: string;
  detector: string;
  provider: string;
  name: string;
  severity: string;
  redacted: string;
  /** Triage status in the store. */
  status: SecretStatus;
  /** Latest verification result, null when never checked. */
  verification: Verification['status'] | null;
  checkedAt: string | null;
  repos: string[];
  /** Every distinct repository and path the secret appears at (paths are scanned content: escape before display). */
  locations: { repo: string; path: string }[];
  /** Users and CODEOWNERS teams (`org/slug`) owning it. */
  owners: string[];
  /** Earliest author date of a commit introducing the secret. */
  firstCommitAt: string | null;
  detectedAt: string;
  /** First dead check after the last live one: when keyloop saw the key rotated. */
  rotatedAt: string | null;
  /** End of the exposure window: rotation, else the first dead check (dead on arrival), else now. */
  exposureEndAt: string;
  /** True while the key may still work (live / unknown / never checked). */
  exposureOpen: boolean;
  exposureMs: number | null;
  timeToRotateMs: number | null;
  issuesOpen: number;
  issuesClosed: number;
  /** f(what the key can do, public repo, exposure age, locations): src/core/risk.ts (always set by buildReport). */
  risk?: Risk;
  /** Reach level from the latest verification (src/reach), null when not known (always set by buildReport). */
  reach?: Reach['level'] | null;
}

export interface LastUse {
  fingerprint: string;
  detector: string;
  redacted: string;
  /** null: never used. */
  lastUsedAt: string | null;
  /** Days since the last use; null when never used. */
  idleDays: number | null;
}

/** Secrets per risk severity (the report groups by it), highest score first within each. */
export interface RiskGroup {
  severity: RiskSeverity;
  secrets: number;
  live: number;
  fingerprints: string[];
}

export interface GroupReport {
  key: string;
  secrets: number;
  live: number;
  dead: number;
  unknown: number;
  rotated: number;
  issuesOpen: number;
  issuesClosed: number;
  meanTimeToRotateMs: number | null;
  medianTimeToRotateMs: number | null;
}

export interface DetectorPrecision {
  detector: string;
  secrets: number;
  /** Verified live at least once, revoked, or triaged as an accepted risk. */
  truePositives: number;
  falsePositives: number;
  untriaged: number;
  /** TP / (TP + FP); null when nothing is triaged yet. */
  precision: number | null;
}

/** Most severe first: the order tables, charts and the legend use. */
export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;

/** Secrets still exposed, per severity, split by what the issuer last said. */
export interface SeverityCount {
  severity: (typeof SEVERITIES)[number];
  open: number;
  live: number;
  unknown: number;
  unverified: number;
}

export interface ReportData {
  generatedAt: string;
  totals: {
    secrets: number;
    live: number;
    dead: number;
    unknown: number;
    unverified: number;
    rotated: number;
    falsePositives: number;
    acceptedRisk: number;
    issuesOpen: number;
    issuesClosed: number;
  };
  timeToRotate: { count: number; meanMs: number | null; medianMs: number | null; valuesMs: number[] };
  /** Open = the key may still work (not seen dead since its last live check) and not triaged false positive or revoked. */
  openBySeverity: SeverityCount[];
  secrets: SecretReport[];
  repos: GroupReport[];
  owners: GroupReport[];
  oldestLive: SecretReport[];
  precision: DetectorPrecision[];
  /** Every risk severity, critical first: the grouping the report shows secrets by (always set by buildReport). */
  byRisk?: RiskGroup[];
  /**
   * Live keys whose issuer reports their last use (GitLab, AWS …), never used first, then longest unused: the
   * safest to revoke first (always set by buildReport).
   */
  lastUsed?: LastUse[];
  /** Findings dropped by the scanned repositories' own .keyloop.yaml (org and App runs), per repository. */
  repoConfigSuppressions: { repo: string; suppressed: number; runs: number; lastAt: string }[];
}

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function mean(xs: readonly number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

/** Rotation as keyloop observed it: the first dead check after the last live one, with no live check since. */
export function rotationOf(vs: readonly Verification[]): { rotatedAt: string | null; firstDeadAt: string | null; everLive: boolean } {
  let lastLive = -1;
  vs.forEach((v, i) => v.status === 'live' && (lastLive = i));
  const firstDeadAfter = vs.slice(lastLive + 1).find((v) => v.status === 'dead')?.checkedAt ?? null;
  return { rotatedAt: lastLive >= 0 ? firstDeadAfter : null, firstDeadAt: firstDeadAfter, everLive: lastLive >= 0 };
}

export async function buildReport(store: Store, now: Date): Promise<ReportData> {
  const inputs = await loadInputs(store);
  const { secrets, issues, vsBy } = inputs;
  const nowIso = now.toISOString();
  const rows = secrets.map((s) => secretRow(s, inputs, now));
  const ttr = rows.map((r) => r.timeToRotateMs).filter((x): x is number => x !== null);
  const byFirstSeen = (a: SecretReport, b: SecretReport) => (a.firstCommitAt ?? a.detectedAt).localeCompare(b.firstCommitAt ?? b.detectedAt);
  return {
    generatedAt: nowIso,
    totals: totalsOf(rows, issues, ttr.length),
    timeToRotate: { count: ttr.length, meanMs: mean(ttr), medianMs: median(ttr), valuesMs: [...ttr].sort((a, b) => a - b) },
    openBySeverity: openBySeverity(rows),
    secrets: [...rows].sort(byFirstSeen),
    repos: groupReports(rows, (r) => r.repos),
    owners: groupReports(rows, (r) => (r.owners.length ? r.owners : ['(unowned)'])),
    oldestLive: rows
      .filter((r) => r.verification === 'live' && r.status !== 'false-positive')
      .sort(byFirstSeen)
      .slice(0, 10),
    precision: detectorPrecision(rows, vsBy),
    repoConfigSuppressions: await store.repoConfigSuppressions(),
    lastUsed: lastUsedOf(secrets, vsBy, now),
    byRisk: RiskSeverity.map((severity) => {
      const rs = rows.filter((r) => r.risk.severity === severity).sort(byRisk);
      return { severity, secrets: rs.length, live: rs.filter((r) => r.verification === 'live').length, fingerprints: rs.map((r) => r.fingerprint) };
    }),
  };
}

/** What the report is computed from, read from the store once. */
interface ReportInputs {
  secrets: SecretRow[];
  issues: IssueRow[];
  vsBy: Map<string, VerificationRow[]>;
  ownersBy: Map<string, string[]>;
  locBy: Map<string, LocationRow[]>;
  publicRepos: Set<string>;
}

async function loadInputs(store: Store): Promise<ReportInputs> {
  const secrets = await store.listSecrets();
  const locations = await store.locations();
  const issues = await store.listIssues();
  const vsBy = new Map<string, VerificationRow[]>();
  const ownersBy = new Map<string, string[]>();
  for (const s of secrets) {
    vsBy.set(s.fingerprint, await store.verifications(s.fingerprint));
    ownersBy.set(s.fingerprint, (await store.owners(s.fingerprint)).map((o) => o.login));
  }
  const publicRepos = new Set((await store.listRepos()).filter((r) => !r.private).map((r) => r.fullName));
  const locBy = new Map<string, LocationRow[]>();
  for (const l of locations) locBy.set(l.fingerprint, [...(locBy.get(l.fingerprint) ?? []), l]);
  return { secrets, issues, vsBy, ownersBy, locBy, publicRepos };
}

/** One secret's row: where it is, who owns it, its exposure window, time to rotate and risk. */
function secretRow(s: SecretRow, inputs: ReportInputs, now: Date): SecretReport & { risk: Risk } {
  const nowIso = now.toISOString();
  const vs = inputs.vsBy.get(s.fingerprint)!;
  const last = vs.at(-1) ?? null;
  const locs = inputs.locBy.get(s.fingerprint) ?? [];
  const dates = locs.map((l) => l.date).filter((d): d is string => !!d).sort((a, b) => Date.parse(a) - Date.parse(b));
  const firstCommitAt = dates[0] ? new Date(Date.parse(dates[0])).toISOString() : null;
  const { rotatedAt, firstDeadAt } = rotationOf(vs);
  const definitive = [...vs].reverse().find((v) => v.status !== 'unknown');
  const isDeadNow = definitive?.status === 'dead';
  const exposureOpen = !isDeadNow;
  const exposureEndAt = isDeadNow ? (rotatedAt ?? firstDeadAt ?? nowIso) : nowIso;
  const own = inputs.ownersBy.get(s.fingerprint)!;
  const si = inputs.issues.filter((i) => i.fingerprint === s.fingerprint);
  return {
    fingerprint: s.fingerprint,
    detector: s.detector,
    provider: s.provider,
    name: s.name,
    severity: s.severity,
    redacted: s.redacted,
    status: s.status,
    verification: last?.status ?? null,
    checkedAt: last?.checkedAt ?? null,
    repos: [...new Set(locs.map((l) => l.repo))].sort(),
    locations: [...new Map(locs.map((l) => [`${l.repo}\0${l.path}`, { repo: l.repo, path: l.path }])).values()].sort((a, b) => a.repo.localeCompare(b.repo) || a.path.localeCompare(b.path)),
    owners: [...new Set(own)].sort(),
    firstCommitAt,
    detectedAt: s.detectedAt,
    rotatedAt: isDeadNow ? rotatedAt : null,
    exposureEndAt,
    exposureOpen,
    exposureMs: firstCommitAt ? Math.max(0, Date.parse(exposureEndAt) - Date.parse(firstCommitAt)) : null,
    timeToRotateMs: isDeadNow && rotatedAt ? Math.max(0, Date.parse(rotatedAt) - Date.parse(s.detectedAt)) : null,
    issuesOpen: si.filter((i) => i.state === 'open').length,
    issuesClosed: si.filter((i) => i.state === 'closed').length,
    reach: last?.reach?.level ?? null,
    risk: riskOf({
      status: last?.status ?? null,
      reach: last?.reach ?? null,
      confidence: last?.status === 'live' ? 'high' : s.confidence,
      triage: s.status,
      publicRepo: locs.some((l) => inputs.publicRepos.has(l.repo)),
      firstSeen: firstCommitAt,
      locations: locs.length,
      repos: new Set(locs.map((l) => l.repo)).size,
      now,
    }),
  };
}

function totalsOf(rows: SecretReport[], issues: IssueRow[], rotated: number): ReportData['totals'] {
  return {
    secrets: rows.length,
    live: rows.filter((r) => r.verification === 'live').length,
    dead: rows.filter((r) => r.verification === 'dead').length,
    unknown: rows.filter((r) => r.verification === 'unknown').length,
    unverified: rows.filter((r) => r.verification === null).length,
    rotated,
    falsePositives: rows.filter((r) => r.status === 'false-positive').length,
    acceptedRisk: rows.filter((r) => r.status === 'ignored').length,
    issuesOpen: issues.filter((i) => i.state === 'open').length,
    issuesClosed: issues.filter((i) => i.state === 'closed').length,
  };
}

function openBySeverity(rows: SecretReport[]): SeverityCount[] {
  return SEVERITIES.map((severity) => {
    const open = rows.filter((r) => r.severity === severity && isOpen(r));
    return {
      severity,
      open: open.length,
      live: open.filter((r) => r.verification === 'live').length,
      unknown: open.filter((r) => r.verification === 'unknown').length,
      unverified: open.filter((r) => r.verification === null).length,
    };
  });
}

/** Rows grouped by `keyOf` (a row may fall in several groups), most live first. */
function groupReports(rows: SecretReport[], keyOf: (r: SecretReport) => string[]): GroupReport[] {
  const m = new Map<string, SecretReport[]>();
  for (const r of rows) for (const k of keyOf(r)) m.set(k, [...(m.get(k) ?? []), r]);
  return [...m.entries()]
    .map(([key, rs]) => {
      const t = rs.map((r) => r.timeToRotateMs).filter((x): x is number => x !== null);
      return {
        key,
        secrets: rs.length,
        live: rs.filter((r) => r.verification === 'live').length,
        dead: rs.filter((r) => r.verification === 'dead').length,
        unknown: rs.filter((r) => r.verification === 'unknown').length,
        rotated: t.length,
        issuesOpen: rs.reduce((a, r) => a + r.issuesOpen, 0),
        issuesClosed: rs.reduce((a, r) => a + r.issuesClosed, 0),
        meanTimeToRotateMs: mean(t),
        medianTimeToRotateMs: median(t),
      };
    })
    .sort((a, b) => b.live - a.live || b.secrets - a.secrets || a.key.localeCompare(b.key));
}

function detectorPrecision(rows: SecretReport[], vsBy: Map<string, VerificationRow[]>): DetectorPrecision[] {
  const byDetector = new Map<string, SecretReport[]>();
  for (const r of rows) byDetector.set(r.detector, [...(byDetector.get(r.detector) ?? []), r]);
  const everLive = (fp: string) => vsBy.get(fp)!.some((v) => v.status === 'live');
  return [...byDetector.entries()]
    .map(([detector, rs]) => {
      const fp = rs.filter((r) => r.status === 'false-positive').length;
      const tp = rs.filter((r) => r.status !== 'false-positive' && (everLive(r.fingerprint) || r.status === 'ignored' || r.status === 'revoked')).length;
      return { detector, secrets: rs.length, truePositives: tp, falsePositives: fp, untriaged: rs.length - tp - fp, precision: tp + fp ? tp / (tp + fp) : null };
    })
    .sort((a, b) => a.detector.localeCompare(b.detector));
}

/** Live keys whose issuer reported their last use: never used first, then longest idle. */
function lastUsedOf(secrets: SecretRow[], vsBy: Map<string, VerificationRow[]>, now: Date): LastUse[] {
  return secrets
    .flatMap((s) => {
      const last = vsBy.get(s.fingerprint)!.at(-1);
      const at = last?.reach?.lastUsedAt;
      if (last?.status !== 'live' || at === undefined) return [];
      return [{ fingerprint: s.fingerprint, detector: s.detector, redacted: s.redacted, lastUsedAt: at, idleDays: at === null ? null : Math.floor((now.getTime() - Date.parse(at)) / 86_400_000) }];
    })
    .sort((a, b) => (a.idleDays === null ? -1 : b.idleDays === null ? 1 : b.idleDays - a.idleDays) || a.fingerprint.localeCompare(b.fingerprint));
}

/** Still a risk: the key may work and nobody triaged it away. */
export function isOpen(r: SecretReport): boolean {
  return r.exposureOpen && r.status !== 'false-positive' && r.status !== 'revoked';
}

/** `3d 4h`, `5h 12m`, `42m`; '—' for null. */
export function humanDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  const m = Math.round(ms / 60_000);
  const d = Math.floor(m / 1440);
  const h = Math.floor((m % 1440) / 60);
  const min = m % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${min}m`;
  return `${min}m`;
}

export function percent(x: number | null): string {
  return x === null ? '—' : `${(x * 100).toFixed(1)}%`;
}
