// The scan pipeline — the one place that knows the stage order:
//   enumerate (unique blobs + provenance) → filter (already scanned, excluded paths, size) → read (stream)
//   → skip binary → match (engine, in-thread or worker pool) → group into findings (one per detector+secret)
// Verification, attribution, storage and notification are later stages driven by the commands.
import type { Finding, IncompleteItem, Location, Match, Origin, ScanStats, SkippedItem } from './model.js';
import type { BlobSelection, EnumerationProblem, GitObjects } from './ports.js';
import type { Engine } from '../detection/types.js';
import { fingerprint as computeFingerprint } from './fingerprint.js';
import { redact, type SecretRegistry } from '../util/redact.js';
import { compareSpecificity, specificity } from '../detection/specificity.js';
import { baseConfidence, findingConfidence, isFixturePath } from '../detection/confidence.js';
import { skipBinary } from '../detection/engine.js';

/** Plaintext finding, in-process only: reporters drop `secret`/`parts` unless --reveal. */
export interface RawFinding extends Omit<Finding, 'secret'> {
  secret: string;
  parts: Record<string, string>;
}

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
  scan?(ids: string[], opts: FusedScanOptions): AsyncIterable<FusedResult>;
}

export interface FusedScanOptions {
  maxBlobSize: number;
  /** Path given to the engine for an item (its first non-excluded origin). */
  pathOf: (id: string) => string;
  signal?: AbortSignal;
}

/** One item of a fused scan: matched (`error`: detection threw on it), or not scanned for `skip`. */
export type FusedResult =
  | { id: string; size: number; matches: Match[]; error?: string }
  | { id: string; skip: SkippedItem['reason']; detail?: string };

/** Runs the engine over a stream of contents: in-thread, or a worker pool with the same shape. */
export type Matcher = (
  items: AsyncIterable<{ id: string; data: Buffer; path: string }>,
) => AsyncIterable<{ id: string; matches: Match[]; /** detection threw on this item (a bug): skipped, the rest goes on */ error?: string }>;

export function inThreadMatcher(engine: Engine): Matcher {
  return async function* (items) {
    for await (const it of items) yield { id: it.id, matches: engine.scan(it.data, { path: it.path }) };
  };
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

/** Detection + grouping over any content source. */
export async function scanSource(source: ContentSource, matcher: Matcher, catalog: Engine['catalog'], opts: ScanOptions): Promise<ScanResult> {
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

  const groups = new Map<string, RawFinding>();
  const skip = (item: ContentItem, reason: SkippedItem['reason'], detail?: string) => {
    skipped.push({ path: item.origins[0]?.path ?? item.id, blob: item.blob, reason, detail });
    opts.onItem?.(item.id, 'skipped');
  };

  async function* contents() {
    for await (const r of source.read(toRead, opts.maxBlobSize)) {
      if (opts.signal?.aborted) return;
      const item = byId.get(r.id);
      if (!item) continue;
      if (!r.data) {
        skip(item, r.error ?? 'error', r.detail);
        continue;
      }
      if (skipBinary(r.data)) {
        skip(item, 'binary');
        continue;
      }
      stats.blobs++;
      stats.bytes += r.data.length;
      yield { id: r.id, data: r.data, path: item.origins[0]!.path };
    }
  }

  async function* fused(scan: NonNullable<ContentSource['scan']>) {
    const pathOf = (id: string) => byId.get(id)?.origins[0]?.path ?? '';
    for await (const r of scan(toRead, { maxBlobSize: opts.maxBlobSize, pathOf, signal: opts.signal })) {
      if (opts.signal?.aborted) return;
      const item = byId.get(r.id);
      if (!item) continue;
      if ('skip' in r) {
        skip(item, r.skip, r.detail);
        continue;
      }
      stats.blobs++;
      stats.bytes += r.size;
      yield r.error === undefined ? { id: r.id, matches: r.matches } : { id: r.id, matches: [], error: r.error };
    }
  }

  let lastProgress = 0;
  const results = source.scan ? fused(source.scan.bind(source)) : matcher(contents());
  for await (const { id, matches, error } of results) {
    const item = byId.get(id)!;
    if (error) {
      skip(item, 'error', `detection failed: ${error}`);
      continue;
    }
    for (const m of matches) addMatch(groups, m, item, catalog, opts);
    opts.onItem?.(id, 'scanned');
    if (opts.onProgress && Date.now() - lastProgress > 250) {
      lastProgress = Date.now();
      opts.onProgress({ ...stats, skipped: skipped.length, findings: groups.size, elapsedMs: Date.now() - started });
    }
  }

  const findings = mergeCoDetections([...groups.values()], catalog);
  for (const f of findings) {
    f.locations.sort(compareLocations);
    f.confidence = findingConfidence(f.confidence, f.locations);
  }
  findings.sort((a, b) => compareLocations(a.locations[0]!, b.locations[0]!) || a.detector.localeCompare(b.detector) || a.fingerprint.localeCompare(b.fingerprint));
  stats.skipped = skipped.length;
  stats.findings = findings.length;
  stats.elapsedMs = Date.now() - started;
  opts.onProgress?.(stats);
  return { findings, skipped, problems: source.problems, incomplete: incompleteItems(skipped, source.problems), stats };
}

function addMatch(groups: Map<string, RawFinding>, m: Match, item: ContentItem, catalog: Engine['catalog'], opts: ScanOptions) {
  const det = catalog.byId.get(m.detectorId);
  if (!det) return;
  opts.registry?.add(m.secret);
  const key = `${m.detectorId}\0${m.secret}`;
  let f = groups.get(key);
  if (!f) {
    f = {
      detector: m.detectorId,
      name: det.def.name,
      provider: det.provider.id,
      severity: det.def.severity,
      // the detector's and the secret's say; the locations' context is applied once every match is in
      confidence: baseConfidence(det.def, m.secret),
      fingerprint: computeFingerprint(m.detectorId, m.secret, opts.fingerprintKey),
      secret: m.secret,
      parts: { ...m.parts },
      redacted: redact(m.secret),
      locations: [],
    };
    groups.set(key, f);
  } else {
    for (const [k, v] of Object.entries(m.parts)) f.parts[k] ??= v;
  }
  if (m.alsoMatched) f.alsoMatched = union(f.alsoMatched, m.alsoMatched);
  const blob = item.blob;
  for (const o of item.origins) {
    const loc: Location = {
      commit: o.commit || null,
      author: o.commit ? o.author : null,
      date: o.commit ? o.date : null,
      path: o.path,
      line: m.line,
      column: m.column,
      blob,
    };
    if (m.decoded?.length) loc.decoded = m.decoded;
    if (isFixturePath(o.path)) loc.context = 'fixture';
    f.locations.push(loc);
  }
}

function union(a: string[] | undefined, b: readonly string[]): string[] {
  return [...new Set([...(a ?? []), ...b])].sort();
}

/**
 * One finding per secret across blobs too: where the engine saw detector X beat Y on a secret (Y in X's
 * `alsoMatched`), Y's finding of that same secret elsewhere joins X's, locations and all.
 */
function mergeCoDetections(findings: RawFinding[], catalog: Engine['catalog']): RawFinding[] {
  if (!findings.some((f) => f.alsoMatched)) return findings;
  const bySecret = new Map<string, RawFinding[]>();
  for (const f of findings) bySecret.set(f.secret, [...(bySecret.get(f.secret) ?? []), f]);
  const merged = new Set<RawFinding>();
  const rankOf = (f: RawFinding) => ({ id: f.detector, rank: ((d) => (d ? specificity(d.def) : 0))(catalog.byId.get(f.detector)) });
  for (const group of bySecret.values()) {
    if (group.length < 2) continue;
    group.sort((a, b) => compareSpecificity(rankOf(a), rankOf(b)));
    group.forEach((g, i) => {
      const into = group.slice(0, i).find((f) => !merged.has(f) && f.alsoMatched?.includes(g.detector));
      if (!into) return;
      merged.add(g);
      into.locations.push(...g.locations);
      for (const [k, v] of Object.entries(g.parts)) into.parts[k] ??= v;
      if (g.alsoMatched) into.alsoMatched = union(into.alsoMatched, g.alsoMatched.filter((d) => d !== into.detector));
    });
  }
  return merged.size === 0 ? findings : findings.filter((f) => !merged.has(f));
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
export async function scanGit(objects: GitObjects, selection: BlobSelection, engine: Engine, opts: ScanOptions & { matcher?: Matcher }): Promise<ScanResult> {
  const source = await gitSource(objects, selection);
  return scanSource(source, opts.matcher ?? inThreadMatcher(engine), engine.catalog, opts);
}
