// `keyloop triage FINGERPRINT --false-positive|--accepted-risk|--reopen [--note TEXT]`: record a verdict in the
// store and label + close (or reopen) the secret's issues on GitHub.
import { escapeControls } from '../../src/util/terminal-safe.js';
import type { CommandContext } from '../context.js';
import { ConfigError } from '../../src/core/errors.js';
import { createGitHubClient, resolveGitHubUrl, resolveToken } from '../../src/adapters/github/client.js';
import { GitHubIssueTracker } from '../../src/adapters/github/issue-tracker.js';
import { triage, type Verdict } from '../../src/loop/triage.js';
import { createLogger } from '../../src/util/logger.js';
import { SecretRegistry } from '../../src/util/redact.js';
import { withCommandStore } from './store.js';

export interface TriageCommandOptions {
  fingerprint: string;
  falsePositive?: boolean;
  acceptedRisk?: boolean;
  reopen?: boolean;
  note?: string;
  db?: string;
  githubUrl?: string;
  token?: string;
  /** --no-github: store only; the next loop run syncs the issues. */
  github: boolean;
  format: 'text' | 'json';
}

export function verdictOf(opts: Pick<TriageCommandOptions, 'falsePositive' | 'acceptedRisk' | 'reopen'>): Verdict {
  const chosen = [opts.falsePositive && 'false-positive', opts.acceptedRisk && 'accepted-risk', opts.reopen && 'reopen'].filter(Boolean) as Verdict[];
  if (chosen.length !== 1) throw new ConfigError('give exactly one of --false-positive, --accepted-risk, --reopen');
  return chosen[0]!;
}

export async function triageCommand(opts: TriageCommandOptions, ctx: CommandContext, client?: { throttle?: boolean }): Promise<number> {
  const verdict = verdictOf(opts);
  const registry = new SecretRegistry();
  const token = resolveToken(opts.token, ctx.env);
  if (token) registry.add(token);
  const logger = createLogger({ registry, write: (l) => ctx.stderr.write(l + '\n') });
  return withCommandStore(opts, ctx, { mode: 'existing' }, async (store) => {
    let tracker: GitHubIssueTracker | undefined;
    if (opts.github && (await store.issuesFor(await store.resolveFingerprint(opts.fingerprint))).length > 0) {
      const baseUrl = resolveGitHubUrl(opts.githubUrl, ctx.env);
      if (!token) throw new ConfigError('updating the GitHub issues needs a token (--token / GITHUB_TOKEN), or pass --no-github', '--token');
      const octokit = createGitHubClient({ baseUrl, token, logger, ...client });
      tracker = new GitHubIssueTracker({ octokit, baseUrl });
    }
    const r = await triage(store, opts.fingerprint, verdict, { note: opts.note, tracker, registry });
    if (!tracker && verdict === 'reopen' && (await store.issuesFor(r.fingerprint)).some((i) => i.state === 'closed')) {
      logger.warn('the closed issue keeps its triage label on GitHub: remove it there, or the next run reads the verdict again');
    }
    if (opts.format === 'json') ctx.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else {
      ctx.stdout.write(`${r.fingerprint.slice(0, 12)}: ${r.from} → ${r.to}\n`);
      for (const i of r.issues) ctx.stdout.write(`  ${escapeControls(`${i.repo}#${i.number}: ${i.action}${i.detail ? ` (${registry.scrub(i.detail)})` : ''}`)}\n`);
      if (!tracker && r.issues.length === 0 && (await store.issuesFor(r.fingerprint)).length > 0) ctx.stdout.write('  issues are synced on the next `keyloop org` / `keyloop issues` run\n');
    }
    return r.issues.some((i) => i.action === 'failed') ? 1 : 0;
  });
}
