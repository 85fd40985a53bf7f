// An operator config file as written → OperatorConfig: validated by zod, errors naming the field. Loaded only when
// there is an operator file (config/load.ts), so a scan without one never loads zod (start-up).
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { parseLoopConfig } from '../core/loop-config.js';
import { operatorConfig, type ConfigSource, type OperatorConfig } from './normalize.js';
import { ConfigFile } from './schema.js';

export function formatZodError(err: z.ZodError, file: string): ConfigError {
  const issue = err.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(root)';
  const more = err.issues.length > 1 ? ` (+${err.issues.length - 1} more)` : '';
  return new ConfigError(`${issue?.message ?? 'invalid'}${more}`, `${file}: ${field}`);
}

/** Operator file (an empty one when `raw` is undefined): every field, errors are ConfigErrors naming the field. */
export function normalizeOperator(raw: unknown, source: ConfigSource | null, env: Record<string, string | undefined>): OperatorConfig {
  const file = source?.file ?? '(defaults)';
  const parsed = ConfigFile.safeParse(raw ?? {});
  if (!parsed.success) throw formatZodError(parsed.error, file);
  return operatorConfig(parsed.data, () => parseLoopConfig(parsed.data, file), source, env);
}
