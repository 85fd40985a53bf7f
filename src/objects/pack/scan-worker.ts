// Worker-thread entry of the pack scan pool: one engine per thread, scanning whatever tasks it is sent (the
// calling thread keeps the delta verdicts). Workers outlive pools (see scan-pool.ts), so each `init` may bring
// another catalog; it comes loaded, so this thread never imports the YAML and schema modules.
// First import: this isolate's young generation stays small too (see src/util/heap.ts).
import '../../util/heap.js';
import { parentPort } from 'node:worker_threads';
import { createEngine } from '../../detection/engine.js';
import type { Engine } from '../../detection/types.js';
import { runTask, type TaskResult } from './scan-core.js';
import type { PackPoolBatch, PackPoolInit, PackPoolResult } from './scan-pool.js';

const port = parentPort!;
let engine: Engine | null = null;
let engineKey = '';

port.on('message', (msg: PackPoolInit | PackPoolBatch) => {
  if (msg.type === 'init') {
    try {
      const key = JSON.stringify([msg.detectorsDir, msg.engineOptions ?? {}]);
      if (key !== engineKey || !engine) {
        engine = null;
        engine = createEngine(msg.catalog, msg.engineOptions);
        engineKey = key;
      }
      port.postMessage({ type: 'ready' });
    } catch (err) {
      engineKey = '';
      port.postMessage({ type: 'fatal', message: (err as Error).message });
    }
    return;
  }
  const data = Buffer.from(msg.buffer);
  const results: TaskResult[] = msg.jobs.map((j, i) => {
    const blob = data.subarray(msg.offsets[i], msg.offsets[i + 1]);
    return engine
      ? runTask(engine, { oid: j.oid, path: j.path, data: blob, report: j.report, ...(j.regions ? { regions: j.regions, regionsOnly: j.regionsOnly ?? false } : {}), ...(j.size !== undefined ? { size: j.size } : {}), ...(j.anyPath ? { anyPath: true } : {}) })
      : { oid: j.oid, report: j.report, matches: [], mode: 'full', size: blob.length, scanned: 0, dirty: true, error: 'pack scan worker has no engine' };
  });
  // the shared buffer goes back to the pool with this message: nothing may read it after
  port.postMessage({ type: 'result', batchId: msg.batchId, results } satisfies PackPoolResult);
});
