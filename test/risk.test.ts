// Risk = f(reach, exposure): what each factor adds, the severities, the order, and what never ranks.
import { describe, expect, it } from 'vitest';
import type { Reach } from '../src/core/model.js';
import { byRisk, riskOf, severityOf, type RiskInput } from '../src/core/risk.js';

const now = new Date('2025-06-01T00:00:00Z');
const reach = (level: Reach['level'], tags: string[] = []): Reach => ({ checkedAt: now.toISOString(), level, tags, facts: {}, resources: [], counts: {}, gaps: [] });
const base: RiskInput = { status: 'live', reach: null, confidence: 'high', publicRepo: false, firstSeen: '2025-05-31T00:00:00Z', locations: 1, repos: 1, now };

describe('riskOf', () => {
  it('admin beats write beats read for the same exposure', () => {
    const [a, w, r] = (['admin', 'write', 'read'] as const).map((l) => riskOf({ ...base, reach: reach(l) }).score);
    expect(a).toBeGreaterThan(w!);
    expect(w).toBeGreaterThan(r!);
  });

  it('a live admin token that can write public repositories is critical; a read-only one in a private repo is low', () => {
    const bad = riskOf({ ...base, reach: reach('admin', ['admin', 'write', 'public-write', 'ci']), firstSeen: '2024-01-01T00:00:00Z' });
    expect(bad.severity).toBe('critical');
    expect(bad.factors[0]).toBe('live with admin access');
    expect(bad.factors).toContain('public-write, ci');
    const mild = riskOf({ ...base, reach: reach('read') });
    expect(mild.severity).toBe('low');
  });

  it('production and billing make a write key high; a public repository adds on top', () => {
    const stripe = riskOf({ ...base, reach: reach('write', ['prod', 'billing']) });
    expect(stripe.severity).toBe('high');
    expect(riskOf({ ...base, reach: reach('write', ['prod', 'billing']), publicRepo: true }).score).toBe(stripe.score + 15);
  });

  it('tags add at most 25 together', () => {
    const all = riskOf({ ...base, reach: reach('read', ['root', 'publish', 'public-write', 'prod', 'iam', 'billing', 'pii']) });
    const none = riskOf({ ...base, reach: reach('read') });
    expect(all.score - none.score).toBe(25);
  });

  it('older and more widely copied secrets rank higher', () => {
    const young = riskOf({ ...base, reach: reach('write') }).score;
    const old = riskOf({ ...base, reach: reach('write'), firstSeen: '2023-01-01T00:00:00Z' }).score;
    const spread = riskOf({ ...base, reach: reach('write'), locations: 20, repos: 4 }).score;
    expect(old).toBeGreaterThan(young);
    expect(spread).toBeGreaterThan(young);
    expect(riskOf({ ...base, reach: reach('write'), firstSeen: '2020-01-01T00:00:00Z' }).factors).toContain('exposed 1978 days');
  });

  it('a live key whose reach is unknown counts like a write key; an unverified one by detection confidence', () => {
    expect(riskOf({ ...base }).factors[0]).toBe('live, what it can do is not known');
    const high = riskOf({ ...base, status: 'unknown', confidence: 'high' }).score;
    const low = riskOf({ ...base, status: null, confidence: 'low' }).score;
    expect(high).toBeGreaterThan(low);
    expect(riskOf({ ...base, status: null, confidence: 'low' }).factors[0]).toBe('never verified (low confidence)');
  });

  it('dead keys, false positives and accepted risks rank nothing', () => {
    expect(riskOf({ ...base, status: 'dead', publicRepo: true })).toEqual({ score: 0, severity: 'none', factors: ['revoked at the issuer'] });
    expect(riskOf({ ...base, triage: 'false-positive' }).severity).toBe('none');
    expect(riskOf({ ...base, triage: 'ignored' }).factors).toEqual(['accepted risk']);
  });

  it('scores stay within 0..100 and severities follow the thresholds', () => {
    const max = riskOf({ ...base, reach: reach('admin', ['root', 'publish', 'prod']), publicRepo: true, firstSeen: '2000-01-01T00:00:00Z', locations: 500, repos: 40 });
    expect(max.score).toBe(100);
    expect([severityOf(75), severityOf(74), severityOf(50), severityOf(25), severityOf(1), severityOf(0)]).toEqual(['critical', 'high', 'high', 'medium', 'low', 'none']);
  });

  it('byRisk orders highest first, ties by fingerprint', () => {
    const rows = [
      { fingerprint: 'b', risk: riskOf({ ...base, reach: reach('read') }) },
      { fingerprint: 'a', risk: riskOf({ ...base, reach: reach('read') }) },
      { fingerprint: 'c', risk: riskOf({ ...base, reach: reach('admin') }) },
    ];
    expect(rows.sort(byRisk).map((r) => r.fingerprint)).toEqual(['c', 'a', 'b']);
  });
});
