// The Store contract on the PostgreSQL adapter (a real server, test/helpers/postgres.ts), plus what only
// PostgreSQL has: explicit migrations, a schema that is behind, an unreachable server, and the at-rest check over
// every text/bytea column (what a pg_dump would contain).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../src/core/errors.js';
import { openStore } from '../src/store/open.js';
import { defaultMigrationsDir, loadMigrations } from '../src/store/migrate.js';
import { migratePostgresUrl, openPostgresStore, type PostgresStore } from '../src/store/postgres/index.js';
import { migratePostgres } from '../src/store/postgres/migrate.js';
import { pgTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { finding, randomToken, storeContract } from './store-contract.js';

const raw = (s: unknown) => (s as PostgresStore).pool;

/** Every value of every column of every table, as stored: bytea as its bytes, everything else as text. */
async function everyColumn(pool: pg.Pool): Promise<Buffer> {
  const cols = await pool.query<{ table_name: string; column_name: string; data_type: string }>(
    `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
  );
  const parts: Buffer[] = [];
  for (const c of cols.rows) {
    const col = pg.escapeIdentifier(c.column_name);
    const expr = c.data_type === 'bytea' ? col : `${col}::text`;
    const rows = await pool.query<{ v: Buffer | string | null }>(`SELECT ${expr} AS v FROM ${pg.escapeIdentifier(c.table_name)}`);
    for (const r of rows.rows) if (r.v !== null) parts.push(Buffer.isBuffer(r.v) ? r.v : Buffer.from(String(r.v)));
  }
  return Buffer.concat(parts);
}

// One database for the contract (CREATE DATABASE costs ~0.4 s here); each test starts from emptied tables.
let shared: Promise<TestDatabase> | null = null;
afterAll(async () => {
  if (shared) await (await shared).drop();
});

storeContract('postgres', async () => {
  const db = await (shared ??= pgTestDatabase('keyloop_contract'));
  return {
    open: async (opts = {}) => openPostgresStore(db.url, opts),
    setRunPid: async (s, runId, pid) => void (await raw(s).query('UPDATE scan_runs SET pid = $1 WHERE id = $2', [pid, runId])),
    count: async (s, table) => Number((await raw(s).query<{ n: number }>(`SELECT count(*) AS n FROM ${pg.escapeIdentifier(table)}`)).rows[0]!.n),
    atRest: async (s) => everyColumn(raw(s)),
    cleanup: async () => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        const t = await c.query<{ t: string }>(
          "SELECT quote_ident(table_name) AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'",
        );
        if (t.rows.length) await c.query(`TRUNCATE ${t.rows.map((r) => r.t).join(', ')} RESTART IDENTITY CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
});

describe('PostgreSQL store: schema and connection', () => {
  it('sets up a fresh database on first write, refuses reads of one without a schema, and refuses a schema that is behind', async () => {
    const db = await pgTestDatabase('keyloop_schema');
    try {
      await expect(openStore(db.url, { mode: 'existing' })).rejects.toThrow(/no keyloop schema .*keyloop db migrate/);
      const s = await openStore(db.url, { key: randomBytes(32) });
      expect(s.kind).toBe('postgres');
      await s.recordRepoScan(null, 'acme/api', { findings: [finding(randomToken('ghp_', 36))], blobs: [] });
      const versions = (await raw(s).query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version);
      expect(versions).toEqual([1, 2, 3, 20, 30, 40, 41, 50, 60, 70]);
      // Simulate an older keyloop's database: the latest two migrations not applied.
      await raw(s).query('ALTER TABLE scanned_blobs DROP COLUMN catalog_id');
      await raw(s).query('ALTER TABLE repos DROP COLUMN catalog_id');
      await raw(s).query('DROP TABLE catalog_versions');
      await raw(s).query('DROP TABLE outbound_calls');
      await raw(s).query('ALTER TABLE verifications DROP COLUMN reach');
      await raw(s).query('DELETE FROM schema_migrations WHERE version IN (60, 70)');
      await s.close();
      for (const mode of ['existing', 'create'] as const) {
        await expect(openStore(db.url, { mode })).rejects.toThrow(/behind this keyloop \(missing 060-reach-audit\.sql, 070-catalog-versions\.sql\): run `keyloop db migrate/);
      }
      expect(await migratePostgresUrl(db.url)).toEqual({ from: 50, to: 70, applied: ['060-reach-audit.sql', '070-catalog-versions.sql'] });
      expect((await migratePostgresUrl(db.url)).applied).toEqual([]);
      const again = await openStore(db.url, { mode: 'existing' });
      expect(await again.listSecrets()).toHaveLength(1);
      // A database written by a newer keyloop is refused, not downgraded.
      await raw(again).query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '999-future.sql', 'now')");
      await again.close();
      await expect(openStore(db.url)).rejects.toThrow(/v999 is newer than this keyloop/);
    } finally {
      await db.drop();
    }
  });

  it('migrates rows stored before the confidence column: generic detectors low, the others medium (as SQLite)', async () => {
    const db = await pgTestDatabase('keyloop_conf');
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const all = loadMigrations(defaultMigrationsDir('postgres'));
      await migratePostgres(
        pool,
        all.filter((m) => m.version < 40),
      );
      const insert = "INSERT INTO secrets (fingerprint, detector, name, provider, severity, redacted, secret_enc, key_id, detected_at) VALUES ($1, $2, 'n', 'p', 'high', 'r', $3, 'k', 'now')";
      await pool.query(insert, ['a'.repeat(64), 'generic-password-assignment', randomBytes(40)]);
      await pool.query(insert, ['b'.repeat(64), 'github-pat-classic', randomBytes(40)]);
      expect((await migratePostgresUrl(db.url)).applied).toEqual(['040-confidence.sql', '041-repo-config-suppressions.sql', '050-run-jobs.sql', '060-reach-audit.sql', '070-catalog-versions.sql']);
      expect((await pool.query<{ detector: string; confidence: string }>('SELECT detector, confidence FROM secrets ORDER BY fingerprint')).rows).toEqual([
        { detector: 'generic-password-assignment', confidence: 'low' },
        { detector: 'github-pat-classic', confidence: 'medium' },
      ]);
      await expect(pool.query("UPDATE secrets SET confidence = 'certain'")).rejects.toThrow(/check constraint/);
    } finally {
      await pool.end();
      await db.drop();
    }
  });

  it('a process that opens the database while another migrates it waits for the migration, not calling the schema behind', async () => {
    const db = await pgTestDatabase('keyloop_midway');
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    const holder = await pool.connect();
    try {
      const all = loadMigrations(defaultMigrationsDir('postgres'));
      await migratePostgres(
        pool,
        all.slice(0, -1),
      );
      // Another process is in the middle of applying the last migration: it holds the migration lock.
      await holder.query("SELECT pg_advisory_lock(hashtext('keyloop-migrate'))");
      let settled = false;
      const opening = openStore(db.url).then((s) => ((settled = true), s));
      await new Promise((r) => setTimeout(r, 500));
      expect(settled).toBe(false);
      // It finishes (in its own session, under its lock) and lets go.
      const last = all.at(-1)!;
      await holder.query(last.sql);
      await holder.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [last.version, last.name, new Date().toISOString()]);
      await holder.query("SELECT pg_advisory_unlock(hashtext('keyloop-migrate'))");
      const s = await opening;
      expect(s.kind).toBe('postgres');
      await s.close();
    } finally {
      holder.release();
      await pool.end();
      await db.drop();
    }
  });

  it('migrates once when several processes open a fresh database at the same time', async () => {
    const db = await pgTestDatabase('keyloop_race');
    try {
      const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(db.url)));
      expect((await raw(stores[0]).query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations')).rows[0]!.n).toBe(loadMigrations(defaultMigrationsDir('postgres')).length);
      await Promise.all(stores.map((s) => s.close()));
    } finally {
      await db.drop();
    }
  });

  it('names host and port (never the password) when the server is unreachable or refuses us', async () => {
    // A port nobody listens on: connection refused, at once.
    const closed = `postgres://keyloop:${randomBytes(6).toString('hex')}@127.0.0.1:1/keyloop`;
    const err = await openStore(closed).then(() => new Error('opened'), (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.message).toBe('cannot use PostgreSQL at 127.0.0.1:1 (database "keyloop"): connection refused (is the server running and listening on that port?)');
    const db = await pgTestDatabase('keyloop_auth');
    try {
      const u = new URL(db.url);
      u.password = 'wrong-password-xyz';
      const bad = await openStore(u.toString()).then(() => new Error('opened'), (e: unknown) => e as Error);
      expect(bad).toBeInstanceOf(StoreUnavailableError);
      expect(bad.message).toMatch(new RegExp(`^cannot use PostgreSQL at 127\\.0\\.0\\.1:${u.port} \\(database "${u.pathname.slice(1)}"\\): authentication failed for user "postgres"$`));
      expect(bad.message).not.toContain('wrong-password-xyz');
      u.pathname = '/no_such_db';
      u.password = new URL(db.url).password;
      const missing = await openStore(u.toString()).then(() => new Error('opened'), (e: unknown) => e as Error);
      expect(missing.message).toMatch(/database "no_such_db" does not exist$/);
      expect(missing.message).not.toContain(u.password);
    } finally {
      await db.drop();
    }
  });

  it('prints its location without the password', async () => {
    const db = await pgTestDatabase('keyloop_loc');
    try {
      const s = await openStore(db.url);
      const password = new URL(db.url).password;
      expect(s.location).not.toContain(password);
      expect(s.location).toContain('***');
      await s.close();
    } finally {
      await db.drop();
    }
  });
});
