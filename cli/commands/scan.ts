// `keyloop scan [path]`: options in, report out. All work happens in src/run/scan.ts.
import { resolve } from 'node:path';
import type { CommandContext } from '../context.js';
import { ConfigError } from '../../src/core/errors.js';
import { scanPath, type ScanPathOptions } from '../../src/run/scan.js';
import { reporters, type ReportFormat } from '../../src/notify/reporters/index.js';
import { SecretRegistry } from '../../src/util/redact.js';
import { createLogger } from '../../src/util/logger.js';
import { escapeControls } from '../../src/util/terminal-safe.js';
import { VERSION } from '../../src/version.js';
import { atLeast, onlyLive, type Confidence, type ScanStats } from '../../src/core/model.js';
import type { RawFinding } from '../../src/core/model.js';
import { writeOutputFile } from '../../src/util/private-fs.js';
import type { Store } from '../../src/core/store.js';

export interface ScanCommandOptions {
  path: string;
  format?: ReportFormat;
  output?: string;
  reveal: boolean;
  staged: boolean;
  range?: string;
  history: boolean;
  gitBackend: 'auto' | 'native' | 'isomorphic';
  maxBlobSize: number;
  config?: string;
  /** false: --no-repo-config. */
  repoConfig: boolean;
  baseline?: string;
  detectors?: string;
  jobs?: number;
  verify: boolean;
  verifyUnsafe: boolean;
  /** --reach: what each live key can do (implies --verify). */
  reach?: boolean;
  onlyLive: boolean;
  githubUrl?: string;
  allowInsecureIssuers: boolean;
  progress: boolean;
  /** Report only findings at this confidence or above (default low: all). */
  minConfidence?: Confidence;
  /** Exit code when there are findings (default 1). */
  exitCode?: number;
  /** No summary line on stderr. */
  quiet?: boolean;
  /** Record the scan in this store (local inventory). */
  db?: string;
  keyFile?: string;
}

export async function scanCommand(opts: ScanCommandOptions, ctx: CommandContext): Promise<number> {
  if (opts.staged && opts.range) throw new ConfigError('--staged and --range cannot be combined');
  if (opts.range && !opts.history) throw new ConfigError('--range and --no-history cannot be combined');
  const registry = new SecretRegistry();
  const logger = createLogger({ registry, write: (l) => ctx.stderr.write(l + '\n') });
  const format: ReportFormat = opts.format ?? (ctx.stdout.isTTY && !opts.output ? 'table' : 'json');
  const showProgress = opts.progress && !!ctx.stderr.isTTY;

  const scanOpts: ScanPathOptions = {
    path: resolve(ctx.cwd, opts.path),
    cwd: ctx.cwd,
    env: ctx.env,
    staged: opts.staged,
    range: opts.range,
    history: opts.history,
    gitBackend: opts.gitBackend,
    maxBlobSize: opts.maxBlobSize,
    config: opts.config,
    repoConfig: opts.repoConfig,
    baseline: opts.baseline,
    detectorsDir: opts.detectors,
    jobs: opts.jobs,
    verify: opts.verify || opts.onlyLive || !!opts.reach,
    verifyUnsafe: opts.verifyUnsafe,
    reach: !!opts.reach,
    githubUrl: opts.githubUrl,
    allowInsecureIssuers: opts.allowInsecureIssuers,
    registry,
    logger,
    signal: ctx.signal,
    onProgress: showProgress
      ? (s) => {
          const mb = s.bytes / 1e6;
          const rate = s.elapsedMs > 0 ? mb / (s.elapsedMs / 1000) : 0;
          ctx.stderr.write(`\r\x1b[K${s.blobs} blobs, ${mb.toFixed(1)} MB, ${rate.toFixed(0)} MB/s, ${s.findings} findings`);
        }
      : undefined,
  };
  // The store is opened before the scan: a wrong --db fails in a second, not after a long scan.
  // loaded only with --db: the store (better-sqlite3, pg) and isomorphic-git are most of a plain scan's start-up otherwise
  const store = opts.db ? await (await import('./store.js')).openCommandStore(opts, ctx, { key: 'create' }) : null;
  try {
    // With a store, every request sent with a secret (--verify, --reach) is in its audit log (`keyloop audit`).
    if (store) scanOpts.audit = store.auditSink();
    return await scanAndReport(opts, ctx, scanOpts, { store, registry, logger, format, showProgress });
  } finally {
    await store?.close();
  }
}

async function scanAndReport(
  opts: ScanCommandOptions,
  ctx: CommandContext,
  scanOpts: ScanPathOptions,
  o: { store: Store | null; registry: SecretRegistry; logger: ReturnType<typeof createLogger>; format: ReportFormat; showProgress: boolean },
): Promise<number> {
  const { store, registry, logger, format } = o;
  const started = Date.now();
  // triage feeds later scans: what was judged a false positive is neither reported nor recorded again
  const triaged = store ? await (await import('../../src/loop/triage.js')).suppressedFingerprints(store) : null;
  const out = await scanPath(triaged ? { ...scanOpts, suppressFingerprints: triaged } : scanOpts);
  if (o.showProgress) ctx.stderr.write('\r\x1b[K');

  for (const line of out.messages) logger.warn(line);
  let findings = out.result.findings;
  if (store) {
    const { localRepoName, recordLocalScan } = await import('../../src/run/local-inventory.js');
    const repo = await localRepoName(out.target);
    const rec = await recordLocalScan(store, { repo, result: out.result, elapsedMs: Date.now() - started });
    if (!opts.quiet) ctx.stderr.write(`keyloop: recorded in the store as run ${rec.runId} of ${escapeControls(registry.scrub(repo))}: ${rec.newSecrets} new secret(s), ${rec.newLocations} new location(s)\n`);
  }
  if (opts.onlyLive) findings = onlyLive(findings);
  if (opts.minConfidence) findings = findings.filter((f) => atLeast(f.confidence, opts.minConfidence!));

  const report = reporters[format]({
    findings,
    reveal: opts.reveal,
    stats: out.result.stats,
    skipped: out.result.skipped,
    incomplete: out.result.incomplete,
    toolVersion: VERSION,
    // a table written to a terminal fits its width; piped or to a file, nothing is cut
    width: ctx.stdout.isTTY && !opts.output ? ctx.stdout.columns : undefined,
    helpUri: (id) => out.catalog.byId.get(id)?.def.references[0] ?? out.catalog.byId.get(id)?.provider.references[0],
  });
  // Without --reveal the report must not carry plaintext: scrub defensively (paths or commit subjects could echo a secret).
  const text = opts.reveal ? report : registry.scrub(report);
  if (opts.output) writeOutputFile(resolve(ctx.cwd, opts.output), text);
  else ctx.stdout.write(text);

  if (!opts.quiet) {
    ctx.stderr.write(scanSummary(findings, out.result.stats, out.result.incomplete.length) + '\n');
    // an empty repository (or a selection with nothing in it) is not an error, but it should not look like a clean scan
    if (out.target.kind === 'git' && out.result.stats.blobs === 0 && out.result.incomplete.length === 0) {
      ctx.stderr.write('keyloop: nothing to scan: the repository has no commits yet, or the selection (--staged, --range) is empty\n');
    }
  }
  return scanExitCode(findings.length, out.result.incomplete.length, (line) => logger.warn(line), out.nothingScanned, opts.exitCode);
}

const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
const STATUSES = ['live', 'dead', 'unknown', 'unverified'] as const;

/**
 * One line for stderr whatever the format, TTY or not, so a piped JSON report still says what happened:
 * `keyloop: 3 findings (critical 1, high 2; live 1, unverified 2) in 812 blobs, 4.2 MB, 1.3 s`.
 */
export function scanSummary(findings: readonly Pick<RawFinding, 'severity' | 'verification'>[], stats: ScanStats, incomplete: number): string {
  const count = <K extends string>(keys: readonly K[], of: (f: (typeof findings)[number]) => K) =>
    keys.map((k) => [k, findings.filter((f) => of(f) === k).length] as const).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
  const by = findings.length === 0 ? '' : ` (${count(SEVERITIES, (f) => f.severity).join(', ')}; ${count(STATUSES, (f) => f.verification?.status ?? 'unverified').join(', ')})`;
  const mb = stats.bytes / 1e6;
  const size = mb >= 1 ? `${mb.toFixed(1)} MB` : `${(stats.bytes / 1e3).toFixed(1)} kB`;
  const tail = incomplete > 0 ? `; INCOMPLETE: ${incomplete} object(s) not scanned` : '';
  return `keyloop: ${findings.length} finding${findings.length === 1 ? '' : 's'}${by} in ${stats.blobs} blob${stats.blobs === 1 ? '' : 's'}, ${size}, ${(stats.elapsedMs / 1000).toFixed(1)} s${tail}`;
}

/**
 * 1 when there are findings (even if the scan is incomplete: the report says so); 3 when some content could not
 * be scanned (a secret might be in it) or none could; 0 only for a complete, clean scan.
 */
export function scanExitCode(findings: number, incomplete: number, warn: (line: string) => void, nothingScanned = false, findingsCode = 1): number {
  if (incomplete > 0) {
    warn(
      nothingScanned
        ? `scan incomplete: nothing could be scanned (${incomplete} object(s) unreadable or too large)`
        : `scan incomplete: ${incomplete} object(s) could not be scanned (listed above); a secret may be in them`,
    );
  }
  if (findings > 0) return findingsCode;
  return incomplete > 0 ? 3 : 0;
}
