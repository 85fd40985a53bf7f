// Connecting to PostgreSQL: a pool whose bigint/numeric come back as numbers, a printable form of the URL (no
// password, ever), and one clear line for a database that cannot be reached or refuses us.
import pg from 'pg';
import { StoreUnavailableError } from '../../core/errors.js';
import { describeUrl } from '../db-url.js';

/** Connecting (TCP + TLS + auth) gives up after this; with DNS it stays under the 10 s the CLI promises. */
export const CONNECT_TIMEOUT_MS = 8000;

// int8 and numeric (count, sum) as JS numbers: counters and ids stay far below 2^53.
const toNumber = (v: string) => Number(v);
const NUMERIC_OIDS: ReadonlySet<number> = new Set([pg.types.builtins.INT8, pg.types.builtins.NUMERIC]);
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (NUMERIC_OIDS.has(oid)) return toNumber;
    return pg.types.getTypeParser(oid, format) as (v: string) => unknown;
  }) as pg.CustomTypesConfig['getTypeParser'],
};

export function createPool(url: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, types, application_name: 'keyloop' });
  // An idle client losing its server emits here; without a listener it would crash the process. The next query
  // gets a fresh connection or fails with a clear error.
  pool.on('error', () => {});
  return pool;
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** Whether `err` means the database is unreachable or refused us (not a bug in a statement). */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (e?.code && (CONNECTION_CODES.has(e.code) || /^(08|28|3D|57P)/.test(e.code))) return true;
  return /connection terminated|timeout expired|connection timeout|Client has encountered a connection error/i.test(e?.message ?? '');
}

/** One line naming host, port and database and the cause, without the password. */
export function unavailable(url: string, err: unknown): StoreUnavailableError {
  const d = describeUrl(url);
  const e = err as { code?: string; message?: string };
  const where = `PostgreSQL at ${d.host}:${d.port} (database "${d.database}")`;
  let cause: string;
  switch (e?.code ?? '') {
    case 'ECONNREFUSED':
      cause = 'connection refused (is the server running and listening on that port?)';
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      cause = `host ${d.host} not found`;
      break;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      cause = `host unreachable (${e.code})`;
      break;
    case '28P01':
    case '28000':
      cause = `authentication failed for user "${d.user || '(none)'}"`;
      break;
    case '3D000':
      cause = `database "${d.database}" does not exist`;
      break;
    default:
      cause = /timeout/i.test(e?.message ?? '') ? `no answer within ${CONNECT_TIMEOUT_MS / 1000} s` : (e?.message ?? String(err)).split('\n')[0]!;
  }
  // pg messages do not carry the password, but a URL echoed back by a driver or proxy could: scrub it anyway.
  const password = (() => {
    try {
      return decodeURIComponent(new URL(url).password);
    } catch {
      return '';
    }
  })();
  if (password) cause = cause.split(password).join('***');
  return new StoreUnavailableError(`cannot use ${where}: ${cause}`, undefined, { cause: err });
}
