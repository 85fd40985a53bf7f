export { ObjectStore, readLoose, type BlobIteration, type BlobProblem, type IterateOptions, type PackedBlob, type StoredObject } from './object-store.js';
export { PackFile, type ObjectType } from './pack-file.js';
export { applyDelta, deltaSizes, type CopyRanges } from './delta.js';
export { parsePackIndex, type PackIndex } from './idx.js';
export { PackFormatError } from './errors.js';
export { scanPackDeltaAware, deltaRegions, defaultMargin, type BlobScan, type DeltaScanOptions, type DeltaScanStats } from './delta-scan.js';
export { DeltaScanCore, type JobResult, type ScanJob } from './scan-core.js';
export { createPackScanPool, type PackScanPool, type PackScanStats, type PoolJob } from './scan-pool.js';
export { packSource, packReaderEnabled, type PackSourceOptions } from './source.js';
