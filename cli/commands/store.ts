// How commands open the store: --db (a file path or a postgres:// URL), else $KEYLOOP_DATABASE_URL, else
// keyloop.db; with the at-rest key when the command writes or reads secrets.
import { resolve } from 'node:path';
import type { CommandContext } from '../context.js';
import { loadKey, openStore, resolveDbSpec, type Store } from '../../src/store/index.js';

export interface StoreFlags {
  db?: string;
  keyFile?: string;
}

export interface StoreUse {
  /** 'existing' for commands that read what `org`/`app` wrote; 'create' (default) for those that write it. */
  mode?: 'existing' | 'create';
  /** Load the at-rest key on first use; 'create' makes the key file when missing (writers do). */
  key?: 'load' | 'create';
}

export function dbSpecOf(flags: StoreFlags, ctx: Pick<CommandContext, 'cwd' | 'env'>): string {
  return resolveDbSpec(flags.db, ctx.env, ctx.cwd);
}

export function openCommandStore(flags: StoreFlags, ctx: Pick<CommandContext, 'cwd' | 'env'>, use: StoreUse = {}): Promise<Store> {
  const keyFile = flags.keyFile ? resolve(ctx.cwd, flags.keyFile) : undefined;
  return openStore(dbSpecOf(flags, ctx), {
    mode: use.mode ?? 'create',
    ...(use.key ? { key: () => loadKey({ env: ctx.env, keyFile, create: use.key === 'create' }) } : {}),
  });
}

/** Opens, runs `fn`, closes whatever happens. */
export async function withCommandStore<T>(flags: StoreFlags, ctx: Pick<CommandContext, 'cwd' | 'env'>, use: StoreUse, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openCommandStore(flags, ctx, use);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
