// Per-user directories keyloop reads operator files from (config, store key), XDG first.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$XDG_CONFIG_HOME`, else `%APPDATA%` on Windows, else `~/.config`. */
export function userConfigDir(env: Record<string, string | undefined>): string {
  if (env.XDG_CONFIG_HOME) return env.XDG_CONFIG_HOME;
  if (process.platform === 'win32' && env.APPDATA) return env.APPDATA;
  return join(env.HOME || homedir(), '.config');
}
