// Wires the issue loop into the end of a `keyloop org` run (OrgCommandDeps.afterScan) and into `keyloop issues`.
import { resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import type { Clock } from '../core/ports.js';
import { systemClock } from '../core/ports.js';
import type { Catalog } from '../detection/types.js';
import { createGitHubClient } from '../adapters/github/client.js';
import { GitHubIssueTracker } from '../adapters/github/issue-tracker.js';
import type { AfterScanContext } from '../sources/github-org.js';
import type { Store } from '../store/sqlite.js';
import type { Logger } from '../util/logger.js';
import type { SecretRegistry } from '../util/redact.js';
import { createVerifier } from '../verification/verify.js';
import type { FetchLike } from '../verification/http-client.js';
import { parseLoopConfig } from './config.js';
import { catalogReverify, runIssueLoop, type LoopResult } from './run.js';

export interface IssueLoopSetup {
  config: LoadedConfig;
  catalog: Catalog;
  /** GitHub API base URL (issues, commits API, revocation). */
  githubUrl: string;
  token?: string;
  registry: SecretRegistry;
  logger: Logger;
  dryRun?: boolean;
  /** Re-verify open secrets (default true). */
  verify?: boolean;
  clock?: Clock;
  /** Test knobs for the GitHub client. */
  client?: { throttle?: boolean; retryAfterBaseValue?: number };
  fetch?: FetchLike;
  /** Where --dry-run lines go. */
  print?: (line: string) => void;
}

/** Verifier base URLs as `keyloop scan` builds them: `issuers.<id>.baseUrl`, and GitHub tokens at the GitHub API. */
function baseUrls(config: LoadedConfig, githubUrl: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, o] of Object.entries(config.issuers)) out[id] = o.baseUrl;
  if (!out.github && githubUrl !== 'https://api.github.com') out.github = githubUrl;
  return out;
}

export async function runLoopOnStore(store: Store, setup: IssueLoopSetup, extra: { runId?: number; verifiedSince?: string; repos?: string[] } = {}): Promise<LoopResult> {
  const loopConfig = parseLoopConfig(setup.config, setup.config.source ?? '.keyloop.yaml');
  const clock = setup.clock ?? systemClock;
  const octokit = createGitHubClient({ baseUrl: setup.githubUrl, token: setup.token, logger: setup.logger, ...setup.client });
  const anonymous = createGitHubClient({ baseUrl: setup.githubUrl, logger: setup.logger, retries: 0, ...setup.client });
  const tracker = new GitHubIssueTracker({ octokit, baseUrl: setup.githubUrl, anonymous });
  const verifier =
    setup.verify === false
      ? null
      : createVerifier({
          baseUrls: baseUrls(setup.config, setup.githubUrl),
          timeoutMs: setup.config.verify.timeoutMs,
          registry: setup.registry,
          logger: setup.logger,
          clock,
          ...(setup.fetch ? { fetch: setup.fetch } : {}),
        });
  const result = await runIssueLoop({
    store,
    tracker,
    config: loopConfig,
    clock,
    registry: setup.registry,
    logger: setup.logger,
    ...(verifier ? { reverify: catalogReverify(verifier, setup.catalog) } : {}),
    catalog: setup.catalog,
    dryRun: setup.dryRun ?? false,
    ...extra,
  });
  if (setup.dryRun && setup.print) for (const l of result.lines) setup.print(l);
  return result;
}

/** `afterScan` for scanOrg: the loop over the repos of this run, after the scan has stored its findings. */
export function issueLoopAfterScan(setup: IssueLoopSetup & { startedAt?: string }): (ctx: AfterScanContext) => Promise<void> {
  return async (ctx) => {
    const result = await runLoopOnStore(ctx.store, { ...setup, logger: ctx.logger ?? setup.logger }, {
      runId: ctx.runId,
      repos: ctx.repos.map((r) => r.fullName),
      ...(setup.startedAt ? { verifiedSince: setup.startedAt } : {}),
    });
    const failed = result.executed.filter((e) => !e.ok).length;
    ctx.logger.info(`issue loop: ${result.actions.length} action(s), ${result.reverified} secret(s) re-verified${failed ? `, ${failed} failed` : ''}`);
  };
}

/**
 * The afterScan hook as the `keyloop org` command builds it from its own flags (config file, detectors,
 * GitHub URL/token, --dry-run): `orgCommand(opts, ctx, { afterScan: await orgIssueLoop(opts, ctx) })`.
 */
export async function orgIssueLoop(
  opts: { config?: string; detectors?: string; githubUrl?: string; token?: string; dryRun?: boolean; verify?: boolean; issues?: boolean },
  ctx: { cwd: string; env: Record<string, string | undefined>; stdout: { write(s: string): unknown }; stderr: { write(s: string): unknown } },
  knobs: { client?: IssueLoopSetup['client']; clock?: Clock } = {},
): Promise<((ctx: AfterScanContext) => Promise<void>) | undefined> {
  const { loadConfig } = await import('../config/load.js');
  const { defaultDetectorsDir, loadCatalog } = await import('../detection/load.js');
  const { resolveGitHubUrl, resolveToken } = await import('../adapters/github/client.js');
  const { createLogger } = await import('../util/logger.js');
  const { SecretRegistry } = await import('../util/redact.js');
  const config = loadConfig({ root: ctx.cwd, explicit: opts.config ? resolve(ctx.cwd, opts.config) : undefined, env: ctx.env });
  // The loop runs after every org run once the config has an `issues:` section (where issues go, who is
  // assigned) and `issues.enabled` is not false; --issues / --dry-run turn it on without one, --no-issues turns it off.
  const enabled = opts.issues ?? (opts.dryRun || (config.issues !== undefined && config.loop.issues.enabled));
  if (!enabled) return undefined;
  const registry = new SecretRegistry();
  const token = resolveToken(opts.token, ctx.env);
  if (token) registry.add(token);
  const clock = knobs.clock ?? systemClock;
  return issueLoopAfterScan({
    config,
    catalog: loadCatalog(opts.detectors ? resolve(ctx.cwd, opts.detectors) : defaultDetectorsDir()),
    githubUrl: resolveGitHubUrl(opts.githubUrl, ctx.env),
    ...(token ? { token } : {}),
    registry,
    logger: createLogger({ registry, write: (l) => ctx.stderr.write(l + '\n') }),
    dryRun: opts.dryRun ?? false,
    verify: opts.verify ?? true,
    clock,
    startedAt: clock.now().toISOString(),
    print: (l) => ctx.stdout.write(`would ${l}\n`),
    ...(knobs.client ? { client: knobs.client } : {}),
  });
}
