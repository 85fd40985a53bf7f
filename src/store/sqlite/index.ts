// The SQLite store (better-sqlite3, WAL): the embedded default. Composes one object per concern over a shared
// connection; sync under the hood, async at the port. Migrates on open.
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../../core/errors.js';
import { ensurePrivateFile, mkdirPrivateSync, narrow } from '../../util/private-fs.js';
import type { Store } from '../../core/store.js';
import { concernsOver } from '../concerns.js';
import { loadMigrations } from '../migrate.js';
import { SqliteContext, type SqliteOptions } from './context.js';
import { sqliteAudit } from './audit.js';
import { sqliteDeliveries } from './deliveries.js';
import { sqliteIssues } from './issues.js';
import { migrate } from './migrate.js';
import { sqliteRepos } from './repos.js';
import { sqliteRunJobs } from './run-jobs.js';
import { sqliteRuns } from './runs.js';
import { sqliteSecrets } from './secrets.js';

export type { SqliteOptions } from './context.js';

/** A Store over SQLite; `db` is the raw connection for tests and tools that need SQL. */
export interface SqliteStore extends Store {
  readonly kind: 'sqlite';
  readonly db: Database.Database;
  /** Schema version before and after this open, and the migration files it applied. */
  readonly schema: { from: number; to: number; applied: string[] };
}

/** Opens (creating if needed) and migrates the database at `path`. */
export function openSqliteStore(path: string, opts: SqliteOptions = {}): SqliteStore {
  const onDisk = path !== ':memory:' && !opts.readonly;
  if (onDisk) {
    // the database holds author e-mails, paths and previews (secrets encrypted): 0600, and SQLite gives its
    // -wal and -shm files the mode of the database file
    mkdirPrivateSync(dirname(path));
    ensurePrivateFile(path);
  }
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  } catch (err) {
    throw new ConfigError(`cannot open database ${path}: ${(err as Error).message}`, '--db');
  }
  let schema: SqliteStore['schema'];
  try {
    db.pragma('busy_timeout = 10000');
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      // NORMAL under WAL: a committed transaction survives a process kill; only an OS crash may lose the last ones.
      db.pragma('synchronous = NORMAL');
    }
    if (onDisk) for (const side of ['-wal', '-shm']) narrow(path + side);
    db.pragma('foreign_keys = ON');
    if (!opts.readonly) schema = migrate(db, loadMigrations(opts.migrationsDir));
    else {
      const v = db.pragma('user_version', { simple: true }) as number;
      schema = { from: v, to: v, applied: [] };
    }
  } catch (err) {
    db.close();
    throw err;
  }
  const c = new SqliteContext(db, opts);
  return {
    kind: 'sqlite',
    location: path,
    db,
    schema,
    ...concernsOver(c, [sqliteRepos, sqliteRuns, sqliteRunJobs, sqliteSecrets, sqliteIssues, sqliteDeliveries, sqliteAudit]),
    async close() {
      db.close();
    },
  };
}
