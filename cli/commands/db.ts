// `keyloop db migrate`: bring the store's schema up to this keyloop. PostgreSQL upgrades only here (workers on
// the old version must stop first); SQLite also migrates on every open, so this only reports there.
import type { CommandContext } from '../context.js';
import { migrateStore } from '../../src/store/index.js';
import { dbSpecOf } from './store.js';

export interface DbMigrateOptions {
  db?: string;
}

export async function dbMigrateCommand(opts: DbMigrateOptions, ctx: CommandContext): Promise<number> {
  const r = await migrateStore(dbSpecOf(opts, ctx));
  ctx.stdout.write(
    r.applied.length ? `${r.location}: applied ${r.applied.join(', ')} (schema v${r.from} → v${r.to})\n` : `${r.location}: schema v${r.to} is up to date\n`,
  );
  return 0;
}
