// The HTML report's chart model (what each uPlot chart is given), checked without a browser.
import { describe, expect, it } from 'vitest';
import { abbreviate, chartModel, rowLabel, SEVERITY_COLORS, TIMELINE_MAX_ROWS, TTR_BINS } from '../src/notify/report-charts.js';
import type { GroupReport, ReportData, SecretReport } from '../src/notify/report.js';

const DAY = 86_400_000;
const NOW = '2025-06-01T00:00:00.000Z';
const SEVS = ['low', 'medium', 'high', 'critical'] as const;

function secret(i: number, over: Partial<SecretReport> = {}): SecretReport {
  const first = new Date(Date.parse(NOW) - (100 - i) * DAY).toISOString();
  return {
    fingerprint: i.toString(16).padStart(64, '0'),
    detector: `det-${i}`,
    provider: 'p',
    name: 'n',
    severity: SEVS[i % 4]!,
    redacted: 'x…abcd',
    status: 'open',
    verification: i % 3 === 0 ? 'dead' : 'live',
    checkedAt: null,
    repos: [`acme/r${i % 5}`],
    locations: [{ repo: `acme/r${i % 5}`, path: `src/f${i}.env` }],
    owners: i % 2 ? ['alice'] : [],
    firstCommitAt: first,
    detectedAt: first,
    rotatedAt: null,
    exposureEndAt: i % 3 === 0 ? new Date(Date.parse(first) + DAY).toISOString() : NOW,
    exposureOpen: i % 3 !== 0,
    exposureMs: null,
    timeToRotateMs: null,
    issuesOpen: 0,
    issuesClosed: 0,
    ...over,
  };
}

const group = (key: string, medianDays: number | null, meanDays: number | null): GroupReport => ({
  key,
  secrets: 1,
  live: 0,
  dead: 1,
  unknown: 0,
  rotated: 1,
  issuesOpen: 0,
  issuesClosed: 1,
  medianTimeToRotateMs: medianDays === null ? null : medianDays * DAY,
  meanTimeToRotateMs: meanDays === null ? null : meanDays * DAY,
});

function data(secrets: SecretReport[], over: Partial<ReportData> = {}): ReportData {
  return {
    generatedAt: NOW,
    totals: { secrets: secrets.length, live: 0, dead: 0, unknown: 0, unverified: 0, rotated: 0, falsePositives: 0, acceptedRisk: 0, issuesOpen: 0, issuesClosed: 0 },
    timeToRotate: { count: 0, meanMs: null, medianMs: null, valuesMs: [] },
    openBySeverity: [],
    secrets,
    repos: [],
    owners: [],
    oldestLive: [],
    precision: [],
    repoConfigSuppressions: [],
    ...over,
  };
}

describe('chart model', () => {
  it('the timeline draws at most 50 rows: the open ones, most severe, oldest first; then in date order', () => {
    const all = Array.from({ length: 80 }, (_, i) => secret(i));
    const m = chartModel(data(all));
    const rows = m.timeline!.rows;
    expect(rows).toHaveLength(TIMELINE_MAX_ROWS);
    expect(m.timeline!.hidden).toBe(30);
    // 80 secrets, 27 closed (i % 3 == 0): the 53 open ones compete for 50 places; the 3 left out are open lows
    expect(rows.every((r) => r.open)).toBe(true);
    const out = all.filter((s) => s.exposureOpen && !rows.some((r) => r.fingerprint === s.fingerprint));
    expect(out.map((s) => s.severity)).toEqual(['low', 'low', 'low']);
    expect(rows.map((r) => r.start)).toEqual([...rows.map((r) => r.start)].sort((a, b) => a - b));
    expect(rows[0]!.color).toBe(SEVERITY_COLORS[rows[0]!.severity]);
  });

  it('labels say detector, repo:path and owner; long paths keep both ends; a zero-length window stays visible', () => {
    const s = secret(1, { locations: [{ repo: 'acme/api', path: 'a/very/long/path/that/goes/on/and/on/into/the/deep/config/prod.env' }, { repo: 'acme/web', path: 'x' }], owners: ['acme/platform'] });
    expect(rowLabel(s)).toBe('det-1 · acme/api:a/very/long/path/tha…eep/config/prod.env +1 · @acme/platform');
    expect(abbreviate('abcdefghij', 5)).toBe('ab…ij');
    const doa = secret(2, { exposureEndAt: secret(2).firstCommitAt!, exposureOpen: false, verification: 'dead' });
    const r = chartModel(data([doa])).timeline!.rows[0]!;
    expect(r.end - r.start).toBeGreaterThanOrEqual(3600);
    expect(r.open).toBe(false);
  });

  it('time to rotate per owner: only owners with a rotation, slowest median first; histogram bins add up', () => {
    const m = chartModel(
      data([], {
        owners: [group('alice', 4, 5), group('(unowned)', null, null), group('acme/platform', 10, 12), group('bob', 1, 1)],
        timeToRotate: { count: 4, meanMs: null, medianMs: null, valuesMs: [30 * 60_000, 2 * DAY, 4 * DAY, 40 * DAY] },
      }),
    );
    expect(m.mttr).toEqual({ labels: ['@acme/platform', '@alice', '@bob'], medianDays: [10, 4, 1], meanDays: [12, 5, 1] });
    expect(m.ttr!.labels).toEqual(TTR_BINS.map(([l]) => l));
    expect(m.ttr!.counts).toEqual([1, 0, 1, 1, 0, 1]);
  });

  it('nothing to draw gives no chart (the page shows an empty state instead)', () => {
    expect(chartModel(data([]))).toEqual({ severity: null, timeline: null, mttr: null, ttr: null });
    const zero = chartModel(data([], { openBySeverity: [{ severity: 'critical', open: 0, live: 0, unknown: 0, unverified: 0 }] }));
    expect(zero.severity).toBeNull();
  });
});
