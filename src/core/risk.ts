// Risk of a leaked secret = f(what the key can do, how exposed it is): a 0-100 score, a severity and the reasons.
// Pure: the inventory, the issue loop and the report all rank with this one function.
import type { Confidence, Reach, VerificationStatus } from './model.js';

export const RiskSeverity = ['critical', 'high', 'medium', 'low', 'none'] as const;
export type RiskSeverity = (typeof RiskSeverity)[number];

export interface Risk {
  /** 0 (nothing to fear) … 100. */
  score: number;
  severity: RiskSeverity;
  /** Why, strongest first, in words an owner understands ("admin access", "public repository", …). */
  factors: string[];
}

export interface RiskInput {
  /** Latest verification; null when never checked. */
  status: VerificationStatus | null;
  reach?: Reach | null;
  confidence: Confidence;
  /** Triage: false positives and accepted risks rank nothing. */
  triage?: 'open' | 'false-positive' | 'revoked' | 'ignored';
  /** Any repository holding it is public. */
  publicRepo: boolean;
  /** Earliest author date of a commit introducing it (ISO); null when unknown. */
  firstSeen: string | null;
  locations: number;
  repos: number;
  now: Date;
}

/** Points for what the key can do, by level (a live key whose reach is not known counts as a write key). */
const LEVEL_POINTS = { admin: 50, write: 35, read: 15, unknown: 30 } as const;
/** Points for what makes a key dangerous beyond its level (capped at 25 together). */
const TAG_POINTS: Record<string, number> = {
  root: 12,
  'site-admin': 12,
  'instance-admin': 12,
  'public-write': 12,
  publish: 12,
  prod: 8,
  iam: 8,
  billing: 6,
  pii: 6,
  ci: 5,
  'send-mail': 3,
  'send-messages': 3,
  'no-2fa': 2,
};
const TAG_CAP = 25;
const DAY = 86_400_000;

export function severityOf(score: number): RiskSeverity {
  if (score >= 75) return 'critical';
  if (score >= 50) return 'high';
  if (score >= 25) return 'medium';
  if (score > 0) return 'low';
  return 'none';
}

export function riskOf(i: RiskInput): Risk {
  if (i.triage === 'false-positive' || i.triage === 'ignored') return { score: 0, severity: 'none', factors: [i.triage === 'ignored' ? 'accepted risk' : 'false positive'] };
  if (i.status === 'dead') return { score: 0, severity: 'none', factors: ['revoked at the issuer'] };
  const factors: Array<[number, string]> = [];
  let score = 0;
  const add = (points: number, why: string) => {
    if (points <= 0) return;
    score += points;
    factors.push([points, why]);
  };

  if (i.status === 'live') {
    const level = i.reach?.level ?? 'unknown';
    add(LEVEL_POINTS[level], level === 'unknown' ? 'live, what it can do is not known' : `live with ${level} access`);
    let tagPoints = 0;
    const tags = (i.reach?.tags ?? []).filter((t) => TAG_POINTS[t]).sort((a, b) => TAG_POINTS[b]! - TAG_POINTS[a]!);
    for (const t of tags) tagPoints += TAG_POINTS[t]!;
    if (tags.length) add(Math.min(TAG_CAP, tagPoints), tags.join(', '));
  } else {
    // Not verified (no verify block, an outage, a skipped check): weigh by how sure detection is.
    const c = { high: 20, medium: 12, low: 5 }[i.confidence];
    add(c, `${i.status === 'unknown' ? 'liveness unknown' : 'never verified'} (${i.confidence} confidence)`);
  }

  if (i.publicRepo) add(15, 'in a public repository');
  if (i.firstSeen) {
    const days = Math.max(0, (i.now.getTime() - Date.parse(i.firstSeen)) / DAY);
    // 0 → 0, a month → ~6, a year or more → 10
    const points = Math.round(Math.min(10, (10 * Math.log10(1 + days)) / Math.log10(366)));
    add(points, `exposed ${Math.floor(days)} day${Math.floor(days) === 1 ? '' : 's'}`);
  }
  const spread = Math.round(Math.min(10, 3 * Math.log2(1 + Math.max(0, i.locations - 1)) + 2 * Math.max(0, i.repos - 1)));
  add(spread, `${i.locations} locations in ${i.repos} repositor${i.repos === 1 ? 'y' : 'ies'}`);

  const final = Math.min(100, Math.round(score));
  return { score: final, severity: severityOf(final), factors: factors.sort((a, b) => b[0] - a[0]).map(([, why]) => why) };
}

/** Highest risk first; ties by score of what the key can do, then by fingerprint (a stable order). */
export function byRisk<T extends { risk: Risk; fingerprint: string }>(a: T, b: T): number {
  return b.risk.score - a.risk.score || a.fingerprint.localeCompare(b.fingerprint);
}
