// `keyloop scan` end to end on real git repos built with the git CLI, through the real CLI entry point.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRepo, git, tempDir, type BuiltRepo } from '../../testkit/git-repo.js';
import { rng, withCrc32Tail } from '../../testkit/token-gen.js';
import { runCli } from '../helpers/run-cli.js';
import { scanFindings, scanReport } from '../helpers/scan-report.js';

const DETECTORS = join(import.meta.dirname, '..', 'fixtures', 'detectors', 'basic');
const rand = rng(20261123);
const alnum = (n: number) => Array.from({ length: n }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(rand() * 62)]).join('');

// Synthetic tokens in the fixture catalog's formats, made at test time.
const deleted = withCrc32Tail('kltk_', alnum(30)); // committed, then deleted from HEAD; also copied to a second file
const unmerged = 'acme_' + alnum(32); // only on an unmerged branch
const pullOnly = withCrc32Tail('kltk_', alnum(30)); // only reachable from refs/pull/1/head
const atHead = 'acme_' + alnum(32);
const badChecksum = deleted.slice(0, -1) + (deleted.endsWith('A') ? 'B' : 'A');
const allowedInline = 'acme_' + alnum(32);
const all = [deleted, unmerged, pullOnly, atHead, allowedInline];

interface JsonFinding {
  detector: string;
  fingerprint: string;
  secret?: string;
  redacted: string;
  locations: { commit: string | null; author: { name: string; email: string } | null; date: string | null; path: string; line: number; column: number }[];
}

const scan = (args: string[]) => runCli(['scan', '--detectors', DETECTORS, '--no-progress', ...args]);
const json = (out: string) => scanFindings(out) as JsonFinding[];
const bySecret = (fs: JsonFinding[], s: string) => fs.filter((f) => f.secret === s);

let repo: BuiltRepo;
beforeAll(async () => {
  repo = await buildRepo({
    commits: [
      { id: 'c1', message: 'add config', author: { name: 'Alice', email: 'alice@example.test', date: '2024-01-01T10:00:00Z' }, files: { 'config/app.env': `NAME=demo\nAPI=${deleted}\n`, 'README.md': '# demo\n' } },
      { id: 'c2', message: 'copy config', author: { name: 'Bob', email: 'bob@example.test', date: '2024-01-02T10:00:00Z' }, files: { 'deploy/prod.env': `# prod\n\nAPI=${deleted}\n` } },
      { id: 'c3', message: 'remove secrets', author: { name: 'Alice', email: 'alice@example.test', date: '2024-01-03T10:00:00Z' }, files: { 'config/app.env': 'NAME=demo\n', 'deploy/prod.env': null } },
      { id: 'f1', branch: 'feature', parents: ['c2'], message: 'wip', author: { name: 'Carol', email: 'carol@example.test', date: '2024-01-04T10:00:00Z' }, files: { 'src/client.js': `const k = "${unmerged}";\n` } },
      { id: 'p1', branch: 'pr', parents: ['c3'], message: 'pr', author: { name: 'Dan', email: 'dan@example.test', date: '2024-01-05T10:00:00Z' }, files: { 'pr.txt': `token ${pullOnly}\n` } },
      {
        id: 'c4', message: 'current', author: { name: 'Eve', email: 'eve@example.test', date: '2024-01-06T10:00:00Z' },
        files: {
          'app/settings.py': `KEY = "${atHead}"\nBAD = "${badChecksum}"\nOK = "${allowedInline}"  # keyloop:allow\n`,
          // a real binary: PNG signature, then compressed-looking bytes (the token is in there, not scanned)
          'img.bin': Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from(Array.from({ length: 2048 }, () => Math.floor(rand() * 256))), Buffer.from(atHead)]),
          'latin1.txt': Buffer.concat([Buffer.from([0xe9, 0xe8, 0x20]), Buffer.from(`x ${atHead}\n`)]),
        },
      },
    ],
    refs: { 'refs/pull/1/head': 'p1' },
  });
  // `pr` branch must not be a head: only refs/pull/1/head keeps p1 reachable.
  await git(repo.dir, 'branch', '-D', 'pr');
});

describe('keyloop scan (git history)', () => {
  it('reports secrets from every ref once per secret, with all locations and provenance', async () => {
    const r = await scan([repo.dir, '--format', 'json', '--reveal']);
    // nothing on stderr but the summary line
    expect(r.stderr).toMatch(/^keyloop: \d+ findings \([^)]*\) in \d+ blobs, [\d.]+ kB, [\d.]+ s\n$/);
    expect(r.code).toBe(1);
    const fs = json(r.stdout);
    const del = bySecret(fs, deleted);
    expect(del).toHaveLength(1);
    expect(del[0]!.detector).toBe('kltk-token');
    expect(del[0]!.locations.map((l) => [l.path, l.line, l.commit, l.author?.name])).toEqual([
      ['config/app.env', 2, repo.sha.c1, 'Alice'],
      ['deploy/prod.env', 3, repo.sha.c2, 'Bob'],
    ]);
    expect(del[0]!.locations[0]!.date).toBe('2024-01-01T10:00:00.000Z');
    expect(bySecret(fs, unmerged)[0]!.locations[0]!.commit).toBe(repo.sha.f1);
    expect(bySecret(fs, pullOnly)[0]!.locations[0]!.path).toBe('pr.txt');
    // at HEAD: found in settings.py and in the non-UTF-8 file, not in the binary one
    expect(bySecret(fs, atHead)[0]!.locations.map((l) => l.path)).toEqual(['app/settings.py', 'latin1.txt']);
    expect(fs.some((f) => f.secret === badChecksum)).toBe(false);
    expect(fs.some((f) => f.secret === allowedInline)).toBe(false);
  });

  it('never prints plaintext without --reveal, in any format', async () => {
    for (const format of ['json', 'sarif', 'csv', 'table']) {
      const r = await scan([repo.dir, '--format', format]);
      expect(r.code).toBe(1);
      for (const s of all) {
        expect(r.stdout).not.toContain(s);
        expect(r.stderr).not.toContain(s);
      }
    }
  });

  it('both git backends give identical findings', async () => {
    const a = await scan([repo.dir, '--format', 'json', '--reveal', '--git-backend', 'native']);
    const b = await scan([repo.dir, '--format', 'json', '--reveal', '--git-backend', 'isomorphic']);
    expect(a.code).toBe(1);
    expect(b.stdout).toBe(a.stdout);
  });

  it('--no-history scans only the HEAD tree', async () => {
    const fs = json((await scan([repo.dir, '--format', 'json', '--reveal', '--no-history'])).stdout);
    expect(fs.map((f) => f.secret)).toEqual([atHead]);
  });

  it('--range A..B scans only blobs introduced by commits in the range', async () => {
    const fs = json((await scan([repo.dir, '--format', 'json', '--reveal', '--range', `${repo.sha.c1}..${repo.sha.c2}`])).stdout);
    expect(fs.map((f) => f.secret)).toEqual([deleted]);
    expect(fs[0]!.locations.map((l) => l.path)).toEqual(['deploy/prod.env']);
  });

  it('--baseline reports only new findings; .keyloop.yaml excludes paths and fingerprints', async () => {
    const first = await scan([repo.dir, '--format', 'json', '--no-history']);
    const base = join(await tempDir(), 'base.json');
    writeFileSync(base, first.stdout);
    const again = await scan([repo.dir, '--format', 'json', '--no-history', '--baseline', base]);
    expect(again.code).toBe(0);
    expect(json(again.stdout)).toEqual([]);
    // a report written before the versioned object (a bare array of findings) is still a baseline
    writeFileSync(base, JSON.stringify(json(first.stdout)));
    const legacy = await scan([repo.dir, '--format', 'json', '--no-history', '--baseline', base]);
    expect(legacy.code).toBe(0);
    expect(json(legacy.stdout)).toEqual([]);

    const cfg = join(await tempDir(), 'k.yaml');
    writeFileSync(cfg, 'paths:\n  exclude: ["config/**", "deploy/**"]\n');
    const fs = json((await scan([repo.dir, '--format', 'json', '--reveal', '--config', cfg])).stdout);
    expect(fs.some((f) => f.secret === deleted)).toBe(false);
    expect(fs.some((f) => f.secret === atHead)).toBe(true);

    writeFileSync(cfg, 'allow:\n  fingerprints: [nothex]\n');
    const bad = await scan([repo.dir, '--config', cfg]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('allow.fingerprints.0');
  });

  it('sarif output is GitHub code scanning shaped', async () => {
    const r = await scan([repo.dir, '--format', 'sarif']);
    const log = JSON.parse(r.stdout) as { version: string; runs: Array<{ results: unknown[] }> };
    expect(log.version).toBe('2.1.0');
    expect(log.runs[0]!.results.length).toBeGreaterThanOrEqual(4);
  });
});

describe('keyloop scan (inputs and bad input)', () => {
  it('--staged scans only staged content', async () => {
    const staged = 'acme_' + alnum(32);
    const unstaged = 'acme_' + alnum(32);
    const r = await buildRepo({
      commits: [{ id: 'c1', files: { 'a.txt': `old ${atHead}\n` } }],
      staged: { 'b.txt': `new ${staged}\n` },
      unstaged: { 'c.txt': `wip ${unstaged}\n` },
    });
    const out = await scan([r.dir, '--staged', '--format', 'json', '--reveal']);
    const fs = json(out.stdout);
    expect(fs.map((f) => f.secret)).toEqual([staged]);
    expect(fs[0]!.locations[0]).toMatchObject({ commit: null, path: 'b.txt', line: 1 });
  });

  it('--staged before the first commit (no HEAD yet) scans everything staged', async () => {
    const staged = 'acme_' + alnum(32);
    const r = await buildRepo({ staged: { 'first.txt': `new ${staged}\n` } });
    const out = await scan([r.dir, '--staged', '--format', 'json', '--reveal']);
    expect(json(out.stdout).map((f) => [f.secret, f.locations[0]!.path])).toEqual([[staged, 'first.txt']]);
  });

  it('scans a plain directory honouring .gitignore', async () => {
    const dir = await tempDir();
    const kept = 'acme_' + alnum(32);
    const ignored = 'acme_' + alnum(32);
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, '.gitignore'), 'secret-dump/\n*.log\n');
    writeFileSync(join(dir, 'sub', 'x.env'), `K=${kept}\n`);
    mkdirSync(join(dir, 'secret-dump'));
    writeFileSync(join(dir, 'secret-dump', 'y.env'), `K=${ignored}\n`);
    writeFileSync(join(dir, 'z.log'), `K=${ignored}\n`);
    const fs = json((await scan([dir, '--format', 'json', '--reveal'])).stdout);
    expect(fs.map((f) => [f.secret, f.locations[0]!.path])).toEqual([[kept, 'sub/x.env']]);
  });

  it('a path that does not exist: one line, exit 2', async () => {
    const r = await scan(['/nonexistent/keyloop/path']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/does not exist|not found|no such/i);
  });

  it('skips oversized blobs with a message and goes on; a 200 MB blob does not break the scan', async () => {
    const big = Buffer.alloc(200 * 1024 * 1024, 'a');
    const secret = 'acme_' + alnum(32);
    const r = await buildRepo({ commits: [{ id: 'c1', files: { 'huge.txt': big, 'small.env': `K=${secret}\n` } }] });
    const out = await scan([r.dir, '--format', 'json', '--reveal']);
    expect(out.code).toBe(1);
    const report = scanReport(out.stdout);
    expect(report.findings.map((f) => f.secret)).toEqual([secret]);
    expect(report.status).toBe('incomplete');
    const hugeOid = (await git(r.dir, 'rev-parse', 'HEAD:huge.txt')).trim();
    expect(report.incomplete).toEqual([expect.objectContaining({ object: hugeOid, path: 'huge.txt', reason: 'too-large' })]);
    expect(out.stderr).toMatch(/skipped huge\.txt .*too-large/);
  });

  it('a corrupt object gets a message, the rest is scanned', async () => {
    const secret = 'acme_' + alnum(32);
    const s = await buildRepo({ commits: [{ id: 'c1', files: { 'ok.env': `K=${secret}\n`, 'broken.txt': 'this blob will be corrupted\n' } }] });
    const oid = (await git(s.dir, 'rev-parse', 'HEAD:broken.txt')).trim();
    // Turn the pack into loose objects, then overwrite one loose object with bytes that are not zlib.
    await git(s.dir, 'repack', '-a', '-d', '-q');
    const packDir = join(s.gitDir, 'objects', 'pack');
    const packFile = readdirSync(packDir).find((f) => f.endsWith('.pack'))!;
    const bytes = readFileSync(join(packDir, packFile));
    rmSync(packDir, { recursive: true, force: true });
    mkdirSync(packDir);
    const un = spawnSync('git', ['unpack-objects', '-q'], { cwd: s.dir, input: bytes });
    expect(un.status).toBe(0);
    const corrupt = join(s.gitDir, 'objects', oid.slice(0, 2), oid.slice(2));
    chmodSync(corrupt, 0o644);
    writeFileSync(corrupt, Buffer.from('not a zlib stream at all'));
    for (const backend of ['native', 'isomorphic']) {
      const out = await scan([s.dir, '--format', 'json', '--reveal', '--git-backend', backend]);
      expect(out.code, backend).toBe(1);
      const report = scanReport(out.stdout);
      expect(report.findings.map((f) => f.secret)).toEqual([secret]);
      expect(report.status, backend).toBe('incomplete');
      expect(report.incomplete.map((i) => i.object), backend).toContain(oid);
      expect(out.stderr, backend).toContain(oid);
    }
  });
});
