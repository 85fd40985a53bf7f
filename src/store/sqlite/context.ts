// What every SQLite concern shares: the connection, a statement cache, the clock, the sealer and the id lookups.
import type Database from 'better-sqlite3';
import { InternalError } from '../../core/errors.js';
import { systemClock, type Clock } from '../../core/ports.js';
import type { EventInput } from '../../core/store.js';
import { eventValues, noSecret } from '../rows.js';
import { Sealer } from '../sealer.js';

export interface SqliteOptions {
  /** The at-rest key, or a function producing it (called only when a secret is first written or read). */
  key?: Buffer | (() => Buffer);
  clock?: Clock;
  /** Override the migrations directory (tests, bundles). */
  migrationsDir?: string;
  readonly?: boolean;
}

export class SqliteContext {
  readonly clock: Clock;
  readonly sealer: Sealer;
  private readonly stmts = new Map<string, Database.Statement>();

  constructor(
    readonly db: Database.Database,
    opts: SqliteOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.sealer = new Sealer(opts.key, {
      claim: async (id) => {
        this.q("INSERT INTO meta (key, value) VALUES ('key_id', ?) ON CONFLICT (key) DO NOTHING").run(id);
        return (this.q("SELECT value FROM meta WHERE key = 'key_id'").get() as { value: string }).value;
      },
    });
  }

  now(): string {
    return this.clock.now().toISOString();
  }

  q(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /** Runs `fn` in a BEGIN IMMEDIATE transaction (the write lock is taken first, so it never fails halfway on busy). */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  repoId(fullName: string): number {
    const row = this.q('SELECT id FROM repos WHERE full_name = ?').get(fullName) as { id: number } | undefined;
    if (row) return row.id;
    return Number(this.q('INSERT INTO repos (full_name) VALUES (?)').run(fullName).lastInsertRowid);
  }

  /** The id of a catalog version, added on first use. Inside the caller's transaction. */
  catalogId(version: string): number {
    const row = this.q('SELECT id FROM catalog_versions WHERE version = ?').get(version) as { id: number } | undefined;
    if (row) return row.id;
    return Number(this.q('INSERT INTO catalog_versions (version, first_seen_at) VALUES (?, ?)').run(version, this.now()).lastInsertRowid);
  }

  secretId(fingerprint: string): number {
    const row = this.q('SELECT id FROM secrets WHERE fingerprint = ?').get(fingerprint) as { id: number } | undefined;
    if (!row) throw noSecret(fingerprint);
    return row.id;
  }

  issueId(repo: string, number: number): number {
    const row = this.q('SELECT i.id FROM issues i JOIN repos r ON r.id = i.repo_id WHERE r.full_name = ? AND i.number = ?').get(repo, number) as
      | { id: number }
      | undefined;
    if (!row) throw new InternalError(`event for unknown issue ${repo}#${number}`);
    return row.id;
  }

  insertEvent(e: Pick<EventInput, 'kind' | 'runId' | 'detail'>, secretId: number | null, repoId: number | null, issueId: number | null, at: string): void {
    this.q('INSERT INTO events (at, kind, secret_id, repo_id, issue_id, run_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)').run(...eventValues(e, secretId, repoId, issueId, at));
  }
}
