// Opens the SQLite database the App shares with the rest of keyloop, with every migration applied.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { loadMigrations, migrate } from '../store/migrate.js';

export function openAppDb(path: string): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // The webhook reply path writes one row; wait for a concurrent writer (an org crawl) instead of failing.
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db, loadMigrations());
  return db;
}
