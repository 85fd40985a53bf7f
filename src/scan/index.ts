// The scan stage: one worker pool, delta-aware planning over packs, the engine calls, grouping into findings.
export { createScanPool, type ScanPool, type ScanPoolOptions, type ScanPoolStats } from './pool.js';
export { deltaPlanner, deltaRegions, DELTA_MARGIN, DeltaPlanner, type DeltaPlanOptions } from './delta-plan.js';
export { WholeBlobs, type Router, type Settled } from './router.js';
export { runTask, type JobResult, type ScanJob, type ScanTask, type TaskResult } from './task.js';
export { scanPackDeltaAware, type BlobScan, type DeltaScanOptions, type DeltaScanStats } from './delta-scan.js';
export { earlyPackPool, packReaderEnabled, packSource, startPrescan, type PackScanStats, type PackSourceOptions, type Prescan } from './pack-path.js';
export { groupFindings, type GroupOptions } from './group.js';
export { inThreadStage, outcomeOf, poolMatcher, scanStage } from './stage.js';
