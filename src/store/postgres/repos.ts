// PostgreSQL ReposStore: repositories keyed by full name (one upsert statement).
import type { RepoInput, ReposStore } from '../../core/store.js';
import { REPOS, toRepo } from '../rows.js';
import type { Db, PgContext } from './context.js';

export async function upsertRepoOn(c: PgContext, r: RepoInput, db?: Db): Promise<number> {
  const row = await c.one<{ id: number }>(
    `INSERT INTO repos (full_name, default_branch, clone_url, fork, archived, private, mirror_path)
     VALUES ($1, $2, $3, coalesce($4::boolean, false), coalesce($5::boolean, false), coalesce($6::boolean, false), $7)
     ON CONFLICT (full_name) DO UPDATE SET default_branch = coalesce($2, repos.default_branch),
       clone_url = coalesce($3, repos.clone_url), fork = coalesce($4::boolean, repos.fork),
       archived = coalesce($5::boolean, repos.archived), private = coalesce($6::boolean, repos.private),
       mirror_path = coalesce($7, repos.mirror_path)
     RETURNING id`,
    [r.fullName, r.defaultBranch ?? null, r.cloneUrl ?? null, r.fork ?? null, r.archived ?? null, r.private ?? null, r.mirrorPath ?? null],
    db,
  );
  return row!.id;
}

export function pgRepos(c: PgContext): ReposStore {
  return {
    upsertRepo: (r) => upsertRepoOn(c, r),
    async getRepo(fullName) {
      const row = await c.one(`${REPOS} WHERE r.full_name = $1`, [fullName]);
      return row ? toRepo(row) : undefined;
    },
    async listRepos() {
      return (await c.q(`${REPOS} ORDER BY r.full_name`)).map(toRepo);
    },
  };
}
