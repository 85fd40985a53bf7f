// One self-contained HTML file: inline CSS, inline JS drawing inline SVG charts from embedded JSON. No network.
// Tables are rendered here so the figures are readable without JavaScript; the charts need it.
import { humanDuration, percent, type GroupReport, type ReportData, type SecretReport } from './report.js';
import { escapeControls } from '../util/terminal-safe.js';

// control and bidi characters from scanned content are shown as escapes, not rendered (a U+202E would reorder a row)
const esc = (s: string) => escapeControls(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const day = (iso: string | null) => (iso ? iso.slice(0, 10) : '—');

/** JSON safe inside <script>: no `</script>`, no HTML comment openers, no U+2028/2029 surprises. */
function scriptJson(data: unknown): string {
  // as \u escapes (the values stay exact): markup, and DEL, C1, bidi controls and separators (JSON keeps them raw)
  return JSON.stringify(data).replace(/[<>&\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function table(id: string, head: string[], rows: string[][]): string {
  if (rows.length === 0) return `<p class="none" id="${id}">none</p>`;
  return (
    `<table id="${id}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('') +
    '</tbody></table>'
  );
}

const state = (s: SecretReport) =>
  `<span class="pill ${s.status === 'false-positive' ? 'fp' : (s.verification ?? 'unverified')}">${esc(s.status === 'false-positive' ? 'false positive' : (s.verification ?? 'unverified'))}</span>`;

const secretRows = (rows: SecretReport[]) =>
  rows.map((s) => [
    `<code title="${esc(s.fingerprint)}">${esc(s.fingerprint.slice(0, 12))}</code>`,
    esc(s.detector),
    `<code>${esc(s.redacted)}</code>`,
    esc(s.repos.join(', ')),
    state(s),
    day(s.firstCommitAt),
    s.rotatedAt ? day(s.rotatedAt) : s.exposureOpen ? 'not yet' : '—',
    `<span data-exposure="${s.fingerprint}">${esc(humanDuration(s.exposureMs))}</span>${s.exposureOpen ? ' <small>(open)</small>' : ''}`,
    esc(s.owners.map((o) => '@' + o).join(' ') || '—'),
  ]);

const groupRows = (gs: GroupReport[]) =>
  gs.map((g) => [esc(g.key), String(g.secrets), String(g.live), String(g.dead), String(g.unknown), String(g.rotated), String(g.issuesOpen), String(g.issuesClosed), esc(humanDuration(g.medianTimeToRotateMs))]);

const GROUP_HEAD = ['Secrets', 'Live', 'Dead', 'Unknown', 'Rotated', 'Open issues', 'Closed issues', 'Median time to rotate'];
const SECRET_HEAD = ['Fingerprint', 'Detector', 'Preview', 'Repos', 'Status', 'First commit', 'Rotated', 'Exposure', 'Owners'];

const CSS = `
:root{--fg:#1f2328;--muted:#59636e;--bg:#fff;--line:#d1d9e0;--live:#cf222e;--dead:#1a7f37;--unknown:#9a6700;--fp:#8c959f}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0;padding:24px 32px;max-width:1280px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.muted{color:var(--muted)}.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:120px}.card .num{display:block;font-size:26px;font-weight:600}
.card.live .num{color:var(--live)}.card.dead .num{color:var(--dead)}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.pill{border-radius:10px;padding:1px 8px;font-size:12px;color:#fff}.pill.live{background:var(--live)}.pill.dead{background:var(--dead)}
.pill.unknown,.pill.unverified{background:var(--unknown)}.pill.fp{background:var(--fp)}
svg{display:block;max-width:100%;height:auto;border:1px solid var(--line);border-radius:8px;background:#fff}
svg text{font:11px system-ui,sans-serif;fill:var(--fg)}.axis line{stroke:var(--line)}
rect.bar.live{fill:var(--live)}rect.bar.dead{fill:var(--dead)}rect.bar.unknown,rect.bar.unverified{fill:var(--unknown)}rect.bar.fp{fill:var(--fp)}
rect.bin{fill:#0969da}.legend span{margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
#chart-error{color:var(--live)}
`;

// Draws the charts from #keyloop-data. Plain ES2017, no libraries: the file must work offline, forever.
const JS = `
(function(){
  var NS='http://www.w3.org/2000/svg';
  function el(name, attrs, text){var e=document.createElementNS(NS,name);for(var k in attrs)e.setAttribute(k,attrs[k]);if(text!=null)e.textContent=text;return e;}
  function dur(ms){if(ms==null)return '—';var m=Math.round(ms/60000),d=Math.floor(m/1440),h=Math.floor(m%1440/60);return d>0?d+'d '+h+'h':h>0?h+'h '+(m%60)+'m':m+'m';}
  try{
    var data=JSON.parse(document.getElementById('keyloop-data').textContent);
    var now=Date.parse(data.generatedAt);
    // Exposure timeline: one bar per secret, first commit → rotation (or now).
    var rows=data.secrets.filter(function(s){return s.firstCommitAt;});
    var svg=document.getElementById('timeline');
    var W=1000,L=260,R=20,H=28+rows.length*22+30;
    svg.setAttribute('viewBox','0 0 '+W+' '+H);svg.setAttribute('height',H);
    if(rows.length){
      var t0=Math.min.apply(null,rows.map(function(s){return Date.parse(s.firstCommitAt);}));
      var t1=Math.max(now,Math.max.apply(null,rows.map(function(s){return Date.parse(s.exposureEndAt);})));
      var span=Math.max(1,t1-t0),x=function(t){return L+(W-L-R)*(t-t0)/span;};
      var axis=el('g',{'class':'axis'});
      for(var i=0;i<=5;i++){var t=t0+span*i/5,xx=x(t);axis.appendChild(el('line',{x1:xx,x2:xx,y1:20,y2:H-24}));
        axis.appendChild(el('text',{x:xx,y:H-8,'text-anchor':i==0?'start':i==5?'end':'middle'},new Date(t).toISOString().slice(0,10)));}
      svg.appendChild(axis);
      rows.forEach(function(s,i){
        var y=24+i*22,a=x(Date.parse(s.firstCommitAt)),b=x(Date.parse(s.exposureEndAt));
        var cls=s.status==='false-positive'?'fp':(s.verification||'unverified');
        svg.appendChild(el('text',{x:8,y:y+12},s.redacted+'  '+s.repos.join(',')));
        var r=el('rect',{'class':'bar '+cls,x:a,y:y,width:Math.max(2,b-a),height:15,rx:3,'data-fingerprint':s.fingerprint});
        r.appendChild(el('title',{},s.detector+': '+s.firstCommitAt.slice(0,10)+' → '+(s.exposureOpen?'now':s.exposureEndAt.slice(0,10))+' ('+dur(s.exposureMs)+')'));
        svg.appendChild(r);
      });
    }else{svg.appendChild(el('text',{x:10,y:30},'no secret with a commit date'));}
    // Time-to-rotate distribution.
    var bins=[['< 1h',3600e3],['1h–1d',864e5],['1–3d',3*864e5],['3–7d',7*864e5],['7–30d',30*864e5],['> 30d',Infinity]];
    var counts=bins.map(function(){return 0;});
    data.timeToRotate.valuesMs.forEach(function(v){for(var i=0;i<bins.length;i++)if(v<bins[i][1]){counts[i]++;break;}});
    var h=document.getElementById('ttr-histogram'),HW=600,HH=220,max=Math.max(1,Math.max.apply(null,counts)),bw=(HW-60)/bins.length;
    h.setAttribute('viewBox','0 0 '+HW+' '+HH);h.setAttribute('height',HH);
    bins.forEach(function(bin,i){
      var bh=(HH-60)*counts[i]/max,bx=40+i*bw+6,by=HH-30-bh;
      h.appendChild(el('rect',{'class':'bin',x:bx,y:by,width:bw-12,height:bh,'data-count':counts[i],'data-bin':bin[0]}));
      h.appendChild(el('text',{x:bx+(bw-12)/2,y:HH-12,'text-anchor':'middle'},bin[0]));
      h.appendChild(el('text',{x:bx+(bw-12)/2,y:by-4,'text-anchor':'middle'},String(counts[i])));
    });
    document.body.setAttribute('data-rendered','ok');
  }catch(e){document.getElementById('chart-error').textContent='charts failed: '+e.message;document.body.setAttribute('data-rendered','error');}
})();
`;

export function renderReportHtml(d: ReportData): string {
  const t = d.totals;
  const card = (key: string, label: string, value: string | number, cls = '') => `<div class="card ${cls}" data-figure="${key}"><span class="num">${esc(String(value))}</span><span class="muted">${esc(label)}</span></div>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>keyloop report</title><style>${CSS}</style></head>
<body>
<h1>keyloop report</h1><div class="muted">Generated ${esc(d.generatedAt)} · previews only, never secrets</div>
<div class="cards">
${card('secrets', 'secrets', t.secrets)}${card('live', 'live', t.live, 'live')}${card('dead', 'dead', t.dead, 'dead')}${card('unknown', 'unknown', t.unknown)}${card('unverified', 'unverified', t.unverified)}
${card('issues-open', 'open issues', t.issuesOpen)}${card('issues-closed', 'closed issues', t.issuesClosed)}${card('rotated', 'rotated', t.rotated)}
${card('false-positives', 'false positives', t.falsePositives)}${card('mean-ttr', 'mean time to rotate', humanDuration(d.timeToRotate.meanMs))}${card('median-ttr', 'median time to rotate', humanDuration(d.timeToRotate.medianMs))}
</div>
<p id="chart-error"></p>
<h2>Exposure timeline</h2>
<div class="legend muted"><span><i style="background:var(--live)"></i>live</span><span><i style="background:var(--dead)"></i>dead</span><span><i style="background:var(--unknown)"></i>unknown / unverified</span><span><i style="background:var(--fp)"></i>false positive</span></div>
<svg id="timeline" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="exposure window per secret"></svg>
<h2>Time from detection to rotation</h2>
<svg id="ttr-histogram" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="time to rotate distribution"></svg>
<h2>Oldest live keys</h2>
${table('oldest-live', SECRET_HEAD, secretRows(d.oldestLive))}
<h2>Repositories</h2>
${table('repos', ['Repository', ...GROUP_HEAD], groupRows(d.repos))}
<h2>Owners</h2>
${table('owners', ['Owner', ...GROUP_HEAD], groupRows(d.owners))}
<h2>Detector precision (from triage)</h2>
${table(
  'precision',
  ['Detector', 'Secrets', 'True positives', 'False positives', 'Untriaged', 'Precision'],
  d.precision.map((p) => [esc(p.detector), String(p.secrets), String(p.truePositives), String(p.falsePositives), String(p.untriaged), `<span data-precision="${esc(p.detector)}">${percent(p.precision)}</span>`]),
)}
<h2>Suppressed by repositories' own .keyloop.yaml</h2>
${table(
  'repo-config-suppressions',
  ['Repository', 'Findings suppressed', 'Runs', 'Last'],
  d.repoConfigSuppressions.map((r) => [esc(r.repo), String(r.suppressed), String(r.runs), esc(r.lastAt.slice(0, 10))]),
)}
<h2>All secrets</h2>
${table('secrets', SECRET_HEAD, secretRows(d.secrets))}
<script type="application/json" id="keyloop-data">${scriptJson(d)}</script>
<script>${JS}</script>
</body></html>
`;
}
