// Issue titles, bodies and comments for leaked keys. They never contain the secret: only its redacted preview,
// and the executor passes every text through the SecretRegistry as well.
import type { Reach, Verification } from '../core/model.js';
import type { Risk } from '../core/risk.js';
import { escapeControls } from '../util/terminal-safe.js';

const MARKER_FP = /<!--\s*keyloop:fingerprint=([0-9a-f]{64})\s*-->/;
const MARKER_REPO = /<!--\s*keyloop:repo=([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)\s*-->/;

export interface BodyLocation {
  commit: string | null;
  path: string;
  line: number;
  date: string | null;
  authorName: string | null;
}

export interface IssueSubject {
  fingerprint: string;
  detector: string;
  /** Detector's human name, e.g. "GitHub personal access token". */
  name: string;
  provider: string;
  providerName: string;
  severity: string;
  redacted: string;
  /** Repo the leak is in (owner/name). */
  repo: string;
  detectedAt: string;
  /** Markdown rotation steps from the provider's detector file. */
  rotation?: string;
  references?: string[];
  /** The detector has a `revoke:` block: `keyloop revoke` can revoke the key through the issuer's API. */
  revocable?: boolean;
  /** The issuer's page where the key is revoked or rotated. */
  revokePage?: string;
  /** f(what the key can do, exposure) when known: shown in the body, and the loop's order. */
  risk?: Risk;
}

export interface BodyInput {
  subject: IssueSubject;
  locations: BodyLocation[];
  verification: Verification | null;
  assignees: string[];
  teams: string[];
  now: Date;
  webUrl: string;
  closeAfterDeadChecks: number;
  /** True when the issue lives in a security repo instead of the leaking repo. */
  elsewhere: boolean;
}

export const ISSUE_LABEL = 'keyloop';
export const FALSE_POSITIVE_LABEL = 'false-positive';
export const ACCEPTED_RISK_LABEL = 'accepted-risk';

export function issueTitle(s: IssueSubject, firstPath: string): string {
  const title = escapeControls(`Leaked ${s.providerName} key in ${firstPath}`);
  return title.length > 250 ? title.slice(0, 249) + '…' : title;
}

export function issueLabels(s: { detector: string; severity: string }, extra: readonly string[] = []): string[] {
  return [ISSUE_LABEL, `secret:${s.detector}`.slice(0, 50), `severity:${s.severity}`, ...extra];
}

export function markers(fingerprint: string, repo: string): string {
  return `<!-- keyloop:fingerprint=${fingerprint} -->\n<!-- keyloop:repo=${repo} -->`;
}

/** The (fingerprint, leaking repo) an issue body is about, or null when it is not a keyloop issue. */
export function parseMarker(body: string | null | undefined): { fingerprint: string; repo: string | null } | null {
  if (!body) return null;
  const fp = MARKER_FP.exec(body);
  if (!fp) return null;
  return { fingerprint: fp[1]!, repo: MARKER_REPO.exec(body)?.[1] ?? null };
}

export function locationKey(l: { commit: string | null; path: string; line: number }): string {
  return `${l.commit ?? ''}:${l.path}:${l.line}`;
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

export function permalink(webUrl: string, repo: string, l: { commit: string | null; path: string; line: number }): string | null {
  if (!l.commit) return null;
  return `${webUrl.replace(/\/+$/, '')}/${repo}/blob/${l.commit}/${encodePath(l.path)}#L${l.line}`;
}

/** Markdown inline code that survives backticks in the text. */
function code(s: string): string {
  const clean = escapeControls(s.replace(/[\r\n]+/g, ' '));
  const fence = clean.includes('`') ? '``' : '`';
  return `${fence}${clean.includes('`') ? ' ' : ''}${clean}${clean.includes('`') ? ' ' : ''}${fence}`;
}

/** Names in bodies are user-controlled text: keep them from pinging people or breaking the table. */
function plain(s: string): string {
  return escapeControls(s.replace(/[\r\n|<>]/g, ' ')).replace(/@/g, '@\u200b').replace(/[*_[\]`]/g, '\\$&').trim();
}

const day = (iso: string) => iso.slice(0, 10);

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const days = ms / 86_400_000;
  if (days >= 2) return `${Math.floor(days)} days`;
  const hours = ms / 3_600_000;
  if (hours >= 2) return `${Math.floor(hours)} hours`;
  return `${Math.max(1, Math.round(ms / 60_000))} minutes`;
}

export function renderLocationLine(webUrl: string, repo: string, l: BodyLocation): string {
  const link = permalink(webUrl, repo, l);
  const where = `${l.path}#L${l.line}`;
  const head = link ? `[${code(where)}](${link})` : code(where);
  const meta = [l.commit ? `commit ${code(l.commit.slice(0, 12))}` : 'working tree', l.date ? day(l.date) : null, l.authorName ? plain(l.authorName) : null]
    .filter(Boolean)
    .join(', ');
  return `- ${head} — ${meta}`;
}

export function describeVerification(v: Verification | null): string {
  if (!v) return 'not verified yet';
  const who = v.identity && Object.keys(v.identity).length
    ? ` — the issuer reports ${Object.entries(v.identity)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, val]) => `${plain(k)}: ${code(val)}`)
        .join(', ')}`
    : '';
  return `**${v.status}** (checked ${v.checkedAt}; ${plain(v.reason)})${who}`;
}

const RESOURCES_SHOWN = 15;

/** repository → repositories, package → packages. */
function plural(word: string, n: number): string {
  if (n === 1) return word;
  return /[^aeiou]y$/.test(word) ? `${word.slice(0, -1)}ies` : `${word}s`;
}

/**
 * "What this key can do": the reach the issuer reported (src/reach), in words an owner can act on. Everything in it
 * came from the issuer's answers, so every value goes through `plain`/`code`.
 */
export function renderReach(r: Reach): string[] {
  const out: string[] = ['### What this key can do', ''];
  const level = r.level === 'unknown' ? 'unknown (the issuer answered none of the questions)' : `**${r.level}**`;
  out.push(`As its issuer reported on ${day(r.checkedAt)}:`, '');
  out.push(`- Access: ${level}${r.tags.length ? ` — ${r.tags.map((t) => code(t)).join(', ')}` : ''}`);
  if (r.account) out.push(`- Acts as: ${code(r.account)}`);
  if (r.scopes) out.push(`- Scopes: ${r.scopes.length ? r.scopes.slice(0, 30).map((s) => code(s)).join(', ') : 'none'}`);
  if (r.expiresAt !== undefined) out.push(`- Expires: ${r.expiresAt === null ? 'never' : day(r.expiresAt)}`);
  if (r.lastUsedAt !== undefined) out.push(`- Last used: ${r.lastUsedAt === null ? 'never' : day(r.lastUsedAt)}`);
  const facts = Object.entries(r.facts).sort(([a], [b]) => a.localeCompare(b));
  if (facts.length) out.push(`- Also: ${facts.map(([k, v]) => `${plain(k)} ${code(Array.isArray(v) ? v.slice(0, 10).join(', ') : String(v))}`).join('; ')}`);
  const kinds = Object.keys(r.counts).filter((k) => !k.includes(':')).sort();
  for (const kind of kinds) {
    const n = r.counts[kind]!;
    const by = ['admin', 'write', 'read'].map((l) => [l, r.counts[`${kind}:${l}`] ?? 0] as const).filter(([, c]) => c > 0);
    const pub = r.counts[`${kind}:public`];
    const pubWrite = r.counts[`${kind}:public-write`];
    const extra = [by.map(([l, c]) => `${c} ${l}`).join(', '), pub ? `${pub} public` : '', pubWrite ? `**${pubWrite} public it can write to**` : ''].filter(Boolean).join('; ');
    out.push(`- Reaches ${n} ${plain(plural(kind, n))}${extra ? ` (${extra})` : ''}`);
  }
  if (r.resources.length) {
    out.push('', '| Resource | Access |', '|---|---|');
    for (const x of r.resources.slice(0, RESOURCES_SHOWN)) out.push(`| ${code(x.name)} (${plain(x.kind)}${x.public ? ', public' : ''}) | ${x.access} |`);
    const total = kinds.reduce((a, k) => a + (r.counts[k] ?? 0), 0);
    if (total > RESOURCES_SHOWN) out.push(`| … and ${total - RESOURCES_SHOWN} more | |`);
  }
  if (r.gaps.length) out.push('', `Not known: ${r.gaps.slice(0, 8).map((g) => plain(g)).join('; ')}.`);
  out.push('');
  return out;
}

export function firstIntroduced(locations: BodyLocation[]): BodyLocation | null {
  const dated = locations.filter((l) => l.date).sort((a, b) => a.date!.localeCompare(b.date!));
  return dated[0] ?? locations[0] ?? null;
}

export function renderIssueBody(input: BodyInput): string {
  const { subject: s, locations, verification, now, webUrl } = input;
  const first = firstIntroduced(locations);
  const exposure = first?.date ? formatDuration(now.getTime() - Date.parse(first.date)) : 'unknown (no commit date)';
  const owners = [...input.assignees.map((a) => `@${a}`), ...input.teams.map((t) => `@${t}`)];
  const out: string[] = [];
  out.push(markers(s.fingerprint, s.repo), '');
  out.push(
    `keyloop found a **${plain(s.providerName)}** secret (${plain(s.name)}, detector ${code(s.detector)}) in the git history of ` +
      `**${s.repo}**${input.elsewhere ? ' (a public repository, so this issue is filed here instead)' : ''}. ` +
      'Anyone who can read that history can use the key until it is rotated.',
    '',
  );
  out.push('| | |', '|---|---|');
  out.push(`| Preview | ${code(s.redacted)} (the secret itself is never shown) |`);
  out.push(`| Fingerprint | ${code(s.fingerprint)} |`);
  out.push(`| Severity | ${s.severity} |`);
  if (s.risk && s.risk.severity !== 'none') out.push(`| Risk | **${s.risk.severity}** (${s.risk.score}/100): ${s.risk.factors.map((f) => plain(f)).join('; ')} |`);
  out.push(`| Verification | ${describeVerification(verification)} |`);
  if (first) {
    const intro = [first.date ? day(first.date) : null, first.commit ? `commit ${code(first.commit.slice(0, 12))}` : null].filter(Boolean).join(', ');
    out.push(`| First introduced | ${intro || 'unknown'} |`);
  }
  out.push(`| Exposure so far | ${exposure} |`);
  out.push(`| Detected by keyloop | ${day(s.detectedAt)} |`);
  out.push(`| Owners | ${owners.length ? owners.join(' ') : 'none found — please assign someone'} |`);
  out.push('');
  if (verification?.reach) out.push(...renderReach(verification.reach));
  out.push(`### Where (${locations.length} location${locations.length === 1 ? '' : 's'})`, '');
  for (const l of locations.slice(0, 50)) out.push(renderLocationLine(webUrl, s.repo, l));
  if (locations.length > 50) out.push(`- … and ${locations.length - 50} more (\`keyloop report\` lists them all)`);
  out.push('');
  out.push('### How to fix', '');
  out.push('**Rotate the key first**: deleting the file or rewriting history does not help, the key is already exposed.', '');
  if (s.revokePage) out.push(`Revoke or rotate it here: <${s.revokePage}>`, '');
  if (s.rotation?.trim()) out.push(`Steps for ${plain(s.providerName)}:`, '', s.rotation.trim(), '');
  else out.push(`Revoke it in the ${plain(s.providerName)} console, issue a new one, and update the places that use it.`, '');
  if (s.revocable) {
    out.push(`keyloop can revoke it through ${plain(s.providerName)}'s API: ${code(`keyloop revoke ${s.fingerprint.slice(0, 12)}`)} (asks before it sends anything; the issue then closes as rotated).`, '');
  }
  out.push(
    'Put the replacement in a secret manager and reference it, never as a new literal: a CI secret ' +
      '(`${{ secrets.NAME }}` in GitHub Actions), or an environment variable filled at deploy time from Vault, AWS Secrets ' +
      'Manager, GCP Secret Manager or Azure Key Vault.',
    '',
  );
  if (input.elsewhere) {
    out.push(
      'The repository is **public**: after rotating, purge the value from its history (`git filter-repo --replace-text`, then force-push every ' +
        'branch and tag) and ask GitHub Support to drop cached views and pull-request refs. Rotation is what makes the key harmless; the purge only limits further copies.',
      '',
    );
  }
  if (s.references?.length) out.push(`References: ${s.references.map((r) => `<${r}>`).join(', ')}`, '');
  out.push(
    `keyloop re-checks the key on every run and **closes this issue by itself** once the issuer reports it revoked ` +
      `on ${input.closeAfterDeadChecks} consecutive check${input.closeAfterDeadChecks === 1 ? '' : 's'}. If it comes back to life, the issue is reopened.`,
  );
  out.push('');
  out.push('### Not a real secret?', '');
  out.push(
    `Close this issue with the ${code(FALSE_POSITIVE_LABEL)} label (picked up on the next run), or run ` +
      `${code(`keyloop triage ${s.fingerprint.slice(0, 12)} --false-positive --note "why"`)}. ` +
      `To keep a live key knowingly, use ${code('--accepted-risk')} (label ${code(ACCEPTED_RISK_LABEL)}).`,
  );
  return out.join('\n') + '\n';
}

export function renderRevokedComment(at: string, checks: number, by?: { by: string; at: string }): string {
  const who = by ? ` Revoked with \`keyloop revoke\` by ${plain(by.by)} at ${by.at}.` : '';
  return `✅ Verified revoked at ${at} (${checks} consecutive dead check${checks === 1 ? '' : 's'} with the issuer).${who} Closing.`;
}

export function renderReopenComment(v: Verification, wasClosedBy: 'keyloop' | 'someone'): string {
  const why = wasClosedBy === 'keyloop' ? 'This key was verified revoked earlier, but' : 'This issue was closed, but';
  return `⚠️ ${why} the issuer reports it **live** again (checked ${v.checkedAt}). Reopening: rotate the key.`;
}

export function renderNewLocationsComment(webUrl: string, repo: string, locations: BodyLocation[]): string {
  const lines = locations.slice(0, 50).map((l) => renderLocationLine(webUrl, repo, l));
  if (locations.length > 50) lines.push(`- … and ${locations.length - 50} more`);
  return `The same secret was found in ${locations.length} new location${locations.length === 1 ? '' : 's'}:\n\n${lines.join('\n')}\n`;
}

export function renderReminderComment(opts: { liveSince: string; now: Date; mentions: string[]; maxLiveDays: number }): string {
  const age = formatDuration(opts.now.getTime() - Date.parse(opts.liveSince));
  const who = opts.mentions.length ? opts.mentions.map((m) => `@${m}`).join(' ') + ': ' : '';
  return `⏰ ${who}this key has been live for ${age} (policy: rotate within ${opts.maxLiveDays} days) and still works. Please rotate it now.`;
}

export function renderTriageComment(verdict: 'false-positive' | 'accepted-risk' | 'reopen', note?: string): string {
  const head =
    verdict === 'false-positive'
      ? 'Marked as a **false positive** with `keyloop triage`; later scans suppress this fingerprint.'
      : verdict === 'accepted-risk'
        ? 'Marked as an **accepted risk** with `keyloop triage`; keyloop will not reopen or remind.'
        : 'Reopened with `keyloop triage`: keyloop tracks this key again.';
  return note ? `${head}\n\n> ${note.replace(/\n/g, '\n> ')}` : head;
}

/** Untrusted verification text goes through `plain` so an issuer cannot inject mentions. Exposed for tests. */
export const _plain = plain;
