// The scan stage behind the pipeline's ScanStage port (core/pipeline.ts): contents go through the one scan pool
// (pool.ts: in this thread or on workers), matches are grouped into findings (group.ts).
import type { Matcher, MatchOutcome, ScanStage } from '../core/content.js';
import { catalogVersion } from '../detection/catalog-version.js';
import type { Catalog, Engine } from '../detection/types.js';
import { groupFindings } from './group.js';
import { createScanPool, type ScanPool } from './pool.js';
import type { JobResult, ScanJob } from './task.js';

/** A pool result as the pipeline reads it. */
export function outcomeOf(r: JobResult): MatchOutcome {
  if (r.mode === 'binary') return { id: r.oid, skip: 'binary' };
  return { id: r.oid, size: r.size, matches: r.matches, ...(r.error !== undefined ? { error: r.error } : {}) };
}

/** Matches contents on `pool`, whole blobs with their own path. */
export function poolMatcher(pool: ScanPool): Matcher {
  return async function* (items) {
    async function* jobs(): AsyncIterable<ScanJob> {
      for await (const it of items) yield { oid: it.id, path: it.path, data: it.data };
    }
    for await (const r of pool.scan(jobs())) yield outcomeOf(r);
  };
}

/** The scan stage over `catalog`, matching on `pool`. */
export function scanStage(catalog: Catalog, pool: ScanPool): ScanStage {
  return { catalog: catalogVersion(catalog), match: poolMatcher(pool), group: (opts) => groupFindings(catalog, opts) };
}

/** The scan stage in this thread, with `engine` (its catalog for grouping). */
export function inThreadStage(engine: Engine): ScanStage {
  return scanStage(engine.catalog, createScanPool({ detectorsDir: '', jobs: 1, engine }));
}
