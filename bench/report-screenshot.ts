// `npm run docs:screenshot`: docs/report.png, the HTML report of the secret-free demo history (testkit/report-demo.ts)
// as Debian's chromium draws it (KEYLOOP_CHROMIUM points at another binary). Runs from dist/ after `npm run build`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { buildReport } from '../src/notify/report.js';
import { renderReportHtml } from '../src/notify/report-html.js';
import { DEMO_NOW, openDemoStore } from '../testkit/report-demo.js';
import { tempDir } from '../testkit/git-repo.js';

const root = resolve(import.meta.dirname, '..', '..');
const out = resolve(process.argv[2] ?? join(root, 'docs', 'report.png'));
const dir = await tempDir('keyloop-demo-');
const store = await openDemoStore(join(dir, 'demo.db'));
const html = renderReportHtml(await buildReport(store, DEMO_NOW));
await store.close();
const file = join(dir, 'report.html');
writeFileSync(file, html);

const browser = await chromium.launch({
  executablePath: process.env.KEYLOOP_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--font-render-hinting=none'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  await page.goto(`file://${file}`);
  await page.waitForSelector('[data-rendered="ok"]');
  // the summary, the legend and the four charts: down to the first table after them
  const end = await page.$eval('#oldest-live', (el) => el.getBoundingClientRect().top + window.scrollY - 40);
  mkdirSync(resolve(out, '..'), { recursive: true });
  await page.screenshot({ path: out, fullPage: true, clip: { x: 0, y: 0, width: 1280, height: Math.ceil(end) } });
  console.log(`${out} (${Math.ceil(end)} px high)`);
} finally {
  await browser.close();
}
