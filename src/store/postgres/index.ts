// The PostgreSQL store (node-postgres pool): the same schema, keys and sealing as SQLite, for several processes
// and machines sharing one database. Composes one object per concern over a shared context.
import type pg from 'pg';
import { ConfigError } from '../../core/errors.js';
import type { Store } from '../../core/store.js';
import { concernsOver } from '../concerns.js';
import { defaultMigrationsDir, loadMigrations, schemaGap, type Migration } from '../migrate.js';
import { describeUrl } from '../db-url.js';
import { createPool, unavailable } from './connect.js';
import { PgContext, type PostgresOptions } from './context.js';
import { pgAudit } from './audit.js';
import { pgDeliveries } from './deliveries.js';
import { pgIssues } from './issues.js';
import { appliedVersions, migratePostgres, newerError, settledVersions } from './migrate.js';
import { pgRepos } from './repos.js';
import { pgRunJobs } from './run-jobs.js';
import { pgRuns } from './runs.js';
import { pgSecrets } from './secrets.js';

export type { PostgresOptions } from './context.js';
export { isPostgresUrl, describeUrl } from '../db-url.js';

/** A Store over PostgreSQL; `pool` is for tests and tools that need SQL. */
export interface PostgresStore extends Store {
  readonly kind: 'postgres';
  readonly pool: pg.Pool;
}

/**
 * 'existing': the schema must be there and current (read and triage commands). 'create': a database without a
 * keyloop schema is set up (the first `keyloop org` / `app` on an empty database), one that is behind is refused.
 * 'migrate': apply whatever is missing (`keyloop db migrate`).
 */
export type PostgresOpenMode = 'existing' | 'create' | 'migrate';

export async function openPostgresStore(url: string, opts: PostgresOptions & { mode?: PostgresOpenMode } = {}): Promise<PostgresStore> {
  const mode = opts.mode ?? 'create';
  const safe = describeUrl(url).safe;
  const pool = createPool(url, opts.maxConnections);
  try {
    const migrations = loadMigrations(opts.migrationsDir ?? defaultMigrationsDir('postgres'));
    let applied: Set<number> | null;
    try {
      applied = await appliedVersions(pool);
    } catch (err) {
      throw unavailable(url, err);
    }
    if (mode === 'migrate') {
      await migratePostgres(pool, migrations);
    } else if (mode === 'create' && !applied?.size) {
      // A database without a keyloop schema (or one another process is setting up right now): set it up.
      await migratePostgres(pool, migrations, { freshOnly: true });
      const gap = schemaGap((await appliedVersions(pool)) ?? new Set(), migrations);
      if (gap.missing.length) throw behind(gap.missing);
    } else if (applied === null) {
      throw new ConfigError(`no keyloop schema in ${safe}: run \`keyloop db migrate --db <url>\` (or \`keyloop org\`) first`, '--db');
    } else {
      let gap = schemaGap(applied, migrations);
      // Behind, or another process is migrating right now: judge once no migration is in progress.
      if (gap.missing.length) gap = schemaGap((await settledVersions(pool)) ?? new Set(), migrations);
      if (gap.newer !== null) throw newerError(gap.newer, gap.latest);
      if (gap.missing.length) throw behind(gap.missing);
    }
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  const c = new PgContext(pool, url, opts);
  return {
    kind: 'postgres',
    location: safe,
    pool,
    ...concernsOver(c, [pgRepos, pgRuns, pgRunJobs, pgSecrets, pgIssues, pgDeliveries, pgAudit]),
    async close() {
      await pool.end();
    },
  };
}

function behind(missing: Migration[]): ConfigError {
  return new ConfigError(
    `the database schema is behind this keyloop (missing ${missing.map((m) => m.name).join(', ')}): run \`keyloop db migrate --db <url>\` ` +
      '(stop workers on the older version first)',
    '--db',
  );
}

/** Applies pending migrations and reports what changed (`keyloop db migrate`). */
export async function migratePostgresUrl(url: string, migrationsDir?: string): Promise<{ from: number; to: number; applied: string[] }> {
  const pool = createPool(url, 1);
  try {
    try {
      await pool.query('SELECT 1');
    } catch (err) {
      throw unavailable(url, err);
    }
    return await migratePostgres(pool, loadMigrations(migrationsDir ?? defaultMigrationsDir('postgres')));
  } finally {
    await pool.end().catch(() => {});
  }
}
