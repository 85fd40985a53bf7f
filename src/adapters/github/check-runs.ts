// The `keyloop` check run on a pushed commit: success/failure, a summary, and one annotation per finding location
// at path:line. Rendering is pure and sees only redacted previews; publishing sends annotations 50 per request.
import type { Finding } from '../../core/model.js';
import { hostError, type GitHubClient } from './client.js';

export const CHECK_NAME = 'keyloop';
/** GitHub accepts at most 50 annotations per create/update request. */
export const ANNOTATIONS_PER_REQUEST = 50;
/** Beyond this the summary says how many more there are; a push with thousands of hits needs the issue loop anyway. */
export const MAX_ANNOTATIONS = 500;

/** What the renderer may see: a finding without its plaintext (the type forbids passing `secret`). */
export type CheckFinding = Omit<Finding, 'secret'> & { secret?: never };

export interface CheckRunInput {
  headSha: string;
  findings: CheckFinding[];
  /** e.g. 'update', 'new-ref', 'force-push' and the range, for the summary. */
  scope: string;
  commits: number;
  blobs: number;
  /** Issues opened/updated by the loop, shown in the summary (repo#number → url). */
  issues?: { ref: string; url: string | null }[];
  /** Findings the repository's own .keyloop.yaml dropped: said in the summary, so hiding a key is visible. */
  suppressedByRepoConfig?: number;
  detailsUrl?: string;
}

export interface Annotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: 'failure' | 'warning' | 'notice';
  title: string;
  message: string;
}

export interface RenderedCheckRun {
  name: string;
  head_sha: string;
  status: 'completed';
  conclusion: 'success' | 'failure';
  details_url?: string;
  output: { title: string; summary: string; text?: string };
  annotations: Annotation[];
}

const statusOf = (f: CheckFinding) => f.verification?.status ?? 'unverified';

/** A dead key still leaked, but it no longer grants access: it warns instead of failing the check. */
const blocking = (f: CheckFinding) => statusOf(f) !== 'dead';

const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;

export function renderCheckRun(input: CheckRunInput): RenderedCheckRun {
  const failing = input.findings.filter(blocking);
  const conclusion = failing.length > 0 ? 'failure' : 'success';
  const all: Annotation[] = [];
  for (const f of input.findings) {
    const status = statusOf(f);
    for (const l of f.locations) {
      const where = l.commit ? ` (commit ${l.commit.slice(0, 12)})` : '';
      const why = f.verification ? ` Verified ${status}: ${f.verification.reason}.` : ' Not verified.';
      all.push({
        path: l.path,
        start_line: l.line,
        end_line: l.line,
        annotation_level: blocking(f) ? 'failure' : 'warning',
        title: `${f.name} (${status})`,
        message:
          `${f.name} ${f.redacted} at ${l.path}:${l.line}${where}.${why} ` +
          (status === 'dead'
            ? 'The issuer no longer accepts it; remove it from the code.'
            : 'Rotate it with the issuer now: removing it from the branch does not remove it from git history.') +
          ` Fingerprint ${f.fingerprint.slice(0, 16)}.`,
      });
    }
  }
  all.sort((a, b) => a.path.localeCompare(b.path) || a.start_line - b.start_line);
  const annotations = all.slice(0, MAX_ANNOTATIONS);

  const counts = new Map<string, number>();
  for (const f of input.findings) counts.set(statusOf(f), (counts.get(statusOf(f)) ?? 0) + 1);
  const title =
    input.findings.length === 0
      ? 'No secrets found'
      : `${plural(input.findings.length, 'secret')} found` + (failing.length < input.findings.length ? ` (${input.findings.length - failing.length} revoked)` : '');
  const lines = [
    `Scanned ${plural(input.blobs, 'new blob')} from ${plural(input.commits, 'commit')} (${input.scope}).`,
    '',
  ];
  if (input.findings.length > 0) {
    lines.push('| Secret | Detector | Status | Where |', '| --- | --- | --- | --- |');
    for (const f of input.findings.slice(0, 100)) {
      const l = f.locations[0];
      const more = f.locations.length > 1 ? ` (+${f.locations.length - 1})` : '';
      lines.push(`| \`${f.redacted}\` | ${f.name} | ${statusOf(f)} | ${l ? `\`${l.path}:${l.line}\`` : ''}${more} |`);
    }
    if (input.findings.length > 100) lines.push(`| … | ${input.findings.length - 100} more | | |`);
    lines.push('', [...counts].map(([s, n]) => `${n} ${s}`).join(', ') + '.');
    if (all.length > annotations.length) lines.push(`Showing ${annotations.length} of ${all.length} locations as annotations.`);
  }
  if (input.suppressedByRepoConfig) {
    lines.push('', `${plural(input.suppressedByRepoConfig, 'finding')} suppressed by this repository's \`.keyloop.yaml\` (allowlists, excluded paths, disabled detectors); the security team sees this count.`);
  }
  if (input.issues?.length) {
    lines.push('', 'Tracked in: ' + input.issues.map((i) => (i.url ? `[${i.ref}](${i.url})` : i.ref)).join(', '));
  }
  return {
    name: CHECK_NAME,
    head_sha: input.headSha,
    status: 'completed',
    conclusion,
    ...(input.detailsUrl ? { details_url: input.detailsUrl } : {}),
    output: { title, summary: lines.join('\n') },
    annotations,
  };
}

/** Creates the check run with the first 50 annotations and appends the rest with updates. Returns its id. */
export async function publishCheckRun(client: GitHubClient, fullName: string, run: RenderedCheckRun, scrub: (t: string) => string = (t) => t): Promise<number> {
  const [owner, repo] = fullName.split('/') as [string, string];
  const { annotations, ...rest } = run;
  // The registry is the last guard: nothing that reaches GitHub may contain a plaintext seen in this process.
  const clean = <T>(v: T): T => JSON.parse(scrub(JSON.stringify(v))) as T;
  const batches: Annotation[][] = [];
  for (let i = 0; i < annotations.length; i += ANNOTATIONS_PER_REQUEST) batches.push(annotations.slice(i, i + ANNOTATIONS_PER_REQUEST));
  let id: number;
  try {
    const { data } = await client.rest.checks.create(clean({ owner, repo, ...rest, output: { ...rest.output, annotations: batches[0] ?? [] } }));
    id = data.id;
    for (const batch of batches.slice(1)) {
      await client.rest.checks.update(clean({ owner, repo, check_run_id: id, output: { ...rest.output, annotations: batch } }));
    }
  } catch (err) {
    throw hostError(`check run on ${fullName}@${run.head_sha.slice(0, 12)}`, err);
  }
  return id;
}
