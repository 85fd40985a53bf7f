#!/usr/bin/env node
// Commander wiring only. Each command lazily imports its function; ONE error boundary turns errors into exit codes.
// First import: V8 heap tuning must come before anything allocates (see src/util/heap.ts).
import '../src/util/heap.js';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { processContext, type CommandContext } from './context.js';
import {
  allowInsecureIssuersOption,
  cacheDirOption,
  concurrencyOption,
  configOption,
  dbOption,
  detectorsOption,
  fingerprintArgument,
  formatOption,
  githubUrlOption,
  gitBackendOption,
  int,
  keyFileOption,
  leaseOption,
  list,
  logFormatOption,
  logLevelOption,
  maxBlobSizeOption,
  metricsHostOption,
  metricsPortOption,
  minConfidenceOption,
  noRepoConfigOption,
  outputOption,
  shutdownGraceOption,
  size,
  tokenOption,
} from './options.js';
import { ConfigError, ExitError, HostError } from '../src/core/errors.js';
import { VERSION } from '../src/version.js';
import { escapeControls } from '../src/util/terminal-safe.js';
// Types only: org's module still loads lazily, when it runs (every other command's option type comes from its
// function, through lazy()).
import type { OrgCommandOptions } from './commands/org.js';

const exitCodeArg = (v: string) => {
  const n = Number(v);
  if (!/^\d{1,3}$/.test(v) || n > 255) throw new ConfigError(`expected an exit code 0-255, got "${v}"`);
  return n;
};

const SCAN_HELP = `
Exit codes:
  0  complete scan, no findings
  1  findings (even when the scan is incomplete: the report says so); --exit-code N changes this one
  2  usage or configuration error
  3  runtime error, or an incomplete scan without findings: some object could not be read (corrupt, truncated,
     missing) or was over --max-blob-size, so a secret may be in it; each one is named on stderr
JSON output (--format json) is one object: {"version":1,"status":"complete"|"incomplete","incomplete":[…],"findings":[…]}.
`;

/** What each group of commands is added with: the program, the injected context, and where the exit code goes. */
interface Wiring {
  program: Command;
  ctx: CommandContext;
  setExit: (code: number) => void;
}

/** A command's function: its options (its positional argument among them) and the injected context in, the exit code out. */
type CommandFn<O> = (opts: O, ctx: CommandContext) => Promise<number>;

/**
 * The action of a command whose module `load` imports only when the command runs (start-up loads no command
 * module); `arg` names the option that the command's one positional argument is passed as.
 */
function lazy<O>(w: Wiring, load: () => Promise<CommandFn<O>>): (opts: O) => Promise<void>;
function lazy<O, K extends keyof O>(w: Wiring, load: () => Promise<CommandFn<O>>, arg: K): (value: O[K], opts: Omit<O, K>) => Promise<void>;
function lazy<O>(w: Wiring, load: () => Promise<CommandFn<O>>, arg?: keyof O): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const opts = (arg === undefined ? args[0] : { ...(args[1] as object), [arg]: args[0] }) as O;
    const command = await load();
    w.setExit(await command(opts, w.ctx));
  };
}

export function buildProgram(ctx: CommandContext, setExit: (code: number) => void): Command {
  const program = new Command('keyloop')
    .description('Find secrets in git history, verify them with their issuer, and close the loop with owners.')
    .version(VERSION)
    // before any command is added, so every command inherits them: a usage error is exit 2 (not commander's
    // process.exit(1), which a CI job could not tell from "findings"), with one hint line instead of the whole help
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) });
  const w: Wiring = { program, ctx, setExit };
  addScanCommand(w);
  addDetectorsCommands(w);
  addOrgCommand(w);
  addInventoryCommands(w);
  addScaleCommands(w);
  addAppCommands(w);
  addLoopCommands(w);
  addReachCommands(w);
  return program;
}

function addScanCommand(w: Wiring): void {
  w.program
    .command('scan')
    .description('scan a git repository (every blob in every ref) or a plain directory')
    .argument('[path]', 'repository or directory to scan', '.')
    .addOption(formatOption(['table', 'json', 'sarif', 'csv'], { description: 'output format (default: table on a TTY, else json)', fallback: null }))
    .addOption(outputOption('write the report to FILE instead of stdout (a new 0600 file renamed into place; a symlink at FILE is replaced, not followed)'))
    .option('--reveal', 'include the plaintext secret in the output', false)
    .option('--staged', 'scan only staged (index) content: the pre-commit case', false)
    .option('--range <A..B>', 'scan only blobs introduced by commits in A..B: the push case')
    .option('--no-history', 'scan only the HEAD tree')
    .addOption(gitBackendOption('git object reader'))
    .addOption(maxBlobSizeOption('skip blobs larger than this (reported as skipped)'))
    .addOption(configOption())
    .addOption(noRepoConfigOption("ignore the scanned root's .keyloop.yaml (by default it may only narrow the report)"))
    .option('--baseline <file>', 'a previous JSON report: report only findings not in it')
    .addOption(detectorsOption())
    .option('--jobs <n>', 'threads that run detection (default: 1 per core; on a full-history scan one of them also reads the packs)', int)
    .option('--verify', 'check each secret with its issuer (live | dead | unknown)', false)
    .option('--verify-unsafe', 'also run verification checks that have side effects (named in the detector)', false)
    .option('--only-live', 'report only findings verified live (implies --verify)', false)
    .option('--reach', "ask each live key's issuer what it can do (scopes, account, resources; implies --verify)", false)
    .addOption(githubUrlOption('GitHub API base URL used to verify GitHub tokens (default: issuers.github.baseUrl, $GITHUB_API_URL or https://api.github.com)'))
    .addOption(allowInsecureIssuersOption())
    .addOption(minConfidenceOption())
    .option('--exit-code <n>', 'exit code when there are findings (0-255; 2 and 3 keep their meaning only if you avoid them)', exitCodeArg, 1)
    .option('-q, --quiet', 'no summary line on stderr', false)
    .option('--no-progress', 'never print the progress line')
    .addOption(dbOption('also record the scan in this store (a SQLite file or postgres:// URL) for secrets, where, triage and report; secrets triaged false-positive there are left out'))
    .addOption(keyFileOption({ creates: true, prefix: 'with --db: ' }))
    .addHelpText('after', SCAN_HELP)
    .action(lazy(w, async () => (await import('./commands/scan.js')).scanCommand, 'path'));
}

function addDetectorsCommands(w: Wiring): void {
  const detectors = w.program.command('detectors').description('list and check the detector catalog');
  detectors
    .command('list')
    .description('list detectors (id, name, keywords, verifies?)')
    .addOption(formatOption(['table', 'json']))
    .addOption(detectorsOption('detector directory (default: built-in catalog)'))
    .action(lazy(w, async () => (await import('./commands/detectors.js')).detectorsListCommand));
  detectors
    .command('check')
    .description('validate detectors: unique ids, RE2 patterns, one capture group, every sample behaves')
    .addOption(detectorsOption('detector directory (default: built-in catalog)'))
    .action(lazy(w, async () => (await import('./commands/detectors.js')).detectorsCheckCommand));
}

// ---- org / secrets / where (store-backed org crawl) ----
function addOrgCommand({ program, ctx, setExit }: Wiring): void {
  program
    .command('org')
    .description('scan every repository of a GitHub org into the store (incremental; resumes after a crash)')
    .argument('<org>', 'GitHub organization')
    .option('--include-forks', 'also scan forks', false)
    .option('--include-archived', 'also scan archived repositories', false)
    .option('--repos <glob>', 'only repositories whose name or owner/name matches (repeatable, comma-separated)', list)
    .option('--exclude <glob>', 'skip repositories whose name or owner/name matches (repeatable, comma-separated)', list)
    .addOption(cacheDirOption())
    .addOption(dbOption())
    .addOption(keyFileOption({ creates: true }))
    .addOption(githubUrlOption())
    .addOption(tokenOption())
    .addOption(concurrencyOption('repositories processed at once', 4))
    .addOption(formatOption(['table', 'json'], { description: 'run summary format' }))
    .addOption(gitBackendOption())
    .addOption(maxBlobSizeOption())
    .addOption(configOption())
    .addOption(noRepoConfigOption())
    .addOption(detectorsOption())
    .option('--refetch', 'fetch every repository even when GitHub reports no push since the last scan', false)
    .option('--rescan', 'scan every blob again, even those the current detector catalog scanned before; stored rows are not duplicated', false)
    .option('--issues', 'after the scan, verify secrets and open/update/close GitHub issues (default: on when the operator config has an issues: section)')
    .option('--no-issues', 'do not run the issue loop after the scan')
    .option('--dry-run', 'with --issues: print what the issue loop would do, change nothing', false)
    .addOption(allowInsecureIssuersOption())
    .option('--no-progress', 'no progress on stderr (by default a bar on a TTY: repos done/total, bytes, ETA, current repo; else a line each 10% of repos and every 15 s)')
    .option('--enqueue', 'hand the run to `keyloop worker` processes (PostgreSQL --db): one scan-repo job per repository; prints the run id', false)
    .option('--wait', 'with --enqueue: wait for the run to end and print the same summary (and exit code) as a local run', false)
    .option('--verify', "with --enqueue: re-verify what each repository's scan found, as jobs, before the issue sync", false)
    .addOption(logFormatOption())
    .action(async (org: string, opts: Omit<OrgCommandOptions, 'org'>) => {
      const { orgCommand } = await import('./commands/org.js');
      const { orgIssueLoop } = await import('../src/loop/org-hook.js');
      // org's --verify asks for verify jobs (with --enqueue); the issue loop re-verifies either way.
      const { verify: _verifyJobs, ...loopFlags } = opts;
      const afterScan = await orgIssueLoop(loopFlags, ctx);
      setExit(await orgCommand({ ...opts, org }, ctx, { afterScan }));
    });
}

function addInventoryCommands(w: Wiring): void {
  w.program
    .command('secrets')
    .description('inventory of stored secrets: repos, first/last seen, still at HEAD or only in history, verification, owner')
    .addOption(dbOption())
    .addOption(formatOption(['table', 'json', 'sarif'], { description: 'output format (sarif: open secrets, paths as owner/repo/path)' }))
    .addOption(minConfidenceOption())
    .addOption(new Option('--sort <order>', 'recent: most recently introduced first; risk: highest risk first (what the key can do, public repo, exposure age, locations)').choices(['recent', 'risk']).default('recent'))
    .option('--unused <days>', 'only live keys their issuer reports unused for DAYS days or never used (GitLab, AWS, and GitHub fine-grained tokens through their organization expose last use): safe to revoke first', int)
    .action(lazy(w, async () => (await import('./commands/secrets.js')).secretsCommand));
  w.program
    .command('where')
    .description('every repo/commit/path/line where a stored secret appears')
    .addArgument(fingerprintArgument())
    .addOption(dbOption())
    .addOption(formatOption(['table', 'json']))
    .action(lazy(w, async () => (await import('./commands/where.js')).whereCommand, 'fingerprint'));
  w.program
    .command('runs')
    .description('each run: repositories queued/running/done/failed, findings, start/end, which worker holds what, failed jobs and why')
    .addOption(dbOption())
    .addOption(formatOption(['table', 'json']))
    .option('--limit <n>', 'newest runs shown', int, 20)
    .action(lazy(w, async () => (await import('./commands/runs.js')).runsCommand));
}

// ---- section:scale (workers on a shared PostgreSQL queue) ----
function addScaleCommands(w: Wiring): void {
  w.program
    .command('worker')
    .description('take jobs from the shared queue (org runs from `org --enqueue`, App pushes) until SIGINT/SIGTERM, then drain; needs a PostgreSQL --db')
    .addOption(dbOption())
    .addOption(concurrencyOption('jobs processed at once', 2))
    .addOption(cacheDirOption("this worker's own mirror cache (default: $XDG_CACHE_HOME/keyloop or ~/.cache/keyloop)"))
    .option('--queues <names>', 'only these queues, comma-separated: scan-repo, verify, issue-sync, push (default: every one this worker can take)', list)
    .addOption(githubUrlOption())
    .addOption(tokenOption('GitHub token for fetching and issues (default: $GITHUB_TOKEN); App credentials (APP_ID, PRIVATE_KEY) add the push queue'))
    .addOption(keyFileOption())
    .addOption(configOption())
    .addOption(detectorsOption())
    .addOption(noRepoConfigOption("ignore each repository's own .keyloop.yaml"))
    .addOption(maxBlobSizeOption())
    .addOption(gitBackendOption())
    .option('--no-verify', 'take no verify jobs')
    .option('--no-issues', 'take no issue-sync jobs')
    .addOption(allowInsecureIssuersOption())
    .addOption(leaseOption('a job this worker stops renewing (it was killed) goes to another worker after this long'))
    .addOption(shutdownGraceOption('on SIGTERM, how long held jobs may finish before they are given back', 30))
    .addOption(metricsPortOption('serve /healthz and /metrics (Prometheus) on this port'))
    .addOption(metricsHostOption('address for /healthz and /metrics (0.0.0.0 in a container)'))
    .addOption(logFormatOption())
    .addOption(logLevelOption())
    .action(lazy(w, async () => (await import('./commands/worker.js')).workerCommand));
  const db = w.program.command('db').description('the store: create or upgrade its schema');
  db.command('migrate')
    .description('apply pending schema migrations (needed after upgrading keyloop on a PostgreSQL store; SQLite migrates on open)')
    .addOption(dbOption())
    .action(lazy(w, async () => (await import('./commands/db.js')).dbMigrateCommand));
}
// ---- end section:scale ----

// ---- section:app (GitHub App server and offline webhook replay) ----
/** What `app` and `receive` share: the same store, mirrors, scan, verification, issues and check runs. */
const appShared = (c: Command) =>
  c
    .addOption(dbOption())
    .addOption(cacheDirOption())
    .addOption(githubUrlOption())
    .addOption(keyFileOption())
    .addOption(configOption())
    .addOption(noRepoConfigOption())
    .addOption(detectorsOption())
    .addOption(maxBlobSizeOption())
    .option('--no-verify', 'do not check found secrets with their issuer')
    .addOption(allowInsecureIssuersOption())
    .option('--no-issues', 'do not run the issue loop (check runs only)')
    .option('--no-check-runs', 'do not create the keyloop check run on pushed commits')
    .option('--scan-new-repos', 'queue a full-history scan of repositories the App is newly installed on', false)
    .addOption(logLevelOption())
    .addOption(logFormatOption());

function addAppCommands(w: Wiring): void {
  appShared(
    w.program
      .command('app')
      .description('run the GitHub App: verify and queue webhooks, scan each push, check runs and issues (env: APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, WEBHOOK_SECRET)')
      .option('--port <n>', 'port to listen on', int, 3000)
      .option('--host <host>', 'address to bind', '0.0.0.0')
      .addOption(concurrencyOption('deliveries processed at once (one per repository at a time)', 2))
      .option('--max-body <size>', 'largest webhook body accepted (413 above)', size, 25 * 1024 ** 2)
      .addOption(shutdownGraceOption('on SIGTERM, how long work in flight may finish before it is requeued', 20))
      .addOption(leaseOption('PostgreSQL --db: a delivery a replica stopped renewing (it died) goes to another replica after this long'))
      .addOption(metricsPortOption('serve /healthz and /metrics (Prometheus) on this port, apart from the webhook port'))
      .addOption(metricsHostOption('address for /healthz and /metrics')),
  ).action(lazy(w, async () => (await import('./commands/app.js')).appCommand));
  appShared(
    w.program
      .command('receive')
      .description('replay a webhook payload (JSON file, - for stdin) through the App handler without a server')
      .argument('<file>', 'payload JSON as GitHub sent it')
      .requiredOption('--event <name>', 'the X-GitHub-Event name (push, installation, installation_repositories)')
      .option('--id <guid>', 'X-GitHub-Delivery to record (default: a fresh one, so the replay always runs)')
      .addOption(tokenOption('GitHub token when no App credentials are set (default: $GITHUB_TOKEN)')),
  ).action(lazy(w, async () => (await import('./commands/receive.js')).receiveCommand, 'file'));
}
// ---- end section:app ----

// ---- section:loop (issues / triage / report) ----
function addLoopCommands(w: Wiring): void {
  w.program
    .command('issues')
    .description('run the issue loop over the store: re-verify, open/comment/close/reopen/remind (what `keyloop org` runs at its end)')
    .option('--dry-run', 'print the planned actions only; change nothing on GitHub or in the store', false)
    .option('--no-verify', 'plan on the stored verifications; do not ask the issuers again')
    .option('--repos <owner/name>', 'only secrets leaked in these repositories (repeatable, comma-separated)', list)
    .addOption(dbOption())
    .addOption(keyFileOption())
    .addOption(githubUrlOption())
    .addOption(tokenOption())
    .addOption(configOption('operator configuration file with owners/issues/policy'))
    .addOption(detectorsOption('detector directory (provider names and rotation steps; default: built-in)'))
    .addOption(allowInsecureIssuersOption())
    .addOption(formatOption(['text', 'json']))
    .action(lazy(w, async () => (await import('./commands/issues.js')).issuesCommand));
  w.program
    .command('triage')
    .description('record a verdict on a secret and label + close (or reopen) its issues')
    .addArgument(fingerprintArgument())
    .option('--false-positive', 'not a secret: close its issues, suppress it in later scans')
    .option('--accepted-risk', 'a real secret kept knowingly: close its issues, no reminders')
    .option('--reopen', 'track it again: reopen its issues')
    .option('--note <text>', 'why (recorded in the store and quoted on the issue)')
    .addOption(dbOption())
    .addOption(githubUrlOption())
    .addOption(tokenOption())
    .option('--no-github', 'update the store only; the next loop run syncs the issues')
    .addOption(formatOption(['text', 'json']))
    .action(lazy(w, async () => (await import('./commands/triage.js')).triageCommand, 'fingerprint'));
  w.program
    .command('report')
    .description('loop report: open/closed/live/dead, time to rotate, exposure windows, per repo/owner, detector precision')
    .addOption(formatOption(['md', 'json', 'html'], { description: 'output format (html: one self-contained file with charts, works offline, prints)' }))
    .addOption(dbOption())
    .addOption(outputOption('write the report to FILE instead of stdout'))
    .action(lazy(w, async () => (await import('./commands/report.js')).reportCommand));
}
// ---- end section:loop ----

// ---- section:reach (revoke / audit) ----
function addReachCommands(w: Wiring): void {
  w.program
    .command('revoke')
    .description("revoke a stored key through its issuer's own API (GitHub, GitLab, Slack, npm tokens), after a confirmation; recorded and re-verified")
    .addArgument(fingerprintArgument())
    .option('--yes', 'do not ask for confirmation (scripts); without it, keyloop asks on the terminal and refuses when there is none', false)
    .option('--dry-run', 'print the request that would be sent; send nothing', false)
    .option('--note <text>', 'why (recorded with who and when)')
    .addOption(dbOption())
    .addOption(keyFileOption())
    .addOption(configOption('operator configuration file: issuer base URLs (issuers.npm.baseUrl: an npm registry other than registry.npmjs.org)'))
    .addOption(githubUrlOption('GitHub API base URL for GitHub tokens (default: issuers.github.baseUrl, $GITHUB_API_URL or https://api.github.com)'))
    .addOption(detectorsOption('detector directory (default: built-in)'))
    .addOption(allowInsecureIssuersOption())
    .addOption(formatOption(['text', 'json']))
    .addHelpText('after', '\nExit codes: 0 revoked, 1 not revoked (the issuer refused, or no confirmation), 2 usage (no revoke API for this key: rotate it by hand).\n')
    .action(lazy(w, async () => (await import('./commands/revoke.js')).revokeCommand, 'fingerprint'));
  w.program
    .command('audit')
    .description('every request sent with a secret (verification, reach, revocation): issuer, endpoint, time, answer; never the secret')
    .addOption(dbOption())
    .addOption(formatOption(['table', 'json']))
    .option('--fingerprint <fp>', 'only calls about this secret (8+ hex characters)')
    .option('--issuer <id>', 'only calls to this issuer')
    .addOption(new Option('--purpose <purpose>', 'only calls made for this').choices(['verify', 'reach', 'revoke']))
    .option('--since <date>', 'only calls at or after this date (ISO 8601)')
    .option('--check', "exit 1 if a call went to a host that is not its issuer's (official or operator override), or a recorded URL holds a stored secret (needs the store key)", false)
    .addOption(configOption("operator configuration file; issuer overrides count as the issuer's hosts"))
    .addOption(githubUrlOption('GitHub API base URL the GitHub calls were allowed to go to (default: $GITHUB_API_URL)'))
    .addOption(detectorsOption('detector directory (default: built-in)'))
    .addOption(keyFileOption({ description: 'store key file for --check (default: $KEYLOOP_KEY)' }))
    .action(lazy(w, async () => (await import('./commands/audit.js')).auditCommand));
}
// ---- end section:reach ----

export async function main(argv: string[], ctx: CommandContext = processContext()): Promise<number> {
  let code = 0;
  const program = buildProgram(ctx, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    return errorToExit(err, ctx);
  }
}

function errorToExit(err: unknown, ctx: CommandContext): number {
  const e = err as { code?: string; exitCode?: number; message?: string };
  if (typeof e?.code === 'string' && e.code.startsWith('commander.')) {
    // commander already printed help/version or the usage error.
    return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? 0 : 2;
  }
  // messages may quote paths, refs or git's words about a scanned repository: one visible line each
  const line = (s: string) => escapeControls(s);
  if (err instanceof ExitError) {
    if (err.message) ctx.stderr.write(line(err.message) + '\n');
    return err.code;
  }
  if (err instanceof ConfigError) {
    ctx.stderr.write(`keyloop: ${line(err.message)}\n`);
    return 2;
  }
  // runtime errors (network, git, database, a bug) are 3: a CI job can tell them from a typo (2) and a leak (1)
  if (err instanceof HostError) {
    ctx.stderr.write(`keyloop: ${line(err.message)}\n`);
    return 3;
  }
  const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
  ctx.stderr.write(`keyloop: internal error (a bug, please report): ${msg.split('\n').map(line).join('\n')}\n`);
  return 3;
}

function isEntry(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}
if (isEntry()) {
  const ac = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => ac.abort());
  void main(process.argv.slice(2), processContext(ac.signal)).then((code) => {
    process.exitCode = code;
  });
}
