// Where configuration comes from. Operator: --config (relative to the current directory), else $KEYLOOP_CONFIG,
// else the user config file ($XDG_CONFIG_HOME/keyloop/config.yaml). Repository: `.keyloop.yaml` at the root of
// scanned content (a working tree, or a mirror's default branch), read as a layer that can only narrow.
import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseYaml } from '../util/yaml.js';
import { ConfigError } from '../core/errors.js';
import { userConfigDir } from '../util/dirs.js';
import { defaultOperatorConfig, normalizeRepository, type OperatorConfig, type RepositoryConfig } from './normalize.js';

export const CONFIG_FILE_NAME = '.keyloop.yaml';
/** A repository config larger than this is ignored (with a warning): it only ever holds short lists. */
export const MAX_REPOSITORY_CONFIG_BYTES = 256 * 1024;

export const userConfigFile = (env: Record<string, string | undefined>) => join(userConfigDir(env), 'keyloop', 'config.yaml');

export interface OperatorConfigOptions {
  /** --config, resolved against `cwd`. */
  explicit?: string;
  cwd: string;
  env: Record<string, string | undefined>;
}

/** The operator file in effect: --config, else $KEYLOOP_CONFIG (both must exist), else the user file if present. */
export function operatorConfigPath(opts: OperatorConfigOptions): string | null {
  for (const [value, name] of [
    [opts.explicit, '--config'],
    [opts.env.KEYLOOP_CONFIG, 'KEYLOOP_CONFIG'],
  ] as const) {
    if (!value) continue;
    const file = resolve(opts.cwd, value);
    if (!existsSync(file)) throw new ConfigError(`config file not found: ${file}`, name);
    return file;
  }
  const user = userConfigFile(opts.env);
  return existsSync(user) ? user : null;
}

/** The operator config in effect; its file, when there is one, validated by config/operator.ts (zod, loaded then). */
export async function loadOperatorConfig(opts: OperatorConfigOptions): Promise<OperatorConfig> {
  const file = operatorConfigPath(opts);
  if (!file) return defaultOperatorConfig(opts.env);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'), { logLevel: 'error' }) ?? {};
  } catch (e) {
    throw new ConfigError(`not valid YAML: ${(e as Error).message.split('\n')[0]}`, file);
  }
  const { normalizeOperator } = await import('./operator.js');
  return normalizeOperator(raw, { kind: 'operator', file }, opts.env);
}

/** A repository config from its text (a working tree file or a blob read from a mirror). Never throws. */
export function parseRepositoryConfig(text: string, file: string): RepositoryConfig {
  if (Buffer.byteLength(text) > MAX_REPOSITORY_CONFIG_BYTES) {
    return { ...normalizeRepository(undefined, file), warnings: [`${file}: larger than ${MAX_REPOSITORY_CONFIG_BYTES} bytes; ignored`] };
  }
  let raw: unknown;
  try {
    // logLevel error: YAML warnings (unknown tags…) would go to the process's stderr, outside the report.
    raw = parseYaml(text, { logLevel: 'error' });
  } catch (e) {
    const why = (e as Error).message.split('\n')[0]!.slice(0, 160);
    return { ...normalizeRepository(undefined, file), warnings: [`${file}: not valid YAML (${why}); ignored`] };
  }
  return normalizeRepository(raw, file);
}

/** `.keyloop.yaml` at `root`, or null. Only a regular file is read (a symlink could point at the operator's files). */
export function readRepositoryConfig(root: string): RepositoryConfig | null {
  const file = join(root, CONFIG_FILE_NAME);
  const ignored = (why: string) => ({ ...normalizeRepository(undefined, file), warnings: [`${file}: ${why}; ignored`] });
  let fd: number;
  try {
    // O_NOFOLLOW: no window between a check and the open for a symlink to slip in.
    fd = openSync(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    return ignored(code === 'ELOOP' ? 'a symbolic link' : `unreadable (${code ?? 'error'})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return ignored('not a regular file');
    if (st.size > MAX_REPOSITORY_CONFIG_BYTES) return ignored(`larger than ${MAX_REPOSITORY_CONFIG_BYTES} bytes`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    return parseRepositoryConfig(buf.subarray(0, off).toString('utf8'), file);
  } finally {
    closeSync(fd);
  }
}

/**
 * For commands that scan no local tree (org, app, receive, issues): a `.keyloop.yaml` in the current directory is
 * not operator config (it may be a checkout of a scanned repository). Say so when it is the only file around.
 */
export function unusedCwdConfigHint(cwd: string, operator: OperatorConfig): string | null {
  if (operator.source || !existsSync(join(cwd, CONFIG_FILE_NAME))) return null;
  return `./${CONFIG_FILE_NAME} is not read by this command (operator config comes from --config, KEYLOOP_CONFIG or the user config file); pass --config ${CONFIG_FILE_NAME} to use it`;
}
