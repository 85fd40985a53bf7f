// `keyloop scan [path]`: options in, report out. All work happens in src/run/scan.ts.
import { resolve } from 'node:path';
import type { CommandContext } from '../context.js';
import { ConfigError } from '../../src/core/errors.js';
import { scanPath, type ScanPathOptions } from '../../src/run/scan.js';
import { reporters, type ReportFormat } from '../../src/notify/reporters/index.js';
import { SecretRegistry } from '../../src/util/redact.js';
import { createLogger } from '../../src/util/logger.js';
import { VERSION } from '../../src/version.js';
import { atLeast, type Confidence } from '../../src/core/model.js';
import { writeOutputFile } from '../../src/util/private-fs.js';

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
  onlyLive: boolean;
  githubUrl?: string;
  allowInsecureIssuers: boolean;
  progress: boolean;
  /** Report only findings at this confidence or above (default low: all). */
  minConfidence?: Confidence;
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
    verify: opts.verify || opts.onlyLive,
    verifyUnsafe: opts.verifyUnsafe,
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
  const out = await scanPath(scanOpts);
  if (showProgress) ctx.stderr.write('\r\x1b[K');

  for (const line of out.messages) logger.warn(line);
  let findings = out.result.findings;
  if (opts.onlyLive) findings = findings.filter((f) => f.verification?.status === 'live');
  if (opts.minConfidence) findings = findings.filter((f) => atLeast(f.confidence, opts.minConfidence!));

  const report = reporters[format]({
    findings,
    reveal: opts.reveal,
    stats: out.result.stats,
    skipped: out.result.skipped,
    incomplete: out.result.incomplete,
    toolVersion: VERSION,
    helpUri: (id) => out.catalog.byId.get(id)?.def.references[0] ?? out.catalog.byId.get(id)?.provider.references[0],
  });
  // Without --reveal the report must not carry plaintext: scrub defensively (paths or commit subjects could echo a secret).
  const text = opts.reveal ? report : registry.scrub(report);
  if (opts.output) writeOutputFile(resolve(ctx.cwd, opts.output), text);
  else ctx.stdout.write(text);

  return scanExitCode(findings.length, out.result.incomplete.length, (line) => logger.warn(line), out.nothingScanned);
}

/**
 * 1 when there are findings (even if the scan is incomplete: the report says so); 3 when some content could not
 * be scanned (a secret might be in it) or none could; 0 only for a complete, clean scan.
 */
export function scanExitCode(findings: number, incomplete: number, warn: (line: string) => void, nothingScanned = false): number {
  if (incomplete > 0) {
    warn(
      nothingScanned
        ? `scan incomplete: nothing could be scanned (${incomplete} object(s) unreadable or too large)`
        : `scan incomplete: ${incomplete} object(s) could not be scanned (listed above); a secret may be in them`,
    );
  }
  if (findings > 0) return 1;
  return incomplete > 0 ? 3 : 0;
}
