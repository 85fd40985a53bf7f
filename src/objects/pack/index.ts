export { ObjectStore, readLoose, type BlobIteration, type BlobProblem, type IterateOptions, type PackedBlob, type StoredObject } from './object-store.js';
export { PackFile, type ObjectType } from './pack-file.js';
export { applyDelta, deltaSizes, type CopyRanges } from './delta.js';
export { parsePackIndex, type PackIndex } from './idx.js';
export { PackFormatError } from './errors.js';
export { enumerateAll } from './enumerate.js';
export { ObjectReader } from './object-reader.js';
