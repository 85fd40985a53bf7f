// The fast path of a full-history git scan: blobs come from the pure-JS pack reader in pack order and are
// matched delta-aware (only the lines each delta changed when its base scanned clean) on worker threads,
// instead of `git cat-file --batch` + a full scan of every blob. Provenance is the wrapped source's. With a
// worker pool, the scan starts before the history walk and runs for any path (startPrescan).
// Anything the reader cannot deliver (missing, corrupt, an unreadable pack) is read through the wrapped
// source and scanned whole, so the findings equal the normal path's.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ContentSource, FusedScanOptions, MatchOutcome } from '../core/content.js';
import { matchesForPath, type EngineOptions } from '../detection/engine.js';
import type { Engine } from '../detection/types.js';
import type { Match } from '../core/model.js';
import { ObjectStore } from '../objects/pack/object-store.js';
import { TargetBuffers } from '../objects/pack/target-buffers.js';
import { deltaPlanner } from './delta-plan.js';
import { createScanPool, type ScanPool, type ScanPoolStats } from './pool.js';
import { outcomeOf } from './stage.js';
import type { ScanJob } from './task.js';

export interface PackSourceOptions {
  detectorsDir: string;
  /** Worker threads (≤ 1: in this thread). */
  jobs: number;
  engine?: Engine;
  engineOptions?: EngineOptions;
  /** false: every blob scanned whole (still from the pack reader). Default true. */
  deltaAware?: boolean;
  /** Called when a scan ends, with what was scanned and how (`prescan`: it started before the history walk). */
  onStats?: (stats: PackScanStats) => void;
  /** earlyPackPool: packs from this many bytes get a pool (default 32 MiB). */
  minPackBytes?: number;
  /** A pool started earlier (earlyPackPool), used instead of a new one; the scan closes it. */
  pool?: ScanPool;
  /** A scan of the packs started before the history walk (startPrescan, on `pool`): its results are used. */
  prescan?: Prescan;
}

/** What the pack path scanned and how: the pool's figures, blobs read back through git, and whether it prescanned. */
export type PackScanStats = ScanPoolStats & { fallback: number; prescan?: boolean };

/** What a prescan found, per blob oid. */
interface PrescanFindings {
  /** Blobs the reader delivered and the pool scanned (with their size), and how. */
  size: Map<string, number>;
  matches: Map<string, Match[]>;
  binary: Set<string>;
  errors: Map<string, string>;
  tooLarge: Map<string, number>;
}

/**
 * A scan of every blob of the packs that starts before the history walk: paths are not known yet, so blobs are
 * scanned for any path (each match keeps the path classes it holds in) and the walk's paths are applied when
 * its results are used. While git walks, this thread reads the packs in short slices between the walk's output
 * and the workers scan; this thread scans too once the walk is over (`walkDone`).
 */
export interface Prescan {
  walkDone(): void;
  /** Stops reading (the scan ended before it used the prescan) and closes the pack reader; the pool stays open. */
  cancel(): Promise<void>;
  /** @internal */
  readonly findings: Promise<PrescanFindings>;
}

/** Longest stretch of pack reading between two turns of the event loop while git walks (ms). */
const WALK_SLICE_MS = 2;

/**
 * Starts the prescan on `pool` (earlyPackPool's: workers, so scanning does not compete with the walk for this
 * thread), or returns null when the reader cannot open the repository's packs cleanly.
 */
export function startPrescan(gitDir: string, pool: ScanPool, opts: { maxBlobSize: number; deltaAware?: boolean }): Prescan | null {
  const opened = ObjectStore.openClean(gitDir);
  if (!opened) return null;
  const store: ObjectStore = opened;
  let walking = true;
  let cancelled = false;
  pool.helping = false;
  const found: PrescanFindings = { size: new Map(), matches: new Map(), binary: new Set(), errors: new Map(), tooLarge: new Map() };
  // the walk's delta targets reuse memory the pool has released (ScanJob.release)
  const targets = new TargetBuffers();
  async function* jobs(): AsyncGenerator<ScanJob> {
    let slice = performance.now();
    for (const b of store.blobs({ maxBlobSize: opts.maxBlobSize, targets })) {
      if (cancelled) return;
      if (walking && performance.now() - slice > WALK_SLICE_MS) {
        // let the walk's output in: git must never wait on a full pipe for this
        await new Promise((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
      if (!('data' in b)) {
        if (b.error === 'too-large') found.tooLarge.set(b.oid, b.size ?? 0);
        continue;
      }
      yield { oid: b.oid, path: '', anyPath: true, data: b.data, delta: b.delta, report: true, release: () => targets.release(b.data) };
    }
  }
  const findings = (async () => {
    try {
      for await (const r of pool.scan(jobs(), deltaPlanner(pool.multiline, { deltaAware: opts.deltaAware }))) {
        if (r.mode === 'binary') found.binary.add(r.oid);
        else if (r.error !== undefined) found.errors.set(r.oid, r.error);
        else if (r.matches.length > 0) found.matches.set(r.oid, r.matches);
        found.size.set(r.oid, r.size);
      }
      return found;
    } finally {
      store.close();
    }
  })();
  findings.catch(() => undefined);
  return {
    findings,
    walkDone() {
      walking = false;
      pool.helping = true;
    },
    async cancel() {
      cancelled = true;
      walking = false;
      await findings.catch(() => undefined);
    },
  };
}

/** Below this much pack data one thread scans (a worker compiles the whole catalog first). */
const POOL_MIN_PACK_BYTES = 32 * 1024 * 1024;

/**
 * The fast path's pool, started before the history walk so its workers compile the catalog while git runs:
 * `jobs` threads when the packs hold at least 32 MiB, else none (null: scan in this thread, decided later).
 */
export function earlyPackPool(gitDir: string, opts: Omit<PackSourceOptions, 'pool'>): ScanPool | null {
  const packDir = [path.join(gitDir, '.git', 'objects', 'pack'), path.join(gitDir, 'objects', 'pack')].find((d) => isDir(d));
  if (!packDir || opts.jobs <= 1) return null;
  let bytes = 0;
  for (const f of readdirSync(packDir)) if (f.endsWith('.pack')) bytes += statSync(path.join(packDir, f)).size;
  if (bytes < (opts.minPackBytes ?? POOL_MIN_PACK_BYTES)) return null;
  return createScanPool({ detectorsDir: opts.detectorsDir, jobs: opts.jobs, engine: opts.engine, engineOptions: opts.engineOptions });
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** `KEYLOOP_PACK_READER=0` (or `false`, `off`) turns the fast path off. */
export function packReaderEnabled(env: Record<string, string | undefined>): boolean {
  const v = env.KEYLOOP_PACK_READER?.trim().toLowerCase();
  return !(v === '0' || v === 'false' || v === 'off' || v === 'no');
}

/**
 * Wraps a git content source with the pack fast path, or returns null when the repository is not one the
 * reader handles cleanly (no objects dir it can find, no pack, a pack or index it cannot open).
 */
export function packSource<S extends ContentSource>(base: S, gitDir: string, opts: PackSourceOptions): S | null {
  const prescan = opts.prescan;
  if (prescan && opts.pool) {
    const pool = opts.pool;
    return { ...base, scan: (ids: string[], o: FusedScanOptions) => prescanned(base, prescan, pool, ids, o, opts) };
  }
  const store = ObjectStore.openClean(gitDir);
  if (!store) {
    void opts.pool?.close();
    return null;
  }
  return { ...base, scan: (ids: string[], o: FusedScanOptions) => fusedScan(base, store, ids, o, opts) };
}

const tooLarge = (id: string, size: number | undefined, o: FusedScanOptions): MatchOutcome => ({
  id,
  skip: 'too-large',
  detail: `blob is ${size ?? '?'} bytes, over the ${o.maxBlobSize}-byte limit`,
});

/** The prescan's results for `ids`, with each blob's path applied; what it did not deliver is read back. */
async function* prescanned(
  base: ContentSource,
  prescan: Prescan,
  pool: ScanPool,
  ids: string[],
  o: FusedScanOptions,
  opts: PackSourceOptions,
): AsyncIterable<MatchOutcome> {
  const counter = { fallback: 0 };
  try {
    const found = await prescan.findings;
    const rest: string[] = [];
    for (const id of ids) {
      if (o.signal?.aborted) return;
      const size = found.size.get(id);
      if (size === undefined) {
        if (found.tooLarge.has(id)) yield tooLarge(id, found.tooLarge.get(id), o);
        else rest.push(id);
      } else if (found.binary.has(id)) yield { id, skip: 'binary' };
      else if (found.errors.has(id)) yield { id, size, matches: [], error: found.errors.get(id)! };
      else yield { id, size, matches: matchesForPath(found.matches.get(id) ?? [], o.pathOf(id)) };
    }
    yield* readBack(base, pool, rest, o, counter);
  } finally {
    opts.onStats?.({ ...pool.stats, fallback: counter.fallback, prescan: true });
    await prescan.cancel();
    await pool.close();
  }
}

async function* fusedScan(base: ContentSource, store: ObjectStore, ids: string[], o: FusedScanOptions, opts: PackSourceOptions): AsyncIterable<MatchOutcome> {
  const wanted = new Set(ids);
  const done = new Set<string>();
  const skips: MatchOutcome[] = [];
  // bases outside the selection (or excluded) are scanned to vouch for their deltas under their own first path
  const anyPath = new Map<string, string>();
  for (const it of base.items) if (it.blob && !wanted.has(it.blob)) anyPath.set(it.blob, it.origins[0]?.path ?? '');
  const pool = opts.pool ?? createScanPool({ detectorsDir: opts.detectorsDir, jobs: opts.jobs, engine: opts.engine, engineOptions: opts.engineOptions });
  const counter = { fallback: 0 };
  const targets = new TargetBuffers();
  try {
    function* jobs(): Generator<ScanJob> {
      for (const b of store.blobs({ maxBlobSize: o.maxBlobSize, targets })) {
        if (o.signal?.aborted) return;
        const report = wanted.has(b.oid);
        if (!('data' in b)) {
          // too large: reported as the native reader does; corrupt or unresolvable: left for the fallback read
          if (report && b.error === 'too-large') {
            done.add(b.oid);
            skips.push(tooLarge(b.oid, b.size, o));
          }
          continue;
        }
        if (report) done.add(b.oid);
        const data = b.data;
        yield { oid: b.oid, path: report ? o.pathOf(b.oid) : (anyPath.get(b.oid) ?? ''), data, delta: b.delta, report, release: () => targets.release(data) };
      }
    }
    // Delta-aware scanning reads every blob of the packs; for a small part of the history (most paths excluded)
    // reading just those blobs through the wrapped source is cheaper.
    if (ids.length * 2 >= base.items.length) {
      for await (const r of pool.scan(jobs(), deltaPlanner(pool.multiline, { deltaAware: opts.deltaAware }))) {
        while (skips.length) yield skips.shift()!;
        yield outcomeOf(r);
      }
      while (skips.length) yield skips.shift()!;
    }
    if (o.signal?.aborted) return;
    yield* readBack(
      base,
      pool,
      ids.filter((id) => !done.has(id)),
      o,
      counter,
    );
  } finally {
    opts.onStats?.({ ...pool.stats, fallback: counter.fallback });
    await pool.close();
    store.close();
  }
}

/** Whatever the pack reader did not deliver: read by the wrapped source, scanned whole with its path. */
async function* readBack(base: ContentSource, pool: ScanPool, rest: string[], o: FusedScanOptions, counter: { fallback: number }): AsyncIterable<MatchOutcome> {
  if (rest.length === 0 || o.signal?.aborted) return;
  const skips: MatchOutcome[] = [];
  const jobs = async function* (): AsyncGenerator<ScanJob> {
    for await (const r of base.read(rest, o.maxBlobSize)) {
      if (!r.data) {
        skips.push({ id: r.id, skip: r.error ?? 'error', ...(r.detail !== undefined ? { detail: r.detail } : {}) });
        continue;
      }
      counter.fallback++;
      yield { oid: r.id, path: o.pathOf(r.id), data: r.data, report: true };
    }
  };
  for await (const r of pool.scan(jobs())) {
    while (skips.length) yield skips.shift()!;
    yield outcomeOf(r);
  }
  while (skips.length) yield skips.shift()!;
}
