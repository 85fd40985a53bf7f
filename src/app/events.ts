// Webhook payloads → the normalized jobs the queue stores and the handlers run (zod at the boundary).
// Only what the work needs is kept: a raw push payload carries commit messages, which may hold a secret.
// A payload is data, never configuration: its clone_url is dropped (the handler derives the remote from the
// configured GitHub and the validated owner/name), refs and branch names must be ones git accepts, shas are hex.
import { z } from 'zod';
import { RepoFullName } from '../adapters/github/clone-url.js';
import { ConfigError } from '../core/errors.js';
import { isBranchName, isRefName, ZERO_SHA } from '../core/git-names.js';

const Sha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'expected a hex commit id');

const RefName = z.string().refine(isRefName, 'expected a git ref name under refs/');
const BranchName = z.string().refine(isBranchName, 'expected a git branch name');

const RepoRef = z.object({
  id: z.number().int().optional(),
  full_name: RepoFullName,
  default_branch: BranchName.optional(),
  private: z.boolean().optional(),
});

const InstallationId = z.number().int().positive();
const InstallationRef = z.object({ id: InstallationId });

const PushPayload = z.object({
  ref: RefName,
  before: Sha,
  after: Sha,
  created: z.boolean().optional(),
  deleted: z.boolean().optional(),
  forced: z.boolean().optional(),
  repository: RepoRef,
  installation: InstallationRef.optional(),
  head_commit: z.object({ id: Sha }).nullable().optional(),
});

const RepoLite = z.object({ id: z.number().int().optional(), full_name: RepoFullName, private: z.boolean().optional() });

const InstallationPayload = z.object({
  action: z.string(),
  installation: InstallationRef.extend({ account: z.object({ login: z.string() }).nullable().optional() }),
  repositories: z.array(RepoLite).nullable().optional(),
});

const InstallationRepositoriesPayload = z.object({
  action: z.string(),
  installation: InstallationRef,
  repositories_added: z.array(RepoLite).default([]),
  repositories_removed: z.array(RepoLite).default([]),
});

export const RepoInfo = z.object({
  fullName: RepoFullName,
  githubId: z.number().int().optional(),
  defaultBranch: BranchName.optional(),
  private: z.boolean(),
});
export type RepoInfo = z.infer<typeof RepoInfo>;

/** What every job about one repository carries: it, and the installation to act as (none: `keyloop receive` with a token). */
const RepoJob = { repo: RepoInfo, installationId: InstallationId.optional() };

export const PushJob = z.object({
  kind: z.literal('push'),
  ...RepoJob,
  ref: RefName,
  before: Sha,
  after: Sha,
  created: z.boolean(),
  deleted: z.boolean(),
  forced: z.boolean(),
});
export type PushJob = z.infer<typeof PushJob>;

export const ReposJob = z.object({
  kind: z.literal('repos'),
  installationId: InstallationId,
  /** What GitHub said happened, e.g. 'created', 'deleted', 'added', 'removed'. */
  action: z.string(),
  added: z.array(RepoInfo),
  removed: z.array(RepoFullName),
  /** The whole installation went away (installation.deleted): forget every repo registered under it. */
  forgetInstallation: z.boolean(),
});
export type ReposJob = z.infer<typeof ReposJob>;

/** A whole-history scan of a repository the App was just added to (queued by a repos job when enabled). */
export const FullScanJob = z.object({ kind: z.literal('full-scan'), ...RepoJob });
export type FullScanJob = z.infer<typeof FullScanJob>;

export const Job = z.discriminatedUnion('kind', [PushJob, ReposJob, FullScanJob]);
export type Job = z.infer<typeof Job>;

export const HANDLED_EVENTS = ['push', 'installation', 'installation_repositories'] as const;

export interface NormalizedEvent {
  /** null: acknowledged and ignored (other events, or actions we do not act on). */
  job: Job | null;
  action: string | null;
  installationId: number | null;
  repo: string | null;
}

function repoInfo(r: z.infer<typeof RepoLite> | z.infer<typeof RepoRef>): RepoInfo {
  const full = r as z.infer<typeof RepoRef>;
  return RepoInfo.parse({
    fullName: r.full_name,
    githubId: r.id,
    defaultBranch: full.default_branch,
    private: r.private ?? true,
  });
}

function parse<T>(schema: z.ZodType<T>, payload: unknown, event: string): T {
  const r = schema.safeParse(payload);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ConfigError(`${event} payload: ${issue?.message ?? 'invalid'}`, issue?.path.join('.') || undefined);
  }
  return r.data;
}

/** Throws ConfigError when a handled event's payload does not have the fields we rely on. */
export function normalizeEvent(event: string, payload: unknown): NormalizedEvent {
  const action = typeof (payload as { action?: unknown })?.action === 'string' ? (payload as { action: string }).action : null;
  if (event === 'push') {
    const p = parse(PushPayload, payload, event);
    const deleted = p.deleted ?? p.after === ZERO_SHA;
    const job: PushJob = {
      kind: 'push',
      repo: repoInfo(p.repository),
      installationId: p.installation?.id,
      ref: p.ref,
      before: p.before,
      after: p.after,
      created: p.created ?? p.before === ZERO_SHA,
      deleted,
      forced: p.forced ?? false,
    };
    return { job, action: null, installationId: p.installation?.id ?? null, repo: p.repository.full_name };
  }
  if (event === 'installation') {
    const p = parse(InstallationPayload, payload, event);
    const repos = (p.repositories ?? []).map(repoInfo);
    const id = p.installation.id;
    if (p.action === 'created' || p.action === 'unsuspend' || p.action === 'new_permissions_accepted') {
      return { job: { kind: 'repos', installationId: id, action: p.action, added: repos, removed: [], forgetInstallation: false }, action, installationId: id, repo: null };
    }
    if (p.action === 'deleted' || p.action === 'suspend') {
      return {
        job: { kind: 'repos', installationId: id, action: p.action, added: [], removed: repos.map((r) => r.fullName), forgetInstallation: true },
        action,
        installationId: id,
        repo: null,
      };
    }
    return { job: null, action, installationId: id, repo: null };
  }
  if (event === 'installation_repositories') {
    const p = parse(InstallationRepositoriesPayload, payload, event);
    const id = p.installation.id;
    // GitHub sends `added` or `removed`; any other value is acknowledged and ignored, never carried into a job
    if (p.action !== 'added' && p.action !== 'removed') return { job: null, action: null, installationId: id, repo: null };
    return {
      job: {
        kind: 'repos',
        installationId: id,
        action: p.action,
        added: p.repositories_added.map(repoInfo),
        removed: p.repositories_removed.map((r) => r.full_name),
        forgetInstallation: false,
      },
      action,
      installationId: id,
      repo: null,
    };
  }
  const inst = (payload as { installation?: { id?: unknown } })?.installation?.id;
  return { job: null, action, installationId: typeof inst === 'number' ? inst : null, repo: null };
}
