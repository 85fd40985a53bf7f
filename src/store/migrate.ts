// Numbered SQL migrations (NNN-name.sql), one set per engine: SQLite files in migrations/, PostgreSQL files with
// the same numbers in migrations/postgres/. Loading is shared; each adapter applies them its own way.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InternalError } from '../core/errors.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export type Engine = 'sqlite' | 'postgres';

/**
 * Where the .sql files live. tsc does not copy them, so from dist/ we fall back to the package's
 * src/store/migrations (the build step copies them next to the compiled runner).
 */
export function defaultMigrationsDir(engine: Engine = 'sqlite'): string {
  const sub = engine === 'postgres' ? join('migrations', 'postgres') : 'migrations';
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, sub);
  if (existsSync(beside)) return beside;
  let dir = here;
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'src', 'store', sub);
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

/** What a database has applied against what this keyloop knows: refused when newer, `missing` when behind. */
export function schemaGap(applied: Set<number>, migrations: Migration[]): { newer: number | null; missing: Migration[]; latest: number } {
  const latest = migrations.at(-1)?.version ?? 0;
  const top = Math.max(0, ...applied);
  return { newer: top > latest ? top : null, missing: migrations.filter((m) => !applied.has(m.version)), latest };
}
