// The pure parts of `npm run bench:real` (bench/real-corpus.ts), offline: version picking, the registry's
// integrity strings, comparing two JSON reports, GNU time's line and the markdown table.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  diffKeys,
  findingKeys,
  markdownTable,
  matchesIntegrity,
  median,
  parseNpmView,
  parseTimeLine,
  pickVersions,
} from '../bench/real-corpus.js';

describe('pickVersions', () => {
  it('orders numerically, drops prereleases, keeps the newest N and nothing from `below` on', () => {
    const all = ['1.9.3', '1.10.0', '2.0.0-beta.1', '1.2.0', '2.0.0', '1.10.1', '0.9.0', '3.0.0', '1.10.0'];
    expect([...all].filter((v) => !v.includes('-')).sort(compareVersions)).toEqual(['0.9.0', '1.2.0', '1.9.3', '1.10.0', '1.10.0', '1.10.1', '2.0.0', '3.0.0']);
    expect(pickVersions(all, 3)).toEqual(['1.10.1', '2.0.0', '3.0.0']);
    expect(pickVersions(all, 3, '3.0.0')).toEqual(['1.10.0', '1.10.1', '2.0.0']);
    expect(pickVersions(all, 100)).toHaveLength(7);
  });
});

describe('parseNpmView', () => {
  it('reads one object or an array of them', () => {
    expect(parseNpmView(JSON.stringify({ version: '1.0.0', 'dist.integrity': 'sha512-a' }))).toEqual(new Map([['1.0.0', 'sha512-a']]));
    const arr = [
      { version: '1.0.0', 'dist.integrity': 'sha512-a' },
      { version: '1.0.1', 'dist.integrity': 'sha512-b' },
    ];
    expect([...parseNpmView(JSON.stringify(arr))]).toEqual([
      ['1.0.0', 'sha512-a'],
      ['1.0.1', 'sha512-b'],
    ]);
    expect(() => parseNpmView('["1.0.0"]')).toThrow();
  });
});

describe('matchesIntegrity', () => {
  const data = Buffer.from('a tarball, more or less');
  const sri = (algo: string, d: Buffer) => `${algo}-${createHash(algo).update(d).digest('base64')}`;

  it('accepts the right hash and refuses any other content', () => {
    expect(matchesIntegrity(data, sri('sha512', data))).toBe(true);
    expect(matchesIntegrity(Buffer.from('a tarball, more or lesS'), sri('sha512', data))).toBe(false);
    expect(matchesIntegrity(data, sri('sha1', data))).toBe(true);
  });

  it('judges by the strongest algorithm listed, and refuses what it cannot read', () => {
    const other = Buffer.from('other');
    expect(matchesIntegrity(data, `${sri('sha1', data)} ${sri('sha512', other)}`)).toBe(false);
    expect(matchesIntegrity(data, `${sri('sha1', other)} ${sri('sha512', data)}`)).toBe(true);
    expect(matchesIntegrity(data, 'md5-xyz')).toBe(false);
    expect(matchesIntegrity(data, '')).toBe(false);
  });
});

describe('findingKeys / diffKeys', () => {
  const loc = (path: string, line: number) => ({ commit: 'c1', author: { name: 'a', email: 'a@x' }, date: null, path, line, column: 3, blob: 'b1' });
  const report = (findings: unknown[]) => JSON.stringify({ version: 1, status: 'complete', incomplete: [], findings });
  const f = (fp: string, locations: unknown[]) => ({
    detector: 'd',
    name: 'D',
    provider: 'p',
    severity: 'high',
    confidence: 'medium',
    fingerprint: fp,
    redacted: 'x…',
    locations,
  });

  it('does not depend on the order of findings, locations or keys', () => {
    const a = findingKeys(report([f('1', [loc('a', 1), loc('b', 2)]), f('2', [loc('c', 3)])]));
    const reordered = { ...f('1', [loc('b', 2), loc('a', 1)]) };
    const b = findingKeys(report([f('2', [Object.fromEntries(Object.entries(loc('c', 3)).reverse())]), reordered]));
    expect(a).toHaveLength(3);
    expect(diffKeys(a, b).same).toBe(true);
  });

  it('tells a moved line, a missing location and another detector apart', () => {
    const a = findingKeys(report([f('1', [loc('a', 1), loc('b', 2)])]));
    expect(diffKeys(a, findingKeys(report([f('1', [loc('a', 1), loc('b', 3)])]))).same).toBe(false);
    expect(diffKeys(a, findingKeys(report([f('1', [loc('a', 1)])]))).onlyA).toHaveLength(1);
    expect(diffKeys(a, findingKeys(report([{ ...f('1', [loc('a', 1), loc('b', 2)]), detector: 'e' }]))).same).toBe(false);
  });
});

describe('helpers', () => {
  it('parses GNU time -f "%e %M" after the program’s own stderr', () => {
    expect(parseTimeLine('warning: x\n12.34 456789\n')).toEqual({ seconds: 12.34, maxRssKb: 456789 });
    expect(parseTimeLine('Command exited with non-zero status 1\n')).toBeNull();
  });

  it('median and table', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(markdownTable(['a', 'b'], [['1', '2']])).toBe('| a | b |\n| --- | --- |\n| 1 | 2 |');
  });
});
