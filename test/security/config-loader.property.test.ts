// Properties of the config loader over generated input: a repository source never yields anything but the
// narrowing fields (and only values it wrote there), never throws; an operator file fails only with ConfigError;
// path globs (RE2) agree with picomatch on the syntax both support.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { compileGlob } from '../../src/config/glob.js';
import { loadOperatorConfig, parseRepositoryConfig } from '../../src/config/load.js';
import { normalizeRepository, type RepositoryConfig } from '../../src/config/normalize.js';
import { normalizeOperator } from '../../src/config/operator.js';
import { REPOSITORY_FIELDS } from '../../src/config/schema.js';
import { ConfigError } from '../../src/core/errors.js';
import { tempDir } from '../../testkit/git-repo.js';

const SECTIONS = ['paths', 'detectors', 'allow', 'fingerprint', 'issuers', 'verify', 'owners', 'issues', 'policy', 'hooks', 'proxy', 'token'];
const KEYS = ['exclude', 'disable', 'only', 'regexes', 'fingerprints', 'key', 'baseUrl', 'github', 'aws', 'timeoutMs', 'repo', 'webUrl', 'revokeGitHubTokens', 'fallback', 'enabled'];

/** Strings a config author (or attacker) would write: URLs, globs, hex, ids, junk. */
const value = fc.oneof(
  fc.constantFrom('http://127.0.0.1:18080/steal', 'https://evil.example', 'mallory/loot', '**/*.env', '(?<=x)y', '^sk_test_', 'github-pat-classic', 'ab'.repeat(32), ''),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const leaf = fc.oneof(value, fc.array(value, { maxLength: 5 }));
const section = fc.oneof(leaf, fc.dictionary(fc.constantFrom(...KEYS), fc.oneof(leaf, fc.dictionary(fc.constantFrom(...KEYS), leaf, { maxKeys: 3 })), { maxKeys: 5 }));
const configLike = fc.oneof(fc.dictionary(fc.constantFrom(...SECTIONS), section, { maxKeys: 8 }), fc.anything({ maxDepth: 3 }));

const SUPPRESSION_KEYS = ['allowFingerprints', 'allowRegexes', 'disable', 'excludePaths', 'only', 'source'];
const FIELD_OF: Record<string, string> = {
  excludePaths: 'paths.exclude',
  disable: 'detectors.disable',
  only: 'detectors.only',
  allowRegexes: 'allow.regexes',
  allowFingerprints: 'allow.fingerprints',
};

function at(raw: unknown, dotted: string): unknown {
  let cur = raw;
  for (const k of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function onlyNarrowing(raw: unknown, c: RepositoryConfig) {
  expect(Object.keys(c).sort()).toEqual(['kind', 'source', 'suppression', 'warnings']);
  expect(c.kind).toBe('repository');
  expect(c.source.kind).toBe('repository');
  expect(Object.keys(c.suppression).sort()).toEqual(SUPPRESSION_KEYS);
  for (const [key, field] of Object.entries(FIELD_OF)) {
    expect(REPOSITORY_FIELDS).toContain(field);
    const written = at(raw, field);
    for (const v of (c.suppression as unknown as Record<string, string[]>)[key]!) {
      // every value kept was written at that very field: nothing flows in from operator-only fields
      expect(Array.isArray(written) && written.includes(v)).toBe(true);
    }
  }
  for (const w of c.warnings) expect(w.startsWith('repo/.keyloop.yaml: ')).toBe(true);
}

describe('config loader properties', () => {
  it('a repository source yields only narrowing fields with values written there, and never throws', () => {
    fc.assert(
      fc.property(configLike, (raw) => {
        onlyNarrowing(raw, normalizeRepository(raw, 'repo/.keyloop.yaml'));
      }),
      { numRuns: 500 },
    );
  });

  it('the same holds through YAML text, and for arbitrary text', () => {
    fc.assert(
      fc.property(configLike, (raw) => {
        let text: string;
        try {
          text = stringify(raw) ?? '';
        } catch {
          return; // not representable as YAML
        }
        onlyNarrowing(raw, parseRepositoryConfig(text, 'repo/.keyloop.yaml'));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const c = parseRepositoryConfig(text, 'repo/.keyloop.yaml');
        expect(c.kind).toBe('repository');
      }),
      { numRuns: 300 },
    );
  });

  it('an operator config either loads or fails with a ConfigError naming the file, from objects and from files', async () => {
    const onlyConfigError = async (run: () => unknown) => {
      try {
        await run();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as Error).message).toContain('operator.yaml');
      }
    };
    await fc.assert(
      fc.asyncProperty(configLike, (raw) => onlyConfigError(() => normalizeOperator(raw, { kind: 'operator', file: '/x/operator.yaml' }, {}))),
      { numRuns: 500 },
    );
    const dir = await tempDir('keyloop-prop-');
    const file = join(dir, 'operator.yaml');
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), configLike.map((r) => stringify(r) ?? '')), async (text) => {
        writeFileSync(file, text);
        await onlyConfigError(() => loadOperatorConfig({ explicit: 'operator.yaml', cwd: dir, env: {} }));
      }),
      { numRuns: 300 },
    );
  });

  it('RE2 path globs agree with picomatch (dot: true) on *, **, ? and character classes', () => {
    // `[!a]` is left out: picomatch does not read it as POSIX negation (keyloop does, like git); `[^a]` it does.
    const segment = fc.array(fc.constantFrom('a', 'b', '.', '*', '?', '[ab]', '[^a]'), { minLength: 1, maxLength: 4 }).map((xs) => xs.join(''));
    const glob = fc
      .array(fc.oneof({ weight: 4, arbitrary: segment }, { weight: 1, arbitrary: fc.constant('**') }), { minLength: 1, maxLength: 4 })
      .map((xs) => xs.join('/'))
      // picomatch reads a leading '!' as negation of the whole pattern
      .filter((g) => !g.startsWith('!'));
    const path = fc.array(fc.array(fc.constantFrom('a', 'b', '.'), { minLength: 1, maxLength: 4 }).map((xs) => xs.join('')), { minLength: 1, maxLength: 4 }).map((xs) => xs.join('/'))
      // picomatch refuses '.' and '..' segments, git paths never have them
      .filter((p) => !p.split('/').some((s) => s === '.' || s === '..'));
    fc.assert(
      fc.property(glob, path, (g, p) => {
        // `fastpaths: false`: for the whole globs `*.*` and `**/*.*` picomatch's fast path wants a character after the
        // last dot (`*.*` misses `a.`); its general parser, like git, does not (pinned against git below).
        const pm = (x: string) => picomatch(x, { dot: true, fastpaths: false })(p);
        // One deliberate difference: `X/**` always matches X itself (picomatch does so unless X ends in `*`).
        // Another: a segment of three or more stars is `**`, as in git (picomatch compiles `***/a.*` to `[^/]*?\/a.`).
        const r = g.replace(/(^|\/)\*{3,}(?=\/|$)/g, '$1**').replace(/(^|\/)\*\*(?:\/\*\*)+(?=\/|$)/g, '$1**');
        const expected = pm(r) || (r.endsWith('/**') && r.length > 3 && pm(r.slice(0, -3)));
        expect(compileGlob(g).test(p), `${g} vs ${p}`).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('glob corner cases read as git pathspecs read them: `*.*` matches `a.`, `***` is `**`', () => {
    // `git ls-files -- ':(glob)*.*' ':(glob)**/*.*'` lists `a.` and `x/a.`
    expect(compileGlob('*.*').test('a.')).toBe(true);
    expect(compileGlob('**/*.*').test('x/a.')).toBe(true);
    expect(compileGlob('**/*.*').test('a.')).toBe(true);
    expect(compileGlob('*.*').test('a')).toBe(false);
    // `git ls-files -- ':(glob)***/a.*' ':(glob)a/***/b'` lists `a.`, `x/a.`, `a/b` and `a/x/y/b`: `***` is `**`
    expect(compileGlob('***/a.*').test('a.')).toBe(true);
    expect(compileGlob('***/a.*').test('x/y/a.b')).toBe(true);
    expect(compileGlob('***/a.*').test('a/aa')).toBe(false);
    expect(compileGlob('a/***/b').test('a/b')).toBe(true);
    expect(compileGlob('a/***/b').test('a/x/y/b')).toBe(true);
    expect(compileGlob('a***b').test('a/b')).toBe(false);
  });
});
