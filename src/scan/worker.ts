// Worker-thread entry of the scan pool (pool.ts): one engine per thread, scanning whatever tasks it is sent (the
// calling thread routes jobs and keeps the verdicts). Workers outlive pools, so each `init` may bring another
// catalog; it usually comes loaded, else it is the compiled one, and this thread imports the YAML and schema
// modules only when neither.
// First import: this isolate's young generation stays small too (see src/util/heap.ts).
import '../util/heap.js';
import { parentPort } from 'node:worker_threads';
import { openCatalog } from '../detection/compiled-catalog.js';
import { createEngine } from '../detection/engine.js';
import type { Engine } from '../detection/types.js';
import { runTask, type TaskResult } from './task.js';
import type { WorkerBatch, WorkerInit, WorkerResult } from './protocol.js';

const port = parentPort!;
let engine: Engine | null = null;
let engineKey = '';

async function init(msg: WorkerInit): Promise<void> {
  try {
    const key = JSON.stringify([msg.detectorsDir, msg.engineOptions ?? {}]);
    if (key !== engineKey || !engine) {
      engine = null;
      const catalog = msg.catalog ?? (await openCatalog(msg.detectorsDir));
      engine = createEngine(catalog, msg.engineOptions);
      engineKey = key;
    }
    port.postMessage({ type: 'ready' });
  } catch (err) {
    engineKey = '';
    port.postMessage({ type: 'fatal', message: (err as Error).message });
  }
}

function scanBatch(msg: WorkerBatch): void {
  const data = Buffer.from(msg.buffer);
  const results: TaskResult[] = msg.tasks.map((t, i) => {
    const blob = data.subarray(msg.offsets[i], msg.offsets[i + 1]);
    return engine
      ? runTask(engine, {
          oid: t.oid,
          path: t.path,
          data: blob,
          report: t.report,
          ...(t.regions ? { regions: t.regions, regionsOnly: t.regionsOnly ?? false } : {}),
          ...(t.size !== undefined ? { size: t.size } : {}),
          ...(t.anyPath ? { anyPath: true } : {}),
        })
      : { oid: t.oid, report: t.report, matches: [], mode: 'full', size: blob.length, scanned: 0, dirty: true, error: 'detection worker has no engine' };
  });
  // the shared buffer goes back to the pool with this message: nothing may read it after
  port.postMessage({ type: 'result', batchId: msg.batchId, results } satisfies WorkerResult);
}

/** The last init: batches may arrive before it is done (the pool does not wait), and are scanned after it, in order. */
let initialized: Promise<void> = Promise.resolve();

port.on('message', (msg: WorkerInit | WorkerBatch) => {
  if (msg.type === 'init') initialized = init(msg);
  else void initialized.then(() => scanBatch(msg));
});
