// Which blobs a push introduced (the App's push deliveries), decided with git (never the payload's commits[], which is
// capped and may be empty): after ^before for an update; for a new branch or a force push also ^every other ref
// known before it.
import type { BlobSelection } from '../core/ports.js';
import { HostError } from '../core/errors.js';
import { gitRunner } from '../objects/git-process.js';
import { ZERO_SHA } from '../core/git-names.js';

/** A push as the App validated it (src/app/events.ts PushJob): the ref, where it moved, and how. */
export interface PushedRef {
  repo: { fullName: string };
  ref: string;
  before: string;
  after: string;
  created: boolean;
  deleted: boolean;
  forced: boolean;
}

export type PushPlan =
  | { scan: false; reason: 'branch-deleted' | 'not-a-branch-or-tag' }
  | { scan: true; selection: Extract<BlobSelection, { kind: 'range' }>; kind: 'update' | 'new-ref' | 'force-push' };

/** The subset of `oids` that are commits present in the repo: one cat-file process however many refs. */
export async function existingCommits(gitDir: string, oids: Iterable<string>): Promise<Set<string>> {
  const list = [...new Set(oids)];
  if (list.length === 0) return new Set();
  const r = await gitRunner(gitDir).run(['cat-file', '--batch-check=%(objectname) %(objecttype)'], list.join('\n') + '\n');
  if (r.code !== 0) throw new HostError(`git cat-file failed in ${gitDir}: ${r.stderr}`);
  const out = new Set<string>();
  for (const line of r.stdout.toString('utf8').split('\n')) {
    const [oid, type] = line.split(' ');
    if (oid && type === 'commit') out.add(oid);
  }
  return out;
}

/**
 * `knownRefs` are the refs known before this push was fetched (the mirror's refs before the fetch; after it when
 * the mirror is new). Using the pre-fetch view means two branches created at once on the same new commits do not
 * exclude each other: the first one processed scans them.
 */
export async function planPush(gitDir: string, job: PushedRef, knownRefs: Map<string, string>): Promise<PushPlan> {
  if (job.deleted || job.after === ZERO_SHA) return { scan: false, reason: 'branch-deleted' };
  if (!job.ref.startsWith('refs/heads/') && !job.ref.startsWith('refs/tags/')) return { scan: false, reason: 'not-a-branch-or-tag' };
  const candidates = [job.after, job.before, ...[...knownRefs].filter(([ref]) => ref !== job.ref).map(([, oid]) => oid)];
  const present = await existingCommits(gitDir, candidates.filter((o) => o !== ZERO_SHA));
  if (!present.has(job.after)) {
    // The fetch did not bring the pushed commit: the ref moved again already, or GitHub lags. Retry later.
    throw new HostError(`pushed commit ${job.after.slice(0, 12)} is not in the mirror of ${job.repo.fullName} after fetching`);
  }
  const created = job.created || job.before === ZERO_SHA;
  const exclude = new Set<string>();
  if (!created && present.has(job.before)) exclude.add(job.before);
  if (created || job.forced) {
    for (const [ref, oid] of knownRefs) {
      if (ref === job.ref) continue;
      // A ref known before may point at a commit a later force push made unreachable and gc dropped.
      if (present.has(oid)) exclude.add(oid);
    }
  }
  const kind = created ? 'new-ref' : job.forced ? 'force-push' : 'update';
  return { scan: true, kind, selection: { kind: 'range', to: job.after, exclude: [...exclude].sort() } };
}
