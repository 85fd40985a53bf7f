// The fast path of a full-history git scan: blobs come from the pure-JS pack reader in pack order and are
// matched delta-aware (only around what each delta inserted when its base scanned clean) on worker threads,
// instead of `git cat-file --batch` + a full scan of every blob. Provenance is the wrapped source's.
// Anything the reader cannot deliver (missing, corrupt, an unreadable pack) is read through the wrapped
// source and scanned whole, so the findings equal the normal path's.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ContentSource, FusedResult, FusedScanOptions } from '../../core/pipeline.js';
import type { EngineOptions } from '../../detection/engine.js';
import type { Engine } from '../../detection/types.js';
import { ObjectStore } from './object-store.js';
import type { JobResult } from './scan-core.js';
import { createPackScanPool, type PackScanPool, type PackScanStats, type PoolJob } from './scan-pool.js';

export interface PackSourceOptions {
  detectorsDir: string;
  /** Worker threads (≤ 1: in this thread). */
  jobs: number;
  engine?: Engine;
  engineOptions?: EngineOptions;
  /** false: every blob scanned whole (still from the pack reader). Default true. */
  deltaAware?: boolean;
  /** Called when a scan ends, with what was scanned and how. */
  onStats?: (stats: PackScanStats & { fallback: number }) => void;
  /** A pool started earlier (earlyPackPool), used instead of a new one; the scan closes it. */
  pool?: PackScanPool;
}

/** Below this much pack data one thread scans (a worker compiles the whole catalog first). */
const POOL_MIN_PACK_BYTES = 32 * 1024 * 1024;

/**
 * The fast path's pool, started before the history walk so its workers compile the catalog while git runs:
 * `jobs` threads when the packs hold at least 32 MiB, else none (null: scan in this thread, decided later).
 */
export function earlyPackPool(gitDir: string, opts: Omit<PackSourceOptions, 'pool'>): PackScanPool | null {
  const packDir = [path.join(gitDir, '.git', 'objects', 'pack'), path.join(gitDir, 'objects', 'pack')].find((d) => isDir(d));
  if (!packDir || opts.jobs <= 1) return null;
  let bytes = 0;
  for (const f of readdirSync(packDir)) if (f.endsWith('.pack')) bytes += statSync(path.join(packDir, f)).size;
  if (bytes < POOL_MIN_PACK_BYTES) return null;
  return createPackScanPool({ detectorsDir: opts.detectorsDir, jobs: opts.jobs, engine: opts.engine, engineOptions: opts.engineOptions, deltaAware: opts.deltaAware });
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
  let store: ObjectStore;
  try {
    store = ObjectStore.open(gitDir);
  } catch {
    void opts.pool?.close();
    return null;
  }
  if (store.packs.length === 0 || store.problems.length > 0) {
    store.close();
    void opts.pool?.close();
    return null;
  }
  return { ...base, scan: (ids: string[], o: FusedScanOptions) => fusedScan(base, store, ids, o, opts) };
}

async function* fusedScan(base: ContentSource, store: ObjectStore, ids: string[], o: FusedScanOptions, opts: PackSourceOptions): AsyncIterable<FusedResult> {
  const wanted = new Set(ids);
  const done = new Set<string>();
  const skips: FusedResult[] = [];
  // bases outside the selection (or excluded) are scanned to vouch for their deltas under their own first path
  const anyPath = new Map<string, string>();
  for (const it of base.items) if (it.blob && !wanted.has(it.blob)) anyPath.set(it.blob, it.origins[0]?.path ?? '');
  const pool = opts.pool ?? createPackScanPool({ detectorsDir: opts.detectorsDir, jobs: opts.jobs, engine: opts.engine, engineOptions: opts.engineOptions, deltaAware: opts.deltaAware });
  let fallback = 0;
  try {
    function* jobs(): Generator<PoolJob> {
      for (const b of store.blobs({ maxBlobSize: o.maxBlobSize })) {
        if (o.signal?.aborted) return;
        const report = wanted.has(b.oid);
        if (!('data' in b)) {
          // too large: reported as the native reader does; corrupt or unresolvable: left for the fallback read
          if (report && b.error === 'too-large') {
            done.add(b.oid);
            skips.push({ id: b.oid, skip: 'too-large', detail: `blob is ${b.size ?? '?'} bytes, over the ${o.maxBlobSize}-byte limit` });
          }
          continue;
        }
        if (report) done.add(b.oid);
        yield { oid: b.oid, path: report ? o.pathOf(b.oid) : (anyPath.get(b.oid) ?? ''), data: b.data, delta: b.delta, report };
      }
    }
    const convert = (r: JobResult): FusedResult =>
      r.mode === 'binary' ? { id: r.oid, skip: 'binary' } : { id: r.oid, size: r.size, matches: r.matches, ...(r.error !== undefined ? { error: r.error } : {}) };
    // Delta-aware scanning reads every blob of the packs; for a small part of the history (most paths excluded)
    // reading just those blobs through the wrapped source is cheaper.
    if (ids.length * 2 >= base.items.length) {
      for await (const r of pool.scan(jobs())) {
        while (skips.length) yield skips.shift()!;
        yield convert(r);
      }
      while (skips.length) yield skips.shift()!;
    }
    if (o.signal?.aborted) return;

    // whatever the pack reader did not deliver: read by the wrapped source, scanned whole
    const rest = ids.filter((id) => !done.has(id));
    if (rest.length > 0) {
      const readBack = async function* (): AsyncGenerator<PoolJob> {
        for await (const r of base.read(rest, o.maxBlobSize)) {
          if (!r.data) {
            skips.push({ id: r.id, skip: r.error ?? 'error', ...(r.detail !== undefined ? { detail: r.detail } : {}) });
            continue;
          }
          fallback++;
          yield { oid: r.id, path: o.pathOf(r.id), data: r.data, report: true };
        }
      };
      for await (const r of pool.scan(readBack())) {
        while (skips.length) yield skips.shift()!;
        yield convert(r);
      }
      while (skips.length) yield skips.shift()!;
    }
  } finally {
    opts.onStats?.({ ...pool.stats, fallback });
    await pool.close();
    store.close();
  }
}
