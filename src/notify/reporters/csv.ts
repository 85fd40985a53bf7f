import type { Reporter } from './types.js';

const HEADER = ['detector', 'confidence', 'fingerprint', 'redacted', 'status', 'commit', 'author_name', 'author_email', 'date', 'path', 'line', 'column', 'decoded', 'context'];

/**
 * Cells a spreadsheet would evaluate as a formula (first character =, +, -, @, tab, CR, NUL, or a full-width
 * ＝ ＋ － ＠) get a leading single quote, as OWASP and ASVS 1.2.10 recommend; then RFC 4180 quoting. Values are
 * otherwise exact: no other escaping (a path with a control character is quoted, not changed).
 */
export function csvCell(v: string | number | null | undefined): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r\0\uff1d\uff0b\uff0d\uff20]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per location. */
export const csvReporter: Reporter = ({ findings, reveal }) => {
  const header = reveal ? [...HEADER.slice(0, 4), 'secret', ...HEADER.slice(4)] : HEADER;
  const rows = [header.join(',')];
  for (const f of findings) {
    for (const l of f.locations) {
      const base = [f.detector, f.confidence, f.fingerprint, f.redacted];
      if (reveal) base.push(f.secret);
      rows.push(
        [...base, f.verification?.status ?? '', l.commit, l.author?.name, l.author?.email, l.date, l.path, l.line, l.column, l.decoded?.join('>') ?? '', l.context ?? '']
          .map(csvCell)
          .join(','),
      );
    }
  }
  return rows.join('\r\n') + '\r\n';
};
