// The routing hook of the scan pool (pool.ts): what each job becomes (a task for any thread, or a result settled
// here without scanning) and what a finished task means (final, or to be scanned again). Whole blobs by default;
// the pack path's DeltaPlanner (delta-plan.ts) routes each delta by its base's verdict.
import { skipBinary } from '../detection/engine.js';
import { wholeTask, type ScanJob, type ScanTask, type TaskResult } from './task.js';

export interface Settled {
  /** Final results, in the order they became final. */
  done: TaskResult[];
  /**
   * Jobs to scan again (`planAgain`): speculative delta targets whose base turned out dirty (whole), or clean with
   * a longer reach than their regions took in (wider regions).
   */
  redo: ScanJob[];
}

export interface Router {
  /** The task for a job, or its final result when it needs no scan (binary content). */
  plan(job: ScanJob): ScanTask | TaskResult;
  /** The task for a job planned before and handed back in `Settled.redo`. */
  planAgain(job: ScanJob): ScanTask;
  /** Takes a finished task's result: final results go to `into.done`, jobs to scan again to `into.redo`. */
  settle(r: TaskResult, into?: Settled): Settled;
  /** Bytes of blobs kept for a possible rescan, their peak, and how many are kept. */
  readonly openBytes: number;
  readonly peakOpenBytes: number;
  readonly openCount: number;
  /** Plans made before what they depend on was known, how many had to be scanned again whole, and by wider regions. */
  readonly speculative: number;
  readonly rescanned: number;
  readonly widened: number;
}

/** Whether a plan is already a result (`'mode' in` it). */
export const isSettled = (p: ScanTask | TaskResult): p is TaskResult => 'mode' in p;

/** Every job scanned whole with its own path; binary content is settled on the reading thread, never shipped. */
export class WholeBlobs implements Router {
  readonly openBytes = 0;
  readonly peakOpenBytes = 0;
  readonly openCount = 0;
  readonly speculative = 0;
  readonly rescanned = 0;
  readonly widened = 0;

  plan(job: ScanJob): ScanTask | TaskResult {
    const report = job.report ?? true;
    if (skipBinary(job.data)) return { oid: job.oid, report, matches: [], mode: 'binary', size: job.data.length, scanned: 0, dirty: true };
    return this.planAgain(job);
  }

  planAgain(job: ScanJob): ScanTask {
    return wholeTask(job);
  }

  settle(r: TaskResult, into: Settled = { done: [], redo: [] }): Settled {
    into.done.push(r);
    return into;
  }
}
