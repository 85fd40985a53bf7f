// `keyloop issues [--dry-run]`: run the issue loop over the store without scanning (what `keyloop org` runs at
// its end): re-verify open secrets, open / comment / close / reopen / remind, and print what was (or would be) done.
import { escapeControls } from '../../src/util/terminal-safe.js';
import { resolve } from 'node:path';
import type { CommandContext } from '../context.js';
import { resolveGitHubUrl, resolveToken } from '../../src/adapters/github/client.js';
import { loadOperatorConfig, unusedCwdConfigHint } from '../../src/config/load.js';
import { issuerOverrides } from '../../src/config/normalize.js';
import { checkIssuerOverrides } from '../../src/verification/net.js';
import { defaultDetectorsDir, loadCatalog } from '../../src/detection/load.js';
import { runLoopOnStore } from '../../src/loop/org-hook.js';
import { describeAction } from '../../src/loop/plan.js';
import { createLogger } from '../../src/util/logger.js';
import { SecretRegistry } from '../../src/util/redact.js';
import { openCommandStore } from './store.js';

export interface IssuesCommandOptions {
  dryRun: boolean;
  verify: boolean;
  db?: string;
  keyFile?: string;
  githubUrl?: string;
  token?: string;
  config?: string;
  detectors?: string;
  repos?: string[];
  format: 'text' | 'json';
  allowInsecureIssuers?: boolean;
}

export async function issuesCommand(opts: IssuesCommandOptions, ctx: CommandContext, client?: { throttle?: boolean; retryAfterBaseValue?: number }): Promise<number> {
  const registry = new SecretRegistry();
  const token = resolveToken(opts.token, ctx.env);
  if (token) registry.add(token);
  const logger = createLogger({ registry, write: (l) => ctx.stderr.write(l + '\n') });
  const config = await loadOperatorConfig({ explicit: opts.config, cwd: ctx.cwd, env: ctx.env });
  const hint = unusedCwdConfigHint(ctx.cwd, config);
  if (hint) logger.warn(hint);
  const issuerUrls = issuerOverrides(config, { flag: opts.githubUrl, env: ctx.env });
  if (opts.verify) checkIssuerOverrides(issuerUrls, !!opts.allowInsecureIssuers);
  const catalog = loadCatalog(opts.detectors ? resolve(ctx.cwd, opts.detectors) : defaultDetectorsDir());
  const store = await openCommandStore(opts, ctx, { mode: 'existing', key: 'load' });
  try {
    const result = await runLoopOnStore(
      store,
      {
        config,
        catalog,
        githubUrl: resolveGitHubUrl(opts.githubUrl, ctx.env),
        issuerUrls,
        allowInsecureIssuers: !!opts.allowInsecureIssuers,
        token,
        registry,
        logger,
        dryRun: opts.dryRun,
        verify: opts.verify,
        ...(client ? { client } : {}),
      },
      opts.repos?.length ? { repos: opts.repos } : {},
    );
    if (opts.format === 'json') {
      const actions = result.actions.map((a) => ({ kind: a.kind, fingerprint: a.fingerprint, repo: a.subjectRepo, line: registry.scrub(describeAction(a)) }));
      const executed = result.executed.map((e) => ({ kind: e.action.kind, fingerprint: e.action.fingerprint, ok: e.ok, ...(e.detail ? { detail: registry.scrub(e.detail) } : {}) }));
      ctx.stdout.write(JSON.stringify({ dryRun: opts.dryRun, reverified: result.reverified, actions, executed, warnings: result.warnings.map((w) => registry.scrub(w)) }, null, 2) + '\n');
    } else {
      const prefix = opts.dryRun ? 'would ' : '';
      for (const l of result.lines) ctx.stdout.write(`${prefix}${escapeControls(l)}\n`);
      ctx.stdout.write(`${result.actions.length} action(s)${opts.dryRun ? ' planned (dry run: nothing changed)' : ''}; ${result.reverified} secret(s) re-verified\n`);
    }
    return result.executed.some((e) => !e.ok) ? 1 : 0;
  } finally {
    await store.close();
  }
}
