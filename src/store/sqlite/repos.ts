// SQLite ReposStore: repositories keyed by full name.
import type { RepoInput, ReposStore } from '../../core/store.js';
import { REPOS, toRepo, type Row } from '../rows.js';
import type { SqliteContext } from './context.js';

const flag = (v: boolean | undefined) => (v === undefined ? null : v ? 1 : 0);

export function upsertRepoSync(c: SqliteContext, r: RepoInput): number {
  const existing = c.q('SELECT id FROM repos WHERE full_name = ?').get(r.fullName) as { id: number } | undefined;
  if (!existing) {
    const info = c
      .q(
        `INSERT INTO repos (full_name, default_branch, clone_url, fork, archived, private, mirror_path)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(r.fullName, r.defaultBranch ?? null, r.cloneUrl ?? null, flag(r.fork) ?? 0, flag(r.archived) ?? 0, flag(r.private) ?? 0, r.mirrorPath ?? null);
    return Number(info.lastInsertRowid);
  }
  c.q(
    `UPDATE repos SET default_branch = coalesce(?, default_branch), clone_url = coalesce(?, clone_url),
       fork = coalesce(?, fork), archived = coalesce(?, archived), private = coalesce(?, private),
       mirror_path = coalesce(?, mirror_path) WHERE id = ?`,
  ).run(r.defaultBranch ?? null, r.cloneUrl ?? null, flag(r.fork), flag(r.archived), flag(r.private), r.mirrorPath ?? null, existing.id);
  return existing.id;
}

export function sqliteRepos(c: SqliteContext): ReposStore {
  return {
    async upsertRepo(r) {
      return upsertRepoSync(c, r);
    },
    async getRepo(fullName) {
      const row = c.q(`${REPOS} WHERE r.full_name = ?`).get(fullName) as Row | undefined;
      return row ? toRepo(row) : undefined;
    },
    async listRepos() {
      return (c.q(`${REPOS} ORDER BY r.full_name`).all() as Row[]).map(toRepo);
    },
  };
}
