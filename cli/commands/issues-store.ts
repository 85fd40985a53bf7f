// Opens an existing store with its at-rest key (the issue loop decrypts secrets to re-verify and revoke them).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../../src/core/errors.js';
import { openStore, type Store } from '../../src/store/index.js';

export function openExistingStoreWithKey(db: string, cwd: string, key: () => Buffer): Store {
  const path = resolve(cwd, db);
  if (!existsSync(path)) throw new ConfigError(`no database at ${path} (run \`keyloop org\` first, or pass --db)`, '--db');
  return openStore(path, { key });
}
