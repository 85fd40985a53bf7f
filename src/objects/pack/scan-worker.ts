// Worker-thread entry of the pack scan pool: one engine and one set of delta verdicts per thread. Workers
// outlive pools (see scan-pool.ts), so each `init` may name another catalog and each `reset` starts a new scan.
import { parentPort } from 'node:worker_threads';
import { createEngine } from '../../detection/engine.js';
import { loadCatalog } from '../../detection/load.js';
import { DeltaScanCore, defaultMargin, type JobResult } from './scan-core.js';
import type { PackPoolBatch, PackPoolInit, PackPoolReset, PackPoolResult } from './scan-pool.js';

const port = parentPort!;
let core: DeltaScanCore | null = null;
let engineKey = '';

port.on('message', (msg: PackPoolInit | PackPoolReset | PackPoolBatch) => {
  if (msg.type === 'init') {
    try {
      const key = JSON.stringify([msg.detectorsDir, msg.engineOptions ?? {}]);
      if (key !== engineKey || !core) {
        core = null;
        const engine = createEngine(loadCatalog(msg.detectorsDir), msg.engineOptions);
        core = new DeltaScanCore(engine, { deltaAware: true, margin: defaultMargin(engine), maxRegionBlob: 512 * 1024 });
        engineKey = key;
      }
      port.postMessage({ type: 'ready' });
    } catch (err) {
      engineKey = '';
      port.postMessage({ type: 'fatal', message: (err as Error).message });
    }
    return;
  }
  if (msg.type === 'reset') {
    core?.reset(msg.core);
    return;
  }
  const data = Buffer.from(msg.buffer);
  const results: JobResult[] = [];
  const counts: PackPoolResult['counts'] = { scannedBytes: 0, full: 0, regions: 0, binary: 0 };
  msg.jobs.forEach((j, i) => {
    const blob = data.subarray(msg.offsets[i], msg.offsets[i + 1]);
    const r: JobResult = core
      ? core.run({ oid: j.oid, path: j.path, data: blob, ...(j.baseOid ? { delta: { baseOid: j.baseOid, copies: j.copies ?? [] } } : {}) })
      : { oid: j.oid, matches: [], mode: 'full', size: blob.length, scanned: 0, error: 'pack scan worker has no engine' };
    counts.scannedBytes += r.scanned;
    counts[r.mode]++;
    if (j.report) results.push(r);
  });
  port.postMessage({ type: 'result', batchId: msg.batchId, results, counts, buffer: msg.buffer } satisfies PackPoolResult, [msg.buffer]);
});
