// The pipeline — the one place that knows the stage order. Every scan (keyloop scan, keyloop org, the App's pushes
// and full scans, a worker's scan-repo job) is scanRepository; every scan that keeps state ends in recordScan.
//
//   open    a repository's selection → unique blobs + provenance   ports.open (src/scan/contents.ts: git or a
//                                                                  directory; the pack fast path for a full history)
//   filter  blobs scanned before (the store's), excluded paths,    scanSource (core/content.ts)
//           size
//   read    stream the contents                                    the content source
//   match   skip binary; the engine in this thread or on workers   the scan stage (ScanStage: src/scan)
//   group   one finding per detector + secret, every location      the scan stage
//   narrow  operator config, the repository's .keyloop.yaml,       ports.narrow (config/suppress.ts)
//           baseline, triaged false positives
//   record  findings, locations, blobs looked at under the         recordScan → the Store port (core/store.ts)
//           catalog's version (one transaction)
//   verify  each finding's issuer: live │ dead │ unknown, a live    verifyFindings → ports.FindingsVerifier
//           key high confidence                                    (src/verification findingsVerifier)
//
// Attribution and the issue loop come after, driven by the commands (src/loop). This file knows the stages by their
// ports only: it imports nothing outside src/core (test/layers.test.ts holds it to that).
import { scanSource, type ContentSource, type ScanOptions, type ScanResult, type ScanStage } from './content.js';
import { applyVerification, type RawFinding } from './model.js';
import type { BlobSelection, FindingsVerifier, GitObjects } from './ports.js';
import type { RepoScanOutcome, Store } from './store.js';

/**
 * What to scan: a git repository (a work tree or a bare mirror; `objects` when the caller has it open, else opened
 * with `backend`), or a plain directory.
 */
export type RepositorySource =
  | { kind: 'git'; dir: string; objects?: GitObjects; backend?: 'auto' | 'native' | 'isomorphic' }
  | { kind: 'directory'; dir: string };

/** A selection, enumerated: its content, the stage that matches it, and what to release afterwards. */
export interface OpenedContent {
  source: ContentSource;
  stage: ScanStage;
  /** Commits walked (0 for a directory and for HEAD-only and staged selections). */
  commits: number;
  /** HEAD's commit when the selection is the full history (what a scan of it covered); else null. */
  head: string | null;
  close(): Promise<void>;
}

/** Findings after suppression, with how many the repository's own config dropped. */
export interface Narrowed {
  findings: RawFinding[];
  byRepository: number;
}

export interface ScanPorts {
  open(repo: RepositorySource, selection: BlobSelection): Promise<OpenedContent>;
  narrow?(findings: RawFinding[]): Narrowed | Promise<Narrowed>;
}

export interface ScanRepositoryOptions extends Omit<ScanOptions, 'skipItem' | 'onItem'> {
  /** Blobs scanned before by this catalog (the store's scannedBlobs for the stage's version): not read again. */
  known?: ReadonlySet<string>;
}

export interface RepositoryScan extends ScanResult {
  /** Every git blob looked at, with what happened to it (what recordScan marks as scanned). */
  blobs: Map<string, 'scanned' | 'skipped'>;
  /** The version of the catalog that looked at `blobs` (the scan stage's). */
  catalog: string;
  /** The selection was the whole history: the repository as a whole has been scanned by `catalog`. */
  wholeHistory: boolean;
  commits: number;
  head: string | null;
  /** Findings the repository's own .keyloop.yaml dropped. */
  suppressedByRepository: number;
}

/** open → filter → read → match → group → narrow, for one repository and one selection. */
export async function scanRepository(repo: RepositorySource, selection: BlobSelection, ports: ScanPorts, opts: ScanRepositoryOptions): Promise<RepositoryScan> {
  const content = await ports.open(repo, selection);
  try {
    const { known, ...scan } = opts;
    const blobs = new Map<string, 'scanned' | 'skipped'>();
    const result = await scanSource(content.source, content.stage, {
      ...scan,
      ...(known ? { skipItem: (id: string) => known.has(id) } : {}),
      ...(repo.kind === 'git' ? { onItem: (id: string, outcome: 'scanned' | 'skipped') => blobs.set(id, outcome) } : {}),
    });
    const narrowed = ports.narrow && !opts.signal?.aborted ? await ports.narrow(result.findings) : { findings: result.findings, byRepository: 0 };
    result.findings = narrowed.findings;
    result.stats.findings = narrowed.findings.length;
    return {
      ...result,
      blobs,
      catalog: content.stage.catalog,
      wholeHistory: repo.kind === 'git' && selection.kind === 'all',
      commits: content.commits,
      head: content.head,
      suppressedByRepository: narrowed.byRepository,
    };
  } finally {
    await content.close();
  }
}

/** Skip reasons that mean "could not read", not "looked at": those blobs are not marked, so the next scan retries them. */
const RETRY_REASONS: ReadonlySet<string> = new Set(['missing-object', 'corrupt-object', 'unreadable', 'error']);

export interface RecordedScan extends RepoScanOutcome {
  /** What could not be read (enumeration problems, unreadable blobs), one line each: the record is not whole. */
  unreadable: string[];
}

/** Records a scan of `repo` in run `runId` (one transaction): findings, locations, the blobs looked at, HEAD. */
export async function recordScan(
  result: RepositoryScan,
  store: Pick<Store, 'recordRepoScan'>,
  at: { runId: number; repo: string; pushedAt?: string | null; elapsedMs: number },
): Promise<RecordedScan> {
  const retry = new Set(result.skipped.flatMap((s) => (s.blob && RETRY_REASONS.has(s.reason) ? [s.blob] : [])));
  const rec = await store.recordRepoScan(at.runId, at.repo, {
    findings: result.findings,
    blobs: [...result.blobs].filter(([oid]) => !retry.has(oid)),
    catalog: result.catalog,
    wholeHistory: result.wholeHistory,
    bytesScanned: result.stats.bytes,
    headCommit: result.head,
    pushedAt: at.pushedAt ?? null,
    elapsedMs: at.elapsedMs,
    suppressedByRepoConfig: result.suppressedByRepository,
  });
  const unreadable = [...result.problems.map((p) => `${p.kind}: ${p.detail}`), ...[...retry].map((oid) => `unreadable blob ${oid.slice(0, 12)}`)];
  return { ...rec, unreadable };
}

/** Asks the issuers about a scan's findings and records each verdict on its finding (`keyloop scan --verify`, the App). */
export async function verifyFindings(findings: RawFinding[], verifier: FindingsVerifier): Promise<void> {
  if (findings.length === 0) return;
  const verdicts = await verifier.verify(findings);
  for (const f of findings) {
    const v = verdicts.get(f.fingerprint);
    if (v) applyVerification(f, v);
  }
}
