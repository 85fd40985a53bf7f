// Opens the store a --db value names: a file path → SQLite, a postgres:// or postgresql:// URL → PostgreSQL.
// The only place that knows both adapters; everything else holds the Store port.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import type { Clock } from '../core/ports.js';
import type { Store } from '../core/store.js';
import { describeUrl, isPostgresUrl } from './db-url.js';
import { openSqliteStore } from './sqlite/index.js';

export { isPostgresUrl, describeUrl } from './db-url.js';

export const DEFAULT_DB = 'keyloop.db';

/** Any scheme://…, so a mistyped scheme is reported as one instead of becoming a file name. */
const isUrl = (spec: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(spec);
const unsupportedScheme = (spec: string) => new ConfigError(`unsupported database URL scheme in "${spec.split('://')[0]}://…" (a file path or postgres://)`, '--db');

export interface OpenStoreOptions {
  /** The at-rest key, or a function producing it (called only when a secret is first written or read). */
  key?: Buffer | (() => Buffer);
  clock?: Clock;
  /**
   * 'existing': the database must exist already (read/triage commands: "run keyloop org first").
   * 'create' (default): a new database is created and migrated.
   * 'migrate': apply pending migrations (`keyloop db migrate`); PostgreSQL applies them only in this mode or
   * on a database that has no keyloop schema yet; SQLite migrates on every open.
   */
  mode?: 'existing' | 'create' | 'migrate';
  /** Override the migrations directory (tests). */
  migrationsDir?: string;
}

/** --db, else KEYLOOP_DATABASE_URL, else keyloop.db; a path is resolved against `cwd`, a URL is kept as is. */
export function resolveDbSpec(db: string | undefined, env: Record<string, string | undefined>, cwd: string): string {
  const spec = db || env.KEYLOOP_DATABASE_URL || DEFAULT_DB;
  return isUrl(spec) ? spec : resolve(cwd, spec);
}

export async function openStore(spec: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const { mode = 'create', migrationsDir, ...common } = opts;
  if (isPostgresUrl(spec)) {
    // Loaded on demand: a SQLite-only run never loads pg.
    const { openPostgresStore } = await import('./postgres/index.js');
    return openPostgresStore(spec, { ...common, mode, ...(migrationsDir ? { migrationsDir } : {}) });
  }
  if (isUrl(spec)) throw unsupportedScheme(spec);
  if (mode === 'existing' && spec !== ':memory:' && !existsSync(spec)) {
    throw new ConfigError(`no database at ${spec} (run \`keyloop org\` first, or pass --db)`, '--db');
  }
  return openSqliteStore(spec, { ...common, ...(migrationsDir ? { migrationsDir } : {}) });
}

/** Applies pending migrations (`keyloop db migrate`); `location` is printable (no password). */
export async function migrateStore(spec: string): Promise<{ location: string; from: number; to: number; applied: string[] }> {
  if (isPostgresUrl(spec)) {
    const { migratePostgresUrl } = await import('./postgres/index.js');
    return { location: describeUrl(spec).safe, ...(await migratePostgresUrl(spec)) };
  }
  if (isUrl(spec)) throw unsupportedScheme(spec);
  const store = openSqliteStore(spec);
  await store.close();
  return { location: spec, ...store.schema };
}

/** Runs `fn` with an open store and closes it afterwards, whatever happens. */
export async function withStore<T>(spec: string, opts: OpenStoreOptions, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(spec, opts);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
