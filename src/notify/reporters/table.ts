// Human table for the terminal: one row per finding, its first location, and a summary line.
import { escapeControls } from '../../util/terminal-safe.js';
import type { Reporter } from './types.js';

function pad(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s.padEnd(n);
}

export const tableReporter: Reporter = ({ findings, reveal, stats, skipped, incomplete }) => {
  const withStatus = findings.some((f) => f.verification);
  const cols: [string, number][] = [
    ['DETECTOR', 26],
    ['CONF', 6],
    ...(withStatus ? ([['STATUS', 8]] as [string, number][]) : []),
    ['SECRET', reveal ? 44 : 16],
    ['FINGERPRINT', 12],
    ['LOCATION', 40],
    ['COMMIT', 8],
    ['AUTHOR', 24],
    ['DATE', 10],
  ];
  const lines = [cols.map(([h, w]) => pad(h, w)).join('  ').trimEnd()];
  for (const f of findings) {
    const l = f.locations[0]!;
    const more = f.locations.length > 1 ? ` +${f.locations.length - 1}` : '';
    const vals = [
      f.detector,
      f.confidence,
      ...(withStatus ? [f.verification?.status ?? '-'] : []),
      reveal ? f.secret : f.redacted,
      f.fingerprint.slice(0, 12),
      `${l.path}:${l.line}${more}`,
      l.commit?.slice(0, 8) ?? '-',
      l.author ? `${l.author.name} <${l.author.email}>` : '-',
      l.date?.slice(0, 10) ?? '-',
    ];
    // every cell comes from scanned content: no escape sequence, line break or bidi control reaches the terminal
    lines.push(vals.map((v, i) => pad(escapeControls(v), cols[i]![1])).join('  ').trimEnd());
  }
  const locs = findings.reduce((n, f) => n + f.locations.length, 0);
  const mb = (stats.bytes / 1e6).toFixed(1);
  const secs = (stats.elapsedMs / 1000).toFixed(2);
  const skippedNote = skipped.length ? `; ${skipped.length} skipped (${summarizeSkips(skipped)})` : '';
  lines.push('', `${findings.length} finding(s), ${locs} location(s) in ${stats.blobs} blob(s), ${mb} MB, ${secs} s${skippedNote}`);
  if (incomplete.length > 0) lines.push(`INCOMPLETE: ${incomplete.length} object(s) could not be scanned (listed on stderr); a secret may be in them`);
  return lines.join('\n') + '\n';
};

function summarizeSkips(skipped: { reason: string }[]): string {
  const counts = new Map<string, number>();
  for (const s of skipped) counts.set(s.reason, (counts.get(s.reason) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${n} ${r}`).join(', ');
}
