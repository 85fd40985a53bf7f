// detectors/*.yaml → zod → RE2: the catalog every engine is built from. Errors name the file and the field.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYaml } from '../util/yaml.js';
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

/**
 * Loads every provider file of `dir`: from the compiled catalog when it was built from these very files (same
 * names and bytes), else by parsing, validating and compiling each one. Throws ConfigError naming file and field.
 */
export function loadCatalog(dir: string, compiledFile: string | URL = new URL(COMPILED_CATALOG_FILE, import.meta.url)): Catalog {
  const files = providerFiles(dir);
  const compiled = readCompiledCatalog(files, compiledFile);
  if (compiled) return assemble(compiled.map((p) => ({ file: join(dir, p.file), pf: p.data })));
  return assemble(files.map((file) => ({ file, pf: validProviderFile(file) })));
}

/** A provider file read, validated by zod, its patterns compiled by RE2 once (to report what RE2 refuses). */
function validProviderFile(file: string): ProviderFile {
  const pf = readProviderFile(file);
  const name = basename(file).replace(/\.ya?ml$/, '');
  if (pf.provider.id !== name) {
    throw new ConfigError(`provider id "${pf.provider.id}" must equal the file name "${name}"`, `${basename(file)}: provider.id`);
  }
  pf.detectors.forEach((def, i) => {
    for (const { field, pattern } of detectorPatterns(def)) {
      try {
        compileRe2(pattern);
      } catch (err) {
        throw new ConfigError(`RE2 cannot compile ${JSON.stringify(pattern)}: ${(err as Error).message}`, `${basename(file)}: detectors[${i}].${field}`);
      }
    }
  });
  return pf;
}

function assemble(files: { file: string; pf: ProviderFile }[]): Catalog {
  const detectors: LoadedDetector[] = [];
  const byId = new Map<string, LoadedDetector>();
  const providers = new Map<string, ProviderInfo>();
  for (const { file, pf } of files) {
    providers.set(pf.provider.id, pf.provider);
    pf.detectors.forEach((def, i) => {
      const prior = byId.get(def.id);
      if (prior) throw new ConfigError(`duplicate detector id "${def.id}" (also in ${basename(prior.file)})`, `${basename(file)}: detectors[${i}].id`);
      const loaded: LoadedDetector = { def, provider: pf.provider, file };
      detectors.push(loaded);
      byId.set(def.id, loaded);
    });
  }
  return { detectors, byId, providers };
}

// ---------------------------------------------------------------------------------------------------------------
// The compiled catalog: `npm run build` (scripts/postbuild.mjs) parses and validates the built-in detectors/ once
// and writes the result next to this module as JSON. Start-up then reads one JSON file instead of parsing 120 YAML
// files through zod and compiling every pattern (≈ 0.4 s of a 0.7 s `keyloop scan`). It is used for any folder
// whose provider files are byte for byte the ones it was built from (their digest is checked on every load), so
// an edited detector, or --detectors pointing elsewhere, takes the YAML path above.

/** Bumped when the compiled file's shape changes. */
const COMPILED_FORMAT = 1;
export const COMPILED_CATALOG_FILE = 'catalog.generated.json';

interface CompiledCatalog {
  format: number;
  /** catalogDigest of the provider files it was built from. */
  digest: string;
  providers: { file: string; data: ProviderFile }[];
}

/** sha256 over each provider file's name and bytes, in catalog order. */
export function catalogDigest(files: readonly string[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(basename(f)).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex');
}

/** The compiled catalog when it matches `files`; null when there is none (run from source) or it is stale. */
function readCompiledCatalog(files: readonly string[], at: string | URL): CompiledCatalog['providers'] | null {
  let raw: string;
  try {
    raw = readFileSync(at, 'utf8');
  } catch {
    return null;
  }
  // Not parsed by zod again: the build wrote it from these files' zod output (the digest says they have not
  // changed since), and re-validating is the cost this file exists to save.
  const c = JSON.parse(raw) as CompiledCatalog;
  if (c.format !== COMPILED_FORMAT || c.digest !== catalogDigest(files)) return null;
  return c.providers;
}

/** Validates `dir` as loadCatalog does and writes its compiled catalog to `out` (scripts/postbuild.mjs). */
export function writeCompiledCatalog(dir: string, out: string): void {
  const files = providerFiles(dir);
  const providers = files.map((file) => ({ file: basename(file), data: validProviderFile(file) }));
  assemble(providers.map((p) => ({ file: join(dir, p.file), pf: p.data })));
  const c: CompiledCatalog = { format: COMPILED_FORMAT, digest: catalogDigest(files), providers };
  writeFileSync(out, JSON.stringify({ '//': 'do not edit: generated by scripts/postbuild.mjs from detectors/*.yaml', ...c }));
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
