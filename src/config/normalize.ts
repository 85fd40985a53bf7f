// Config as written → normalized, with the kind of source recorded. An operator file may set anything and a bad
// value is a ConfigError; a repository file (.keyloop.yaml inside scanned content) may only narrow the report
// (REPOSITORY_FIELDS), and anything else in it is ignored with a warning naming the file and the field: a
// hostile repository can neither steer keyloop nor stop its own scan.
// Loads no zod: an operator file is validated by config/operator.ts, loaded only when there is one.
import RE2 from 're2';
import { ConfigError } from '../core/errors.js';
import { DEFAULT_FINGERPRINT_KEY } from '../core/fingerprint.js';
import type { LoopConfig } from '../core/loop-config.js';
import { defaultLoopConfig } from '../core/loop-defaults.js';
import { closest } from '../util/closest.js';
import { compileGlob, GlobError } from './glob.js';
import { CONFIG_DEFAULTS, CONFIG_SECTIONS, FINGERPRINT_PATTERN, REPOSITORY_FIELDS, type RepositoryField } from './fields.js';
import type { ConfigFile } from './schema.js';

export type SourceKind = 'operator' | 'repository';

export interface ConfigSource {
  kind: SourceKind;
  /** Absolute path, or `owner/repo:.keyloop.yaml` for a file read from a mirror. */
  file: string;
}

/** What one config layer drops from a report. Layers apply one after the other, so `only` lists intersect. */
export interface Suppression {
  source: ConfigSource | null;
  excludePaths: string[];
  disable: string[];
  only: string[];
  allowRegexes: string[];
  allowFingerprints: string[];
}

export interface OperatorConfig {
  kind: 'operator';
  /** null: defaults only (no operator file). */
  source: ConfigSource | null;
  suppression: Suppression;
  fingerprintKey: string;
  /** Issuer id → base URL (`issuers.<id>.baseUrl`), and `<id>:<host>` → URL (`issuers.<id>.hosts.<host>`). */
  issuers: Record<string, string>;
  verify: { timeoutMs: number; cacheTtlHours: number; reach: boolean };
  /** owners / issues / policy, validated with defaults filled. */
  loop: LoopConfig;
  /** The file has an `issues:` section (the org issue loop runs by default then). */
  issuesSection: boolean;
}

export interface RepositoryConfig {
  kind: 'repository';
  source: ConfigSource;
  suppression: Suppression;
  /** One line per ignored field or value, naming the file and the field. */
  warnings: string[];
}

const emptySuppression = (source: ConfigSource | null): Suppression => ({
  source,
  excludePaths: [],
  disable: [],
  only: [],
  allowRegexes: [],
  allowFingerprints: [],
});

/** Why a pattern or fingerprint cannot be used, or null. Shared by both kinds of source. */
function entryProblem(field: RepositoryField, value: string): string | null {
  if (field === 'allow.regexes') {
    try {
      new RE2(value);
      return null;
    } catch (e) {
      return `RE2 cannot compile: ${(e as Error).message}`;
    }
  }
  if (field === 'paths.exclude') {
    try {
      compileGlob(value);
      return null;
    } catch (e) {
      if (e instanceof GlobError) return `not a usable glob: ${e.message}`;
      throw e;
    }
  }
  if (field === 'allow.fingerprints') return FINGERPRINT_PATTERN.test(value) ? null : 'expected a hex fingerprint';
  return null;
}

const setField = (s: Suppression, field: RepositoryField, values: string[]) => {
  if (field === 'paths.exclude') s.excludePaths = values;
  else if (field === 'detectors.disable') s.disable = values;
  else if (field === 'detectors.only') s.only = values;
  else if (field === 'allow.regexes') s.allowRegexes = values;
  else s.allowFingerprints = values;
};

/**
 * An operator config from its validated form (config/operator.ts) or the defaults: every list entry checked, errors
 * are ConfigErrors naming the field. `loop` validates the issue loop's sections, after the rest.
 */
export function operatorConfig(c: ConfigFile, loop: () => LoopConfig, source: ConfigSource | null, env: Record<string, string | undefined>): OperatorConfig {
  const file = source?.file ?? '(defaults)';
  const suppression = emptySuppression(source);
  const lists: Record<RepositoryField, string[]> = {
    'paths.exclude': c.paths.exclude,
    'detectors.disable': c.detectors.disable,
    'detectors.only': c.detectors.only,
    'allow.regexes': c.allow.regexes,
    'allow.fingerprints': c.allow.fingerprints,
  };
  for (const field of REPOSITORY_FIELDS) {
    lists[field].forEach((v, i) => {
      const problem = entryProblem(field, v);
      if (problem) throw new ConfigError(problem, `${file}: ${field}.${i}`);
    });
    setField(suppression, field, lists[field]);
  }
  return {
    kind: 'operator',
    source,
    suppression,
    fingerprintKey: env.KEYLOOP_FINGERPRINT_KEY || c.fingerprint?.key || DEFAULT_FINGERPRINT_KEY,
    issuers: Object.fromEntries(
      Object.entries(c.issuers).flatMap(([id, o]) => [
        ...(o.baseUrl ? [[id, o.baseUrl] as const] : []),
        ...Object.entries(o.hosts ?? {}).map(([host, url]) => [`${id}:${host}`, url] as const),
      ]),
    ),
    verify: c.verify,
    loop: loop(),
    issuesSection: c.issues !== undefined,
  };
}

/** The operator config when there is no operator file. */
export function defaultOperatorConfig(env: Record<string, string | undefined>): OperatorConfig {
  return operatorConfig(structuredClone(CONFIG_DEFAULTS), defaultLoopConfig, null, env);
}

/** Bounds on what a repository may ask for: its own scan must stay cheap whatever it writes. */
export const REPOSITORY_LIMITS = { itemsPerList: 1000, itemLength: 1024 };

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Repository file: only REPOSITORY_FIELDS are read, each value checked on its own; everything else becomes a
 * warning. Never throws.
 */
export function normalizeRepository(raw: unknown, file: string): RepositoryConfig {
  const source: ConfigSource = { kind: 'repository', file };
  const suppression = emptySuppression(source);
  const warnings: string[] = [];
  const warn = (field: string, why: string) => warnings.push(`${file}: ${field}: ${why}`);
  if (raw === undefined || raw === null) return { kind: 'repository', source, suppression, warnings };
  if (!isPlainObject(raw)) {
    warn('(root)', 'not a mapping; file ignored');
    return { kind: 'repository', source, suppression, warnings };
  }
  const allowed = new Map<string, Set<string>>();
  for (const f of REPOSITORY_FIELDS) {
    const [section, key] = f.split('.') as [string, string];
    allowed.set(section, (allowed.get(section) ?? new Set()).add(key));
  }
  const operatorOnly = new Set<string>(CONFIG_SECTIONS);
  for (const [section, value] of Object.entries(raw)) {
    const keys = allowed.get(section);
    if (!keys) {
      warn(section, operatorOnly.has(section) ? 'operator-only field, ignored in a repository config' : 'unknown field, ignored');
      continue;
    }
    if (value === null || value === undefined) continue;
    if (!isPlainObject(value)) {
      warn(section, 'expected a mapping; ignored');
      continue;
    }
    for (const [key, list] of Object.entries(value)) {
      const field = `${section}.${key}`;
      if (!keys.has(key)) {
        warn(field, 'unknown field, ignored');
        continue;
      }
      if (list === null || list === undefined) continue;
      if (!Array.isArray(list)) {
        warn(field, 'expected a list; ignored');
        continue;
      }
      const kept: string[] = [];
      list.forEach((v: unknown, i) => {
        if (i >= REPOSITORY_LIMITS.itemsPerList) return;
        if (typeof v !== 'string' || v === '') return warn(`${field}.${i}`, 'expected a non-empty string; ignored');
        if (v.length > REPOSITORY_LIMITS.itemLength) return warn(`${field}.${i}`, `longer than ${REPOSITORY_LIMITS.itemLength} characters; ignored`);
        const problem = entryProblem(field as RepositoryField, v);
        if (problem) return warn(`${field}.${i}`, `${problem}; ignored`);
        kept.push(v);
      });
      if (list.length > REPOSITORY_LIMITS.itemsPerList) warn(field, `more than ${REPOSITORY_LIMITS.itemsPerList} entries; the rest ignored`);
      setField(suppression, field as RepositoryField, kept);
    }
  }
  return { kind: 'repository', source, suppression, warnings };
}

/**
 * Unknown ids in `detectors.disable` / `detectors.only`, checked against the loaded catalog. From the operator
 * they are a ConfigError naming the closest valid id; from a repository a warning, and the id is dropped.
 */
export function checkDetectorIds(config: { kind: SourceKind; suppression: Suppression }, ids: ReadonlySet<string>): string[] {
  const s = config.suppression;
  const warnings: string[] = [];
  const file = s.source?.file ?? '(defaults)';
  for (const [field, list] of [
    ['detectors.disable', s.disable],
    ['detectors.only', s.only],
  ] as const) {
    const keep: string[] = [];
    list.forEach((id, i) => {
      if (ids.has(id)) return keep.push(id);
      const near = id.length <= 200 ? closest(id, ids) : undefined;
      const msg = `unknown detector id "${id.slice(0, 80)}"${near ? ` (did you mean "${near}"?)` : ''}`;
      if (config.kind === 'operator') throw new ConfigError(msg, `${file}: ${field}.${i}`);
      warnings.push(`${file}: ${field}.${i}: ${msg}; ignored`);
    });
    // A repository `only` whose ids are all unknown ends up empty: ignoring the field means "every detector".
    if (field === 'detectors.disable') s.disable = keep;
    else s.only = keep;
  }
  return warnings;
}

/**
 * Verification base URL overrides by issuer id. For GitHub: `--github-url` beats the file's
 * `issuers.github.baseUrl` (explicit flags beat files), which beats the ambient $GITHUB_API_URL (set by Actions
 * runners, not chosen for verification); with none of them the detector's documented host is used.
 */
export function issuerOverrides(operator: OperatorConfig, github: { flag?: string | undefined; env: Record<string, string | undefined> }): Record<string, string> {
  const url = github.flag || operator.issuers.github || github.env.GITHUB_API_URL;
  return { ...operator.issuers, ...(url ? { github: url } : {}) };
}
