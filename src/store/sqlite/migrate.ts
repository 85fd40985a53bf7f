// Applies the SQLite migrations above PRAGMA user_version, each in its own transaction (auto on open).
import type Database from 'better-sqlite3';
import { ConfigError } from '../../core/errors.js';
import type { Migration } from '../migrate.js';

/**
 * Gaps in numbering are fine (each team owns a range). Applied versions are also recorded in a table, so a
 * lower-numbered file that lands after a higher one (team ranges advance independently) is still applied.
 * A database newer than this code is refused.
 */
export function migrate(db: Database.Database, migrations: Migration[]): { from: number; to: number; applied: string[] } {
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
  const done: string[] = [];
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
      const now = db.pragma('user_version', { simple: true }) as number;
      if (m.version > now) db.pragma(`user_version = ${m.version}`);
    }).immediate();
    done.push(m.name);
  }
  return { from, to: Math.max(from, latest), applied: done };
}
