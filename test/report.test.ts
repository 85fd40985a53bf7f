import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Verification } from '../src/core/model.js';
import { buildReport, median, rotationOf } from '../src/notify/report.js';
import { renderReportHtml } from '../src/notify/report-html.js';
import { renderReportMarkdown } from '../src/notify/report-md.js';
import { openStore, type Store } from '../src/store/index.js';
import { runCli } from './helpers/run-cli.js';
import { tool } from './helpers/tools.js';
import { ghTokens } from './e2e/loop-world.js';

const KEY = Buffer.from('cd'.repeat(32), 'hex');
const NOW = new Date('2025-03-01T00:00:00Z');
const DAY = 86_400_000;
const iso = (d: string) => new Date(d).toISOString();

/** A store with a known history: 6 secrets over 3 repos, some rotated, one false positive, one accepted risk. */
function seed(dbPath: string): { store: Store; tokens: string[] } {
  let t = Date.parse('2025-01-10T00:00:00Z');
  const clock = { now: () => new Date(t) };
  const store = openStore(dbPath, { key: KEY, clock });
  const tokens = ghTokens(6, 3);
  const finding = (i: number, repo: string, date: string, detector = 'github-pat-classic') => ({
    detector,
    name: 'GitHub personal access token (classic)',
    provider: 'github',
    severity: 'critical' as const,
    fingerprint: String(i).repeat(64).slice(0, 64).replace(/[^0-9a-f]/g, 'a'),
    redacted: `ghp_…${tokens[i]!.slice(-4)}`,
    secret: tokens[i]!,
    parts: {},
    locations: [{ commit: `${i}`.repeat(40), author: { name: 'A', email: 'a@x.example' }, date, path: `f${i}.env`, line: 1, column: 1, blob: `${i}`.repeat(40) }],
  });
  const fps = [0, 1, 2, 3, 4, 5].map((i) => finding(i, '', '').fingerprint);
  store.upsertRepo({ fullName: 'acme/api', private: true });
  store.upsertRepo({ fullName: 'acme/web', private: true });
  store.upsertRepo({ fullName: 'acme/site', private: false });
  store.recordRepoScan(null, 'acme/api', { findings: [finding(0, 'acme/api', '2024-11-01T00:00:00Z'), finding(1, 'acme/api', '2024-12-01T00:00:00Z')], blobs: [] });
  store.recordRepoScan(null, 'acme/web', { findings: [finding(2, 'acme/web', '2024-10-01T00:00:00Z'), finding(3, 'acme/web', '2024-12-15T00:00:00Z', 'generic-api-key')], blobs: [] });
  store.recordRepoScan(null, 'acme/site', { findings: [finding(4, 'acme/site', '2024-09-01T00:00:00Z'), finding(5, 'acme/site', '2025-01-01T00:00:00Z', 'generic-api-key')], blobs: [] });
  const v = (fp: string, status: Verification['status'], at: string) => store.addVerification(fp, { status, checkedAt: iso(at), reason: status });
  // 0: live → dead twice: rotated on Jan 14 (detected Jan 10) → 4 days.
  v(fps[0]!, 'live', '2025-01-10');
  v(fps[0]!, 'dead', '2025-01-14');
  v(fps[0]!, 'dead', '2025-01-15');
  // 1: live → unknown → dead: rotated on Jan 20 → 10 days.
  v(fps[1]!, 'live', '2025-01-10');
  v(fps[1]!, 'unknown', '2025-01-12');
  v(fps[1]!, 'dead', '2025-01-20');
  v(fps[1]!, 'dead', '2025-01-21');
  // 2: live, still live.
  v(fps[2]!, 'live', '2025-01-10');
  v(fps[2]!, 'live', '2025-02-01');
  // 3: dead on arrival (never live): dead, not rotated.
  v(fps[3]!, 'dead', '2025-01-10');
  // 4: live, dead, live again (resurrected): live.
  v(fps[4]!, 'live', '2025-01-10');
  v(fps[4]!, 'dead', '2025-01-11');
  v(fps[4]!, 'live', '2025-01-12');
  // 5: never verified, triaged false positive.
  store.setSecretStatus(fps[5]!, 'false-positive');
  store.setSecretStatus(fps[3]!, 'ignored');
  store.setOwner(fps[0]!, 'acme/api', 'alice', 'commit-author');
  store.setOwner(fps[1]!, 'acme/api', 'alice', 'commit-author');
  store.setOwner(fps[2]!, 'acme/web', 'bob', 'codeowners');
  store.upsertIssue({ repo: 'acme/api', number: 1, fingerprint: fps[0]!, subjectRepo: 'acme/api', state: 'closed', stateReason: 'completed', assignees: ['alice'] });
  store.upsertIssue({ repo: 'acme/api', number: 2, fingerprint: fps[1]!, subjectRepo: 'acme/api', state: 'closed', stateReason: 'completed', assignees: ['alice'] });
  store.upsertIssue({ repo: 'acme/web', number: 1, fingerprint: fps[2]!, subjectRepo: 'acme/web', state: 'open', assignees: ['bob'] });
  store.upsertIssue({ repo: 'acme/security', number: 1, fingerprint: fps[4]!, subjectRepo: 'acme/site', state: 'open', assignees: [] });
  t = NOW.getTime();
  return { store, tokens };
}

/** Figures straight from SQL, independent of buildReport. */
function sqlFigures(store: Store) {
  const db = store.db;
  const latest = db
    .prepare(`SELECT s.fingerprint, (SELECT v.status FROM verifications v WHERE v.secret_id = s.id ORDER BY v.checked_at DESC, v.id DESC LIMIT 1) AS st FROM secrets s`)
    .all() as { fingerprint: string; st: string | null }[];
  const count = (st: string | null) => latest.filter((r) => r.st === st).length;
  const issues = db.prepare(`SELECT state, count(*) AS n FROM issues GROUP BY state`).all() as { state: string; n: number }[];
  // Time to rotate, recomputed: secrets whose latest definitive check is dead after some live check.
  const ttr: number[] = [];
  for (const s of db.prepare('SELECT id, detected_at FROM secrets').all() as { id: number; detected_at: string }[]) {
    const vs = db.prepare('SELECT status, checked_at FROM verifications WHERE secret_id = ? ORDER BY checked_at, id').all(s.id) as { status: string; checked_at: string }[];
    const defs = vs.filter((v) => v.status !== 'unknown');
    const lastLive = defs.map((v) => v.status).lastIndexOf('live');
    if (lastLive < 0 || defs.at(-1)?.status !== 'dead') continue;
    ttr.push(Date.parse(defs[lastLive + 1]!.checked_at) - Date.parse(s.detected_at));
  }
  return {
    secrets: latest.length,
    live: count('live'),
    dead: count('dead'),
    unknown: count('unknown'),
    unverified: count(null),
    open: issues.find((i) => i.state === 'open')?.n ?? 0,
    closed: issues.find((i) => i.state === 'closed')?.n ?? 0,
    ttr,
    fp: (db.prepare(`SELECT count(*) AS n FROM secrets WHERE status = 'false-positive'`).get() as { n: number }).n,
  };
}

describe('report data', () => {
  let store: Store;
  let tokens: string[];
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'keyloop-report-'));
    ({ store, tokens } = seed(path.join(dir, 'k.db')));
  });
  afterAll(() => store?.close());

  it('rotation is the first dead check after the last live one', () => {
    const v = (status: Verification['status'], d: number): Verification => ({ status, checkedAt: new Date(d * DAY).toISOString(), reason: '' });
    expect(rotationOf([v('live', 1), v('dead', 2), v('dead', 3)]).rotatedAt).toBe(new Date(2 * DAY).toISOString());
    expect(rotationOf([v('dead', 2)]).rotatedAt).toBeNull();
    expect(rotationOf([v('live', 1), v('dead', 2), v('live', 3)]).rotatedAt).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNull();
  });

  it('figures match the store', () => {
    const d = buildReport(store, NOW);
    const q = sqlFigures(store);
    expect(d.totals).toMatchObject({ secrets: q.secrets, live: q.live, dead: q.dead, unknown: q.unknown, unverified: q.unverified, issuesOpen: q.open, issuesClosed: q.closed, falsePositives: q.fp, rotated: q.ttr.length });
    expect(d.totals).toMatchObject({ secrets: 6, live: 2, dead: 3, unverified: 1, rotated: 2, issuesOpen: 2, issuesClosed: 2, acceptedRisk: 1 });
    expect(d.timeToRotate.valuesMs).toEqual([...q.ttr].sort((a, b) => a - b));
    expect(d.timeToRotate.valuesMs).toEqual([4 * DAY, 10 * DAY]);
    expect(d.timeToRotate.meanMs).toBe(7 * DAY);
    expect(d.timeToRotate.medianMs).toBe(7 * DAY);
  });

  it('exposure windows run from the first commit to rotation, or to now while open', () => {
    const d = buildReport(store, NOW);
    const byRepo = (r: string) => d.secrets.filter((s) => s.repos.includes(r));
    const rotated = byRepo('acme/api').find((s) => s.firstCommitAt === '2024-11-01T00:00:00.000Z')!;
    expect(rotated.rotatedAt).toBe('2025-01-14T00:00:00.000Z');
    expect(rotated.exposureMs).toBe(Date.parse('2025-01-14') - Date.parse('2024-11-01'));
    expect(rotated.exposureOpen).toBe(false);
    const live = byRepo('acme/web').find((s) => s.verification === 'live')!;
    expect(live.exposureOpen).toBe(true);
    expect(live.exposureMs).toBe(NOW.getTime() - Date.parse('2024-10-01'));
    expect(d.oldestLive.map((s) => s.firstCommitAt)).toEqual(['2024-09-01T00:00:00.000Z', '2024-10-01T00:00:00.000Z']);
  });

  it('per-repo, per-owner and per-detector precision tables', () => {
    const d = buildReport(store, NOW);
    expect(d.repos.find((r) => r.key === 'acme/api')).toMatchObject({ secrets: 2, dead: 2, rotated: 2, issuesClosed: 2, medianTimeToRotateMs: 7 * DAY });
    expect(d.owners.find((o) => o.key === 'alice')).toMatchObject({ secrets: 2, rotated: 2, meanTimeToRotateMs: 7 * DAY });
    expect(d.owners.find((o) => o.key === '(unowned)')!.secrets).toBe(3);
    // github-pat-classic: 4 secrets, all ever live → TP 4; generic: one accepted risk (TP), one false positive.
    expect(d.precision).toEqual([
      { detector: 'generic-api-key', secrets: 2, truePositives: 1, falsePositives: 1, untriaged: 0, precision: 0.5 },
      { detector: 'github-pat-classic', secrets: 4, truePositives: 4, falsePositives: 0, untriaged: 0, precision: 1 },
    ]);
  });

  it('markdown and JSON carry the figures and never a secret', async () => {
    const md = renderReportMarkdown(buildReport(store, NOW));
    expect(md).toContain('| 6 | 2 | 3 | 0 | 1 | 2 | 1 | 1 | 2 | 2 |');
    expect(md).toContain('mean **7d 0h**, median **7d 0h**');
    expect(md).toContain('| generic-api-key | 2 | 1 | 1 | 0 | 50.0% |');
    const json = await runCli(['report', '--format', 'json', '--db', path.join(dir, 'k.db')]);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { totals: { secrets: number } };
    expect(parsed.totals.secrets).toBe(6);
    for (const t of tokens) {
      expect(md).not.toContain(t);
      expect(json.stdout).not.toContain(t);
    }
  });

  it('an empty store gives an empty report, not an error', () => {
    const empty = openStore(path.join(dir, 'empty.db'), { key: KEY });
    const d = buildReport(empty, NOW);
    empty.close();
    expect(d.totals.secrets).toBe(0);
    expect(d.timeToRotate).toEqual({ count: 0, meanMs: null, medianMs: null, valuesMs: [] });
    expect(renderReportMarkdown(d)).toContain('_No secret rotated yet._');
    expect(renderReportHtml(d)).toContain('data-figure="secrets"><span class="num">0<');
  });

  it('report --db on a missing file is a one-line error', async () => {
    const r = await runCli(['report', '--db', path.join(dir, 'nope.db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^keyloop: --db: no database at .*nope\.db/);
  });
});

// Debian's chromium, driven by playwright-core; KEYLOOP_CHROMIUM points at another binary.
const CHROMIUM = tool('chromium', process.env.KEYLOOP_CHROMIUM ? [process.env.KEYLOOP_CHROMIUM] : ['/usr/bin/chromium'], 'apt-get install -y chromium');
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

describe.skipIf(CHROMIUM.skip)('HTML report in headless Chromium', () => {
  let browser: Browser | undefined;
  afterAll(async () => browser?.close());

  it('renders the store figures and draws both charts with JavaScript, offline', async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM.need(), args: CHROMIUM_FLAGS });
    const dir = mkdtempSync(path.join(tmpdir(), 'keyloop-html-'));
    const { store, tokens } = seed(path.join(dir, 'k.db'));
    const q = sqlFigures(store);
    const html = renderReportHtml(buildReport(store, NOW));
    store.close();
    expect(html).not.toMatch(/<(link|img|iframe)\b[^>]*\b(src|href)=["']?https?:/i);
    for (const t of tokens) expect(html).not.toContain(t);
    const file = path.join(dir, 'report.html');
    writeFileSync(file, html);

    const page = await browser.newPage({ viewport: { width: 1280, height: 2000 } });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${file}`);
    await page.waitForSelector('[data-rendered="ok"]');
    const dom = await page.content();
    // Everything the page needs is inline: the only request is the file itself.
    expect(requests).toEqual([`file://${file}`]);

    const figure = (k: string) => new RegExp(`data-figure="${k}"><span class="num">([^<]*)<`).exec(dom)?.[1];
    expect(figure('secrets')).toBe(String(q.secrets));
    expect(figure('live')).toBe(String(q.live));
    expect(figure('dead')).toBe(String(q.dead));
    expect(figure('issues-open')).toBe(String(q.open));
    expect(figure('issues-closed')).toBe(String(q.closed));
    expect(figure('rotated')).toBe(String(q.ttr.length));
    expect(figure('median-ttr')).toBe('7d 0h');
    // Timeline: one bar per secret with a commit date; histogram bins add up to the rotated secrets.
    expect(dom.match(/<rect class="bar /g)?.length).toBe(q.secrets);
    const bins = [...dom.matchAll(/class="bin"[^>]*data-count="(\d+)"/g)].map((m) => Number(m[1]));
    expect(bins).toHaveLength(6);
    expect(bins.reduce((a, b) => a + b, 0)).toBe(q.ttr.length);
    expect(bins[2]).toBe(0); // 1–3d
    expect(bins[3]).toBe(1); // 3–7d: 4 days
    expect(bins[4]).toBe(1); // 7–30d: 10 days

    const png = await page.screenshot({ fullPage: true });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });
});
