// Incremental org runs and the catalog version (#18): a blob is skipped only by the catalog that scanned it, so a
// detector added after a run reaches the blobs already scanned on the next run, without --rescan, and the run
// after that scans nothing. `keyloop org` end to end: the fake GitHub, real mirrors, a real SQLite file.
import { randomBytes } from 'node:crypto';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDetectorsDir } from '../src/detection/load.js';
import { startFakeGitHub, type FakeGitHub } from '../testkit/fake-github.js';
import { buildRepo, tempDir, type CommitSpec } from '../testkit/git-repo.js';
import { withCrc32Tail } from '../testkit/token-gen.js';
import { runCli } from './helpers/run-cli.js';

const TOKEN = 'fake-crawler-' + randomBytes(8).toString('hex');
const KEY = randomBytes(32).toString('hex');
const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ghToken = () => withCrc32Tail('ghp_', [...randomBytes(30)].map((b) => B62[b % 62]).join(''));
/** An in-house credential no built-in detector knows: only the operator's added detector finds it. */
const PREFIX = 'zq9' + 'tok-';
const inHouse = () => PREFIX + randomBytes(16).toString('hex');

/** The operator's extra detector, a provider file of its own. */
function inHouseProvider(): string {
  const sample = PREFIX + '0123456789abcdef'.repeat(2);
  return [
    'provider:',
    '  id: zq9',
    '  name: ZQ9 internal',
    'detectors:',
    '  - id: zq9-internal-token',
    '    name: ZQ9 internal token',
    `    keywords: ['${PREFIX}']`,
    `    pattern: '\\b(${PREFIX}[0-9a-f]{32})\\b'`,
    '    severity: high',
    `    examples: ['ship it with ${sample} inside']`,
    '',
  ].join('\n');
}

interface Summary {
  status: string;
  run: { blobsScanned: number; findings: number; newSecrets: number; reposDone: number };
  repos: { repo: string; status: string; mirror?: string; blobsScanned: number; findings: number }[];
}

describe('keyloop org: blobs scanned before are skipped only by the catalog that scanned them', () => {
  let fake: FakeGitHub;
  const planted: string[] = [];
  beforeAll(async () => {
    fake = await startFakeGitHub({ tokens: { [TOKEN]: 'crawler' } });
    const author = { name: 'Alice', email: 'alice@example.test' };
    const gh = ghToken();
    const [a, b] = [inHouse(), inHouse()];
    planted.push(gh, a, b);
    // api: a GitHub token (the built-in catalog finds it) and, in the same commit, an in-house token; web: an
    // in-house token removed again (history only); docs: nothing.
    const repos: Record<string, CommitSpec[]> = {
      api: [
        { id: 'c1', files: { 'README.md': '# api\n', '.env': `GITHUB_TOKEN=${gh}\n`, 'notes/rotate.txt': `rotate ${a} on friday\n` }, author },
        { id: 'c2', files: { 'src/app.js': 'export const n = 1;\n' }, author },
      ],
      web: [
        { id: 'c1', files: { 'README.md': '# web\n', 'deploy/notes.txt': `staging uses ${b}\n` }, author },
        { id: 'c2', files: { 'deploy/notes.txt': null }, author },
      ],
      docs: [{ id: 'c1', files: { 'README.md': '# docs\n', 'guide.md': 'nothing to see\n' }, author }],
    };
    for (const [name, commits] of Object.entries(repos)) fake.addRepo(`acme/${name}`, { gitDir: (await buildRepo({ bare: true, commits })).gitDir });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('finds what an added detector matches in blobs already scanned, then scans nothing', async () => {
    const dir = await tempDir();
    const db = join(dir, 'keyloop.db');
    // Catalog B: the built-in detectors plus the operator's own.
    const withMine = join(dir, 'detectors');
    cpSync(defaultDetectorsDir(), withMine, { recursive: true });
    writeFileSync(join(withMine, 'zq9.yaml'), inHouseProvider());
    const org = async (...extra: string[]) => {
      const r = await runCli(['org', 'acme', '--github-url', fake.url, '--db', db, '--cache-dir', join(dir, 'cache'), '--format', 'json', ...extra], {
        cwd: dir,
        env: { KEYLOOP_KEY: KEY, GITHUB_TOKEN: TOKEN },
      });
      expect(r.code, r.stderr).toBe(0);
      for (const s of planted) expect(r.stdout + r.stderr).not.toContain(s);
      return JSON.parse(r.stdout) as Summary;
    };
    const detectors = () => {
      const d = new Database(db, { readonly: true });
      try {
        return (d.prepare('SELECT detector FROM secrets ORDER BY detector').all() as { detector: string }[]).map((r) => r.detector);
      } finally {
        d.close();
      }
    };
    const blobRows = () => {
      const d = new Database(db, { readonly: true });
      try {
        return d.prepare('SELECT count(*) AS n, count(DISTINCT catalog_id) AS catalogs, count(catalog_id) AS keyed FROM scanned_blobs').get() as {
          n: number;
          catalogs: number;
          keyed: number;
        };
      } finally {
        d.close();
      }
    };

    // 1. The built-in catalog: the GitHub token only.
    const first = await org();
    expect(first.run.reposDone).toBe(3);
    const everyBlob = first.run.blobsScanned;
    expect(everyBlob).toBeGreaterThanOrEqual(7);
    expect(detectors().filter((d) => d.startsWith('zq9'))).toEqual([]);
    expect(detectors()).toHaveLength(1);
    expect(blobRows()).toEqual({ n: everyBlob, catalogs: 1, keyed: everyBlob });

    // 2. The operator adds a detector; no push, no --rescan: every blob is scanned again by the new catalog, and
    // both in-house tokens (one only in history) are found.
    const second = await org('--detectors', withMine);
    expect(second.run.blobsScanned).toBe(everyBlob);
    expect(second.repos.map((r) => r.mirror)).not.toContain('unchanged');
    expect(second.run.newSecrets).toBe(2);
    expect(detectors().filter((d) => d.startsWith('zq9'))).toEqual(['zq9-internal-token', 'zq9-internal-token']);
    expect(second.repos.filter((r) => r.findings > 0).map((r) => r.repo)).toEqual(['acme/api', 'acme/web']);
    // the same rows, now under the new catalog's version
    expect(blobRows()).toEqual({ n: everyBlob, catalogs: 1, keyed: everyBlob });

    // 3. The same catalog again: nothing fetched, nothing scanned.
    const third = await org('--detectors', withMine);
    expect(third.run.blobsScanned).toBe(0);
    expect(third.run.newSecrets).toBe(0);
    expect(third.repos.map((r) => r.mirror)).toEqual(['unchanged', 'unchanged', 'unchanged']);

    // 4. Back to the built-in catalog: its version is not the last one these blobs were scanned by, so it scans
    // them all again (and finds nothing new; the in-house findings stay recorded).
    const fourth = await org();
    expect(fourth.run.blobsScanned).toBe(everyBlob);
    expect(fourth.run.newSecrets).toBe(0);
    expect(detectors()).toHaveLength(3);
  });
});
