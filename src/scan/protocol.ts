// What the scan pool and its workers say to each other (pool.ts, worker.ts): the catalog at init, batches of tasks
// packed back to back in shared memory, and one result per task.
import type { EngineOptions } from '../detection/engine.js';
import type { Catalog } from '../detection/types.js';
import type { ScanTask, TaskResult } from './task.js';

export interface WorkerInit {
  type: 'init';
  /** Identifies the catalog (a worker reused by the next pool keeps its engine when this is unchanged). */
  detectorsDir: string;
  /**
   * The catalog as this thread loaded it (structured clone): the worker compiles it without loading the YAML
   * and schema modules itself (~20 MB less per worker). Absent: the worker loads `detectorsDir`.
   */
  catalog?: Catalog;
  engineOptions?: EngineOptions;
}

export interface WorkerBatch {
  type: 'batch';
  batchId: number;
  tasks: { oid: string; path: string; report: boolean; regions?: number[]; regionsOnly?: boolean; size?: number; anyPath?: boolean }[];
  offsets: number[];
  /**
   * Shared memory, reused for later batches once this one's result is back. Transferring an ArrayBuffer there
   * and back costs ~0.6 ms per message here (most of a worker's time on small blobs); sharing costs nothing.
   */
  buffer: SharedArrayBuffer;
}

export interface WorkerResult {
  type: 'result';
  batchId: number;
  /** One per task (reported or not: the router needs every verdict). */
  results: TaskResult[];
}

/** A batch buffer's size for `bytes`: the next power of two from 64 KiB. */
export function bufferSize(bytes: number): number {
  let size = 64 << 10;
  while (size < bytes) size *= 2;
  return size;
}

/** Copies a batch's bytes into `view`, back to back: whole blobs, or only the regions of region tasks. */
export function packBatch(batch: ScanTask[], view: Buffer): { tasks: WorkerBatch['tasks']; offsets: number[] } {
  const offsets = [0];
  const tasks: WorkerBatch['tasks'] = [];
  let at = 0;
  for (const task of batch) {
    const start = at;
    if (task.regions) {
      // only the regions travel, back to back; a dirty one comes back as a rescan (the router kept the blob)
      const rebased: number[] = [];
      for (let k = 0; k < task.regions.length; k += 2) {
        at += task.data.copy(view, at, task.regions[k], task.regions[k + 1]);
        rebased.push(rebased.length ? rebased[rebased.length - 1]! : 0, at - start);
      }
      tasks.push({
        oid: task.oid,
        path: task.path,
        report: task.report,
        regions: rebased,
        regionsOnly: true,
        size: task.data.length,
        ...(task.anyPath ? { anyPath: true } : {}),
      });
    } else {
      at += task.data.copy(view, at);
      tasks.push({ oid: task.oid, path: task.path, report: task.report, ...(task.anyPath ? { anyPath: true } : {}) });
    }
    offsets.push(at);
  }
  return { tasks, offsets };
}
