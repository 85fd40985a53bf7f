// What every PostgreSQL concern shares: the pool, transactions (retried on deadlock/serialization failure), the
// clock, the sealer, and the id lookups that are safe under concurrent writers.
import type pg from 'pg';
import { InternalError } from '../../core/errors.js';
import { systemClock, type Clock } from '../../core/ports.js';
import type { EventInput } from '../../core/store.js';
import { eventValues, noSecret, type Row } from '../rows.js';
import { Sealer } from '../sealer.js';
import { isConnectionError, unavailable } from './connect.js';

export interface PostgresOptions {
  /** The at-rest key, or a function producing it (called only when a secret is first written or read). */
  key?: Buffer | (() => Buffer);
  clock?: Clock;
  /** Override the migrations directory (tests). */
  migrationsDir?: string;
  /** Pool size (default 10). */
  maxConnections?: number;
}

/** A pool or a client inside a transaction. */
export type Db = Pick<pg.Pool | pg.PoolClient, 'query'>;

const RETRYABLE = new Set(['40P01', '40001']); // deadlock_detected, serialization_failure

export class PgContext {
  readonly clock: Clock;
  readonly sealer: Sealer;

  constructor(
    readonly pool: pg.Pool,
    readonly url: string,
    opts: PostgresOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.sealer = new Sealer(opts.key, {
      claim: async (id) => {
        await this.q("INSERT INTO meta (key, value) VALUES ('key_id', $1) ON CONFLICT (key) DO NOTHING", [id]);
        return (await this.one<{ value: string }>("SELECT value FROM meta WHERE key = 'key_id'"))!.value;
      },
    });
  }

  now(): string {
    return this.clock.now().toISOString();
  }

  /** Rows of one statement (on the pool, or on `db` inside a transaction). */
  async q<T = Row>(sql: string, params: unknown[] = [], db: Db = this.pool): Promise<T[]> {
    try {
      return (await db.query(sql, params)).rows as T[];
    } catch (err) {
      throw isConnectionError(err) ? unavailable(this.url, err) : err;
    }
  }

  async one<T = Row>(sql: string, params: unknown[] = [], db: Db = this.pool): Promise<T | undefined> {
    return (await this.q<T>(sql, params, db))[0];
  }

  /** Runs `fn` in one transaction on one connection; a deadlock or serialization failure reruns it (3 tries). */
  async tx<T>(fn: (db: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        throw unavailable(this.url, err);
      }
      let broken = false;
      // A checked-out client whose server goes away emits 'error'; unheard, that would end the process.
      const onError = () => (broken = true);
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const out = await fn(client);
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        const code = (err as { code?: string }).code;
        if (code && RETRYABLE.has(code) && attempt < 3) continue;
        throw isConnectionError(err) ? unavailable(this.url, err) : err;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    }
  }

  /** The repo's id, creating the row if needed (safe when two writers create it at once). */
  async repoId(fullName: string, db: Db = this.pool): Promise<number> {
    const found = await this.one<{ id: number }>('SELECT id FROM repos WHERE full_name = $1', [fullName], db);
    if (found) return found.id;
    const ins = await this.one<{ id: number }>('INSERT INTO repos (full_name) VALUES ($1) ON CONFLICT (full_name) DO NOTHING RETURNING id', [fullName], db);
    // Lost the race: the winner's row is committed by now (ON CONFLICT waited for it) and this new statement sees it.
    return ins?.id ?? (await this.one<{ id: number }>('SELECT id FROM repos WHERE full_name = $1', [fullName], db))!.id;
  }

  private readonly catalogIds = new Map<string, number>();

  /**
   * The id of a catalog version, added on first use: on the pool (committed at once, so it can be remembered), never
   * inside a transaction, where every worker recording under a new version would queue on one row.
   */
  async catalogId(version: string): Promise<number> {
    const known = this.catalogIds.get(version);
    if (known !== undefined) return known;
    const find = () => this.one<{ id: number }>('SELECT id FROM catalog_versions WHERE version = $1', [version]);
    const id =
      (await find())?.id ??
      (await this.one<{ id: number }>('INSERT INTO catalog_versions (version, first_seen_at) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING RETURNING id', [version, this.now()]))?.id ??
      (await find())!.id;
    this.catalogIds.set(version, id);
    return id;
  }

  async secretId(fingerprint: string, db: Db = this.pool): Promise<number> {
    const row = await this.one<{ id: number }>('SELECT id FROM secrets WHERE fingerprint = $1', [fingerprint], db);
    if (!row) throw noSecret(fingerprint);
    return row.id;
  }

  async issueId(repo: string, number: number, db: Db = this.pool): Promise<number> {
    const row = await this.one<{ id: number }>('SELECT i.id FROM issues i JOIN repos r ON r.id = i.repo_id WHERE r.full_name = $1 AND i.number = $2', [repo, number], db);
    if (!row) throw new InternalError(`event for unknown issue ${repo}#${number}`);
    return row.id;
  }

  async insertEvent(
    e: Pick<EventInput, 'kind' | 'runId' | 'detail'>,
    secretId: number | null,
    repoId: number | null,
    issueId: number | null,
    at: string,
    db: Db = this.pool,
  ): Promise<void> {
    await this.q('INSERT INTO events (at, kind, secret_id, repo_id, issue_id, run_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)', eventValues(e, secretId, repoId, issueId, at), db);
  }
}

/** SQLite's NOCASE folds ASCII letters only; the PostgreSQL key does the same so both stores agree. */
export const foldEmail = (email: string) => email.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
