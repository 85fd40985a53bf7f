// detectors/*.yaml → zod → RE2: the catalog every engine is built from. Errors name the file and the field.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { compileRe2 } from './regex.js';
import { ProviderFile } from './schema.js';
import type { Catalog, LoadedDetector, ProviderInfo } from './types.js';

/** Files in the detectors folder that are not provider files (carrier templates, rulesets). */
const NOT_PROVIDER = new Set(['contexts.yaml', 'contexts.yml']);

/** The provider files of `dir`, sorted so the catalog order is stable. */
export function providerFiles(dir: string): string[] {
  if (!existsSync(dir)) throw new ConfigError(`detector directory not found: ${dir}`);
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && !NOT_PROVIDER.has(f) && !f.startsWith('_') && !f.startsWith('.'))
    .sort()
    .map((f) => join(dir, f));
}

export function formatZodPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
}

function zodIssue(file: string, error: z.ZodError): ConfigError {
  const issue = error.issues[0]!;
  const field = formatZodPath(issue.path);
  return new ConfigError(issue.message, `${basename(file)}${field ? `: ${field}` : ''}`);
}

/** Reads and validates one provider file (no RE2 compilation). */
export function readProviderFile(file: string): ProviderFile {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`invalid YAML: ${(err as Error).message.split('\n')[0]}`, basename(file));
  }
  const parsed = ProviderFile.safeParse(raw);
  if (!parsed.success) throw zodIssue(file, parsed.error);
  return parsed.data;
}

/** Every RE2 pattern of a detector with its field path, for compilation and `detectors check`. */
export function detectorPatterns(def: ProviderFile['detectors'][number]): { field: string; pattern: string }[] {
  return [
    { field: 'pattern', pattern: def.pattern },
    ...def.allow.map((pattern, i) => ({ field: `allow[${i}]`, pattern })),
    ...def.companions.map((c, i) => ({ field: `companions[${i}].pattern`, pattern: c.pattern })),
  ];
}

/** Loads and compiles every provider file of `dir`. Throws ConfigError naming file and field. */
export function loadCatalog(dir: string): Catalog {
  const detectors: LoadedDetector[] = [];
  const byId = new Map<string, LoadedDetector>();
  const providers = new Map<string, ProviderInfo>();
  for (const file of providerFiles(dir)) {
    const pf = readProviderFile(file);
    const name = basename(file).replace(/\.ya?ml$/, '');
    if (pf.provider.id !== name) {
      throw new ConfigError(`provider id "${pf.provider.id}" must equal the file name "${name}"`, `${basename(file)}: provider.id`);
    }
    providers.set(pf.provider.id, pf.provider);
    pf.detectors.forEach((def, i) => {
      for (const { field, pattern } of detectorPatterns(def)) {
        try {
          compileRe2(pattern);
        } catch (err) {
          throw new ConfigError(`RE2 cannot compile ${JSON.stringify(pattern)}: ${(err as Error).message}`, `${basename(file)}: detectors[${i}].${field}`);
        }
      }
      const prior = byId.get(def.id);
      if (prior) throw new ConfigError(`duplicate detector id "${def.id}" (also in ${basename(prior.file)})`, `${basename(file)}: detectors[${i}].id`);
      const loaded: LoadedDetector = { def, provider: pf.provider, file };
      detectors.push(loaded);
      byId.set(def.id, loaded);
    });
  }
  return { detectors, byId, providers };
}

/**
 * The package's own detectors/ folder, from src/detection (tsx, vitest) or dist/src/detection (npm bin), so
 * `npx keyloop` works from any cwd.
 */
export function defaultDetectorsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'detectors');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    dir = resolve(dir, '..');
  }
  throw new ConfigError('built-in detectors/ folder not found next to the keyloop package');
}
