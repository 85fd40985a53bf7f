// Applies numbered SQL migrations (NNN-name.sql) above PRAGMA user_version, each in its own transaction.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { ConfigError, InternalError } from '../core/errors.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Where the .sql files live. tsc does not copy them, so from dist/ we fall back to the package's
 * src/store/migrations (the build step is expected to copy them next to the compiled runner).
 */
export function defaultMigrationsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'migrations');
  if (existsSync(beside)) return beside;
  let dir = here;
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'src', 'store', 'migrations');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new InternalError(`store migrations not found next to ${here}`);
}

export function loadMigrations(dir = defaultMigrationsDir()): Migration[] {
  const out: Migration[] = [];
  const seen = new Map<number, string>();
  for (const file of readdirSync(dir).sort()) {
    const m = /^(\d{3,})-([a-z0-9-]+)\.sql$/.exec(file);
    if (!m) continue;
    const version = Number(m[1]);
    // Two engineers picking the same number would silently skip one file: refuse instead.
    const dup = seen.get(version);
    if (dup) throw new InternalError(`two migrations share number ${version}: ${dup} and ${file}`);
    seen.set(version, file);
    out.push({ version, name: file, sql: readFileSync(join(dir, file), 'utf8') });
  }
  return out.sort((a, b) => a.version - b.version);
}

/**
 * Gaps in numbering are fine (each team owns a range). Applied versions are also recorded in a table, so a
 * lower-numbered file that lands after a higher one (team ranges advance independently) is still applied.
 * A database newer than this code is refused.
 */
export function migrate(db: Database.Database, migrations: Migration[]): { from: number; to: number } {
  const from = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.at(-1)?.version ?? 0;
  if (from > latest) {
    throw new ConfigError(`database schema v${from} is newer than this keyloop (v${latest}); upgrade keyloop`);
  }
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`);
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
  );
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
      const now = db.pragma('user_version', { simple: true }) as number;
      if (m.version > now) db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return { from, to: Math.max(from, latest) };
}
