// A stateful in-memory GitHub on 127.0.0.1:0: the REST routes keyloop uses, smart-HTTP git through
// `git http-backend` for the bare repos a test registers, per-route fault injection, and state for assertions.
// Serves both `/` and the GHES-style `/api/v3` prefix. Extend by adding routes to `routes` below.
import { execFile, spawn } from 'node:child_process';
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface FakeRepo {
  id: number;
  owner: string;
  name: string;
  fullName: string;
  private: boolean;
  fork: boolean;
  archived: boolean;
  defaultBranch: string;
  /** Bare repository served over smart HTTP at `{url}/{owner}/{name}.git`; absent: an empty repo. */
  gitDir?: string;
  /** Size in KB as GitHub reports it. */
  size: number;
  /** What the REST API reports as `clone_url` (default: where the fake serves it): a hostile API for tests. */
  apiCloneUrl?: string;
}

export interface FakeComment {
  id: number;
  body: string;
  user: string;
  created_at: string;
}

export interface FakeIssue {
  repo: string;
  number: number;
  title: string;
  body: string;
  labels: string[];
  assignees: string[];
  state: 'open' | 'closed';
  state_reason: string | null;
  user: string;
  comments: FakeComment[];
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

export interface FakeCheckRun {
  id: number;
  repo: string;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  output: unknown;
  [k: string]: unknown;
}

/** A user's role on a repository, as GitHub's permissions object spells it out. */
export type RepoRole = 'admin' | 'maintain' | 'push' | 'triage' | 'pull';
const ROLE_ORDER: RepoRole[] = ['pull', 'triage', 'push', 'maintain', 'admin'];

export interface FakeLabel {
  name: string;
  color: string;
  description: string | null;
}

export interface FakeInstallation {
  id: number;
  account: string;
  /** Full names of repositories the installation can see; 'all': every repo of `account`. */
  repositories: string[] | 'all';
  /** The App's permissions on the account, as GitHub names them (organization_personal_access_tokens: read …). */
  permissions?: Record<string, string>;
}

/** A fine-grained personal access token: one resource owner (the user or an organization), an expiry, a last use. */
export interface FakeFineGrainedToken {
  resourceOwner: string;
  name: string;
  /** ISO time; null: never expires. */
  expiresAt: string | null;
  /** ISO time; null: never used. */
  lastUsedAt: string | null;
}

export interface LoggedRequest {
  method: string;
  /** Path without the /api/v3 prefix and without the query string. */
  path: string;
  query: Record<string, string>;
  status: number;
  /** Who the request authenticated as: a login, `installation:<id>`, `app:<id>`, or null. */
  as: string | null;
  body?: unknown;
  at: number;
}

export type FaultKind =
  /** 403 with `retry-after` and GitHub's "secondary rate limit" message. */
  | 'secondary-rate-limit'
  /** 403 with `x-ratelimit-remaining: 0` and a reset time. */
  | 'primary-rate-limit'
  /** Any status with a short message (502, 404 …). */
  | 'status';

export interface FaultSpec {
  method?: string;
  /** Prefix of the path (without /api/v3), or a RegExp tested against it. Git routes are `/{owner}/{repo}.git/…`. */
  path: string | RegExp;
  kind: FaultKind;
  status?: number;
  /** Seconds for `retry-after` / until the primary reset. Default 1. */
  retryAfter?: number;
  /** How many matching requests fail; default 1, Infinity for "from now on". */
  times?: number;
  /** Let this many matching requests through before failing. */
  after?: number;
}

interface Fault extends FaultSpec {
  hits: number;
  fired: number;
}

export interface FakeGitHubOptions {
  /** token → login (user tokens). When any token is known, REST and git require one. */
  tokens?: Record<string, string>;
  /** GitHub App accepted for JWT-authenticated routes. */
  app?: { id: number; publicKey: string | KeyObject; slug?: string };
}

type Handler = (c: Ctx) => Promise<void> | void;
interface Ctx {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  method: string;
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  body: unknown;
  as: string | null;
  /** Base of the API as the client addressed it (with /api/v3 when used): for Link headers. */
  apiBase: string;
  send(status: number, data?: unknown, headers?: Record<string, string>): void;
}

export class FakeGitHub {
  url = '';
  readonly repos = new Map<string, FakeRepo>();
  readonly issues: FakeIssue[] = [];
  readonly labels = new Map<string, FakeLabel[]>();
  readonly checkRuns: FakeCheckRun[] = [];
  readonly users = new Map<string, { login: string; id: number; type: 'User' | 'Bot' | 'Organization' }>();
  /** repo full name → logins that can be assigned there (checkUserCanBeAssigned). */
  readonly assignable = new Map<string, Set<string>>();
  /** org → member logins. */
  readonly members = new Map<string, Set<string>>();
  /** Orgs that exist even without repos (lowercase); an org with repos always exists. */
  readonly orgs = new Set<string>();
  /** Commit author email → login (what GitHub's commit → user mapping does); unmapped emails give author null. */
  readonly emails = new Map<string, string>();
  readonly installations = new Map<number, FakeInstallation>();
  /** Tokens sent to POST /credentials/revoke. */
  readonly revoked: string[] = [];
  /**
   * token → what GitHub puts in X-OAuth-Scopes (a classic or OAuth token); null: no header at all (a fine-grained
   * or App user token, which have no scopes). Tokens not listed answer `repo`.
   */
  readonly tokenScopes = new Map<string, string | null>();
  /** token → GitHub-Authentication-Token-Expiration value ("2031-01-01 00:00:00 UTC"); absent: no header. */
  readonly tokenExpiry = new Map<string, string>();
  /** Fine-grained tokens (addFineGrainedToken): what GitHub knows of each beyond its user. */
  readonly fineGrained = new Map<string, FakeFineGrainedToken>();
  /** repo full name → login → the user's role there (what GET /user/repos reports as `permissions`). */
  readonly roles = new Map<string, Map<string, RepoRole>>();
  readonly requests: LoggedRequest[] = [];
  readonly tokens = new Map<string, string>();
  private readonly installationTokens = new Map<string, number>();
  private readonly faults: Fault[] = [];
  private readonly server: http.Server;
  private nextId = 1000;
  private readonly issueCounters = new Map<string, number>();
  private readonly appKey: KeyObject | null;
  readonly routes: Array<{ method: string; pattern: RegExp; keys: string[]; handler: Handler }> = [];
  /** Remaining core quota reported in x-ratelimit-remaining / GET /rate_limit. */
  rateRemaining = 5000;
  /** Added latency per request (ms): widens the window for kill-mid-run tests. */
  delayMs = 0;

  constructor(private readonly opts: FakeGitHubOptions = {}) {
    for (const [t, login] of Object.entries(opts.tokens ?? {})) this.tokens.set(t, login);
    this.appKey = opts.app ? (typeof opts.app.publicKey === 'string' ? createPublicKey(opts.app.publicKey) : opts.app.publicKey) : null;
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: `fake-github: ${(err as Error).message}` }));
      });
    });
    this.installRoutes();
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- test setup -------------------------------------------------------------------------------------------

  addRepo(fullName: string, opts: Partial<Omit<FakeRepo, 'id' | 'owner' | 'name' | 'fullName'>> = {}): FakeRepo {
    const [owner, name] = fullName.split('/') as [string, string];
    const repo: FakeRepo = {
      id: this.nextId++,
      owner,
      name,
      fullName,
      private: opts.private ?? true,
      fork: opts.fork ?? false,
      archived: opts.archived ?? false,
      defaultBranch: opts.defaultBranch ?? 'main',
      gitDir: opts.gitDir,
      size: opts.size ?? 1,
      ...(opts.apiCloneUrl ? { apiCloneUrl: opts.apiCloneUrl } : {}),
    };
    this.repos.set(fullName, repo);
    return repo;
  }

  /** The repo disappears: REST and git answer 404 from now on. */
  deleteRepo(fullName: string): void {
    this.repos.delete(fullName);
  }

  addUser(login: string, type: 'User' | 'Bot' | 'Organization' = 'User'): void {
    if (!this.users.has(login)) this.users.set(login, { login, id: this.nextId++, type });
  }

  setAssignable(repo: string, ...logins: string[]): void {
    const set = this.assignable.get(repo) ?? new Set<string>();
    for (const l of logins) {
      set.add(l);
      this.addUser(l);
    }
    this.assignable.set(repo, set);
  }

  /** `login` gets `role` on `repo` (the owner of a user repo is its admin without this). */
  grant(repo: string, login: string, role: RepoRole): void {
    const m = this.roles.get(repo) ?? new Map<string, RepoRole>();
    m.set(login, role);
    this.roles.set(repo, m);
    this.addUser(login);
  }

  /** The role GitHub would report for `login` on `r`, or null when the user has no access. */
  roleOf(r: FakeRepo, login: string): RepoRole | null {
    if (r.owner === login) return 'admin';
    return this.roles.get(r.fullName)?.get(login) ?? null;
  }

  addInstallation(inst: FakeInstallation): void {
    this.installations.set(inst.id, inst);
  }

  /**
   * A fine-grained token of `login`: no X-OAuth-Scopes, its expiry in GitHub-Authentication-Token-Expiration, only its
   * resource owner's repositories on /user/repos, and an entry in its organization's token list once approved there.
   */
  addFineGrainedToken(token: string, login: string, t: FakeFineGrainedToken): void {
    this.tokens.set(token, login);
    this.addUser(login);
    this.tokenScopes.set(token, null);
    if (t.expiresAt) this.tokenExpiry.set(token, `${new Date(t.expiresAt).toISOString().slice(0, 19).replace('T', ' ')} UTC`);
    this.fineGrained.set(token, t);
  }

  /** A token the fake accepts as an installation token of `installationId` (as POST …/access_tokens would mint). */
  addInstallationToken(token: string, installationId: number): void {
    this.installationTokens.set(token, installationId);
  }

  fault(spec: FaultSpec): Fault {
    const f: Fault = { times: 1, after: 0, ...spec, hits: 0, fired: 0 };
    this.faults.push(f);
    return f;
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  cloneUrl(fullName: string): string {
    return `${this.url}/${fullName}.git`;
  }

  /** Requests matching method and path (prefix or RegExp). */
  requestsTo(method: string, path: string | RegExp): LoggedRequest[] {
    return this.requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path.startsWith(path) : path.test(r.path)));
  }

  // ---- serving ----------------------------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', this.url);
    let path = u.pathname;
    let apiBase = this.url;
    if (path.startsWith('/api/v3/') || path === '/api/v3') {
      path = path.slice('/api/v3'.length) || '/';
      apiBase = `${this.url}/api/v3`;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const query = Object.fromEntries(u.searchParams);
    const entry: LoggedRequest = { method, path, query, status: 0, as: null, at: Date.now() };
    this.requests.push(entry);
    res.on('finish', () => (entry.status = res.statusCode));

    const fault = this.matchFault(method, path);
    if (fault) {
      // Drain the body so the client sees the response rather than a reset.
      req.resume();
      return this.sendFault(res, fault);
    }

    const git = /^\/([^/]+)\/([^/]+?)\.git(\/.*)$/.exec(path);
    if (git) return this.serveGit(req, res, `${git[1]}/${git[2]}`, git[3]!, u.search.slice(1), entry);

    const raw = await readBody(req);
    let body: unknown = undefined;
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return void json(res, 400, { message: 'Problems parsing JSON' });
      }
    }
    entry.body = body;
    const auth = this.authenticate(req.headers.authorization);
    entry.as = auth.as;
    // Like GitHub: every answer to a request made with a classic or OAuth token lists its scopes (and expiry).
    const tokenHeaders: Record<string, string> = {};
    const cred = /^(?:token|bearer)\s+(.+)$/i.exec(req.headers.authorization?.trim() ?? '')?.[1];
    if (cred && this.tokens.has(cred)) {
      const scopes = this.tokenScopes.has(cred) ? this.tokenScopes.get(cred)! : 'repo';
      if (scopes !== null) tokenHeaders['x-oauth-scopes'] = scopes;
      const exp = this.tokenExpiry.get(cred);
      if (exp) tokenHeaders['github-authentication-token-expiration'] = exp;
    }
    const send = (status: number, data?: unknown, headers: Record<string, string> = {}) =>
      json(res, status, data, { ...this.rateHeaders(), ...tokenHeaders, ...headers });
    for (const r of this.routes) {
      if (r.method !== method) continue;
      const m = r.pattern.exec(path);
      if (!m) continue;
      const params = Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1]!)]));
      const open = path === '/rate_limit' || path === '/credentials/revoke' || path.startsWith('/app') || path === '/meta';
      if (auth.invalid || (!open && this.tokens.size > 0 && !auth.as)) {
        return send(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
      }
      if (!open) this.rateRemaining = Math.max(0, this.rateRemaining - 1);
      await r.handler({ req, res, method, path, query: u.searchParams, params, body, as: auth.as, apiBase, send });
      return;
    }
    send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
  }

  private matchFault(method: string, path: string): Fault | undefined {
    for (const f of this.faults) {
      if (f.method && f.method.toUpperCase() !== method) continue;
      if (typeof f.path === 'string' ? !path.startsWith(f.path) : !f.path.test(path)) continue;
      f.hits++;
      if (f.hits <= (f.after ?? 0)) continue;
      if (f.fired >= (f.times ?? 1)) continue;
      f.fired++;
      return f;
    }
    return undefined;
  }

  private sendFault(res: http.ServerResponse, f: Fault): void {
    const wait = f.retryAfter ?? 1;
    if (f.kind === 'secondary-rate-limit') {
      json(res, 403, { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' }, { 'retry-after': String(wait) });
    } else if (f.kind === 'primary-rate-limit') {
      json(res, 403, { message: 'API rate limit exceeded for installation.' }, {
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-used': '5000',
        'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000 + wait)),
      });
    } else {
      json(res, f.status ?? 502, { message: f.status === 404 ? 'Not Found' : 'Server Error' });
    }
  }

  private rateHeaders(): Record<string, string> {
    return {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(this.rateRemaining),
      'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 3600),
    };
  }

  private authenticate(header: string | undefined): { as: string | null; invalid: boolean; jwtApp?: number } {
    if (!header) return { as: null, invalid: false };
    const m = /^(token|bearer)\s+(.+)$/i.exec(header.trim());
    if (!m) return { as: null, invalid: true };
    const cred = m[2]!;
    const login = this.tokens.get(cred);
    if (login) return { as: login, invalid: false };
    const inst = this.installationTokens.get(cred);
    if (inst !== undefined) return { as: `installation:${inst}`, invalid: false };
    if (cred.split('.').length === 3 && this.appKey) {
      const app = this.verifyJwt(cred);
      return app === null ? { as: null, invalid: true } : { as: `app:${app}`, invalid: false, jwtApp: app };
    }
    return { as: null, invalid: true };
  }

  /** RS256 app JWT: signature with the app's public key, iss = app id, iat/exp in range. Returns the app id. */
  private verifyJwt(jwt: string): number | null {
    const [h, p, s] = jwt.split('.') as [string, string, string];
    try {
      const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string };
      if (header.alg !== 'RS256' || !this.appKey) return null;
      if (!cryptoVerify('RSA-SHA256', Buffer.from(`${h}.${p}`), this.appKey, Buffer.from(s, 'base64url'))) return null;
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { iss?: unknown; iat?: number; exp?: number };
      const now = Date.now() / 1000;
      if (String(claims.iss) !== String(this.opts.app?.id)) return null;
      if (typeof claims.exp !== 'number' || claims.exp < now || typeof claims.iat !== 'number' || claims.iat > now + 60) return null;
      if (claims.exp - claims.iat > 660) return null;
      return this.opts.app!.id;
    } catch {
      return null;
    }
  }

  private serveGit(req: http.IncomingMessage, res: http.ServerResponse, fullName: string, rest: string, qs: string, entry: LoggedRequest): void {
    const repo = this.repos.get(fullName);
    if (!repo || !repo.gitDir) {
      req.resume();
      return void text(res, 404, 'Repository not found.');
    }
    if (rest.includes('git-receive-pack') || qs.includes('git-receive-pack')) {
      req.resume();
      return void text(res, 403, 'read-only fake');
    }
    if (this.tokens.size > 0 || this.installationTokens.size > 0) {
      const m = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
      const [user, pass] = m ? Buffer.from(m[1]!, 'base64').toString().split(/:(.*)/s) : [];
      const who = pass ? (this.tokens.get(pass) ?? (this.installationTokens.has(pass) ? `installation:${this.installationTokens.get(pass)}` : undefined)) : undefined;
      if (user !== 'x-access-token' || !who) {
        req.resume();
        return void text(res, 401, 'Authentication required', { 'www-authenticate': 'Basic realm="fake-github"' });
      }
      entry.as = who;
    }
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_PROJECT_ROOT: dirname(repo.gitDir),
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: `/${basename(repo.gitDir)}${rest}`,
        REQUEST_METHOD: req.method ?? 'GET',
        QUERY_STRING: qs,
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) } : {}),
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
        REMOTE_ADDR: '127.0.0.1',
        REMOTE_USER: 'x-access-token',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    req.pipe(child.stdin);
    child.stdin.on('error', () => {});
    res.on('close', () => child.exitCode === null && child.kill());
    let head = Buffer.alloc(0);
    let headerDone = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headerDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      let end = head.indexOf('\r\n\r\n');
      let sep = 4;
      if (end < 0) {
        end = head.indexOf('\n\n');
        sep = 2;
      }
      if (end < 0) return;
      headerDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number.parseInt(v, 10);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + sep));
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      if (!headerDone) text(res, 500, `git http-backend failed (${code}): ${stderr}`);
      else res.end();
    });
  }

  // ---- routes -----------------------------------------------------------------------------------------------

  /** Adds a route; `:name` segments become params. Later engineers extend the fake through this. */
  route(method: string, path: string, handler: Handler): void {
    const keys: string[] = [];
    const pattern = new RegExp(
      '^' +
        path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:([a-z_]+)(\\\*)?/gi, (_m, k: string, star?: string) => {
          keys.push(k);
          return star ? '(.+)' : '([^/]+)';
        }) +
        '/?$',
    );
    this.routes.push({ method, pattern, keys, handler });
  }

  private repoOr404(c: Ctx): FakeRepo | undefined {
    const repo = this.repos.get(`${c.params.owner}/${c.params.repo}`);
    if (!repo) c.send(404, { message: 'Not Found' });
    return repo;
  }

  repoJson(r: FakeRepo): Record<string, unknown> {
    return {
      id: r.id,
      node_id: `R_${r.id}`,
      name: r.name,
      full_name: r.fullName,
      owner: { login: r.owner, type: 'Organization' },
      private: r.private,
      visibility: r.private ? 'private' : 'public',
      fork: r.fork,
      archived: r.archived,
      disabled: false,
      default_branch: r.defaultBranch,
      size: r.size,
      pushed_at: this.pushedAt(r),
      clone_url: r.apiCloneUrl ?? this.cloneUrl(r.fullName),
      html_url: `${this.url}/${r.fullName}`,
      url: `${this.url}/repos/${r.fullName}`,
    };
  }

  /** Like GitHub's pushed_at: the newest ref update of the served bare repo (loose refs or packed-refs mtime). */
  pushedAt(r: FakeRepo): string | null {
    if (!r.gitDir) return null;
    let newest = 0;
    const visit = (p: string) => {
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) return;
      if (st.isDirectory()) for (const e of readdirSync(p)) visit(join(p, e));
      else newest = Math.max(newest, st.mtimeMs);
    };
    visit(join(r.gitDir, 'refs'));
    visit(join(r.gitDir, 'packed-refs'));
    return newest ? new Date(newest).toISOString() : null;
  }

  private issueJson(i: FakeIssue): Record<string, unknown> {
    return {
      id: i.number + 100000,
      number: i.number,
      title: i.title,
      body: i.body,
      state: i.state,
      state_reason: i.state_reason,
      labels: i.labels.map((name) => ({ name })),
      assignees: i.assignees.map((login) => ({ login })),
      assignee: i.assignees[0] ? { login: i.assignees[0] } : null,
      user: { login: i.user },
      comments: i.comments.length,
      created_at: i.created_at,
      updated_at: i.updated_at,
      closed_at: i.closed_at,
      html_url: `${this.url}/${i.repo}/issues/${i.number}`,
      url: `${this.url}/repos/${i.repo}/issues/${i.number}`,
    };
  }

  private paginate(c: Ctx, items: unknown[]): void {
    const perPage = Math.min(100, Math.max(1, Number(c.query.get('per_page') ?? 30)));
    const page = Math.max(1, Number(c.query.get('page') ?? 1));
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const links: string[] = [];
    const link = (p: number, rel: string) => {
      const q = new URLSearchParams(c.query);
      q.set('page', String(p));
      q.set('per_page', String(perPage));
      links.push(`<${c.apiBase}${c.path}?${q}>; rel="${rel}"`);
    };
    if (page < last) {
      link(page + 1, 'next');
      link(last, 'last');
    }
    if (page > 1) {
      link(1, 'first');
      link(page - 1, 'prev');
    }
    c.send(200, items.slice((page - 1) * perPage, page * perPage), links.length ? { link: links.join(', ') } : {});
  }

  private canAssign(repo: string, login: string): boolean {
    return this.assignable.get(repo)?.has(login) ?? false;
  }

  private installRoutes(): void {
    const now = () => new Date().toISOString();

    this.route('GET', '/rate_limit', (c) => {
      const core = { limit: 5000, used: 5000 - this.rateRemaining, remaining: this.rateRemaining, reset: Math.ceil(Date.now() / 1000) + 3600 };
      c.send(200, { resources: { core }, rate: core });
    });

    this.route('GET', '/orgs/:org/repos', (c) => {
      const org = c.params.org!.toLowerCase();
      if (!this.orgs.has(org) && ![...this.repos.values()].some((r) => r.owner.toLowerCase() === org)) return c.send(404, { message: 'Not Found' });
      const type = c.query.get('type') ?? 'all';
      const repos = [...this.repos.values()]
        .filter((r) => r.owner.toLowerCase() === c.params.org!.toLowerCase())
        .filter((r) => (type === 'forks' ? r.fork : type === 'sources' ? !r.fork : type === 'private' ? r.private : type === 'public' ? !r.private : true))
        .sort((a, b) => a.id - b.id);
      this.paginate(c, repos.map((r) => this.repoJson(r)));
    });

    this.route('GET', '/repos/:owner/:repo', (c) => {
      const repo = this.repoOr404(c);
      if (repo) c.send(200, this.repoJson(repo));
    });

    this.route('GET', '/installation/repositories', (c) => {
      const m = /^installation:(\d+)$/.exec(c.as ?? '');
      const inst = m ? this.installations.get(Number(m[1])) : undefined;
      if (!inst) return c.send(403, { message: 'This endpoint requires an installation token' });
      const repos = [...this.repos.values()]
        .filter((r) => (inst.repositories === 'all' ? r.owner === inst.account : inst.repositories.includes(r.fullName)))
        .sort((a, b) => a.id - b.id)
        .map((r) => this.repoJson(r));
      // Paginated like GitHub: the array sits under `repositories`.
      const perPage = Math.min(100, Number(c.query.get('per_page') ?? 30));
      const page = Math.max(1, Number(c.query.get('page') ?? 1));
      const last = Math.max(1, Math.ceil(repos.length / perPage));
      const q = new URLSearchParams(c.query);
      q.set('per_page', String(perPage));
      const headers: Record<string, string> = {};
      if (page < last) {
        q.set('page', String(page + 1));
        headers.link = `<${c.apiBase}${c.path}?${q}>; rel="next"`;
      }
      c.send(200, { total_count: repos.length, repositories: repos.slice((page - 1) * perPage, page * perPage) }, headers);
    });

    this.route('GET', '/repos/:owner/:repo/commits/:ref', async (c) => {
      const repo = this.repoOr404(c);
      if (!repo) return;
      if (!repo.gitDir) return c.send(409, { message: 'Git Repository is empty.' });
      const out = await gitOut(repo.gitDir, ['log', '-1', '--format=%H%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B', c.params.ref!, '--']).catch(() => null);
      if (!out) return c.send(422, { message: `No commit found for SHA: ${c.params.ref}` });
      const [sha, an, ae, ad, cn, ce, cd, msg] = out.split('\0');
      const user = (email: string) => {
        const login = this.emails.get(email.toLowerCase());
        return login ? { login, id: this.users.get(login)?.id ?? 0, type: 'User' } : null;
      };
      c.send(200, {
        sha,
        commit: { author: { name: an, email: ae, date: ad }, committer: { name: cn, email: ce, date: cd }, message: msg?.trimEnd() },
        author: user(ae!),
        committer: user(ce!),
        html_url: `${this.url}/${repo.fullName}/commit/${sha}`,
      });
    });

    this.route('GET', '/repos/:owner/:repo/contents/:path*', async (c) => {
      const repo = this.repoOr404(c);
      if (!repo) return;
      const ref = c.query.get('ref') ?? repo.defaultBranch;
      const content = repo.gitDir ? await gitOut(repo.gitDir, ['show', `${ref}:${c.params.path}`]).catch(() => null) : null;
      if (content === null) return c.send(404, { message: 'Not Found' });
      c.send(200, { type: 'file', path: c.params.path, encoding: 'base64', content: Buffer.from(content).toString('base64') });
    });

    // ---- issues
    this.route('GET', '/repos/:owner/:repo/issues', (c) => {
      const repo = this.repoOr404(c);
      if (!repo) return;
      const state = c.query.get('state') ?? 'open';
      const labels = (c.query.get('labels') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      const items = this.issues
        .filter((i) => i.repo === repo.fullName)
        .filter((i) => state === 'all' || i.state === state)
        .filter((i) => labels.every((l) => i.labels.includes(l)))
        .sort((a, b) => b.number - a.number);
      this.paginate(c, items.map((i) => this.issueJson(i)));
    });

    this.route('POST', '/repos/:owner/:repo/issues', (c) => {
      const repo = this.repoOr404(c);
      if (!repo) return;
      const b = (c.body ?? {}) as { title?: string; body?: string; labels?: Array<string | { name: string }>; assignees?: string[]; assignee?: string };
      if (!b.title) return c.send(422, { message: 'Validation Failed', errors: [{ resource: 'Issue', field: 'title', code: 'missing_field' }] });
      const assignees = [...(b.assignees ?? []), ...(b.assignee ? [b.assignee] : [])];
      const bad = assignees.filter((a) => !this.canAssign(repo.fullName, a));
      if (bad.length) return c.send(422, { message: 'Validation Failed', errors: [{ resource: 'Issue', field: 'assignees', code: 'invalid', value: bad }] });
      const number = (this.issueCounters.get(repo.fullName) ?? 0) + 1;
      this.issueCounters.set(repo.fullName, number);
      const labels = (b.labels ?? []).map((l) => (typeof l === 'string' ? l : l.name));
      for (const l of labels) this.ensureLabel(repo.fullName, l);
      const t = now();
      const issue: FakeIssue = {
        repo: repo.fullName,
        number,
        title: b.title,
        body: b.body ?? '',
        labels,
        assignees,
        state: 'open',
        state_reason: null,
        user: c.as ?? 'anonymous',
        comments: [],
        created_at: t,
        updated_at: t,
        closed_at: null,
      };
      this.issues.push(issue);
      c.send(201, this.issueJson(issue));
    });

    const findIssue = (c: Ctx): FakeIssue | undefined => {
      const repo = this.repoOr404(c);
      if (!repo) return undefined;
      const issue = this.issues.find((i) => i.repo === repo.fullName && i.number === Number(c.params.number));
      if (!issue) c.send(404, { message: 'Not Found' });
      return issue;
    };

    this.route('GET', '/repos/:owner/:repo/issues/:number', (c) => {
      const issue = findIssue(c);
      if (issue) c.send(200, this.issueJson(issue));
    });

    this.route('PATCH', '/repos/:owner/:repo/issues/:number', (c) => {
      const issue = findIssue(c);
      if (!issue) return;
      const b = (c.body ?? {}) as Partial<{ title: string; body: string; state: 'open' | 'closed'; state_reason: string | null; labels: Array<string | { name: string }>; assignees: string[] }>;
      if (b.assignees) {
        const bad = b.assignees.filter((a) => !this.canAssign(issue.repo, a));
        if (bad.length) return c.send(422, { message: 'Validation Failed', errors: [{ resource: 'Issue', field: 'assignees', code: 'invalid', value: bad }] });
        issue.assignees = b.assignees;
      }
      if (b.title !== undefined) issue.title = b.title;
      if (b.body !== undefined) issue.body = b.body;
      if (b.labels) issue.labels = b.labels.map((l) => (typeof l === 'string' ? l : l.name));
      if (b.state && b.state !== issue.state) {
        issue.state = b.state;
        issue.closed_at = b.state === 'closed' ? now() : null;
        issue.state_reason = b.state === 'closed' ? (b.state_reason ?? 'completed') : (b.state_reason ?? 'reopened');
      } else if (b.state_reason !== undefined) issue.state_reason = b.state_reason;
      issue.updated_at = now();
      c.send(200, this.issueJson(issue));
    });

    this.route('GET', '/repos/:owner/:repo/issues/:number/comments', (c) => {
      const issue = findIssue(c);
      if (issue) this.paginate(c, issue.comments.map((x) => ({ ...x, user: { login: x.user } })));
    });

    this.route('POST', '/repos/:owner/:repo/issues/:number/comments', (c) => {
      const issue = findIssue(c);
      if (!issue) return;
      const body = (c.body as { body?: string } | undefined)?.body;
      if (!body) return c.send(422, { message: 'Validation Failed' });
      const comment: FakeComment = { id: this.nextId++, body, user: c.as ?? 'anonymous', created_at: now() };
      issue.comments.push(comment);
      issue.updated_at = comment.created_at;
      c.send(201, { ...comment, user: { login: comment.user } });
    });

    this.route('POST', '/repos/:owner/:repo/issues/:number/assignees', (c) => {
      const issue = findIssue(c);
      if (!issue) return;
      // Like GitHub: logins that cannot be assigned are silently ignored here.
      const add = ((c.body as { assignees?: string[] } | undefined)?.assignees ?? []).filter((a) => this.canAssign(issue.repo, a));
      issue.assignees = [...new Set([...issue.assignees, ...add])];
      c.send(201, this.issueJson(issue));
    });

    this.route('GET', '/repos/:owner/:repo/assignees/:login', (c) => {
      const repo = this.repoOr404(c);
      if (repo) c.send(this.canAssign(repo.fullName, c.params.login!) ? 204 : 404, this.canAssign(repo.fullName, c.params.login!) ? undefined : { message: 'Not Found' });
    });

    // ---- labels
    this.route('GET', '/repos/:owner/:repo/labels', (c) => {
      const repo = this.repoOr404(c);
      if (repo) this.paginate(c, this.labels.get(repo.fullName) ?? []);
    });
    this.route('GET', '/repos/:owner/:repo/labels/:name', (c) => {
      const repo = this.repoOr404(c);
      if (!repo) return;
      const l = (this.labels.get(repo.fullName) ?? []).find((x) => x.name === c.params.name);
      c.send(l ? 200 : 404, l ?? { message: 'Not Found' });
    });
    this.route('POST', '/repos/:owner/:repo/labels', (c) => {
      const repo = this.repoOr404(c);
      if (!repo) return;
      const b = (c.body ?? {}) as { name?: string; color?: string; description?: string };
      if (!b.name) return c.send(422, { message: 'Validation Failed' });
      if ((this.labels.get(repo.fullName) ?? []).some((x) => x.name === b.name)) {
        return c.send(422, { message: 'Validation Failed', errors: [{ resource: 'Label', code: 'already_exists', field: 'name' }] });
      }
      c.send(201, this.ensureLabel(repo.fullName, b.name, b.color, b.description));
    });

    // ---- check runs
    this.route('POST', '/repos/:owner/:repo/check-runs', (c) => {
      const repo = this.repoOr404(c);
      if (!repo) return;
      const b = (c.body ?? {}) as Record<string, unknown>;
      if (typeof b.name !== 'string' || typeof b.head_sha !== 'string' || !b.name || !b.head_sha) return c.send(422, { message: 'Validation Failed' });
      const run: FakeCheckRun = { status: 'queued', conclusion: null, output: null, ...b, id: this.nextId++, repo: repo.fullName, name: b.name, head_sha: b.head_sha };
      this.checkRuns.push(run);
      c.send(201, run);
    });
    this.route('PATCH', '/repos/:owner/:repo/check-runs/:id', (c) => {
      const run = this.checkRuns.find((r) => r.id === Number(c.params.id) && r.repo === `${c.params.owner}/${c.params.repo}`);
      if (!run) return c.send(404, { message: 'Not Found' });
      Object.assign(run, c.body ?? {}, { id: run.id, repo: run.repo });
      c.send(200, run);
    });

    // ---- credentials, users, members
    this.route('POST', '/credentials/revoke', (c) => {
      // GitHub requires this call to be unauthenticated.
      if (c.req.headers.authorization) return c.send(403, { message: 'Must not be authenticated' });
      const creds = (c.body as { credentials?: string[] } | undefined)?.credentials;
      if (!Array.isArray(creds) || creds.length === 0 || creds.length > 1000) return c.send(422, { message: 'Validation Failed' });
      this.revoked.push(...creds);
      for (const t of creds) this.tokens.delete(t);
      c.send(202, {});
    });

    this.route('GET', '/user', (c) => {
      const login = c.as && !c.as.includes(':') ? c.as : null;
      if (!login) return c.send(c.as ? 403 : 401, { message: c.as ? 'Resource not accessible by integration' : 'Requires authentication' });
      this.addUser(login);
      c.send(200, { ...this.users.get(login)!, site_admin: false });
    });
    this.route('GET', '/user/orgs', (c) => {
      const login = c.as && !c.as.includes(':') ? c.as : null;
      if (!login) return c.send(c.as ? 403 : 401, { message: c.as ? 'Resource not accessible by integration' : 'Requires authentication' });
      const orgs = [...this.members.entries()].filter(([, m]) => m.has(login)).map(([org]) => org).sort();
      this.paginate(c, orgs.map((org, i) => ({ login: org, id: 5000 + i, url: `${c.apiBase}/orgs/${org}`, description: null })));
    });
    this.route('GET', '/user/repos', (c) => {
      const login = c.as && !c.as.includes(':') ? c.as : null;
      if (!login) return c.send(c.as ? 403 : 401, { message: c.as ? 'Resource not accessible by integration' : 'Requires authentication' });
      // a fine-grained token reaches its resource owner's repositories only
      const fine = this.fineGrained.get(/^(?:token|bearer)\s+(.+)$/i.exec(c.req.headers.authorization?.trim() ?? '')?.[1] ?? '');
      const repos = [...this.repos.values()]
        .filter((r) => !fine || r.owner.toLowerCase() === fine.resourceOwner.toLowerCase())
        .map((r) => ({ r, role: this.roleOf(r, login) }))
        .filter((x): x is { r: FakeRepo; role: RepoRole } => x.role !== null)
        .sort((a, b) => a.r.fullName.localeCompare(b.r.fullName));
      const at = (role: RepoRole, min: RepoRole) => ROLE_ORDER.indexOf(role) >= ROLE_ORDER.indexOf(min);
      this.paginate(
        c,
        repos.map(({ r, role }) => ({
          ...this.repoJson(r),
          permissions: { admin: at(role, 'admin'), maintain: at(role, 'maintain'), push: at(role, 'push'), triage: at(role, 'triage'), pull: true },
        })),
      );
    });
    this.route('GET', '/users/:login', (c) => {
      const u = this.users.get(c.params.login!);
      c.send(u ? 200 : 404, u ?? { message: 'Not Found' });
    });
    this.route('GET', '/user/:id', (c) => {
      const u = [...this.users.values()].find((x) => x.id === Number(c.params.id));
      c.send(u ? 200 : 404, u ?? { message: 'Not Found' });
    });
    this.route('GET', '/orgs/:org/members/:login', (c) => {
      const ok = this.members.get(c.params.org!)?.has(c.params.login!) ?? false;
      c.send(ok ? 204 : 404, ok ? undefined : { message: 'Not Found' });
    });

    // List fine-grained personal access tokens with access to organization resources: only a GitHub App installed
    // on the organization with "Personal access tokens" (read); times as the reference's example writes them.
    this.route('GET', '/orgs/:org/personal-access-tokens', (c) => {
      const m = /^installation:(\d+)$/.exec(c.as ?? '');
      const inst = m ? this.installations.get(Number(m[1])) : undefined;
      if (!inst) return c.send(403, { message: 'Resource not accessible by personal access token' });
      if (inst.account.toLowerCase() !== c.params.org!.toLowerCase() || inst.permissions?.organization_personal_access_tokens !== 'read')
        return c.send(403, { message: 'Resource not accessible by integration' });
      const pacific = (iso: string | null) => (iso === null ? null : new Date(Date.parse(iso) - 7 * 3600_000).toISOString().replace('Z', '-07:00'));
      const grants = [...this.fineGrained.entries()]
        .filter(([, t]) => t.resourceOwner.toLowerCase() === inst.account.toLowerCase())
        .map(([token, t], i) => {
          const owner = this.users.get(this.tokens.get(token)!)!;
          return {
            id: 25381 + i,
            owner: { login: owner.login, id: owner.id, type: 'User', site_admin: false },
            repository_selection: 'all',
            repositories_url: `${c.apiBase}/organizations/652551/personal-access-tokens/${25381 + i}/repositories`,
            permissions: { organization: { members: 'read' }, repository: { metadata: 'read' } },
            access_granted_at: '2024-05-16T08:47:09.000-07:00',
            token_id: 9000 + i,
            token_name: t.name,
            token_expired: t.expiresAt !== null && Date.parse(t.expiresAt) < Date.now(),
            token_expires_at: pacific(t.expiresAt),
            token_last_used_at: pacific(t.lastUsedAt),
          };
        });
      this.paginate(c, grants);
    });

    // ---- GitHub App
    this.route('GET', '/app', (c) => {
      if (!c.as?.startsWith('app:')) return c.send(401, { message: 'A JSON web token could not be decoded' });
      c.send(200, { id: this.opts.app!.id, slug: this.opts.app!.slug ?? 'keyloop', name: 'keyloop' });
    });
    this.route('GET', '/app/installations', (c) => {
      if (!c.as?.startsWith('app:')) return c.send(401, { message: 'A JSON web token could not be decoded' });
      this.paginate(c, [...this.installations.values()].map((i) => ({ id: i.id, account: { login: i.account } })));
    });
    this.route('POST', '/app/installations/:id/access_tokens', (c) => {
      if (!c.as?.startsWith('app:')) return c.send(401, { message: 'A JSON web token could not be decoded' });
      const inst = this.installations.get(Number(c.params.id));
      if (!inst) return c.send(404, { message: 'Not Found' });
      const token = `ghs_fake${inst.id}x${this.nextId++}`;
      this.installationTokens.set(token, inst.id);
      c.send(201, {
        token,
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
        permissions: { contents: 'read', issues: 'write', metadata: 'read', checks: 'write' },
        repository_selection: inst.repositories === 'all' ? 'all' : 'selected',
      });
    });
  }

  ensureLabel(repo: string, name: string, color = 'ededed', description: string | null = null): FakeLabel {
    const list = this.labels.get(repo) ?? [];
    let l = list.find((x) => x.name === name);
    if (!l) {
      l = { name, color, description };
      list.push(l);
      this.labels.set(repo, list);
    }
    return l;
  }
}

export async function startFakeGitHub(opts: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  return new FakeGitHub(opts).listen();
}

function json(res: http.ServerResponse, status: number, data?: unknown, headers: Record<string, string> = {}): void {
  if (status === 204 || data === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const body = JSON.stringify(data);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

function text(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain', ...headers });
  res.end(body);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function gitOut(gitDir: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('git', ['--git-dir', gitDir, ...args], { maxBuffer: 64 * 1024 * 1024 }, (err: Error | null, stdout: string) => (err ? reject(err) : resolve(stdout))),
  );
}
