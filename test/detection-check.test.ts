import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { detectorsCheckCommand, detectorsListCommand } from '../cli/commands/detectors.js';
import type { CommandContext } from '../cli/context.js';
import { checkCatalog } from '../src/detection/check.js';
import { countCaptureGroups, leadingLiteral } from '../src/detection/regex.js';

const FIXTURE = 'test/fixtures/detectors/basic';
const tmpDirs: string[] = [];
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});
function catalogDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'keyloop-check-'));
  tmpDirs.push(dir);
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  return dir;
}
function captureCtx(cwd = process.cwd()): CommandContext & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    cwd,
    env: {},
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    out: () => out,
    err: () => err,
  };
}

/** One provider file with one detector; `over` replaces YAML lines of the detector. */
function provider(id: string, detectors: string[]): string {
  return `provider:\n  id: ${id}\n  name: ${id} provider\ndetectors:\n${detectors.join('')}`;
}
function detector(id: string, o: { pattern?: string; examples?: string; negative?: string } = {}): string {
  return [
    `  - id: ${id}`,
    `    name: ${id} detector`,
    `    keywords: [zz_]`,
    `    pattern: '${o.pattern ?? '\\b(zz_[a-f0-9]{24})\\b'}'`,
    `    examples: ${o.examples ?? "['k = zz_0123456789abcdef01234567']"}`,
    o.negative ? `    negative_examples: ${o.negative}` : '',
    '',
  ].join('\n');
}

describe('countCaptureGroups', () => {
  test.each([
    ['(a)', 1],
    ['(?:a)(b)', 1],
    ['(?i)key(x)', 1],
    ['(?i:key)(x)', 1],
    ['(?P<name>x)', 1],
    ['(?<name>x)', 1],
    ['\\(a\\)(b)', 1],
    ['[(](b)[)]', 1],
    ['[]()](b)', 1],
    ['[[:alpha:](](b)', 1],
    ['\\Q(a)\\E(b)', 1],
    ['(a)(b)', 2],
    ['((a)b)', 2],
    ['abc', 0],
  ])('%s has %i', (pattern, n) => {
    expect(countCaptureGroups(pattern)).toBe(n);
  });

  test('leading literal: only case-sensitive patterns without alternation', () => {
    expect(leadingLiteral('\\b(ghp_[A-Za-z0-9]{36})\\b')).toBe('ghp_');
    expect(leadingLiteral('(?i)(key)')).toBe('');
    expect(leadingLiteral('(a|b)x')).toBe('');
    expect(leadingLiteral('(xoxb-)?[0-9]+')).toBe('');
    expect(leadingLiteral('xox[bp]-')).toBe('xox');
    expect(leadingLiteral('abcd?e')).toBe('abc');
  });
});

describe('checkCatalog', () => {
  test('the fixture catalog is clean', () => {
    expect(checkCatalog(FIXTURE)).toEqual([]);
  });

  test('reports each kind of mistake with file, detector and field', () => {
    const dir = catalogDir({
      'alpha.yaml': provider('alpha', [detector('dup-id'), detector('bad-re2', { pattern: '(?<=zz_)([a-f0-9]{24})' })]),
      'beta.yaml': provider('beta', [
        detector('dup-id'),
        detector('two-groups', { pattern: '(zz_)([a-f0-9]{24})' }),
        detector('failing-example', { examples: "['k = zz_not-hex-at-all-here-no']" }),
        detector('wrong-secret', { examples: "[{ text: 'k = zz_0123456789abcdef01234567', secret: 'zz_ffffffffffffffffffffffff' }]" }),
        detector('matching-negative', { negative: "['zz_0123456789abcdef01234567']" }),
        detector('keyword-outside', { pattern: 'secret\\s*=\\s*([a-f0-9]{24})', examples: "['zz_ x secret = 0123456789abcdef01234567']" }),
      ]),
      'gamma.yaml': provider('not-gamma', [detector('gamma-ok', { pattern: '\\b(zz_[0-9]{24})\\b', examples: "['zz_012345678901234567890123']" })]),
      'broken.yaml': 'provider: { id: broken, name: Broken }\ndetectors: []\n',
    });
    const problems = checkCatalog(dir);
    const summary = problems.map((p) => `${p.file} ${p.detector ?? '-'} ${p.field ?? '-'} ${p.message}`);
    expect(summary).toEqual([
      expect.stringMatching(/^alpha\.yaml bad-re2 detectors\[1\]\.pattern RE2 cannot compile/),
      expect.stringMatching(/^beta\.yaml dup-id detectors\[0\]\.id duplicate id \(first defined in alpha\.yaml\)/),
      expect.stringMatching(/^beta\.yaml two-groups detectors\[1\]\.pattern needs exactly one capture group, has 2/),
      expect.stringMatching(/^broken\.yaml - - detectors: /),
      expect.stringMatching(/^gamma\.yaml - provider\.id "not-gamma" must equal the file name "gamma"/),
      expect.stringMatching(/^beta\.yaml failing-example examples\[0\] no finding/),
      expect.stringMatching(/^beta\.yaml wrong-secret examples\[0\] found a different secret/),
      expect.stringMatching(/^beta\.yaml matching-negative negative_examples\[0\] produces a finding/),
      expect.stringMatching(/^beta\.yaml keyword-outside examples\[0\] a match holds none of the keywords \(zz_\)/),
    ]);
  });
});

describe('detectors commands', () => {
  test('list --format json prints id, name, provider, keywords, verifies', async () => {
    const ctx = captureCtx();
    expect(await detectorsListCommand({ format: 'json', detectors: FIXTURE }, ctx)).toBe(0);
    const rows = JSON.parse(ctx.out()) as { id: string; verifies: boolean; provider: string; keywords: string[] }[];
    expect(rows.find((r) => r.id === 'acme-token')).toEqual({ id: 'acme-token', name: 'Acme API token', provider: 'acme', keywords: ['acme_'], verifies: true });
    expect(rows.find((r) => r.id === 'kltk-token')?.verifies).toBe(false);
    expect(rows).toHaveLength(7);
  });

  test('list as a table, --detectors resolved against the injected cwd', async () => {
    const ctx = captureCtx(join(process.cwd(), 'test'));
    expect(await detectorsListCommand({ detectors: 'fixtures/detectors/basic' }, ctx)).toBe(0);
    const lines = ctx.out().trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+PROVIDER\s+KEYWORDS\s+VERIFIES$/);
    expect(lines.find((l) => l.startsWith('acme-token '))).toMatch(/acme\s+acme_\s+yes$/);
  });

  test('check exits 0 on a clean catalog and 1 with one line per problem', async () => {
    const ok = captureCtx();
    expect(await detectorsCheckCommand({ detectors: FIXTURE }, ok)).toBe(0);
    expect(ok.out()).toBe('');
    const dir = catalogDir({ 'zed.yaml': provider('zed', [detector('zed-a', { pattern: '(zz_)([a-f0-9]{24})' })]) });
    const bad = captureCtx();
    expect(await detectorsCheckCommand({ detectors: dir }, bad)).toBe(1);
    expect(bad.out()).toMatch(/^zed\.yaml \[zed-a\] detectors\[0\]\.pattern: needs exactly one capture group, has 2\n$/);
    expect(bad.err()).toMatch(/1 problem/);
  });
});
