// The Store contract on the SQLite adapter: one temp file per test, at-rest bytes = the database, WAL and SHM files.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite/index.js';
import { storeContract } from './store-contract.js';

storeContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyloop-contract-'));
  const file = join(dir, 'k.db');
  const raw = (s: unknown) => (s as SqliteStore).db;
  return {
    open: async (opts = {}) => openSqliteStore(file, opts),
    setRunPid: async (s, runId, pid) => void raw(s).prepare('UPDATE scan_runs SET pid = ? WHERE id = ?').run(pid, runId),
    count: async (s, table) => raw(s).prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number,
    // Read while the WAL still holds the pages (no checkpoint yet): every file of the database.
    atRest: async () => Buffer.concat(readdirSync(dir).map((n) => readFileSync(join(dir, n)))),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
