export { openStore, Store, type OpenStoreOptions } from './sqlite.js';
export { loadKey, defaultKeyFile, parseKey, type KeySource } from './secret-key.js';
export type * from './types.js';
