// vitest globalSetup: a loopback broker that starts ONE embedded PostgreSQL for the whole run, on the first
// request (test files that never ask cost nothing), creates a database per request, and stops it at the end.
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { TestProject } from 'vitest/node';
import { createDatabase, startEmbeddedPostgres, type EmbeddedServer, type TestDatabase } from '../../testkit/embedded-postgres.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let started: Promise<EmbeddedServer> | null = null;
  const made = new Map<string, TestDatabase>();
  const http: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://broker');
    const send = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    (async () => {
      started ??= startEmbeddedPostgres();
      const server = await started;
      if (u.pathname === '/database') {
        const db = await createDatabase(server.adminUrl, (u.searchParams.get('prefix') ?? 'keyloop_test').replace(/[^a-z0-9_]/g, '_'));
        made.set(db.url, db);
        return send(200, { url: db.url });
      }
      if (u.pathname === '/drop') {
        const url = u.searchParams.get('url') ?? '';
        await made.get(url)?.drop();
        made.delete(url);
        return send(200, { ok: true });
      }
      send(404, { error: 'not found' });
    })().catch((err: unknown) => send(500, { error: (err as Error).message }));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  project.provide('keyloopPgBroker', `http://127.0.0.1:${(http.address() as { port: number }).port}`);
  return async () => {
    http.close();
    if (started) await (await started.catch(() => null))?.stop();
    // embedded-postgres stops its servers at exit through async-exit-hook, whose `beforeExit` hook then calls
    // process.exit(0): a run with failed tests exited 0 whenever a test had asked for PostgreSQL. The server is
    // stopped above, so its exit hooks (`beforeExit`, and `exit`, which would call them without their callback)
    // have nothing left to do.
    // (Only the events it hooked: a run that never started PostgreSQL hooked none, and unhooking one throws.)
    const exitHook = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'))('async-exit-hook') as {
      unhookEvent(event: string): void;
      hookedEvents(): string[];
    };
    const hooked = exitHook.hookedEvents();
    for (const event of ['beforeExit', 'exit']) if (hooked.includes(event)) exitHook.unhookEvent(event);
  };
}
