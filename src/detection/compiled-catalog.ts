// The catalog as keyloop starts with it: the compiled catalog (one JSON file written by `npm run build`) when it was
// built from these very provider files, else detection/load.ts, which parses and validates detectors/*.yaml with
// zod and is loaded only then, so a scan with the built-in detectors never loads zod (start-up).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../core/errors.js';
import type { ProviderFile } from './schema.js';
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

/** The catalog of validated provider files; throws ConfigError on a duplicate detector id. */
export function assemble(files: { file: string; pf: ProviderFile }[]): Catalog {
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
// an edited detector, or --detectors pointing elsewhere, takes the YAML path (detection/load.ts).

/** Bumped when the compiled file's shape changes. */
export const COMPILED_FORMAT = 1;
export const COMPILED_CATALOG_FILE = 'catalog.generated.json';
/** Where `npm run build` writes the compiled catalog: beside this module in dist/src/detection. */
export const BUILT_CATALOG = new URL(COMPILED_CATALOG_FILE, import.meta.url);

export interface CompiledCatalog {
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

/** The catalog of `dir` from the compiled file `at` when it was built from `dir`'s provider files; else null. */
export function loadCompiledCatalog(dir: string, at: string | URL = BUILT_CATALOG): Catalog | null {
  const compiled = readCompiledCatalog(providerFiles(dir), at);
  return compiled ? assemble(compiled.map((p) => ({ file: join(dir, p.file), pf: p.data }))) : null;
}

/** The catalog of `dir`, compiled or (detection/load.ts, imported only then) from its YAML. Throws ConfigError. */
export async function openCatalog(dir: string, at: string | URL = BUILT_CATALOG): Promise<Catalog> {
  return loadCompiledCatalog(dir, at) ?? (await import('./load.js')).loadYamlCatalog(dir);
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
