// Loads .keyloop.yaml (or --config): defaults < file < env. Errors name the file and the bad field.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import RE2 from 're2';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { DEFAULT_FINGERPRINT_KEY } from '../core/fingerprint.js';
import { ConfigFile } from './schema.js';
import { parseLoopConfig, type LoopConfig } from '../loop/config.js';

export const CONFIG_FILE_NAME = '.keyloop.yaml';

export interface LoadedConfig extends ConfigFile {
  /** File the config came from, or null when defaults only. */
  source: string | null;
  fingerprintKey: string;
  /** owners / issues / policy, validated (defaults filled) so a bad value fails at load, not mid-run. */
  loop: LoopConfig;
}

export function formatZodError(err: z.ZodError, file: string): ConfigError {
  const issue = err.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(root)';
  const more = err.issues.length > 1 ? ` (+${err.issues.length - 1} more)` : '';
  return new ConfigError(`${issue?.message ?? 'invalid'}${more}`, `${file}: ${field}`);
}

/** `explicit` is --config; otherwise `.keyloop.yaml` in `root` if present. */
export function loadConfig(opts: { root: string; explicit?: string; env: Record<string, string | undefined> }): LoadedConfig {
  let source: string | null = null;
  let raw: unknown = {};
  const candidate = opts.explicit ? resolve(opts.root, opts.explicit) : join(opts.root, CONFIG_FILE_NAME);
  if (opts.explicit && !existsSync(candidate)) throw new ConfigError(`config file not found: ${opts.explicit}`);
  if (existsSync(candidate)) {
    source = candidate;
    try {
      raw = parseYaml(readFileSync(candidate, 'utf8')) ?? {};
    } catch (e) {
      throw new ConfigError(`not valid YAML: ${(e as Error).message.split('\n')[0]}`, candidate);
    }
  }
  const parsed = ConfigFile.safeParse(raw);
  if (!parsed.success) throw formatZodError(parsed.error, source ?? CONFIG_FILE_NAME);
  const cfg = parsed.data;
  cfg.allow.regexes.forEach((re, i) => {
    try {
      new RE2(re);
    } catch (e) {
      throw new ConfigError(`RE2 cannot compile: ${(e as Error).message}`, `${source}: allow.regexes.${i}`);
    }
  });
  const fingerprintKey = opts.env.KEYLOOP_FINGERPRINT_KEY || cfg.fingerprint?.key || DEFAULT_FINGERPRINT_KEY;
  const loop = parseLoopConfig(cfg, source ?? CONFIG_FILE_NAME);
  return { ...cfg, source, fingerprintKey, loop };
}
