// SQLite-specific store behaviour (pragmas, migration files), choosing an adapter from --db, and the at-rest key.
// What every adapter must do is in store-contract.ts (run by store-sqlite.test.ts and store-postgres.test.ts).
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultMigrationsDir, loadMigrations } from '../src/store/migrate.js';
import { loadKey, openStore, parseKey, resolveDbSpec } from '../src/store/index.js';
import { describeUrl } from '../src/store/db-url.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'keyloop-store-'));

describe('store', () => {
  it('migrates, is STRICT with CHECKs, runs in WAL mode, and reopens idempotently', async () => {
    const dir = tmp();
    const db = join(dir, 'k.db');
    const s = openSqliteStore(db, { key: randomBytes(32) });
    expect(s.db.pragma('user_version', { simple: true })).toBeGreaterThanOrEqual(1);
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(() => s.db.prepare("INSERT INTO repos (full_name) VALUES ('no-slash')").run()).toThrow(/CHECK/);
    expect(() => s.db.prepare("INSERT INTO repos (full_name, fork) VALUES ('a/b', 'yes')").run()).toThrow();
    await s.close();
    const again = openSqliteStore(db);
    expect(await again.listRepos()).toEqual([]);
    await again.close();
  });

  it('applies migrations in numeric order, tolerates gaps, and applies a late lower-numbered file', async () => {
    const mdir = tmp();
    copyFileSync(join(defaultMigrationsDir(), '001-initial.sql'), join(mdir, '001-initial.sql'));
    writeFileSync(join(mdir, '010-issue-loop.sql'), 'CREATE TABLE t10 (x INTEGER) STRICT;');
    const db = join(tmp(), 'k.db');
    await openSqliteStore(db, { migrationsDir: mdir }).close();
    writeFileSync(join(mdir, '002-late.sql'), 'CREATE TABLE t2 (x INTEGER) STRICT;');
    const s = openSqliteStore(db, { migrationsDir: mdir });
    expect(s.db.pragma('user_version', { simple: true })).toBe(10);
    const tables = s.db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['t10', 't2', 'secrets']));
    await s.close();
    writeFileSync(join(mdir, '002-dup.sql'), 'SELECT 1;');
    expect(() => openSqliteStore(db, { migrationsDir: mdir })).toThrow(/share number 2/);
  });

  it('has a PostgreSQL migration for every SQLite one (same number, same name)', () => {
    const names = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
    expect(names(defaultMigrationsDir('postgres'))).toEqual(names(defaultMigrationsDir('sqlite')));
    expect(loadMigrations(defaultMigrationsDir('postgres')).map((m) => m.version)).toEqual(loadMigrations().map((m) => m.version));
  });
});

describe('choosing the store from --db', () => {
  it('takes --db, else KEYLOOP_DATABASE_URL, else keyloop.db; paths resolve against the working directory', () => {
    const url = 'postgresql://u:p@db.internal:5433/keyloop';
    expect(resolveDbSpec(undefined, {}, '/w')).toBe('/w/keyloop.db');
    expect(resolveDbSpec('data/k.db', { KEYLOOP_DATABASE_URL: url }, '/w')).toBe('/w/data/k.db');
    expect(resolveDbSpec(undefined, { KEYLOOP_DATABASE_URL: url }, '/w')).toBe(url);
    expect(resolveDbSpec('postgres://h/db', {}, '/w')).toBe('postgres://h/db');
    expect(resolveDbSpec('', { KEYLOOP_DATABASE_URL: '' }, '/w')).toBe('/w/keyloop.db');
  });

  it('opens SQLite for a path, refuses other URL schemes, and a missing file when it must exist', async () => {
    const dir = tmp();
    await expect(openStore(join(dir, 'none.db'), { mode: 'existing' })).rejects.toThrow(/no database at .*none\.db \(run `keyloop org` first/);
    const s = await openStore(join(dir, 'new.db'));
    expect([s.kind, s.location]).toEqual(['sqlite', join(dir, 'new.db')]);
    await s.close();
    await expect(openStore('mysql://h/db')).rejects.toThrow(/unsupported database URL scheme/);
  });

  it('prints a database URL without its password', () => {
    // Assembled at run time: a URL literal with a password would (rightly) trip the self-scan.
    const pw = randomBytes(6).toString('hex');
    expect(describeUrl(`postgres://alice:${pw}%40x@db.internal:5433/prod?sslmode=require&sslpassword=${pw}`)).toEqual({
      host: 'db.internal',
      port: '5433',
      database: 'prod',
      user: 'alice',
      safe: 'postgres://alice:***@db.internal:5433/prod?sslmode=require&sslpassword=***',
    });
    expect(describeUrl('postgresql://db/x').safe).toBe('postgresql://db/x');
  });
});

describe('store key', () => {
  it('parses hex and base64 keys and rejects others', async () => {
    const k = randomBytes(32);
    expect(parseKey(k.toString('hex'), 'KEYLOOP_KEY')).toEqual(k);
    expect(parseKey(k.toString('base64'), 'KEYLOOP_KEY')).toEqual(k);
    expect(parseKey(k.toString('base64url'), 'KEYLOOP_KEY')).toEqual(k);
    expect(() => parseKey('abcd', 'KEYLOOP_KEY')).toThrow(/KEYLOOP_KEY: must be 32 bytes/);
  });

  it('creates the key file 0600 on first use, reuses it, prefers KEYLOOP_KEY, refuses a world-readable file', async () => {
    const home = tmp();
    const env = { XDG_CONFIG_HOME: join(home, 'cfg') };
    expect(() => loadKey({ env })).toThrow(/no store key/);
    const k1 = loadKey({ env, create: true });
    const file = join(home, 'cfg', 'keyloop', 'store.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadKey({ env, create: true })).toEqual(k1);
    const k2 = randomBytes(32);
    expect(loadKey({ env: { ...env, KEYLOOP_KEY: k2.toString('hex') } })).toEqual(k2);
    const loose = join(home, 'loose.key');
    writeFileSync(loose, k2.toString('hex'), { mode: 0o644 });
    expect(() => loadKey({ env: {}, keyFile: loose })).toThrow(/readable by others/);
  });
});
