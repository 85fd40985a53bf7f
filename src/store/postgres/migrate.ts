// PostgreSQL migrations: the numbered files of migrations/postgres, applied once each (schema_migrations), under
// an advisory lock so workers starting together migrate once. Only `keyloop db migrate` upgrades a database
// that already has a schema; a fresh one is set up by the first command that writes (see openPostgresStore).
import type pg from 'pg';
import { ConfigError } from '../../core/errors.js';
import { schemaGap, type Migration } from '../migrate.js';

const LOCK = 'keyloop-migrate';

/** Versions applied, or null when the database has no keyloop schema yet. */
export async function appliedVersions(db: Pick<pg.Pool | pg.PoolClient, 'query'>): Promise<Set<number> | null> {
  const t = await db.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
  if (!t.rows[0]?.t) return null;
  const rows = await db.query<{ version: number }>('SELECT version FROM schema_migrations');
  return new Set(rows.rows.map((r) => Number(r.version)));
}

export function newerError(top: number, latest: number): ConfigError {
  return new ConfigError(`database schema v${top} is newer than this keyloop (v${latest}); upgrade keyloop`);
}

/**
 * Applies what is missing; returns the files applied (empty when up to date). `freshOnly`: apply only to a
 * database with no migration applied yet (decided under the lock, so a process that waited for another's
 * set-up finds it done instead of seeing a half-made schema).
 */
export async function migratePostgres(pool: pg.Pool, migrations: Migration[], opts: { freshOnly?: boolean } = {}): Promise<{ from: number; to: number; applied: string[] }> {
  const client = await pool.connect();
  // A checked-out client whose server goes away emits 'error'; unheard, that would end the process.
  const onError = () => {};
  client.on('error', onError);
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [LOCK]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
      const applied = (await appliedVersions(client)) ?? new Set<number>();
      const gap = schemaGap(applied, migrations);
      if (gap.newer !== null) throw newerError(gap.newer, gap.latest);
      const from = Math.max(0, ...applied);
      const done: string[] = [];
      if (opts.freshOnly && applied.size > 0) return { from, to: from, applied: done };
      for (const m of gap.missing) {
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, new Date().toISOString()]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw new ConfigError(`migration ${m.name} failed: ${(err as Error).message}`);
        }
        done.push(m.name);
      }
      return { from, to: Math.max(from, gap.latest), applied: done };
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [LOCK]);
    }
  } finally {
    client.off('error', onError);
    client.release(true);
  }
}

/**
 * The versions applied once no migration is in progress (it waits for the migration lock): a process that opens
 * the database while another one sets it up sees the finished schema, not half of it.
 */
export async function settledVersions(pool: pg.Pool): Promise<Set<number> | null> {
  const client = await pool.connect();
  const onError = () => {};
  client.on('error', onError);
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [LOCK]);
    return await appliedVersions(client);
  } finally {
    client.off('error', onError);
    // Destroyed, not returned: the session's advisory lock goes with it.
    client.release(true);
  }
}
