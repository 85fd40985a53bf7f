// One self-contained HTML file: inline CSS, uPlot and a small script drawing the charts from embedded JSON. No
// network, no CDN: it opens offline and prints. Tables are rendered here so the figures read without JavaScript.
import { humanDuration, isOpen, percent, SEVERITIES, type GroupReport, type ReportData, type SecretReport } from './report.js';
import { CHART_JS, chartModel, FALSE_POSITIVE_COLOR, MEAN_COLOR, MEDIAN_COLOR, ownerLabel, severityOf, SEVERITY_COLORS, TIMELINE_MAX_ROWS, abbreviate } from './report-charts.js';
import { uplotAsset } from './uplot-asset.js';
import { escapeControls } from '../util/terminal-safe.js';

// control and bidi characters from scanned content are shown as escapes, not rendered (a U+202E would reorder a row)
const esc = (s: string) => escapeControls(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const day = (iso: string | null) => (iso ? iso.slice(0, 10) : '—');

/** JSON safe inside <script>: no `</script>`, no HTML comment openers, no U+2028/2029 surprises. */
function scriptJson(data: unknown): string {
  // as \u escapes (the values stay exact): markup, and DEL, C1, bidi controls and separators (JSON keeps them raw)
  return JSON.stringify(data).replace(/[<>&\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

type Row = { cells: string[]; attrs?: string };

function table(id: string, head: string[], rows: Row[], empty = 'none'): string {
  if (rows.length === 0) return `<p class="none" id="${id}">${esc(empty)}</p>`;
  return (
    `<table id="${id}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr${r.attrs ? ' ' + r.attrs : ''}>${r.cells.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('') +
    '</tbody></table>'
  );
}

const plain = (rows: string[][]): Row[] => rows.map((cells) => ({ cells }));

const statusOf = (s: SecretReport) => (s.status === 'false-positive' ? 'fp' : (s.verification ?? 'unverified'));
const state = (s: SecretReport) => `<span class="pill ${statusOf(s)}">${esc(s.status === 'false-positive' ? 'false positive' : (s.verification ?? 'unverified'))}</span>`;
const sevPill = (sev: string) => `<span class="sev ${severityOf(sev)}">${esc(sev)}</span>`;

/** Every place the secret is at, `repo:path`; long lists end in "+N more" (all of them in the title). */
function locationCell(s: SecretReport): string {
  if (s.locations.length === 0) return esc(s.repos.join(', ') || '—');
  const one = (l: { repo: string; path: string }) => `<span class="loc"><span class="repo">${esc(l.repo)}</span>:<span class="path" title="${esc(l.path)}">${esc(abbreviate(l.path, 60))}</span></span>`;
  const shown = s.locations.slice(0, 3).map(one).join('<br>');
  const rest = s.locations.length - 3;
  return rest > 0 ? `${shown}<br><small title="${esc(s.locations.map((l) => `${l.repo}:${l.path}`).join('\n'))}">+${rest} more</small>` : shown;
}

// Each row says what (severity, detector), where (repo:path), whose (owner) and how exposed it is.
const secretRows = (rows: SecretReport[]): Row[] =>
  rows.map((s) => ({
    attrs: `class="sev-${severityOf(s.severity)}${isOpen(s) ? ' open' : ''}" data-fingerprint="${esc(s.fingerprint)}" data-severity="${esc(s.severity)}"`,
    cells: [
      sevPill(s.severity),
      `<span class="detector">${esc(s.detector)}</span>`,
      locationCell(s),
      `<span class="owner">${esc(ownerLabel(s.owners))}</span>`,
      state(s),
      riskCell(s),
      `<code>${esc(s.redacted)}</code>`,
      day(s.firstCommitAt),
      s.rotatedAt ? day(s.rotatedAt) : s.exposureOpen ? 'not yet' : '—',
      `<span data-exposure="${esc(s.fingerprint)}">${esc(humanDuration(s.exposureMs))}</span>${s.exposureOpen ? ' <small>(open)</small>' : ''}`,
      `<code title="${esc(s.fingerprint)}">${esc(s.fingerprint.slice(0, 12))}</code>`,
    ],
  }));

/** A secret's risk: severity and score, the reasons in the title (src/core/risk.ts). */
const riskCell = (s: SecretReport) =>
  s.risk ? `<span class="risk ${s.risk.severity}" title="${esc(s.risk.factors.join('; '))}">${esc(s.risk.severity)} ${s.risk.score}</span>` : '—';

/** The report grouped by risk, critical first: a summary, then each group's secrets, riskiest first with the reasons. */
function riskSection(d: ReportData): string {
  if (!d.byRisk) return '';
  const bySecret = new Map(d.secrets.map((s) => [s.fingerprint, s]));
  const summary = table(
    'by-risk',
    ['Risk', 'Secrets', 'Live'],
    d.byRisk.map((g) => ({ attrs: `data-risk="${g.severity}"`, cells: [`<span class="risk ${g.severity}">${esc(g.severity)}</span>`, String(g.secrets), String(g.live)] })),
  );
  const groups = d.byRisk
    .filter((g) => g.severity !== 'none' && g.secrets > 0)
    .map((g) => {
      const rows = g.fingerprints.map((fp) => bySecret.get(fp)).filter((s): s is SecretReport => !!s);
      return `<h3>${esc(g.severity)} (${g.secrets})</h3>\n${table(`risk-${g.severity}`, RISK_HEAD, riskRows(rows))}`;
    });
  const none = d.byRisk.find((g) => g.severity === 'none')?.secrets ?? 0;
  return (
    `<h2>By risk: what to fix first</h2>\n<p class="note">Risk weighs what the key can do (as its issuer reported it), whether a public repository holds it, how long it has been exposed and how many places hold it; hover a score for the reasons. Dead keys, false positives and accepted risks carry none.</p>\n` +
    summary +
    '\n' +
    (groups.length ? groups.join('\n') : '<p class="none" id="risk-empty">No secret carries a risk: nothing live or unverified is left.</p>') +
    (none ? `\n<p class="note" id="risk-none">${none} secret(s) without risk (dead, false positive or accepted) are listed under All secrets.</p>` : '')
  );
}

const RISK_HEAD = ['Risk', 'Why', 'Detector', 'Repository:path', 'Owner', 'Status', 'Reach', 'Preview', 'Fingerprint'];
const riskRows = (rows: SecretReport[]): Row[] =>
  rows.map((s) => ({
    attrs: `data-fingerprint="${esc(s.fingerprint)}" data-score="${s.risk?.score ?? 0}"`,
    cells: [
      riskCell(s),
      `<small class="why">${esc((s.risk?.factors ?? []).join('; '))}</small>`,
      `<span class="detector">${esc(s.detector)}</span>`,
      locationCell(s),
      `<span class="owner">${esc(ownerLabel(s.owners))}</span>`,
      state(s),
      esc(s.reach ?? '—'),
      `<code>${esc(s.redacted)}</code>`,
      `<code title="${esc(s.fingerprint)}">${esc(s.fingerprint.slice(0, 12))}</code>`,
    ],
  }));

/** Live keys whose issuer reports their last use: never used or long idle first (the safest to revoke). */
function lastUseSection(d: ReportData): string {
  if (!d.lastUsed?.length) return '';
  return (
    `<h2>Live keys and their last use</h2>\n<p class="note">As their issuers report it (GitLab, AWS …): never used or long idle keys are the safest to revoke first.</p>\n` +
    table(
      'last-used',
      ['Fingerprint', 'Detector', 'Preview', 'Last used', 'Idle'],
      d.lastUsed.map((u) => ({
        attrs: `data-fingerprint="${esc(u.fingerprint)}"`,
        cells: [`<code>${esc(u.fingerprint.slice(0, 12))}</code>`, esc(u.detector), `<code>${esc(u.redacted)}</code>`, u.lastUsedAt ? day(u.lastUsedAt) : 'never', u.idleDays === null ? '—' : `${u.idleDays} days`],
      })),
    )
  );
}

const groupRows = (gs: GroupReport[]) =>
  plain(gs.map((g) => [esc(g.key), String(g.secrets), String(g.live), String(g.dead), String(g.unknown), String(g.rotated), String(g.issuesOpen), String(g.issuesClosed), esc(humanDuration(g.medianTimeToRotateMs))]));

const GROUP_HEAD = ['Secrets', 'Live', 'Dead', 'Unknown', 'Rotated', 'Open issues', 'Closed issues', 'Median time to rotate'];
const SECRET_HEAD = ['Severity', 'Detector', 'Repository:path', 'Owner', 'Status', 'Risk', 'Preview', 'First commit', 'Rotated', 'Exposure', 'Fingerprint'];

const sevVars = SEVERITIES.map((s) => `--sev-${s}:${SEVERITY_COLORS[s]}`).join(';');
const CSS = `
:root{--fg:#1f2328;--muted:#59636e;--bg:#fff;--line:#d1d9e0;--live:#cf222e;--dead:#1a7f37;--unknown:#9a6700;--fp:${FALSE_POSITIVE_COLOR};${sevVars}}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;padding:24px 32px;max-width:1280px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.muted{color:var(--muted)}.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:120px}.card .num{display:block;font-size:26px;font-weight:600}
.card.live .num{color:var(--live)}.card.dead .num{color:var(--dead)}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.pill,.sev{border-radius:10px;padding:1px 8px;font-size:12px;color:#fff;white-space:nowrap}.pill.live{background:var(--live)}.pill.dead{background:var(--dead)}
.pill.unknown,.pill.unverified{background:var(--unknown)}.pill.fp{background:var(--fp)}
${SEVERITIES.map((s) => `.sev.${s}{background:var(--sev-${s})}tr.sev-${s} td:first-child{box-shadow:inset 4px 0 var(--sev-${s})}`).join('')}
.risk{border-radius:10px;padding:1px 8px;font-size:12px;white-space:nowrap;color:#fff;background:var(--fp)}${SEVERITIES.map((s) => `.risk.${s}{background:var(--sev-${s})}`).join('')}.risk.none{color:var(--muted);background:none;border:1px solid var(--line)}
h3{font-size:15px;margin:18px 0 6px}.why{color:var(--muted)}
td .path{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}.detector{font-weight:600}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;align-items:center;margin:12px 0;font-size:13px}.legend b{font-weight:600;margin-right:-8px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:5px;border-radius:2px;vertical-align:-1px}
.chart{border:1px solid var(--line);border-radius:8px;padding:8px 4px 4px;background:#fff;break-inside:avoid}
.empty{border:1px dashed var(--line);border-radius:8px;padding:22px;text-align:center;color:var(--muted)}
.pair{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:16px;align-items:start}
.note{font-size:13px;color:var(--muted);margin:6px 0}
#chart-error{color:var(--live)}
@media (max-width:900px){.pair{grid-template-columns:minmax(0,1fr)}}
@media print{
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  @page{margin:14mm}
  body{padding:0;max-width:none;font-size:11px}table{font-size:10px}h2{break-after:avoid}
  tr,.card,.chart,.legend{break-inside:avoid}td code{word-break:break-all}.cards{gap:6px}.card{padding:6px 10px;min-width:90px}.card .num{font-size:18px}
}
`;

const legendItem = (color: string, label: string, style = '') => `<span><i style="background:${color}${style}"></i>${esc(label)}</span>`;

function chartBox(key: string, present: boolean, label: string, empty: string): string {
  return present ? `<div class="chart" id="chart-${key}" role="img" aria-label="${esc(label)}"></div>` : `<p class="empty" data-empty="${key}">${esc(empty)}</p>`;
}

export function renderReportHtml(d: ReportData): string {
  const t = d.totals;
  const uplot = uplotAsset();
  const charts = chartModel(d);
  const card = (key: string, label: string, value: string | number, cls = '') => `<div class="card ${cls}" data-figure="${key}"><span class="num">${esc(String(value))}</span><span class="muted">${esc(label)}</span></div>`;
  const noRotation = 'No rotations yet: time to rotate appears once keyloop sees a live key turn dead.';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>keyloop report</title>
<!-- Charts: uPlot v${uplot.version} (https://github.com/leeoniya/uPlot), inlined.
${uplot.license}
-->
<style>${uplot.css}</style><style>${CSS}</style></head>
<body>
<h1>keyloop report</h1><div class="muted">Generated ${esc(d.generatedAt)} · previews only, never secrets</div>
<div class="cards">
${card('secrets', 'secrets', t.secrets)}${card('live', 'live', t.live, 'live')}${card('dead', 'dead', t.dead, 'dead')}${card('unknown', 'unknown', t.unknown)}${card('unverified', 'unverified', t.unverified)}
${card('issues-open', 'open issues', t.issuesOpen)}${card('issues-closed', 'closed issues', t.issuesClosed)}${card('rotated', 'rotated', t.rotated)}
${card('false-positives', 'false positives', t.falsePositives)}${card('mean-ttr', 'mean time to rotate', humanDuration(d.timeToRotate.meanMs))}${card('median-ttr', 'median time to rotate', humanDuration(d.timeToRotate.medianMs))}
</div>
<div class="legend" id="legend"><b>Severity</b>${SEVERITIES.map((s) => legendItem(`var(--sev-${s})`, s)).join('')}
<b>Status</b>${legendItem('var(--live)', 'live')}${legendItem('var(--dead)', 'dead')}${legendItem('var(--unknown)', 'unknown / unverified')}${legendItem('var(--fp)', 'false positive')}</div>
<p id="chart-error"></p>
${riskSection(d)}
<h2>Open secrets by severity</h2>
<p class="note">Open: the key may still work (not seen dead since its last live check) and is not triaged as a false positive or revoked.</p>
<div class="pair">${chartBox('severity', !!charts.severity, 'open secrets per severity', 'No open secrets: nothing found is still exposed.')}
${table(
  'open-by-severity',
  ['Severity', 'Open', 'Live', 'Unknown', 'Unverified'],
  d.openBySeverity.map((s) => ({ attrs: `class="sev-${s.severity}"`, cells: [sevPill(s.severity), `<span data-open="${s.severity}">${s.open}</span>`, String(s.live), String(s.unknown), String(s.unverified)] })),
)}</div>
<h2>Exposure timeline</h2>
<p class="note">One row per secret (detector · repository:path · owner), from the first commit that introduced it to its rotation, or to now while it may still work. Colour: severity; solid: still exposed; faded: rotated or dead${charts.timeline?.hidden ? `; the ${TIMELINE_MAX_ROWS} most pressing of ${charts.timeline.rows.length + charts.timeline.hidden} are drawn, all are listed under All secrets` : ''}.</p>
${chartBox('timeline', !!charts.timeline, 'exposure window per secret', t.secrets ? 'No secret with a commit date: nothing to place on a timeline.' : 'No secrets recorded yet.')}
<h2>Time to rotate per owner / team</h2>
<p class="note">Per owner or CODEOWNERS team, from detection to the first dead check after the last live one: <span style="color:${MEDIAN_COLOR}">median</span> and <span style="color:${MEAN_COLOR}">mean (MTTR)</span>.</p>
${chartBox('mttr', !!charts.mttr, 'time to rotate per owner or team', noRotation)}
<h2>Time from detection to rotation</h2>
${chartBox('ttr', !!charts.ttr, 'time to rotate distribution', noRotation)}
<h2>Oldest live keys</h2>
${table('oldest-live', SECRET_HEAD, secretRows(d.oldestLive), 'No live key.')}
${lastUseSection(d)}
<h2>Repositories</h2>
${table('repos', ['Repository', ...GROUP_HEAD], groupRows(d.repos))}
<h2>Owners and teams</h2>
${table('owners', ['Owner', ...GROUP_HEAD], groupRows(d.owners))}
<h2>Detector precision (from triage)</h2>
${table(
  'precision',
  ['Detector', 'Secrets', 'True positives', 'False positives', 'Untriaged', 'Precision'],
  plain(d.precision.map((p) => [esc(p.detector), String(p.secrets), String(p.truePositives), String(p.falsePositives), String(p.untriaged), `<span data-precision="${esc(p.detector)}">${percent(p.precision)}</span>`])),
)}
<h2>Suppressed by repositories' own .keyloop.yaml</h2>
${table(
  'repo-config-suppressions',
  ['Repository', 'Findings suppressed', 'Runs', 'Last'],
  plain(d.repoConfigSuppressions.map((r) => [esc(r.repo), String(r.suppressed), String(r.runs), esc(r.lastAt.slice(0, 10))])),
)}
<h2>All secrets</h2>
${table('secrets', SECRET_HEAD, secretRows(d.secrets), 'No secrets recorded yet.')}
<script type="application/json" id="keyloop-data">${scriptJson(d)}</script>
<script type="application/json" id="keyloop-charts">${scriptJson(charts)}</script>
<script>${uplot.js}</script>
<script>${CHART_JS}</script>
</body></html>
`;
}
