// Markdown rendering of the loop report (for a wiki page, a PR comment or a terminal).
import { humanDuration, percent, type GroupReport, type ReportData, type SecretReport } from './report.js';
import { escapeControls } from '../util/terminal-safe.js';

// repo names, paths and owners come from scanned content: no control or bidi character reaches the reader
const cell = (s: string) => escapeControls(s.replace(/[\r\n]+/g, ' ')).replace(/\|/g, '\\|');
const day = (iso: string | null) => (iso ? iso.slice(0, 10) : '—');

function table(head: string[], rows: string[][]): string {
  if (rows.length === 0) return '_none_\n';
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n') + '\n';
}

function groupTable(title: string, groups: GroupReport[]): string {
  return (
    `## ${title}\n\n` +
    table(
      [title === 'Repositories' ? 'Repository' : 'Owner', 'Secrets', 'Live', 'Dead', 'Unknown', 'Rotated', 'Open issues', 'Closed issues', 'Median time to rotate'],
      groups.map((g) => [g.key, String(g.secrets), String(g.live), String(g.dead), String(g.unknown), String(g.rotated), String(g.issuesOpen), String(g.issuesClosed), humanDuration(g.medianTimeToRotateMs)]),
    )
  );
}

const secretRow = (s: SecretReport) => [
  `\`${s.fingerprint.slice(0, 12)}\``,
  s.detector,
  `\`${s.redacted}\``,
  s.repos.join(', '),
  s.verification ?? 'unverified',
  day(s.firstCommitAt),
  s.rotatedAt ? day(s.rotatedAt) : s.exposureOpen ? 'not yet' : '—',
  `${humanDuration(s.exposureMs)}${s.exposureOpen ? ' (open)' : ''}`,
  s.owners.map((o) => `@${o}`).join(' ') || '—',
];

export function renderReportMarkdown(d: ReportData): string {
  const t = d.totals;
  const out: string[] = [];
  out.push(`# keyloop report`, '', `Generated ${d.generatedAt}.`, '');
  out.push('## Summary', '');
  out.push(
    table(
      ['Secrets', 'Live', 'Dead', 'Unknown', 'Unverified', 'Rotated', 'False positives', 'Accepted risk', 'Open issues', 'Closed issues'],
      [[t.secrets, t.live, t.dead, t.unknown, t.unverified, t.rotated, t.falsePositives, t.acceptedRisk, t.issuesOpen, t.issuesClosed].map(String)],
    ),
  );
  if (d.byRisk) {
    out.push('## By risk', '', 'What the key can do (from its issuer), whether a public repository holds it, how long it has been exposed, how many places hold it.', '');
    const bySecret = new Map(d.secrets.map((s) => [s.fingerprint, s]));
    out.push(
      table(
        ['Risk', 'Secrets', 'Live', 'Highest'],
        d.byRisk.map((g) => [
          g.severity,
          String(g.secrets),
          String(g.live),
          g.fingerprints
            .slice(0, 3)
            .map((fp) => `${fp.slice(0, 12)} ${bySecret.get(fp)?.detector ?? ''} (${bySecret.get(fp)?.risk?.score ?? 0})`)
            .join(', ') || '—',
        ]),
      ),
    );
  }
  if (d.lastUsed?.length) {
    out.push('## Live keys and their last use', '', 'As their issuers report it (GitLab, AWS …): never used or long idle keys are the safest to revoke first.', '');
    out.push(table(['Fingerprint', 'Detector', 'Preview', 'Last used', 'Idle'], d.lastUsed.map((u) => [`\`${u.fingerprint.slice(0, 12)}\``, u.detector, `\`${u.redacted}\``, u.lastUsedAt ? day(u.lastUsedAt) : 'never', u.idleDays === null ? '—' : `${u.idleDays} days`])));
  }
  out.push('## Time from detection to rotation', '');
  out.push(
    d.timeToRotate.count
      ? `${d.timeToRotate.count} rotated secret(s): mean **${humanDuration(d.timeToRotate.meanMs)}**, median **${humanDuration(d.timeToRotate.medianMs)}**.\n`
      : '_No secret rotated yet._\n',
  );
  out.push('## Oldest live keys', '');
  out.push(table(['Fingerprint', 'Detector', 'Preview', 'Repos', 'Status', 'First commit', 'Rotated', 'Exposure', 'Owners'], d.oldestLive.map(secretRow)));
  out.push(groupTable('Repositories', d.repos));
  out.push(groupTable('Owners', d.owners));
  out.push('## Detector precision (from triage)', '');
  out.push(
    table(
      ['Detector', 'Secrets', 'True positives', 'False positives', 'Untriaged', 'Precision'],
      d.precision.map((p) => [p.detector, String(p.secrets), String(p.truePositives), String(p.falsePositives), String(p.untriaged), percent(p.precision)]),
    ),
  );
  out.push("## Suppressed by repositories' own .keyloop.yaml", '');
  out.push(
    'Findings a repository dropped from its own report (allowlists, excluded paths, disabled detectors); `--no-repo-config` shows them.',
    '',
    table(
      ['Repository', 'Findings suppressed', 'Runs', 'Last'],
      d.repoConfigSuppressions.map((r) => [r.repo, String(r.suppressed), String(r.runs), day(r.lastAt)]),
    ),
  );
  out.push('## Exposure window per secret', '', 'From the first commit that introduced the secret to its rotation (or now, while it may still work).', '');
  out.push(table(['Fingerprint', 'Detector', 'Preview', 'Repos', 'Status', 'First commit', 'Rotated', 'Exposure', 'Owners'], d.secrets.map(secretRow)));
  return out.join('\n');
}
