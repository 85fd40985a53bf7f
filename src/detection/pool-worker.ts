// Worker-thread entry of the scan pool: builds an Engine from the detectors dir it is given, scans transferred
// batches. Workers outlive pools (see pool.ts), so each `init` may name a different catalog.
import { parentPort } from 'node:worker_threads';
import type { Engine } from './types.js';
import { createEngine } from './engine.js';
import { loadCatalog } from './load.js';
import type { BatchRequest, BatchResult, WorkerInit } from './pool.js';

const port = parentPort!;
let engine: Engine | null = null;
let engineKey = '';

port.on('message', (msg: WorkerInit | BatchRequest) => {
  if (msg.type === 'init') {
    try {
      const key = JSON.stringify([msg.detectorsDir, msg.engineOptions ?? {}]);
      if (key !== engineKey || !engine) {
        engine = null;
        engine = createEngine(loadCatalog(msg.detectorsDir), msg.engineOptions);
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
  const results: BatchResult['results'] = msg.ids.map((id, i) => {
    try {
      if (!engine) throw new Error('detection worker has no engine');
      return { id, matches: engine.scan(data.subarray(msg.offsets[i], msg.offsets[i + 1]), { path: msg.paths[i]! }) };
    } catch (err) {
      return { id, matches: [], error: (err as Error).message };
    }
  });
  port.postMessage({ type: 'result', batchId: msg.batchId, results } satisfies BatchResult);
});
