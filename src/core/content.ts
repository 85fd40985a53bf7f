// One pass over a content source — filter (already scanned, excluded paths, size) → read (stream) → match (the
// scan stage, by its port) → group into findings — and the content source over git objects. The use case that
// runs it for a repository, and the whole stage order, is core/pipeline.ts.
import type { IncompleteItem, Location, Match, Origin, RawFinding, ScanStats, SkippedItem } from './model.js';
import type { BlobSelection, EnumerationProblem, GitObjects } from './ports.js';
import type { SecretRegistry } from '../util/redact.js';

export interface ScanResult {
  findings: RawFinding[];
  skipped: SkippedItem[];
  problems: EnumerationProblem[];
  /** What could not be read or was not scanned for its size: non-empty means the scan is incomplete. */
  incomplete: IncompleteItem[];
  stats: ScanStats;
}

/** Skip reasons that leave content unscanned which may hold a secret (binary and excluded content does not count). */
const INCOMPLETE_REASONS: ReadonlySet<SkippedItem['reason']> = new Set(['too-large', 'unreadable', 'missing-object', 'corrupt-object', 'error']);

/** The scan's incomplete list: every enumeration problem and every skip that left readable-looking content unscanned. */
export function incompleteItems(skipped: SkippedItem[], problems: EnumerationProblem[]): IncompleteItem[] {
  const out: IncompleteItem[] = [];
  for (const p of problems) out.push({ object: p.oid ?? null, ...(p.path !== undefined ? { path: p.path } : {}), reason: p.kind, detail: p.detail });
  for (const s of skipped) {
    if (INCOMPLETE_REASONS.has(s.reason)) out.push({ object: s.blob, path: s.path, reason: s.reason, ...(s.detail !== undefined ? { detail: s.detail } : {}) });
  }
  return out;
}

/** One unit of content to match, identified by `id` (blob oid, or path for plain files). */
export interface ContentItem {
  id: string;
  /** Blob oid for git content, null for plain files. */
  blob: string | null;
  size: number;
  origins: Origin[];
}

/** Where content comes from: a git object database or a plain directory. */
export interface ContentSource {
  /** Unique items with provenance. */
  items: ContentItem[];
  problems: EnumerationProblem[];
  /** Streams contents; items over maxBlobSize yield `tooLarge`. Order is the source's choice. */
  read(ids: string[], maxBlobSize: number): AsyncIterable<{ id: string; data?: Buffer; error?: SkippedItem['reason']; detail?: string }>;
  /**
   * Optional fused read + match (the pack reader's delta-aware scan). When present, scanSource hands it the ids
   * instead of calling read() and the matcher; it must report exactly what a full scan of each item would.
   */
  scan?(ids: string[], opts: FusedScanOptions): AsyncIterable<MatchOutcome>;
}

export interface FusedScanOptions {
  maxBlobSize: number;
  /** Path given to the engine for an item (its first non-excluded origin). */
  pathOf: (id: string) => string;
  signal?: AbortSignal;
}

/** One item after matching: its matches (`error`: detection threw on it), or why it was not scanned (`skip`). */
export type MatchOutcome = { id: string; size: number; matches: Match[]; error?: string } | { id: string; skip: SkippedItem['reason']; detail?: string };

/** Content read from a source, to be matched (`path`: its first non-excluded origin's, for path-aware filters). */
export interface ContentToMatch {
  id: string;
  data: Buffer;
  path: string;
}

/** Matches a stream of contents, in any order; binary content comes back as `skip: 'binary'`. */
export type Matcher = (items: AsyncIterable<ContentToMatch>) => AsyncIterable<MatchOutcome>;

/** Groups one scan's matches into findings (one per detector + secret, with every location). */
export interface FindingGroups {
  add(m: Match, item: ContentItem): void;
  /** Findings so far (for progress). */
  readonly size: number;
  /** The findings, merged across co-detections, confidence applied, sorted. */
  findings(): RawFinding[];
}

/** The scan stage as the pipeline sees it (src/scan implements it over the detection catalog and engine). */
export interface ScanStage {
  /** The version of the catalog it matches with (detection/catalog-version.ts): blobs it scanned are recorded under it. */
  readonly catalog: string;
  match: Matcher;
  group(opts: { fingerprintKey?: string; registry?: SecretRegistry }): FindingGroups;
}

export interface ScanOptions {
  maxBlobSize: number;
  /** Items for which this returns true are not read (already scanned in the store). */
  skipItem?: (id: string) => boolean;
  /** Called once per item that was read and matched (or skipped for content reasons). */
  onItem?: (id: string, outcome: 'scanned' | 'skipped') => void;
  /** Paths (repo-relative) never scanned: an item whose every origin is excluded is skipped. */
  excludePath?: (path: string) => boolean;
  fingerprintKey?: string;
  registry?: SecretRegistry;
  signal?: AbortSignal;
  onProgress?: (stats: ScanStats) => void;
}

/** Read → match → group over any content source. */
export async function scanSource(source: ContentSource, stage: ScanStage, opts: ScanOptions): Promise<ScanResult> {
  const started = Date.now();
  const skipped: SkippedItem[] = [];
  const stats: ScanStats = { blobs: 0, bytes: 0, skipped: 0, findings: 0, elapsedMs: 0 };
  const byId = new Map<string, ContentItem>();
  const toRead: string[] = [];

  for (const item of source.items) {
    if (opts.skipItem?.(item.id)) continue;
    const origins = opts.excludePath ? item.origins.filter((o) => !opts.excludePath!(o.path)) : item.origins;
    if (origins.length === 0) {
      skipped.push({ path: item.origins[0]?.path ?? item.id, blob: item.blob, reason: 'excluded' });
      continue;
    }
    byId.set(item.id, { ...item, origins });
    toRead.push(item.id);
  }

  const groups = stage.group({ fingerprintKey: opts.fingerprintKey, registry: opts.registry });
  const skip = (item: ContentItem, reason: SkippedItem['reason'], detail?: string) => {
    skipped.push({ path: item.origins[0]?.path ?? item.id, blob: item.blob, reason, detail });
    opts.onItem?.(item.id, 'skipped');
  };
  const pathOf = (id: string) => byId.get(id)?.origins[0]?.path ?? '';

  async function* contents(): AsyncIterable<ContentToMatch> {
    for await (const r of source.read(toRead, opts.maxBlobSize)) {
      if (opts.signal?.aborted) return;
      const item = byId.get(r.id);
      if (!item) continue;
      if (!r.data) skip(item, r.error ?? 'error', r.detail);
      else yield { id: r.id, data: r.data, path: pathOf(r.id) };
    }
  }

  let lastProgress = 0;
  const outcomes = source.scan ? source.scan(toRead, { maxBlobSize: opts.maxBlobSize, pathOf, signal: opts.signal }) : stage.match(contents());
  for await (const r of outcomes) {
    if (opts.signal?.aborted) break;
    const item = byId.get(r.id);
    if (!item) continue;
    if ('skip' in r) {
      skip(item, r.skip, r.detail);
      continue;
    }
    stats.blobs++;
    stats.bytes += r.size;
    if (r.error !== undefined) {
      skip(item, 'error', `detection failed: ${r.error}`);
      continue;
    }
    for (const m of r.matches) groups.add(m, item);
    opts.onItem?.(r.id, 'scanned');
    if (opts.onProgress && Date.now() - lastProgress > 250) {
      lastProgress = Date.now();
      opts.onProgress({ ...stats, skipped: skipped.length, findings: groups.size, elapsedMs: Date.now() - started });
    }
  }

  const findings = groups.findings();
  stats.skipped = skipped.length;
  stats.findings = findings.length;
  stats.elapsedMs = Date.now() - started;
  opts.onProgress?.(stats);
  return { findings, skipped, problems: source.problems, incomplete: incompleteItems(skipped, source.problems), stats };
}

export function compareLocations(a: Location, b: Location): number {
  return (
    (a.date ?? '').localeCompare(b.date ?? '') ||
    (a.commit ?? '').localeCompare(b.commit ?? '') ||
    a.path.localeCompare(b.path) ||
    a.line - b.line ||
    a.column - b.column
  );
}

/** Content source over a git object database for one selection. */
export async function gitSource(objects: GitObjects, selection: BlobSelection): Promise<ContentSource & { commits: number }> {
  const en = await objects.enumerate(selection);
  return {
    items: en.blobs.map((b) => ({ id: b.oid, blob: b.oid, size: b.size, origins: b.origins })),
    problems: en.problems,
    commits: en.commits,
    async *read(ids, maxBlobSize) {
      for await (const r of objects.read(ids, { maxBlobSize })) {
        if ('data' in r) yield { id: r.oid, data: r.data };
        else yield { id: r.oid, error: r.error, detail: r.detail };
      }
    },
  };
}

/** Full scan of one git repository selection. */
export async function scanGit(objects: GitObjects, selection: BlobSelection, stage: ScanStage, opts: ScanOptions): Promise<ScanResult> {
  return scanSource(await gitSource(objects, selection), stage, opts);
}
