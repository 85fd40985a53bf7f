// PostgreSQL for test files: one server per vitest run, started on first demand by the broker in
// pg-global-setup.ts, one database per caller; KEYLOOP_TEST_DATABASE_URL points at an existing server instead
// (its user must be allowed to CREATE DATABASE). No silent skip: when PostgreSQL cannot start, pgTestDatabase()
// throws with the reason.
import { inject } from 'vitest';
import { createDatabase, type TestDatabase } from '../../testkit/embedded-postgres.js';

export type { TestDatabase } from '../../testkit/embedded-postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** http://127.0.0.1:PORT of the broker that starts PostgreSQL on first request (pg-global-setup.ts). */
    keyloopPgBroker: string;
  }
}

/** A fresh database on the shared test server (started on first call), or on KEYLOOP_TEST_DATABASE_URL's. */
export async function pgTestDatabase(prefix = 'keyloop_test'): Promise<TestDatabase> {
  const existing = process.env.KEYLOOP_TEST_DATABASE_URL;
  if (existing) return createDatabase(existing, prefix);
  let broker: string;
  try {
    broker = inject('keyloopPgBroker');
  } catch {
    broker = '';
  }
  if (!broker) throw new Error('no PostgreSQL for tests: the vitest globalSetup test/helpers/pg-global-setup.ts did not run, and KEYLOOP_TEST_DATABASE_URL is not set');
  const res = await fetch(`${broker}/database?prefix=${encodeURIComponent(prefix)}`, { method: 'POST' });
  const body = (await res.json()) as { url?: string; error?: string };
  if (!res.ok || !body.url) throw new Error(`PostgreSQL for tests is unavailable: ${body.error ?? res.status}`);
  const url = body.url;
  return {
    url,
    async drop() {
      await fetch(`${broker}/drop?url=${encodeURIComponent(url)}`, { method: 'POST' });
    },
  };
}
