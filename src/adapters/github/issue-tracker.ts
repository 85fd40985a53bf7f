// The IssueTracker port (plus the lifecycle's extras) over octokit. Idempotent ensure* in renovate's style:
// issues are found again by the hidden marker in their body, never by title.
import { RequestError } from 'octokit';
import type { IssueSpec, LoopTracker, TrackedIssue } from '../../core/ports.js';
import { HostError } from '../../core/errors.js';
import { createGitHubClient, type GitHubClient } from './client.js';

export interface GitHubIssueTrackerOptions {
  /** Authenticated client (token or installation) with retry/throttling as the caller wants. */
  octokit: GitHubClient;
  /** API base URL; the unauthenticated revoke call goes there too. */
  baseUrl: string;
  /** Client for POST /credentials/revoke, which must be unauthenticated (default: a bare Octokit on baseUrl). */
  anonymous?: GitHubClient;
}

const split = (repo: string) => {
  const i = repo.indexOf('/');
  if (i <= 0) throw new HostError(`not an owner/name repository: ${repo}`);
  return { owner: repo.slice(0, i), repo: repo.slice(i + 1) };
};

function hostError(what: string, err: unknown): HostError {
  if (err instanceof HostError) return err;
  if (err instanceof RequestError) {
    // The response message only: request bodies (issue text, revoked tokens) stay out of errors.
    const msg = (err.response?.data as { message?: string } | undefined)?.message ?? err.message;
    return new HostError(`${what}: GitHub answered ${err.status}: ${msg}`, err.status, { cause: err });
  }
  return new HostError(`${what}: ${(err as Error)?.message ?? String(err)}`, undefined, { cause: err });
}

interface RawIssue {
  number: number;
  html_url: string;
  title: string;
  body?: string | null;
  state: string;
  state_reason?: string | null;
  labels: Array<string | { name?: string }>;
  assignees?: Array<{ login: string }> | null;
  pull_request?: unknown;
}

function toTracked(repo: string, i: RawIssue): TrackedIssue {
  return {
    repo,
    number: i.number,
    url: i.html_url,
    title: i.title,
    body: i.body ?? '',
    state: i.state === 'closed' ? 'closed' : 'open',
    stateReason: i.state_reason ?? null,
    labels: i.labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter(Boolean),
    assignees: (i.assignees ?? []).map((a) => a.login),
  };
}

export class GitHubIssueTracker implements LoopTracker {
  private readonly octokit: GitHubClient;
  private readonly anonymous: GitHubClient;

  constructor(opts: GitHubIssueTrackerOptions) {
    this.octokit = opts.octokit;
    this.anonymous = opts.anonymous ?? createGitHubClient({ baseUrl: opts.baseUrl, retries: 0 });
  }

  async listIssues(repo: string, labels: string[]): Promise<TrackedIssue[]> {
    try {
      const items = (await this.octokit.paginate(this.octokit.rest.issues.listForRepo, {
        ...split(repo),
        labels: labels.join(','),
        state: 'all',
        per_page: 100,
      })) as RawIssue[];
      return items.filter((i) => !i.pull_request).map((i) => toTracked(repo, i));
    } catch (err) {
      throw hostError(`listing issues of ${repo}`, err);
    }
  }

  private async getIssue(repo: string, number: number): Promise<TrackedIssue> {
    try {
      const { data } = await this.octokit.rest.issues.get({ ...split(repo), issue_number: number });
      return toTracked(repo, data);
    } catch (err) {
      throw hostError(`reading ${repo}#${number}`, err);
    }
  }

  async ensureIssue(repo: string, spec: IssueSpec, opts: { reopen?: boolean } = {}) {
    const existing = (await this.listIssues(repo, spec.labels.slice(0, 1))).filter((i) => i.body.includes(spec.marker));
    const found = existing.find((i) => i.state === 'open') ?? existing[0];
    // what the issue says, whether it is opened now or brought up to date
    const content = { ...split(repo), title: spec.title, body: spec.body };
    if (!found) {
      try {
        const { data } = await this.octokit.rest.issues.create({
          ...content,
          labels: spec.labels,
          ...(spec.assignees.length ? { assignees: spec.assignees } : {}),
        });
        return { issue: toTracked(repo, data), action: 'created' as const };
      } catch (err) {
        throw hostError(`opening an issue in ${repo}`, err);
      }
    }
    const reopen = opts.reopen && found.state === 'closed';
    const labels = [...new Set([...found.labels, ...spec.labels])];
    const changed = found.title !== spec.title || found.body !== spec.body || labels.length !== found.labels.length;
    if (!reopen && !changed) return { issue: found, action: 'unchanged' as const };
    try {
      const { data } = await this.octokit.rest.issues.update({
        ...content,
        issue_number: found.number,
        labels,
        ...(reopen ? { state: 'open' as const } : {}),
      });
      return { issue: toTracked(repo, data), action: reopen ? ('reopened' as const) : ('updated' as const) };
    } catch (err) {
      throw hostError(`updating ${repo}#${found.number}`, err);
    }
  }

  async ensureIssueClosed(repo: string, number: number, opts: { comment?: string; reason?: 'completed' | 'not_planned' } = {}) {
    const issue = await this.getIssue(repo, number);
    if (issue.state === 'closed') return 'already-closed' as const;
    if (opts.comment) await this.comment(repo, number, opts.comment);
    try {
      await this.octokit.rest.issues.update({ ...split(repo), issue_number: number, state: 'closed', state_reason: opts.reason ?? 'completed' });
    } catch (err) {
      throw hostError(`closing ${repo}#${number}`, err);
    }
    return 'closed' as const;
  }

  async reopenIssue(repo: string, number: number, comment?: string): Promise<void> {
    const issue = await this.getIssue(repo, number);
    if (issue.state === 'open') return;
    if (comment) await this.comment(repo, number, comment);
    try {
      await this.octokit.rest.issues.update({ ...split(repo), issue_number: number, state: 'open' });
    } catch (err) {
      throw hostError(`reopening ${repo}#${number}`, err);
    }
  }

  async comment(repo: string, number: number, body: string): Promise<void> {
    try {
      await this.octokit.rest.issues.createComment({ ...split(repo), issue_number: number, body });
    } catch (err) {
      throw hostError(`commenting on ${repo}#${number}`, err);
    }
  }

  private async setLabels(repo: string, number: number, edit: (labels: string[]) => string[]): Promise<void> {
    const issue = await this.getIssue(repo, number);
    const next = edit(issue.labels);
    if (next.length === issue.labels.length && next.every((l) => issue.labels.includes(l))) return;
    try {
      await this.octokit.rest.issues.update({ ...split(repo), issue_number: number, labels: next });
    } catch (err) {
      throw hostError(`labelling ${repo}#${number}`, err);
    }
  }

  addLabels(repo: string, number: number, labels: string[]): Promise<void> {
    return this.setLabels(repo, number, (cur) => [...new Set([...cur, ...labels])]);
  }

  removeLabels(repo: string, number: number, labels: string[]): Promise<void> {
    return this.setLabels(repo, number, (cur) => cur.filter((l) => !labels.includes(l)));
  }

  async canAssign(repo: string, login: string): Promise<boolean> {
    try {
      await this.octokit.rest.issues.checkUserCanBeAssigned({ ...split(repo), assignee: login });
      return true;
    } catch (err) {
      if (err instanceof RequestError && err.status === 404) return false;
      throw hostError(`checking whether ${login} can be assigned in ${repo}`, err);
    }
  }

  async commitAuthorLogin(repo: string, sha: string): Promise<string | null> {
    try {
      const { data } = await this.octokit.rest.repos.getCommit({ ...split(repo), ref: sha });
      return data.author && 'login' in data.author ? (data.author.login ?? null) : null;
    } catch (err) {
      // The commit may be gone from GitHub (force-push, deleted branch) while still in our mirror.
      if (err instanceof RequestError && (err.status === 404 || err.status === 422 || err.status === 409)) return null;
      throw hostError(`reading commit ${sha.slice(0, 12)} of ${repo}`, err);
    }
  }

  async repoIsPrivate(repo: string): Promise<boolean | null> {
    try {
      const { data } = await this.octokit.rest.repos.get(split(repo));
      return data.private;
    } catch (err) {
      if (err instanceof RequestError && err.status === 404) return null;
      throw hostError(`reading ${repo}`, err);
    }
  }

  async revokeCredentials(tokens: string[]): Promise<void> {
    for (let i = 0; i < tokens.length; i += 1000) {
      try {
        await this.anonymous.rest.credentials.revoke({ credentials: tokens.slice(i, i + 1000) });
      } catch (err) {
        throw hostError('sending tokens to POST /credentials/revoke', err);
      }
    }
  }
}
