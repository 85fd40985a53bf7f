// Wires the issue loop into the end of a `keyloop org` run (OrgCommandDeps.afterScan) and into `keyloop issues`.
import { resolve } from 'node:path';
import { issuerOverrides, type OperatorConfig } from '../config/normalize.js';
import { escapeControls } from '../util/terminal-safe.js';
import type { Clock } from '../core/ports.js';
import { systemClock } from '../core/ports.js';
import type { Catalog } from '../detection/types.js';
import { createGitHubClient } from '../adapters/github/client.js';
import { GitHubIssueTracker } from '../adapters/github/issue-tracker.js';
import { orgTokenGrants } from '../adapters/github/org-token-grants.js';
import type { AfterScanContext } from '../sources/github-org.js';
import type { Store } from '../core/store.js';
import type { Logger } from '../util/logger.js';
import type { SecretRegistry } from '../util/redact.js';
import { checkIssuerOverrides } from '../verification/net.js';
import { joinUrl } from '../verification/http.js';
import { createVerifier, type VerifierOptions } from '../verification/verify.js';
import type { FetchLike } from '../verification/http-client.js';
import { withOrgTokenLastUse } from './org-token-last-use.js';
import { catalogReverify, runIssueLoop, type LoopResult } from './run.js';

export interface IssueLoopSetup {
  /** Operator config only: a scanned repository's config never reaches the issue loop. */
  config: OperatorConfig;
  catalog: Catalog;
  /** GitHub API base URL (issues, commits API, revocation). */
  githubUrl: string;
  /** Verification base URLs by issuer id (issuerOverrides: flags, then the operator file, then env). */
  issuerUrls?: Record<string, string>;
  /** --allow-insecure-issuers: loopback http issuer URLs (test fakes). */
  allowInsecureIssuers?: boolean;
  token?: string;
  registry: SecretRegistry;
  logger: Logger;
  dryRun?: boolean;
  /** Re-verify open secrets (default true). */
  verify?: boolean;
  /** Ask live keys' issuers what they can do (default: the operator config's verify.reach). */
  reach?: boolean;
  clock?: Clock;
  /** Test knobs for the GitHub client. */
  client?: { throttle?: boolean; retryAfterBaseValue?: number };
  fetch?: FetchLike;
  /** Where --dry-run lines go. */
  print?: (line: string) => void;
}

/**
 * What a verifier takes from the store, the same in the local loop and in a worker's verify jobs: whether to ask a
 * live key's reach, a reach younger than the verify cache TTL kept instead of asked again, every call audited.
 */
export function verifierOnStore(store: Store, o: { reach: boolean; cacheTtlHours: number; clock?: Clock }): Pick<VerifierOptions, 'reach' | 'recentReach' | 'audit'> {
  const clock = o.clock ?? systemClock;
  return {
    reach: o.reach,
    recentReach: (fp) => store.recentReach(fp, new Date(clock.now().getTime() - o.cacheTtlHours * 3600_000).toISOString()),
    audit: store.auditSink(),
  };
}

/** The owners (organizations) of the repositories the store holds, lowercase: whose token lists the loop may read. */
const repoOwners = async (store: Store) => new Set((await store.listRepos()).map((r) => r.fullName.split('/')[0]!.toLowerCase()));

export async function runLoopOnStore(store: Store, setup: IssueLoopSetup, extra: { runId?: number; verifiedSince?: string; repos?: string[]; claimant?: string } = {}): Promise<LoopResult> {
  const loopConfig = setup.config.loop;
  const clock = setup.clock ?? systemClock;
  const octokit = createGitHubClient({ baseUrl: setup.githubUrl, token: setup.token, logger: setup.logger, ...setup.client });
  const anonymous = createGitHubClient({ baseUrl: setup.githubUrl, logger: setup.logger, retries: 0, ...setup.client });
  const tracker = new GitHubIssueTracker({ octokit, baseUrl: setup.githubUrl, anonymous });
  const verifier =
    setup.verify === false
      ? null
      : createVerifier({
          baseUrls: setup.issuerUrls ?? issuerOverrides(setup.config, { env: {} }),
          allowInsecure: !!setup.allowInsecureIssuers,
          timeoutMs: setup.config.verify.timeoutMs,
          registry: setup.registry,
          logger: setup.logger,
          clock,
          ...verifierOnStore(store, { reach: setup.reach ?? setup.config.verify.reach, cacheTtlHours: setup.config.verify.cacheTtlHours, clock }),
          ...(setup.fetch ? { fetch: setup.fetch } : {}),
        });
  const result = await runIssueLoop({
    store,
    tracker,
    config: loopConfig,
    clock,
    registry: setup.registry,
    logger: setup.logger,
    ...(verifier ? { reverify: withOrgTokenLastUse(catalogReverify(verifier, setup.catalog), { list: orgTokenGrants(octokit), orgs: () => repoOwners(store) }) } : {}),
    catalog: setup.catalog,
    dryRun: setup.dryRun ?? false,
    audit: store.auditSink(),
    revokeUrl: joinUrl(setup.githubUrl, '/credentials/revoke'),
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

/** The flags and environment an issue loop is built from (`keyloop org`, `keyloop worker`). */
export interface IssueLoopFlags {
  config?: string;
  detectors?: string;
  githubUrl?: string;
  token?: string;
  dryRun?: boolean;
  verify?: boolean;
  issues?: boolean;
  allowInsecureIssuers?: boolean;
}

type FlagContext = { cwd: string; env: Record<string, string | undefined>; stdout: { write(s: string): unknown }; stderr: { write(s: string): unknown } };

/**
 * The issue loop as a command builds it from its own flags (config file, detectors, GitHub URL/token, --dry-run),
 * and whether it is on: once the config has an `issues:` section (where issues go, who is assigned) and
 * `issues.enabled` is not false; --issues / --dry-run turn it on without one, --no-issues turns it off.
 */
export async function issueLoopFromFlags(
  opts: IssueLoopFlags,
  ctx: FlagContext,
  knobs: { client?: IssueLoopSetup['client']; clock?: Clock; logger?: Logger; registry?: SecretRegistry } = {},
): Promise<{ enabled: boolean; setup: IssueLoopSetup & { startedAt: string } }> {
  const { loadOperatorConfig } = await import('../config/load.js');
  const { defaultDetectorsDir, loadCatalog } = await import('../detection/load.js');
  const { resolveGitHubUrl, resolveToken } = await import('../adapters/github/client.js');
  const { createLogger } = await import('../util/logger.js');
  const { SecretRegistry } = await import('../util/redact.js');
  const config = await loadOperatorConfig({ explicit: opts.config, cwd: ctx.cwd, env: ctx.env });
  const enabled = opts.issues ?? (!!opts.dryRun || (config.issuesSection && config.loop.issues.enabled));
  const issuerUrls = issuerOverrides(config, { flag: opts.githubUrl, env: ctx.env });
  // Refused before the crawl, not after it.
  if (enabled && opts.verify !== false) checkIssuerOverrides(issuerUrls, !!opts.allowInsecureIssuers);
  // One registry with the caller's logger: a secret the loop reveals is scrubbed from every line the process writes.
  const registry = knobs.registry ?? new SecretRegistry();
  const token = resolveToken(opts.token, ctx.env);
  if (token) registry.add(token);
  const clock = knobs.clock ?? systemClock;
  return {
    enabled,
    setup: {
      config,
      catalog: loadCatalog(opts.detectors ? resolve(ctx.cwd, opts.detectors) : defaultDetectorsDir()),
      githubUrl: resolveGitHubUrl(opts.githubUrl, ctx.env),
      issuerUrls,
      allowInsecureIssuers: !!opts.allowInsecureIssuers,
      ...(token ? { token } : {}),
      registry,
      logger: knobs.logger ?? createLogger({ registry, write: (l) => ctx.stderr.write(l + '\n') }),
      dryRun: opts.dryRun ?? false,
      verify: opts.verify ?? true,
      clock,
      startedAt: clock.now().toISOString(),
      print: (l) => ctx.stdout.write(`would ${escapeControls(l)}\n`),
      ...(knobs.client ? { client: knobs.client } : {}),
    },
  };
}

/**
 * The afterScan hook as the `keyloop org` command builds it from its own flags:
 * `orgCommand(opts, ctx, { afterScan: await orgIssueLoop(opts, ctx) })`; undefined when the loop is off.
 */
export async function orgIssueLoop(
  opts: IssueLoopFlags,
  ctx: FlagContext,
  knobs: { client?: IssueLoopSetup['client']; clock?: Clock } = {},
): Promise<((ctx: AfterScanContext) => Promise<void>) | undefined> {
  const { enabled, setup } = await issueLoopFromFlags(opts, ctx, knobs);
  return enabled ? issueLoopAfterScan(setup) : undefined;
}
