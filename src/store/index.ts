// The store adapters' entry: open a Store from a --db value, and the at-rest key.
export { openStore, withStore, migrateStore, resolveDbSpec, isPostgresUrl, DEFAULT_DB, type OpenStoreOptions } from './open.js';
export { loadKey, defaultKeyFile, parseKey, type KeySource } from './secret-key.js';
export type * from '../core/store.js';
