// RepoHost over the GitHub REST API: org repos (or an App installation's), with fork/archived/glob filters.
import picomatch from 'picomatch';
import type { GitCredentials, HostedRepo, RepoFilter, RepoHost } from '../../core/ports.js';
import { hostError, type GitHubClient } from './client.js';
import { cloneUrlFor, gitBaseUrl, isRepoFullName } from './clone-url.js';

interface ApiRepo {
  name: string;
  full_name: string;
  owner: { login: string } | null;
  default_branch?: string | null;
  private: boolean;
  fork: boolean;
  archived?: boolean;
  size?: number;
  pushed_at?: string | null;
}

/**
 * `apiUrl` is the operator's GitHub API base: the clone URL is derived from it and the validated full_name, never
 * taken from the JSON's clone_url. An invalid name leaves cloneUrl empty, which the mirror refuses (that repo fails).
 */
export function toHostedRepo(r: ApiRepo, apiUrl: string): HostedRepo {
  return {
    fullName: r.full_name,
    owner: r.owner?.login ?? r.full_name.split('/')[0]!,
    name: r.name,
    // GitHub reports a default branch even for an empty repo; size 0 + a failed HEAD resolve tells it apart.
    defaultBranch: r.default_branch ?? null,
    cloneUrl: isRepoFullName(r.full_name) ? cloneUrlFor(apiUrl, r.full_name) : '',
    private: r.private,
    fork: r.fork,
    archived: r.archived ?? false,
    sizeKb: r.size ?? 0,
    pushedAt: r.pushed_at ?? null,
  };
}

/** Applies --include-forks / --include-archived / --repos / --exclude. Globs match the name or owner/name. */
export function repoFilter(filter: RepoFilter = {}): (r: HostedRepo) => boolean {
  const opts = { nocase: true, dot: true };
  const inc = filter.include?.length ? picomatch(filter.include, opts) : null;
  const exc = filter.exclude?.length ? picomatch(filter.exclude, opts) : null;
  return (r) =>
    (filter.includeForks || !r.fork) &&
    (filter.includeArchived || !r.archived) &&
    (!inc || inc(r.name) || inc(r.fullName)) &&
    !(exc && (exc(r.name) || exc(r.fullName)));
}

export interface GitHubRepoHostOptions {
  /** 'org': GET /orgs/{org}/repos; 'installation': GET /installation/repositories (App token). */
  mode?: 'org' | 'installation';
  /** Token for git over HTTPS (sent as x-access-token Basic auth); a function for tokens that rotate. */
  token?: string | (() => Promise<string | undefined>);
}

export class GitHubRepoHost implements RepoHost {
  private readonly apiUrl: string;

  constructor(
    private readonly octokit: GitHubClient,
    private readonly opts: GitHubRepoHostOptions = {},
  ) {
    this.apiUrl = octokit.request.endpoint.DEFAULTS.baseUrl;
    // A GitHub URL git must not send a token to fails here, before any listing.
    gitBaseUrl(this.apiUrl);
  }

  async listRepos(owner: string, filter?: RepoFilter): Promise<HostedRepo[]> {
    const keep = repoFilter(filter);
    const out: HostedRepo[] = [];
    try {
      if (this.opts.mode === 'installation') {
        const it = this.octokit.paginate.iterator(this.octokit.rest.apps.listReposAccessibleToInstallation, { per_page: 100 });
        for await (const page of it) {
          for (const r of page.data as unknown as ApiRepo[]) {
            const h = toHostedRepo(r, this.apiUrl);
            if (h.owner.toLowerCase() === owner.toLowerCase() && keep(h)) out.push(h);
          }
        }
      } else {
        const it = this.octokit.paginate.iterator(this.octokit.rest.repos.listForOrg, { org: owner, type: 'all', per_page: 100 });
        for await (const page of it) for (const r of page.data as ApiRepo[]) {
          const h = toHostedRepo(r, this.apiUrl);
          if (keep(h)) out.push(h);
        }
      }
    } catch (err) {
      throw hostError(`listing repositories of ${owner}`, err);
    }
    return out.sort((a, b) => a.fullName.localeCompare(b.fullName));
  }

  async getRepo(fullName: string): Promise<HostedRepo | null> {
    const [owner, repo] = fullName.split('/') as [string, string];
    try {
      const { data } = await this.octokit.rest.repos.get({ owner, repo });
      return toHostedRepo(data, this.apiUrl);
    } catch (err) {
      if ((err as { status?: number }).status === 404) return null;
      throw hostError(`getting ${fullName}`, err);
    }
  }

  async gitCredentials(_fullName: string): Promise<GitCredentials | null> {
    const t = typeof this.opts.token === 'function' ? await this.opts.token() : this.opts.token;
    return t ? { username: 'x-access-token', password: t } : null;
  }
}
