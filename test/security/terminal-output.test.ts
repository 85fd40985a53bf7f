// Terminal-safe output. A file named `a\e[31mRED\e[0m\nFAKE-ROW.txt` used to be printed raw in the table: colours
// and a spoofed row, from a path anyone who can push a branch controls. Control characters (C0, DEL, C1) and bidi
// controls in paths, commit subjects, author names and previews are now shown as escapes in table, markdown and
// HTML output and in every stderr line; JSON, CSV and SARIF keep the exact values, properly encoded.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { escapeControls } from '../../src/util/terminal-safe.js';
import { renderIssueBody, renderLocationLine } from '../../src/notify/issue-body.js';
import { renderReportMarkdown } from '../../src/notify/report-md.js';
import { renderReportHtml } from '../../src/notify/report-html.js';
import type { ReportData, SecretReport } from '../../src/notify/report.js';
import { csvCell } from '../../src/notify/reporters/csv.js';
import { buildRepo, tempDir } from '../../testkit/git-repo.js';
import { runCli } from '../helpers/run-cli.js';
import { scanReport } from '../helpers/scan-report.js';
import { rng } from '../../testkit/token-gen.js';

const DETECTORS = join(import.meta.dirname, '..', 'fixtures', 'detectors', 'basic');
const rand = rng(6);
const token = () => 'acme_' + Array.from({ length: 32 }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(rand() * 62)]).join('');

const EVIL_PATH = 'a\x1b[31mRED\x1b[0m\nFAKE-ROW.txt';
const EVIL_AUTHOR = 'Mallory \u202eevil\u202c \x9b31m';
/** Every character a terminal or a bidi renderer would obey. */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/** Same, newline included (for one-line values). */
const UNSAFE_OR_NL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('keyloop scan output with hostile paths, authors and subjects', () => {
  it('table: escapes instead of colours and spoofed rows; JSON, CSV and SARIF keep the exact values', async () => {
    const secret = token();
    const repo = await buildRepo({
      commits: [{ id: 'c1', message: 'fix\x1b]0;pwned\x07 \u202etxt.exe', author: { name: EVIL_AUTHOR, email: 'm@example.test' }, files: { [EVIL_PATH]: `KEY=${secret}\n` } }],
    });
    const table = await runCli(['scan', repo.dir, '--detectors', DETECTORS, '--no-progress', '--format', 'table']);
    expect(table.code).toBe(1);
    expect(table.stdout).not.toMatch(UNSAFE);
    expect(table.stdout).toContain('a\\x1b[31mRED\\x1b[0m\\nFAKE-ROW.txt'.slice(0, 20));
    expect(table.stdout).toContain('Mallory \\u202eevil');
    // header, one finding row, a blank line and the summary: no row made up by the path
    expect(table.stdout.trimEnd().split('\n')).toHaveLength(4);
    expect(table.stdout).not.toMatch(/^FAKE-ROW/m);

    const json = await runCli(['scan', repo.dir, '--detectors', DETECTORS, '--no-progress', '--format', 'json']);
    const loc = scanReport(json.stdout).findings[0]!.locations[0]!;
    expect(loc.path).toBe(EVIL_PATH);
    expect(loc.author?.name).toBe(EVIL_AUTHOR);

    const csv = await runCli(['scan', repo.dir, '--detectors', DETECTORS, '--no-progress', '--format', 'csv']);
    expect(csv.stdout).toContain(`"${EVIL_PATH}"`);

    const sarif = await runCli(['scan', repo.dir, '--detectors', DETECTORS, '--no-progress', '--format', 'sarif']);
    type Sarif = { runs: Array<{ results: Array<{ locations: Array<{ physicalLocation: { artifactLocation: { uri: string } } }> }> }> };
    const uri = (JSON.parse(sarif.stdout) as Sarif).runs[0]!.results[0]!.locations[0]!.physicalLocation.artifactLocation.uri;
    expect(decodeURI(uri)).toBe(EVIL_PATH);
  });

  it('stderr warnings naming a path or an object show escapes, never raw control characters', async () => {
    const dir = await tempDir();
    const name = 'big\x1b[2J\u202e.env';
    writeFileSync(join(dir, name), `KEY=${token()}\n${'#'.repeat(3000)}\n`);
    mkdirSync(join(dir, 'sub\x1b[41m'));
    writeFileSync(join(dir, 'sub\x1b[41m', 'also-big.txt'), '#'.repeat(3000));
    const r = await runCli(['scan', dir, '--detectors', DETECTORS, '--no-progress', '--format', 'json', '--max-blob-size', '1KiB']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('big\\x1b[2J\\u202e.env');
    expect(r.stderr).toContain('sub\\x1b[41m/also-big.txt');
    for (const line of r.stderr.trimEnd().split('\n')) expect(line).not.toMatch(UNSAFE_OR_NL);
    // the report itself keeps the exact path
    expect(scanReport(r.stdout).incomplete.map((i) => i.path).sort()).toEqual([name, 'sub\x1b[41m/also-big.txt'].sort());
  });

  it('an error message quoting a hostile value is one visible line', async () => {
    const r = await runCli(['scan', '/nonexistent/\x1b[31mred\nFAKE']);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(UNSAFE);
  });
});

describe('markdown and HTML renderers', () => {
  const secretRow = (over: Partial<SecretReport> = {}): SecretReport => ({
    fingerprint: 'ab'.repeat(32),
    detector: 'acme-token',
    provider: 'acme',
    name: 'Acme token',
    severity: 'high',
    redacted: 'acme_…\u202eXYZ',
    status: 'open',
    verification: 'live',
    checkedAt: null,
    repos: ['acme/\x1b[31mrepo'],
    locations: [{ repo: 'acme/\x1b[31mrepo', path: EVIL_PATH }],
    owners: ['mallory\u2066'],
    firstCommitAt: null,
    detectedAt: '2024-01-01T00:00:00Z',
    rotatedAt: null,
    exposureEndAt: '2024-01-02T00:00:00Z',
    exposureOpen: true,
    exposureMs: 1000,
    timeToRotateMs: null,
    issuesOpen: 1,
    issuesClosed: 0,
    ...over,
  });
  const data: ReportData = {
    generatedAt: '2024-01-02T00:00:00Z',
    totals: { secrets: 1, live: 1, dead: 0, unknown: 0, unverified: 0, rotated: 0, falsePositives: 0, acceptedRisk: 0, issuesOpen: 1, issuesClosed: 0 },
    timeToRotate: { count: 0, meanMs: null, medianMs: null, valuesMs: [] },
    openBySeverity: [{ severity: 'high', open: 1, live: 1, unknown: 0, unverified: 0 }],
    // one row without a commit date, one on the timeline
    secrets: [secretRow(), secretRow({ fingerprint: 'cd'.repeat(32), firstCommitAt: '2023-12-01T00:00:00Z' })],
    repoConfigSuppressions: [],
    repos: [{ key: 'acme/\x1b[31mrepo\nFAKE', secrets: 1, live: 1, dead: 0, unknown: 0, rotated: 0, issuesOpen: 1, issuesClosed: 0, meanTimeToRotateMs: null, medianTimeToRotateMs: null }],
    owners: [{ key: 'mallory\u2066', secrets: 1, live: 0, dead: 1, unknown: 0, rotated: 1, issuesOpen: 0, issuesClosed: 1, meanTimeToRotateMs: 1000, medianTimeToRotateMs: 1000 }],
    oldestLive: [secretRow()],
    precision: [{ detector: 'acme\x7f', secrets: 1, truePositives: 1, falsePositives: 0, untriaged: 0, precision: 1 }],
  };

  it('the loop report in markdown and HTML carries no control or bidi character', () => {
    const md = renderReportMarkdown(data);
    expect(md).not.toMatch(UNSAFE);
    expect(md).toContain('acme/\\x1b[31mrepo');
    const html = renderReportHtml(data);
    expect(html).not.toMatch(UNSAFE);
    expect(html).toContain('mallory\\u2066');
    // the path in the row and in the chart labels (canvas text, JSON-encoded) is escaped too
    expect(html).toContain('a\\x1b[31mRED\\x1b[0m\\nFAKE-ROW.txt');
    const charts = JSON.parse(/<script type="application\/json" id="keyloop-charts">([^<]*)</.exec(html)![1]!) as { timeline: { rows: { label: string }[] }; mttr: { labels: string[] } };
    expect(charts.timeline.rows[0]!.label).toBe('acme-token · acme/\\x1b[31mrepo:a\\x1b[31mRED\\x1b[0m\\nFAKE-ROW.txt · @mallory\\u2066');
    expect(charts.mttr.labels).toEqual(['@mallory\\u2066']);
  });

  it('issue bodies (GitHub markdown) escape paths, authors and previews', () => {
    const body = renderIssueBody({
      subject: { fingerprint: 'cd'.repeat(32), detector: 'acme-token', name: 'Acme token', provider: 'acme', providerName: 'Acme', severity: 'high', redacted: 'acme_…\u202eXYZ', repo: 'acme/app', detectedAt: '2024-01-01T00:00:00Z' },
      locations: [{ commit: 'e'.repeat(40), path: EVIL_PATH, line: 1, date: '2024-01-01T00:00:00Z', authorName: EVIL_AUTHOR }],
      verification: null,
      assignees: [],
      teams: [],
      now: new Date('2024-01-03T00:00:00Z'),
      webUrl: 'https://github.example',
      closeAfterDeadChecks: 2,
      elsewhere: false,
    });
    expect(body).not.toMatch(UNSAFE);
    expect(renderLocationLine('https://github.example', 'acme/app', { commit: null, path: 'x\u202etxt.exe', line: 2, date: null, authorName: null })).toContain('x\\u202etxt.exe');
  });
});

describe('escapeControls and csvCell', () => {
  it('escapes C0, DEL, C1, bidi controls and separators; leaves other text (any script, emoji) alone', () => {
    expect(escapeControls('a\x1b[31mb\nc\td\re\x7ff\x9bg\u202eh\u2066i\u2028j')).toBe('a\\x1b[31mb\\nc\\td\\re\\x7ff\\x9bg\\u202eh\\u2066i\\u2028j');
    const ok = 'path/to/Grüße 世界 🔑.env';
    expect(escapeControls(ok)).toBe(ok);
  });

  it('neutralises spreadsheet formulas as OWASP recommends, keeps other values exact', () => {
    for (const f of ['=HYPERLINK("http://x")', '+1', '-2', '@SUM(A1)', '\tx', '\rx', '\0x', '\uff1dcmd']) expect(csvCell(f).replace(/^"/, '')).toMatch(/^'/);
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('a\x1bb')).toBe('a\x1bb');
    expect(csvCell('plain/path.env')).toBe('plain/path.env');
  });
});
