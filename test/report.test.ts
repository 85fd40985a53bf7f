import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Verification } from '../src/core/model.js';
import { buildReport, median, rotationOf } from '../src/notify/report.js';
import { renderReportHtml } from '../src/notify/report-html.js';
import { uplotAsset } from '../src/notify/uplot-asset.js';
import { DEMO_SECRET_COUNT, openDemoStore } from '../testkit/report-demo.js';
import { MEAN_COLOR, MEDIAN_COLOR, SEVERITY_COLORS } from '../src/notify/report-charts.js';
import { renderReportMarkdown } from '../src/notify/report-md.js';
import type { Store } from '../src/store/index.js';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite/index.js';
import { runCli } from './helpers/run-cli.js';
import { tool } from './helpers/tools.js';
import { ghTokens } from './e2e/loop-world.js';

const KEY = Buffer.from('cd'.repeat(32), 'hex');
const NOW = new Date('2025-03-01T00:00:00Z');
const DAY = 86_400_000;
const iso = (d: string) => new Date(d).toISOString();

/** A store with a known history: 6 secrets over 3 repos, some rotated, one false positive, one accepted risk. */
async function seed(dbPath: string): Promise<{ store: SqliteStore; tokens: string[] }> {
  let t = Date.parse('2025-01-10T00:00:00Z');
  const clock = { now: () => new Date(t) };
  const store = openSqliteStore(dbPath, { key: KEY, clock });
  const tokens = ghTokens(6, 3);
  // severities vary so the report's colours and open-by-severity figures have something to tell apart
  const SEVERITY = ['critical', 'critical', 'critical', 'medium', 'high', 'low'] as const;
  const finding = (i: number, repo: string, date: string, detector = 'github-pat-classic') => ({
    detector,
    name: 'GitHub personal access token (classic)',
    provider: 'github',
    severity: SEVERITY[i]!,
    fingerprint: String(i).repeat(64).slice(0, 64).replace(/[^0-9a-f]/g, 'a'),
    redacted: `ghp_…${tokens[i]!.slice(-4)}`,
    secret: tokens[i]!,
    parts: {},
    locations: [{ commit: `${i}`.repeat(40), author: { name: 'A', email: 'a@x.example' }, date, path: `f${i}.env`, line: 1, column: 1, blob: `${i}`.repeat(40) }],
  });
  const fps = [0, 1, 2, 3, 4, 5].map((i) => finding(i, '', '').fingerprint);
  await store.upsertRepo({ fullName: 'acme/api', private: true });
  await store.upsertRepo({ fullName: 'acme/web', private: true });
  await store.upsertRepo({ fullName: 'acme/site', private: false });
  await store.recordRepoScan(null, 'acme/api', { findings: [finding(0, 'acme/api', '2024-11-01T00:00:00Z'), finding(1, 'acme/api', '2024-12-01T00:00:00Z')], blobs: [] });
  await store.recordRepoScan(null, 'acme/web', { findings: [finding(2, 'acme/web', '2024-10-01T00:00:00Z'), finding(3, 'acme/web', '2024-12-15T00:00:00Z', 'generic-api-key')], blobs: [] });
  await store.recordRepoScan(null, 'acme/site', { findings: [finding(4, 'acme/site', '2024-09-01T00:00:00Z'), finding(5, 'acme/site', '2025-01-01T00:00:00Z', 'generic-api-key')], blobs: [] });
  const v = (fp: string, status: Verification['status'], at: string) => store.addVerification(fp, { status, checkedAt: iso(at), reason: status });
  // 0: live → dead twice: rotated on Jan 14 (detected Jan 10) → 4 days.
  await v(fps[0]!, 'live', '2025-01-10');
  await v(fps[0]!, 'dead', '2025-01-14');
  await v(fps[0]!, 'dead', '2025-01-15');
  // 1: live → unknown → dead: rotated on Jan 20 → 10 days.
  await v(fps[1]!, 'live', '2025-01-10');
  await v(fps[1]!, 'unknown', '2025-01-12');
  await v(fps[1]!, 'dead', '2025-01-20');
  await v(fps[1]!, 'dead', '2025-01-21');
  // 2: live, still live.
  await v(fps[2]!, 'live', '2025-01-10');
  await v(fps[2]!, 'live', '2025-02-01');
  // 3: dead on arrival (never live): dead, not rotated.
  await v(fps[3]!, 'dead', '2025-01-10');
  // 4: live, dead, live again (resurrected): live.
  await v(fps[4]!, 'live', '2025-01-10');
  await v(fps[4]!, 'dead', '2025-01-11');
  await v(fps[4]!, 'live', '2025-01-12');
  // 5: never verified, triaged false positive.
  await store.setSecretStatus(fps[5]!, 'false-positive');
  await store.setSecretStatus(fps[3]!, 'ignored');
  await store.setOwner(fps[0]!, 'acme/api', 'alice', 'commit-author');
  await store.setOwner(fps[1]!, 'acme/api', 'alice', 'commit-author');
  await store.setOwner(fps[2]!, 'acme/web', 'bob', 'codeowners');
  await store.upsertIssue({ repo: 'acme/api', number: 1, fingerprint: fps[0]!, subjectRepo: 'acme/api', state: 'closed', stateReason: 'completed', assignees: ['alice'] });
  await store.upsertIssue({ repo: 'acme/api', number: 2, fingerprint: fps[1]!, subjectRepo: 'acme/api', state: 'closed', stateReason: 'completed', assignees: ['alice'] });
  await store.upsertIssue({ repo: 'acme/web', number: 1, fingerprint: fps[2]!, subjectRepo: 'acme/web', state: 'open', assignees: ['bob'] });
  await store.upsertIssue({ repo: 'acme/security', number: 1, fingerprint: fps[4]!, subjectRepo: 'acme/site', state: 'open', assignees: [] });
  t = NOW.getTime();
  return { store, tokens };
}

/** Figures straight from SQL, independent of buildReport. */
function sqlFigures(store: SqliteStore) {
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
  let store: SqliteStore;
  let tokens: string[];
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'keyloop-report-'));
    ({ store, tokens } = await seed(path.join(dir, 'k.db')));
  });
  afterAll(() => store?.close());

  it('rotation is the first dead check after the last live one', async () => {
    const v = (status: Verification['status'], d: number): Verification => ({ status, checkedAt: new Date(d * DAY).toISOString(), reason: '' });
    expect(rotationOf([v('live', 1), v('dead', 2), v('dead', 3)]).rotatedAt).toBe(new Date(2 * DAY).toISOString());
    expect(rotationOf([v('dead', 2)]).rotatedAt).toBeNull();
    expect(rotationOf([v('live', 1), v('dead', 2), v('live', 3)]).rotatedAt).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNull();
  });

  it('figures match the store', async () => {
    const d = await buildReport(store, NOW);
    const q = sqlFigures(store);
    expect(d.totals).toMatchObject({ secrets: q.secrets, live: q.live, dead: q.dead, unknown: q.unknown, unverified: q.unverified, issuesOpen: q.open, issuesClosed: q.closed, falsePositives: q.fp, rotated: q.ttr.length });
    expect(d.totals).toMatchObject({ secrets: 6, live: 2, dead: 3, unverified: 1, rotated: 2, issuesOpen: 2, issuesClosed: 2, acceptedRisk: 1 });
    expect(d.timeToRotate.valuesMs).toEqual([...q.ttr].sort((a, b) => a - b));
    expect(d.timeToRotate.valuesMs).toEqual([4 * DAY, 10 * DAY]);
    expect(d.timeToRotate.meanMs).toBe(7 * DAY);
    expect(d.timeToRotate.medianMs).toBe(7 * DAY);
  });

  it('exposure windows run from the first commit to rotation, or to now while open', async () => {
    const d = await buildReport(store, NOW);
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

  it('per-repo, per-owner and per-detector precision tables', async () => {
    const d = await buildReport(store, NOW);
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
    const md = renderReportMarkdown(await buildReport(store, NOW));
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

  it('groups by risk: the live key in a public repository first, then the live private one; dead and triaged keys carry none', async () => {
    const d = await buildReport(store, NOW);
    const fp = (i: number) => String(i).repeat(64);
    // 4: live again, in the public acme/site; 2: live, private acme/web; 0, 1 rotated, 3 dead and ignored, 5 a false positive
    expect(d.byRisk!.map((g) => [g.severity, g.severity === 'none' ? [...g.fingerprints].sort() : g.fingerprints])).toEqual([
      ['critical', []],
      ['high', [fp(4)]],
      ['medium', [fp(2)]],
      ['low', []],
      ['none', [fp(0), fp(1), fp(3), fp(5)]],
    ]);
    expect(d.secrets.find((s) => s.fingerprint === fp(4))!.risk!.factors).toEqual(expect.arrayContaining([expect.stringMatching(/public/)]));
    // The HTML shows the same grouping: a summary, one table per group with risk, then the secrets riskiest first.
    const html = renderReportHtml(d);
    const rowsOf = (id: string) => [...(new RegExp(`<table id="${id}">(.*?)</table>`).exec(html)?.[1] ?? '').matchAll(/data-fingerprint="([0-9a-f]{64})"/g)].map((m) => m[1]);
    expect(rowsOf('risk-high')).toEqual([fp(4)]);
    expect(rowsOf('risk-medium')).toEqual([fp(2)]);
    expect(html).not.toContain('id="risk-critical"');
    expect(html).not.toContain('id="risk-low"');
    expect(html).toMatch(/<tr data-risk="none"><td><span class="risk none">none<\/span><\/td><td>4<\/td><td>0<\/td><\/tr>/);
    expect(html).toMatch(/<tr data-risk="high"><td><span class="risk high">high<\/span><\/td><td>1<\/td><td>1<\/td><\/tr>/);
    expect(html.indexOf('By risk: what to fix first')).toBeLessThan(html.indexOf('Open secrets by severity'));
    // every secret row says its risk
    expect((html.match(/<span class="risk (critical|high|medium|low|none)" title=/g) ?? []).length).toBeGreaterThanOrEqual(d.secrets.length + 2);
    for (const t of tokens) expect(html).not.toContain(t);
  });

  it('an empty store gives an empty report, not an error', async () => {
    const empty: Store = openSqliteStore(path.join(dir, 'empty.db'), { key: KEY });
    const d = await buildReport(empty, NOW);
    await empty.close();
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

type ChartKey = 'severity' | 'timeline' | 'mttr' | 'ttr';
interface PageChart {
  series: { label?: string }[];
  data: (number | null)[][];
  ctx: CanvasRenderingContext2D;
}
declare global {
  interface Window {
    keyloopCharts: Partial<Record<ChartKey, PageChart>>;
  }
}

/** Loads the report from its file and records every request, console error and uncaught page error. */
async function openReport(browser: Browser, html: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'keyloop-html-'));
  const file = path.join(dir, 'report.html');
  writeFileSync(file, html);
  const page = await browser.newPage({ viewport: { width: 1280, height: 2000 } });
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`file://${file}`);
  await page.waitForSelector('[data-rendered]');
  expect(await page.getAttribute('body', 'data-rendered')).toBe('ok');
  expect(await page.textContent('#chart-error')).toBe('');
  return { page, file, requests, errors };
}

/** Pixels of a chart's canvas drawn opaque in `hex`, and drawn at all. */
const pixels = (page: Page, key: ChartKey, hex: string) =>
  page.evaluate(
    ([k, h]) => {
      const u = window.keyloopCharts[k]!;
      const c = u.ctx.canvas;
      const px = u.ctx.getImageData(0, 0, c.width, c.height).data;
      const [r, g, b] = [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
      let inColor = 0;
      let drawn = 0;
      for (let i = 0; i < px.length; i += 4) {
        if (px[i + 3]! > 0) drawn++;
        if (px[i] === r && px[i + 1] === g && px[i + 2] === b && px[i + 3] === 255) inColor++;
      }
      return { inColor, drawn, total: px.length / 4 };
    },
    [key, hex] as const,
  );

describe.skipIf(CHROMIUM.skip)('HTML report in headless Chromium', () => {
  let browser: Browser | undefined;
  const launch = async () => (browser ??= await chromium.launch({ executablePath: CHROMIUM.need(), args: CHROMIUM_FLAGS }));
  afterAll(async () => browser?.close());

  it('renders the store figures, labelled rows and every chart with uPlot, offline and without console errors', async () => {
    const b = await launch();
    const dir = mkdtempSync(path.join(tmpdir(), 'keyloop-html-'));
    const { store, tokens } = await seed(path.join(dir, 'k.db'));
    const q = sqlFigures(store);
    // what each row must say, straight from SQL: detector, severity, repo:path, owners
    const expected = new Map(
      (
        store.db
          .prepare(
            `SELECT s.fingerprint, s.detector, s.severity, (SELECT group_concat(r.full_name || ':' || l.path, '|') FROM locations l JOIN repos r ON r.id = l.repo_id WHERE l.secret_id = s.id) AS locs,
                    (SELECT group_concat('@' || o.login, ' ') FROM owners o WHERE o.secret_id = s.id) AS owners FROM secrets s`,
          )
          .all() as { fingerprint: string; detector: string; severity: string; locs: string; owners: string | null }[]
      ).map((r) => [r.fingerprint, r]),
    );
    const html = renderReportHtml(await buildReport(store, NOW));
    await store.close();
    expect(html).not.toMatch(/<(link|img|iframe|script)\b[^>]*\b(src|href)=/i);
    for (const t of tokens) expect(html).not.toContain(t);

    const { page, file, requests, errors } = await openReport(b, html);
    const dom = await page.content();
    // Everything the page needs is inline (uPlot too): the only request is the file itself.
    expect(requests).toEqual([`file://${file}`]);
    expect(errors).toEqual([]);

    const figure = (k: string) => new RegExp(`data-figure="${k}"><span class="num">([^<]*)<`).exec(dom)?.[1];
    expect(figure('secrets')).toBe(String(q.secrets));
    expect(figure('live')).toBe(String(q.live));
    expect(figure('dead')).toBe(String(q.dead));
    expect(figure('issues-open')).toBe(String(q.open));
    expect(figure('issues-closed')).toBe(String(q.closed));
    expect(figure('rotated')).toBe(String(q.ttr.length));
    expect(figure('median-ttr')).toBe('7d 0h');

    // Rows carry their labels: severity, detector, repo:path and owner, for every secret.
    const rows = await page.$$eval('#secrets tbody tr', (trs) =>
      trs.map((tr) => ({
        fingerprint: tr.getAttribute('data-fingerprint'),
        severity: tr.querySelector('.sev')?.textContent,
        sevColor: getComputedStyle(tr.querySelector('.sev')!).backgroundColor,
        detector: tr.querySelector('.detector')?.textContent,
        locs: [...tr.querySelectorAll('.loc')].map((l) => l.textContent).join('|'),
        owner: tr.querySelector('.owner')?.textContent,
      })),
    );
    expect(rows).toHaveLength(q.secrets);
    for (const r of rows) {
      const e = expected.get(r.fingerprint!)!;
      expect(r).toMatchObject({ severity: e.severity, detector: e.detector, locs: e.locs, owner: e.owners ?? 'unowned' });
      expect(r.sevColor).toBe(hexToRgb(SEVERITY_COLORS[e.severity as keyof typeof SEVERITY_COLORS]));
    }
    // Grouped by risk, each group in its severity's colour: the live key in the public repository is the high one.
    expect(await page.$$eval('#risk-high tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-fingerprint')))).toEqual(['4'.repeat(64)]);
    expect(await page.$eval('#risk-high .risk', (el) => getComputedStyle(el).backgroundColor)).toBe(hexToRgb(SEVERITY_COLORS.high));
    expect(await page.$eval('#risk-medium .risk', (el) => getComputedStyle(el).backgroundColor)).toBe(hexToRgb(SEVERITY_COLORS.medium));
    // The legend names every severity in its colour.
    const legend = await page.$$eval('#legend span', (ss) => ss.map((s) => [s.textContent, getComputedStyle(s.querySelector('i')!).backgroundColor]));
    for (const [sev, hex] of Object.entries(SEVERITY_COLORS)) expect(legend).toContainEqual([sev, hexToRgb(hex)]);

    // Every chart is drawn: uPlot made it, it holds the store's figures, and its canvas shows them in their colours.
    const charts = await page.evaluate(() =>
      Object.fromEntries(Object.entries(window.keyloopCharts).map(([k, u]) => [k, { labels: u.series.slice(1).map((s) => s.label), data: u.data }])),
    );
    expect(Object.keys(charts).sort()).toEqual(['mttr', 'severity', 'timeline', 'ttr']);
    // open: 2 (critical, live) and 4 (high, live again); 3 is dead, 5 a false positive
    expect(charts.severity!.data[1]).toEqual([1, 1, 0, 0]);
    expect(await page.textContent('[data-open="critical"]')).toBe('1');
    // timeline: one row per secret with a commit date, labelled detector · repo:path · owner
    expect(charts.timeline!.labels).toHaveLength(q.secrets);
    for (const e of expected.values()) expect(charts.timeline!.labels).toContain(`${e.detector} · ${e.locs} · ${e.owners ?? 'unowned'}`);
    // time to rotate per owner: alice rotated both of hers, in 4 and 10 days
    expect(charts.mttr!.data).toEqual([[0], [7], [7]]);
    // histogram bins add up to the rotated secrets
    const bins = charts.ttr!.data[1] as number[];
    expect(bins).toHaveLength(6);
    expect(bins.reduce((a, c) => a + c, 0)).toBe(q.ttr.length);
    expect(bins[2]).toBe(0); // 1–3d
    expect(bins[3]).toBe(1); // 3–7d: 4 days
    expect(bins[4]).toBe(1); // 7–30d: 10 days
    for (const [key, hex] of [
      ['severity', SEVERITY_COLORS.critical],
      ['severity', SEVERITY_COLORS.high],
      ['timeline', SEVERITY_COLORS.critical],
      ['timeline', SEVERITY_COLORS.high],
      ['mttr', MEDIAN_COLOR],
      ['mttr', MEAN_COLOR],
      ['ttr', MEDIAN_COLOR],
    ] as const) {
      const p = await pixels(page, key, hex);
      expect(p.inColor, `${key} in ${hex}`).toBeGreaterThan(50);
      expect(p.drawn).toBeLessThan(p.total); // drawn, not a filled box
    }
    expect((await pixels(page, 'severity', SEVERITY_COLORS.medium)).inColor).toBe(0); // no open medium secret

    const png = await page.screenshot({ fullPage: true });
    expect(png.subarray(1, 4).toString()).toBe('PNG');

    // Printable: with print styles on a page as wide as A4 (96 dpi), every chart is redrawn to fit, and a PDF comes out.
    // Polled on a timer (not animation frames, which a busy headless browser may hold back); the timeout is a hang guard.
    const wide = await page.evaluate(() => Object.values(window.keyloopCharts).map((u) => u.ctx.canvas.getBoundingClientRect().width));
    expect(Math.max(...wide)).toBeGreaterThan(794); // so fitting A4 takes a redraw
    await page.emulateMedia({ media: 'print' });
    await page.setViewportSize({ width: 794, height: 1123 });
    await page.waitForFunction(() => Object.values(window.keyloopCharts).every((u) => u.ctx.canvas.getBoundingClientRect().right <= document.documentElement.clientWidth), undefined, {
      polling: 100,
      timeout: 300_000,
    });
    const pdf = await page.pdf({ format: 'A4' });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('an empty store shows explicit empty states instead of empty charts', async () => {
    const b = await launch();
    const dir = mkdtempSync(path.join(tmpdir(), 'keyloop-html-'));
    const empty = openSqliteStore(path.join(dir, 'empty.db'), { key: KEY });
    const html = renderReportHtml(await buildReport(empty, NOW));
    await empty.close();
    const { page, file, requests, errors } = await openReport(b, html);
    expect(requests).toEqual([`file://${file}`]);
    expect(errors).toEqual([]);
    expect(await page.evaluate(() => Object.keys(window.keyloopCharts))).toEqual([]);
    expect(await page.$$('canvas')).toHaveLength(0);
    const states: Record<string, string> = Object.fromEntries(await page.$$eval('[data-empty]', (ps) => ps.map((p) => [p.getAttribute('data-empty') ?? '', p.textContent ?? ''] as const)));
    expect(Object.keys(states).sort()).toEqual(['mttr', 'severity', 'timeline', 'ttr']);
    expect(states.mttr).toMatch(/^No rotations yet/);
    expect(states.ttr).toMatch(/^No rotations yet/);
    expect(states.timeline).toBe('No secrets recorded yet.');
    expect(await page.textContent('#secrets')).toBe('No secrets recorded yet.');
  });
});

describe.skipIf(CHROMIUM.skip)('the demo report (docs/report.png)', () => {
  it('`keyloop report --format html -o` on the demo database: a private file, secret-free, every chart drawn', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keyloop-demo-'));
    await (await openDemoStore(path.join(dir, 'demo.db'))).close();
    const out = path.join(dir, 'site', 'report.html');
    mkdirSync(path.dirname(out));
    const r = await runCli(['report', '--format', 'html', '--db', path.join(dir, 'demo.db'), '-o', out]);
    expect(r.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain(`uPlot v${uplotAsset().version}`);
    expect((html.match(/data-fingerprint=/g) ?? []).length).toBeGreaterThanOrEqual(DEMO_SECRET_COUNT);
    // the screenshot's source is secret-free: keyloop's own detectors find nothing in it
    const scan = await runCli(['scan', path.dirname(out), '--no-progress', '--format', 'json']);
    expect((JSON.parse(scan.stdout) as { status: string; findings: unknown[] }).findings).toEqual([]);
    expect(scan.code).toBe(0);

    const browser = await chromium.launch({ executablePath: CHROMIUM.need(), args: CHROMIUM_FLAGS });
    try {
      const { page, requests, errors, file } = await openReport(browser, html);
      expect(requests).toEqual([`file://${file}`]);
      expect(errors).toEqual([]);
      expect(await page.evaluate(() => Object.keys(window.keyloopCharts).sort())).toEqual(['mttr', 'severity', 'timeline', 'ttr']);
      for (const key of ['severity', 'timeline', 'mttr', 'ttr'] as const) expect((await pixels(page, key, key === 'mttr' || key === 'ttr' ? MEDIAN_COLOR : SEVERITY_COLORS.critical)).inColor).toBeGreaterThan(50);
    } finally {
      await browser.close();
    }
  });
});

function hexToRgb(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
}
