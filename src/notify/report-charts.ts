// The HTML report's charts: what each one shows, computed here from the report data (so it is testable without a
// browser), and the small in-page script that hands it to uPlot. Labels come from scanned content: escaped here.
import { isOpen, SEVERITIES, type ReportData, type SecretReport } from './report.js';
import { escapeControls } from '../util/terminal-safe.js';

export type Severity = (typeof SEVERITIES)[number];

/** One palette for pills, table rows, the legend and every chart. Chosen to stay distinct in print and grey-scale. */
export const SEVERITY_COLORS: Record<Severity, string> = { critical: '#8c1a4b', high: '#d1242f', medium: '#e16f24', low: '#bf8700' };
export const FALSE_POSITIVE_COLOR = '#8c959f';
export const MEDIAN_COLOR = '#0969da';
export const MEAN_COLOR = '#8250df';

/** Rows the timeline draws at most; the rest stay in the "All secrets" table. */
export const TIMELINE_MAX_ROWS = 50;
/** Owners / teams the MTTR chart shows at most (the slowest first). */
export const MTTR_MAX_OWNERS = 20;
export const TTR_BINS: readonly (readonly [string, number])[] = [
  ['< 1h', 3_600_000],
  ['1h–1d', 86_400_000],
  ['1–3d', 3 * 86_400_000],
  ['3–7d', 7 * 86_400_000],
  ['7–30d', 30 * 86_400_000],
  ['> 30d', Infinity],
];

export interface TimelineRow {
  fingerprint: string;
  label: string;
  severity: Severity;
  color: string;
  /** Unix seconds (uPlot's time unit). */
  start: number;
  end: number;
  /** The key may still work: drawn solid; closed windows (rotated, dead) are drawn faded. */
  open: boolean;
}

export interface ChartModel {
  severity: { labels: string[]; counts: number[]; colors: string[] } | null;
  timeline: { rows: TimelineRow[]; hidden: number; now: number } | null;
  mttr: { labels: string[]; medianDays: number[]; meanDays: number[] } | null;
  ttr: { labels: string[]; counts: number[] } | null;
}

const rank = (s: string) => {
  const i = (SEVERITIES as readonly string[]).indexOf(s);
  return i < 0 ? SEVERITIES.length : i;
};
export const severityOf = (s: string): Severity => SEVERITIES[Math.min(rank(s), SEVERITIES.length - 1)]!;

/** `a/very/long/…/path/file.env`: keeps both ends, which say the most. */
export function abbreviate(s: string, max: number): string {
  if (s.length <= max) return s;
  const head = Math.ceil((max - 1) / 2);
  return s.slice(0, head) + '…' + s.slice(s.length - (max - 1 - head));
}

/** `repo:path`, the first place the secret is at (`+N` more), for labels where one line must do. */
export function locationLabel(s: SecretReport, maxPath = 40): string {
  const first = s.locations[0];
  if (!first) return escapeControls(s.repos.join(', ') || '—');
  const more = s.locations.length > 1 ? ` +${s.locations.length - 1}` : '';
  return `${escapeControls(first.repo)}:${abbreviate(escapeControls(first.path), maxPath)}${more}`;
}

export const ownerLabel = (owners: readonly string[]): string => (owners.length ? owners.map((o) => '@' + escapeControls(o)).join(' ') : 'unowned');

/** What a row of the timeline says: detector · repo:path · owner. */
export const rowLabel = (s: SecretReport): string => `${escapeControls(s.detector)} · ${locationLabel(s)} · ${ownerLabel(s.owners)}`;

const days = (ms: number) => Math.round((ms / 86_400_000) * 100) / 100;

export function chartModel(d: ReportData): ChartModel {
  const now = Date.parse(d.generatedAt) / 1000;

  const open = d.openBySeverity;
  const severity = open.some((s) => s.open > 0) ? { labels: open.map((s) => s.severity), counts: open.map((s) => s.open), colors: open.map((s) => SEVERITY_COLORS[s.severity]) } : null;

  // The most pressing windows when there are too many to draw: open ones, most severe, oldest; then by date.
  const dated = d.secrets.filter((s) => s.firstCommitAt);
  const shown = [...dated]
    .sort((a, b) => Number(isOpen(b)) - Number(isOpen(a)) || rank(a.severity) - rank(b.severity) || a.firstCommitAt!.localeCompare(b.firstCommitAt!))
    .slice(0, TIMELINE_MAX_ROWS)
    .sort((a, b) => a.firstCommitAt!.localeCompare(b.firstCommitAt!) || a.fingerprint.localeCompare(b.fingerprint));
  let timeline: ChartModel['timeline'] = null;
  if (shown.length) {
    const t0 = Math.min(...shown.map((s) => Date.parse(s.firstCommitAt!) / 1000));
    // a window too short to see (dead on arrival the same hour) still gets a visible sliver
    const minWidth = Math.max(3600, (now - t0) * 0.004);
    timeline = {
      now,
      hidden: dated.length - shown.length,
      rows: shown.map((s) => {
        const start = Date.parse(s.firstCommitAt!) / 1000;
        const sev = severityOf(s.severity);
        return {
          fingerprint: s.fingerprint,
          label: rowLabel(s),
          severity: sev,
          color: s.status === 'false-positive' ? FALSE_POSITIVE_COLOR : SEVERITY_COLORS[sev],
          start,
          end: Math.max(start + minWidth, Date.parse(s.exposureEndAt) / 1000),
          open: isOpen(s),
        };
      }),
    };
  }

  const owners = d.owners
    .filter((g) => g.meanTimeToRotateMs !== null && g.medianTimeToRotateMs !== null)
    .sort((a, b) => b.medianTimeToRotateMs! - a.medianTimeToRotateMs! || a.key.localeCompare(b.key))
    .slice(0, MTTR_MAX_OWNERS);
  const mttr = owners.length
    ? {
        labels: owners.map((g) => (g.key === '(unowned)' ? 'unowned' : '@' + abbreviate(escapeControls(g.key), 24))),
        medianDays: owners.map((g) => days(g.medianTimeToRotateMs!)),
        meanDays: owners.map((g) => days(g.meanTimeToRotateMs!)),
      }
    : null;

  const counts = TTR_BINS.map(() => 0);
  for (const v of d.timeToRotate.valuesMs) counts[TTR_BINS.findIndex(([, upTo]) => v < upTo)]! += 1;
  const ttr = d.timeToRotate.valuesMs.length ? { labels: TTR_BINS.map(([l]) => l), counts } : null;

  return { severity, timeline, mttr, ttr };
}

// Runs in the page after uPlot's own script. Plain ES2017; everything it draws is in #keyloop-charts. Charts are
// sized to their box and redrawn when the window or the print layout changes (so a printed page fits).
export const CHART_JS = `
(function(){
  var body=document.body;
  try{
    var m=JSON.parse(document.getElementById('keyloop-charts').textContent);
    var charts={},makers={},dpr=window.devicePixelRatio||1;
    var FONT='12px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif';
    function box(k){return document.getElementById('chart-'+k);}
    // the box's content width: a canvas as wide as the box itself would stick out by its padding and border
    function widthOf(el){var cs=getComputedStyle(el);return Math.max(280,Math.floor(el.clientWidth-parseFloat(cs.paddingLeft)-parseFloat(cs.paddingRight)));}
    function axis(o){var a={stroke:'#59636e',font:FONT,grid:{stroke:'#eaeef2',width:1},ticks:{stroke:'#d1d9e0',width:1}};for(var k in o)a[k]=o[k];return a;}
    function idx(n){var r=[];for(var i=0;i<n;i++)r.push(i);return r;}
    function categories(labels,o){return axis(Object.assign({splits:function(){return idx(labels.length);},values:function(u,s){return s.map(function(i){return labels[i]==null?'':labels[i];});},grid:{show:false}},o||{}));}
    function intAxis(fmt){return axis({incrs:[1,2,5,10,20,50,100,200,500,1000,2000,5000,10000],values:function(u,s){return s.map(fmt||String);},size:56});}
    function fmtDays(v){return v===0?'0':v<1?Math.round(v*24)+'h':(Math.round(v*10)/10)+'d';}
    // the figure above each bar, so a printed chart is read without a cursor
    function barLabels(fmt,offsets){return function(u){var c=u.ctx;c.save();c.font=Math.round(11*dpr)+'px system-ui,sans-serif';c.fillStyle='#1f2328';c.textAlign='center';
      var col=u.bbox.width/Math.max(1,u.data[0].length);
      for(var si=1;si<u.data.length;si++){var off=(offsets?offsets[si-1]:0)*col;u.data[si].forEach(function(v,i){if(v==null)return;
        c.fillText(fmt(v),u.valToPos(u.data[0][i],'x',true)+off,u.valToPos(v,'y',true)-4*dpr);});}
      c.restore();};}
    var bars=uPlot.paths.bars;

    if(m.severity&&box('severity'))makers.severity=function(w){var s=m.severity,max=Math.max.apply(null,s.counts);
      return new uPlot({width:w,height:240,legend:{show:false},cursor:{show:false},
        scales:{x:{time:false,range:[-0.5,s.labels.length-0.5]},y:{range:[0,Math.max(1,max)*1.2]}},
        axes:[categories(s.labels),intAxis()],
        series:[{},{label:'open secrets',width:0,fill:s.colors[0],points:{show:false},paths:bars({size:[0.6,120],disp:{fill:{unit:3,values:function(){return s.colors;}}}})}],
        hooks:{draw:[barLabels(String)]}},[idx(s.labels.length),s.counts],box('severity'));};

    if(m.timeline&&box('timeline'))makers.timeline=function(w){var t=m.timeline,n=t.rows.length,xs=[],seen={};
      t.rows.forEach(function(r){[r.start,r.end].forEach(function(x){if(!seen[x]){seen[x]=1;xs.push(x);}});});
      xs.sort(function(a,b){return a-b;});var at={};xs.forEach(function(x,i){at[x]=i;});
      var data=[xs].concat(t.rows.map(function(r,i){var ys=xs.map(function(){return null;});ys[at[r.start]]=n-1-i;ys[at[r.end]]=n-1-i;return ys;}));
      var meas=document.createElement('canvas').getContext('2d');meas.font=FONT;
      function fit(label,px){if(meas.measureText(label).width<=px)return label;var a=label;while(a.length>8&&meas.measureText(a+'…').width>px)a=a.slice(0,-2);return a+'…';}
      function labelWidth(u){var cap=Math.floor(u.width*0.45);return Math.min(cap,Math.ceil(Math.max.apply(null,t.rows.map(function(r){return meas.measureText(r.label).width;})))+14);}
      var rowH=22,lo=Math.min(xs[0],t.now),hi=Math.max(xs[xs.length-1],t.now),pad=(hi-lo)*0.02||3600;
      return new uPlot({width:w,height:n*rowH+64,legend:{show:false},cursor:{y:false,points:{show:false},drag:{x:true,y:false}},
        tzDate:function(ts){return uPlot.tzDate(new Date(ts*1e3),'Etc/UTC');},
        scales:{x:{time:true,range:function(){return [lo-pad,hi+pad];}},y:{range:[-0.7,n-0.3]}},
        axes:[axis({space:90}),axis({side:3,gap:6,grid:{show:false},ticks:{show:false},splits:function(){return idx(n);},
          size:function(u){return labelWidth(u)+6;},
          values:function(u,s){var px=labelWidth(u)-8;return s.map(function(v){var r=t.rows[n-1-v];return r?fit(r.label,px):'';});}})],
        series:[{}].concat(t.rows.map(function(r){return {label:r.label,stroke:r.open?r.color:r.color+'59',width:12,spanGaps:true,points:{show:false}};})),
        hooks:{draw:[function(u){var c=u.ctx,x=u.valToPos(t.now,'x',true);c.save();c.strokeStyle='#1f2328';c.setLineDash([4*dpr,3*dpr]);c.lineWidth=dpr;
          c.beginPath();c.moveTo(x,u.bbox.top);c.lineTo(x,u.bbox.top+u.bbox.height);c.stroke();c.setLineDash([]);c.fillStyle='#1f2328';c.font=Math.round(11*dpr)+'px system-ui,sans-serif';
          c.textAlign='right';c.fillText('now',x-3*dpr,u.bbox.top+10*dpr);c.restore();}]}},data,box('timeline'));};

    if(m.mttr&&box('mttr'))makers.mttr=function(w){var s=m.mttr,max=Math.max.apply(null,s.medianDays.concat(s.meanDays));
      return new uPlot({width:w,height:260,legend:{live:false},cursor:{show:false},
        scales:{x:{time:false,range:[-0.5,s.labels.length-0.5]},y:{range:[0,Math.max(0.05,max)*1.2]}},
        axes:[categories(s.labels),axis({values:function(u,v){return v.map(fmtDays);},size:56})],
        series:[{},{label:'median time to rotate',fill:'${MEDIAN_COLOR}',stroke:'${MEDIAN_COLOR}',width:0,points:{show:false},paths:bars({size:[0.35,48],align:-1})},
          {label:'mean time to rotate (MTTR)',fill:'${MEAN_COLOR}',stroke:'${MEAN_COLOR}',width:0,points:{show:false},paths:bars({size:[0.35,48],align:1})}],
        hooks:{draw:[barLabels(fmtDays,[-0.175,0.175])]}},[idx(s.labels.length),s.medianDays,s.meanDays],box('mttr'));};

    if(m.ttr&&box('ttr'))makers.ttr=function(w){var s=m.ttr,max=Math.max.apply(null,s.counts);
      return new uPlot({width:w,height:220,legend:{show:false},cursor:{show:false},
        scales:{x:{time:false,range:[-0.5,s.labels.length-0.5]},y:{range:[0,Math.max(1,max)*1.2]}},
        axes:[categories(s.labels),intAxis()],
        series:[{},{label:'rotated secrets',fill:'${MEDIAN_COLOR}',stroke:'${MEDIAN_COLOR}',width:0,points:{show:false},paths:bars({size:[0.6,90]})}],
        hooks:{draw:[barLabels(String)]}},[idx(s.labels.length),s.counts],box('ttr'));};

    for(var k in makers)charts[k]=makers[k](widthOf(box(k)));
    function fitAll(){for(var k in charts){var w=widthOf(box(k));if(w!==charts[k].width)charts[k].setSize({width:w,height:charts[k].height});}}
    window.addEventListener('resize',fitAll);window.addEventListener('beforeprint',fitAll);
    if(window.matchMedia){var mq=window.matchMedia('print');if(mq.addEventListener)mq.addEventListener('change',fitAll);}
    window.keyloopCharts=charts;
    body.setAttribute('data-rendered','ok');
  }catch(e){document.getElementById('chart-error').textContent='charts failed: '+e.message;body.setAttribute('data-rendered','error');}
})();
`;
