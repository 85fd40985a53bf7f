// Composition root of `keyloop scan`: config → target → catalog/engine → the pipeline's scanRepository (with the
// operator's and the repository's suppression and the baseline) → verification.
import { globMatcher } from '../config/glob.js';
import { loadOperatorConfig, readRepositoryConfig } from '../config/load.js';
import { checkDetectorIds, issuerOverrides, type OperatorConfig, type RepositoryConfig } from '../config/normalize.js';
import { suppress } from '../config/suppress.js';
import { checkIssuerOverrides } from '../verification/net.js';
import { scanRepository, verifyFindings, type RepositoryScan, type RepositorySource, type ScanPorts } from '../core/pipeline.js';
import type { IncompleteItem, RawFinding, ScanStats } from '../core/model.js';
import type { AuditSink, FindingsVerifier } from '../core/ports.js';
import { createEngine } from '../detection/engine.js';
import { defaultDetectorsDir, openCatalog } from '../detection/compiled-catalog.js';
import type { Catalog } from '../detection/types.js';
import { resolveTarget, type ResolvedTarget } from '../sources/resolve.js';
import { contentOpener } from '../scan/contents.js';
import { packReaderEnabled, type PackScanStats } from '../scan/pack-path.js';
import type { Logger } from '../util/logger.js';
import type { SecretRegistry } from '../util/redact.js';

export interface ScanPathOptions {
  path: string;
  cwd: string;
  env: Record<string, string | undefined>;
  staged?: boolean;
  range?: string;
  /** false = --no-history (HEAD tree only). */
  history?: boolean;
  gitBackend: 'auto' | 'native' | 'isomorphic';
  maxBlobSize: number;
  /** --config: the operator file, relative to `cwd`. */
  config?: string;
  /** false = --no-repo-config: ignore the scanned root's .keyloop.yaml. */
  repoConfig?: boolean;
  baseline?: string;
  /** Fingerprints left out like the baseline's (secrets triaged false-positive in the store of `scan --db`). */
  suppressFingerprints?: ReadonlySet<string>;
  detectorsDir?: string;
  jobs?: number;
  verify?: boolean;
  verifyUnsafe?: boolean;
  /** With verify: ask each live key's issuer what it can do (--reach). */
  reach?: boolean;
  /** Where every request sent with a secret is recorded (`scan --db`: the store's audit log); none without a store. */
  audit?: AuditSink;
  githubUrl?: string;
  /** --allow-insecure-issuers: loopback http issuer URLs (test fakes). */
  allowInsecureIssuers?: boolean;
  registry: SecretRegistry;
  logger: Logger;
  signal?: AbortSignal;
  onProgress?: (s: ScanStats) => void;
  /** Told what the pack fast path scanned (only called when it ran). */
  onPackStats?: (s: PackScanStats) => void;
  /** Packs from this many bytes get a worker pool and a scan that starts during the history walk (default 32 MiB). */
  packPoolMinBytes?: number;
  /** Replaces the pipeline's `open` port (bench:noise wraps contentOpener to count what each package hands the stage). */
  contents?: ScanPorts['open'];
  fetch?: typeof fetch;
}

export interface ScanPathResult {
  result: RepositoryScan;
  catalog: Catalog;
  config: { operator: OperatorConfig; repository: RepositoryConfig | null };
  /** Findings the scanned repository's own .keyloop.yaml dropped. */
  suppressedByRepository: number;
  target: ResolvedTarget;
  /** One-line messages for the user, one per entry of `result.incomplete` (unreadable, corrupt, too large…). */
  messages: string[];
  /** True when there was content but none of it could be scanned. */
  nothingScanned: boolean;
}

/** `skipped <path> (blob <oid>): <reason> (<detail>)`, or `<reason> <oid>: <detail>` for what has no path. */
export function incompleteMessage(i: IncompleteItem): string {
  if (i.path !== undefined) return `skipped ${i.path}${i.object ? ` (blob ${i.object})` : ''}: ${i.reason}${i.detail ? ` (${i.detail})` : ''}`;
  return `${i.reason}${i.object ? ` ${i.object}` : ''}: ${i.detail ?? 'unreadable'}`;
}

export async function scanPath(opts: ScanPathOptions): Promise<ScanPathResult> {
  const operator = await loadOperatorConfig({ explicit: opts.config, cwd: opts.cwd, env: opts.env });
  // Where keys would go is checked before the scan, not after it.
  if (opts.verify) checkIssuerOverrides(issuerOverrides(operator, { flag: opts.githubUrl, env: opts.env }), !!opts.allowInsecureIssuers);
  const target = await resolveTarget(opts.path, {
    staged: !!opts.staged,
    range: opts.range,
    noHistory: opts.history === false,
    backend: opts.gitBackend,
  });
  try {
    // The scanned root's .keyloop.yaml is data from the repository: it may only narrow the report.
    const repository = opts.repoConfig === false ? null : readRepositoryConfig(target.root);
    const detectorsDir = opts.detectorsDir ?? defaultDetectorsDir();
    const catalog = await openCatalog(detectorsDir);
    const ids = new Set(catalog.byId.keys());
    checkDetectorIds(operator, ids);
    const configWarnings = repository ? [...repository.warnings, ...checkDetectorIds(repository, ids)] : [];
    const engine = createEngine(catalog);
    // Only the operator's excludes skip reading; a repository's are applied to the findings, where they are counted.
    const excluded = globMatcher(operator.suppression.excludePaths);

    const source: RepositorySource = target.kind === 'git' ? { kind: 'git', dir: target.root, objects: target.objects } : { kind: 'directory', dir: target.root };
    // validated by zod: loaded only with --baseline
    const baseline = opts.baseline ? (await import('./baseline.js')).loadBaseline(opts.baseline) : null;
    const fingerprints = baseline && opts.suppressFingerprints ? new Set([...baseline, ...opts.suppressFingerprints]) : (baseline ?? opts.suppressFingerprints ?? null);
    const open = opts.contents ?? contentOpener({
      engine,
      detectorsDir,
      maxBlobSize: opts.maxBlobSize,
      packReader: packReaderEnabled(opts.env),
      ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
      ...(opts.packPoolMinBytes !== undefined ? { packPoolMinBytes: opts.packPoolMinBytes } : {}),
      ...(opts.onPackStats ? { onPackStats: opts.onPackStats } : {}),
    });
    const narrow = (findings: RawFinding[]) => suppress(findings, { operator: operator.suppression, repository: repository?.suppression ?? null, fingerprints });
    const result = await scanRepository(source, target.kind === 'git' ? target.selection : { kind: 'all' }, { open, narrow }, {
      maxBlobSize: opts.maxBlobSize,
      excludePath: excluded ? (p) => excluded(p) : undefined,
      fingerprintKey: operator.fingerprintKey,
      registry: opts.registry,
      signal: opts.signal,
      onProgress: opts.onProgress,
    });

    if (opts.verify && result.findings.length > 0) await verifyFindings(result.findings, await scanVerifier(catalog, operator, opts));

    const messages = [
      ...configWarnings,
      ...(result.suppressedByRepository > 0
        ? [`${result.suppressedByRepository} finding(s) suppressed by the repository config ${repository!.source.file} (--no-repo-config shows them)`]
        : []),
      ...result.incomplete.map(incompleteMessage),
    ];
    const nothingScanned = result.stats.blobs === 0 && result.incomplete.length > 0;
    return { result, catalog, config: { operator, repository }, suppressedByRepository: result.suppressedByRepository, target, messages, nothingScanned };
  } finally {
    if (target.kind === 'git') await target.objects.close();
  }
}

/** --verify's verifier: the operator's issuer URLs and timeouts, an in-memory cache, the store's audit log if any. */
async function scanVerifier(catalog: Catalog, config: OperatorConfig, opts: ScanPathOptions): Promise<FindingsVerifier> {
  // loaded only for --verify: the scan itself never needs the issuers' HTTP clients
  const [{ createVerifier }, { MemoryVerificationCache }, { findingsVerifier }] = await Promise.all([
    import('../verification/verify.js'),
    import('../verification/cache.js'),
    import('../verification/findings.js'),
  ]);
  const verifier = createVerifier({
    baseUrls: issuerOverrides(config, { flag: opts.githubUrl, env: opts.env }),
    allowInsecure: !!opts.allowInsecureIssuers,
    timeoutMs: config.verify.timeoutMs,
    allowUnsafe: !!opts.verifyUnsafe,
    cache: new MemoryVerificationCache(),
    cacheTtlMs: config.verify.cacheTtlHours * 3600_000,
    logger: opts.logger,
    registry: opts.registry,
    reach: !!opts.reach,
    ...(opts.audit ? { audit: opts.audit } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  return findingsVerifier(verifier, catalog);
}
