// Human table for the terminal: one row per finding (its first location), most severe and live first, sized to
// the terminal without cutting identifiers, then a summary line.
import { escapeControls } from '../../util/terminal-safe.js';
import type { RawFinding } from '../../core/model.js';
import type { Reporter } from './types.js';

const SEVERITY_ORDER: Record<RawFinding['severity'], number> = { critical: 0, high: 1, medium: 2, low: 3 };
/** live first (act now), dead last (already rotated); unverified sits with unknown. */
const STATUS_ORDER: Record<string, number> = { live: 0, unknown: 1, unverified: 2, dead: 3 };
const GAP = '  ';
/** The narrowest a shortened path or owner is made: below that it says nothing. */
const MIN_SHORT = 12;

type Column = 'SEVERITY' | 'CONF' | 'STATUS' | 'DETECTOR' | 'LOCATION' | 'OWNER' | 'PREVIEW';
const COLUMNS: Column[] = ['SEVERITY', 'CONF', 'STATUS', 'DETECTOR', 'LOCATION', 'OWNER', 'PREVIEW'];

const status = (f: RawFinding) => f.verification?.status ?? 'unverified';

/** What the user may see of the secret: the redacted preview with its length, or the secret with --reveal. */
function preview(f: RawFinding, reveal: boolean): string {
  if (reveal && f.secret) return f.secret;
  return f.secret ? `${f.redacted} (${f.secret.length} chars)` : f.redacted;
}

/** Severity, then status, then detector and location: the order a responder works in. */
export function tableOrder(a: RawFinding, b: RawFinding): number {
  const la = a.locations[0];
  const lb = b.locations[0];
  return (
    SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
    (STATUS_ORDER[status(a)] ?? 9) - (STATUS_ORDER[status(b)] ?? 9) ||
    a.detector.localeCompare(b.detector) ||
    (la?.path ?? '').localeCompare(lb?.path ?? '') ||
    (la?.line ?? 0) - (lb?.line ?? 0)
  );
}

/** `path:line@commit +N`: the parts a path may lose when the terminal is narrow come first. */
function location(f: RawFinding): { path: string; suffix: string } {
  const l = f.locations[0]!;
  const more = f.locations.length > 1 ? ` +${f.locations.length - 1}` : '';
  return { path: escapeControls(l.path), suffix: `:${l.line}${l.commit ? `@${l.commit.slice(0, 8)}` : ''}${more}` };
}

/** Keeps the start and the file name of a path, dropping the middle: `src/…/deep/config.env`. */
export function shortenPath(path: string, width: number): string {
  if (path.length <= width) return path;
  const slash = path.lastIndexOf('/');
  const name = slash >= 0 ? path.slice(slash) : path;
  if (name.length + 2 >= width) return '…' + path.slice(path.length - (width - 1));
  const head = width - name.length - 1;
  return path.slice(0, head) + '…' + name;
}

function shortenEnd(s: string, width: number): string {
  return s.length <= width ? s : s.slice(0, Math.max(1, width - 1)) + '…';
}

/**
 * `width`: the terminal's columns, when writing to one. Severity, confidence, status, detector and preview are
 * never cut; the owner, then the path's middle, give way (never below MIN_SHORT). Without a width nothing is cut.
 */
export function renderRows(findings: RawFinding[], reveal: boolean, width?: number): string[] {
  const rows = [...findings].sort(tableOrder).map((f) => {
    const l = f.locations[0]!;
    const owner = l.author ? escapeControls(l.author.name || l.author.email) : '-';
    return { f, cells: { SEVERITY: f.severity, CONF: f.confidence, STATUS: status(f), DETECTOR: escapeControls(f.detector), OWNER: owner, PREVIEW: escapeControls(preview(f, reveal)) }, loc: location(f) };
  });
  const natural = (c: Column) =>
    Math.max(c.length, ...rows.map((r) => (c === 'LOCATION' ? r.loc.path.length + r.loc.suffix.length : r.cells[c].length)));
  const widths = new Map<Column, number>(COLUMNS.map((c) => [c, natural(c)]));
  if (width !== undefined) {
    let over = COLUMNS.reduce((n, c) => n + widths.get(c)!, 0) + GAP.length * (COLUMNS.length - 1) - width;
    for (const c of ['OWNER', 'LOCATION'] as const) {
      if (over <= 0) break;
      const w = widths.get(c)!;
      const floor = Math.min(w, c === 'LOCATION' ? MIN_SHORT + Math.max(0, ...rows.map((r) => r.loc.suffix.length)) : MIN_SHORT);
      const cut = Math.min(over, w - floor);
      widths.set(c, w - cut);
      over -= cut;
    }
  }
  const pad = (s: string, c: Column) => s.padEnd(widths.get(c)!);
  const lines = [COLUMNS.map((c) => pad(c, c)).join(GAP).trimEnd()];
  for (const r of rows) {
    const locWidth = widths.get('LOCATION')!;
    const loc = shortenPath(r.loc.path, Math.max(1, locWidth - r.loc.suffix.length)) + r.loc.suffix;
    const owner = shortenEnd(r.cells.OWNER, widths.get('OWNER')!);
    const cells: Record<Column, string> = { ...r.cells, LOCATION: loc, OWNER: owner };
    lines.push(COLUMNS.map((c) => pad(cells[c], c)).join(GAP).trimEnd());
  }
  return lines;
}

export const tableReporter: Reporter = ({ findings, reveal, stats, skipped, incomplete, width }) => {
  // every cell comes from scanned content: no escape sequence, line break or bidi control reaches the terminal
  const lines = findings.length > 0 ? renderRows(findings, reveal, width) : ['No secrets found.'];
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
