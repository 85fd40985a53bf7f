// GitHub App authentication: the app JWT (octokit's App), installation tokens cached until just before they expire,
// and installation-authenticated clients. Credentials come from APP_ID + PRIVATE_KEY or PRIVATE_KEY_PATH.
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { resolve } from 'node:path';
import { App, Octokit } from 'octokit';
import { z } from 'zod';
import { ConfigError, HostError } from '../../core/errors.js';
import { systemClock, type Clock } from '../../core/ports.js';
import { silentLogger, type Logger } from '../../util/logger.js';
import { createGitHubClient, hostError, type GitHubClient, type GitHubClientOptions } from './client.js';

export interface AppCredentials {
  appId: number;
  privateKey: string;
  webhookSecret: string;
}

/** Reads APP_ID, PRIVATE_KEY (PEM, `\n` escapes allowed) or PRIVATE_KEY_PATH, and WEBHOOK_SECRET. */
/** `webhook: false`: a process that takes push jobs but receives no webhook (a worker) needs no WEBHOOK_SECRET. */
export function appCredentialsFromEnv(env: Record<string, string | undefined>, cwd = process.cwd(), opts: { webhook?: boolean } = {}): AppCredentials {
  const appId = Number(env.APP_ID);
  if (!env.APP_ID || !Number.isInteger(appId) || appId <= 0) throw new ConfigError('set APP_ID to the GitHub App id (a positive integer)', 'APP_ID');
  let pem = env.PRIVATE_KEY;
  if (!pem && env.PRIVATE_KEY_PATH) {
    try {
      pem = readFileSync(resolve(cwd, env.PRIVATE_KEY_PATH), 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read ${env.PRIVATE_KEY_PATH}: ${(e as Error).message}`, 'PRIVATE_KEY_PATH');
    }
  }
  if (!pem) throw new ConfigError('set PRIVATE_KEY (the App private key, PEM) or PRIVATE_KEY_PATH', 'PRIVATE_KEY');
  // Env files often carry the PEM on one line with literal \n.
  pem = pem.includes('\\n') && !pem.includes('\n') ? pem.replace(/\\n/g, '\n') : pem;
  try {
    createPrivateKey(pem);
  } catch {
    throw new ConfigError('is not a PEM private key', env.PRIVATE_KEY ? 'PRIVATE_KEY' : 'PRIVATE_KEY_PATH');
  }
  const webhookSecret = env.WEBHOOK_SECRET ?? '';
  if (!webhookSecret && opts.webhook !== false) throw new ConfigError('set WEBHOOK_SECRET to the secret configured on the App webhook', 'WEBHOOK_SECRET');
  return { appId, privateKey: pem, webhookSecret };
}

const AccessToken = z.object({ token: z.string().min(1), expires_at: z.string() });

export interface InstallationToken {
  token: string;
  expiresAt: Date;
}

export interface GitHubAppOptions {
  appId: number;
  privateKey: string;
  baseUrl: string;
  clock?: Clock;
  logger?: Logger;
  /** A cached token is replaced this long before it expires (default 5 min): a clone must not outlive it. */
  refreshMarginMs?: number;
  /** Passed to every installation client (retries, throttling; tests turn throttling off). */
  client?: Omit<GitHubClientOptions, 'baseUrl' | 'token'>;
}

export class GitHubApp {
  readonly app: App;
  private readonly clock: Clock;
  private readonly margin: number;
  private readonly tokens = new Map<number, Promise<InstallationToken>>();
  private readonly clients = new Map<number, { token: string; client: GitHubClient }>();

  constructor(private readonly opts: GitHubAppOptions) {
    this.clock = opts.clock ?? systemClock;
    this.margin = opts.refreshMarginMs ?? 5 * 60_000;
    const log = opts.logger ?? silentLogger;
    this.app = new App({
      appId: opts.appId,
      privateKey: opts.privateKey,
      Octokit: Octokit.defaults({
        baseUrl: opts.baseUrl,
        userAgent: 'keyloop',
        log: { debug: () => {}, info: () => {}, warn: (m: string) => log.debug(m), error: (m: string) => log.debug(m) },
        throttle: { enabled: false },
      }),
    });
  }

  /** An installation token, minted on first use and again only when the cached one is about to expire. */
  installationToken(installationId: number): Promise<InstallationToken> {
    const cached = this.tokens.get(installationId);
    if (cached) {
      return cached.then((t) => (t.expiresAt.getTime() - this.margin > this.clock.now().getTime() ? t : this.mint(installationId)));
    }
    return this.mint(installationId);
  }

  private mint(installationId: number): Promise<InstallationToken> {
    // Concurrent deliveries for one installation share one request.
    const p = (async () => {
      let data: unknown;
      try {
        ({ data } = await this.app.octokit.request('POST /app/installations/{installation_id}/access_tokens', { installation_id: installationId }));
      } catch (err) {
        throw hostError(`installation ${installationId} token`, err);
      }
      const parsed = AccessToken.safeParse(data);
      if (!parsed.success) throw new HostError(`installation ${installationId} token: unexpected response from GitHub`);
      const expiresAt = new Date(parsed.data.expires_at);
      if (Number.isNaN(expiresAt.getTime())) throw new HostError(`installation ${installationId} token: bad expires_at`);
      return { token: parsed.data.token, expiresAt };
    })();
    this.tokens.set(installationId, p);
    p.catch(() => {
      if (this.tokens.get(installationId) === p) this.tokens.delete(installationId);
    });
    return p;
  }

  /** A REST client authenticated as the installation (rebuilt when its token is refreshed). */
  async installationClient(installationId: number): Promise<GitHubClient> {
    const { token } = await this.installationToken(installationId);
    const hit = this.clients.get(installationId);
    if (hit && hit.token === token) return hit.client;
    const client = createGitHubClient({ ...this.opts.client, logger: this.opts.client?.logger ?? this.opts.logger, baseUrl: this.opts.baseUrl, token });
    this.clients.set(installationId, { token, client });
    return client;
  }

  /** Installation ids of this App (for `keyloop app` start-up logging and repo registration). */
  async installations(): Promise<number[]> {
    try {
      const list = await this.app.octokit.paginate('GET /app/installations', { per_page: 100 });
      return (list as { id: number }[]).map((i) => i.id);
    } catch (err) {
      throw hostError('list installations', err);
    }
  }
}
