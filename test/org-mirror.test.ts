// Mirrors against the fake GitHub's git http-backend: native and isomorphic-git, auth, 404, corrupt packs.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient, GitHubRepoHost } from '../src/adapters/github/index.js';
import type { HostedRepo } from '../src/core/ports.js';
import { createEngine } from '../src/detection/engine.js';
import { defaultDetectorsDir, loadCatalog } from '../src/detection/load.js';
import { scanOrg } from '../src/sources/github-org.js';
import { contentOpener } from '../src/scan/contents.js';
import { openSqliteStore as openStore } from '../src/store/sqlite/index.js';
import { headBlobs, MirrorError, mirrorDir, syncMirror } from '../src/sources/mirror.js';
import { startFakeGitHub, type FakeGitHub } from '../testkit/fake-github.js';
import { buildRepo, git, tempDir, type BuiltRepo } from '../testkit/git-repo.js';
import { filesUnder } from '../testkit/fs.js';
import { withCrc32Tail } from '../testkit/token-gen.js';

const TOKEN = 'fake-mirror-' + randomBytes(8).toString('hex');
const creds = { username: 'x-access-token', password: TOKEN };
let fake: FakeGitHub;
let repo: BuiltRepo;

const hosted = (name: string, defaultBranch = 'main'): HostedRepo => ({
  fullName: `acme/${name}`,
  owner: 'acme',
  name,
  defaultBranch,
  cloneUrl: fake.cloneUrl(`acme/${name}`),
  private: true,
  fork: false,
  archived: false,
  sizeKb: 1,
});

const refsOf = async (gitDir: string) =>
  (await git(gitDir, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads', 'refs/tags')).split('\n').filter(Boolean).sort();

beforeAll(async () => {
  fake = await startFakeGitHub({ tokens: { [TOKEN]: 'crawler' } });
  repo = await buildRepo({
    bare: true,
    commits: [
      { id: 'c1', files: { 'a.txt': 'one\n', 'gone.txt': 'bye\n' } },
      { id: 'c2', files: { 'gone.txt': null, 'b.txt': 'two\n' } },
      { id: 'f1', branch: 'feature', parents: ['c1'], files: { 'f.txt': 'feature\n' } },
    ],
    tags: { v1: 'c1' },
  });
  fake.addRepo('acme/api', { gitDir: repo.gitDir });
});
afterAll(async () => {
  await fake.close();
});

describe.each(['native', 'isomorphic'] as const)('mirror (%s)', (backend) => {
  it('clones every branch and tag, fetches new commits, prunes deleted branches, keeps no token on disk', async () => {
    const cache = await tempDir();
    const first = await syncMirror(hosted('api'), { cacheDir: cache, credentials: creds, backend });
    expect(first).toMatchObject({ action: 'cloned', empty: false, path: mirrorDir(cache, hosted('api')) });
    expect(await refsOf(first.path)).toEqual(await refsOf(repo.gitDir));
    const head = await headBlobs(first.path);
    expect(head.size).toBe(2); // a.txt, b.txt at main; gone.txt only in history

    const work = await tempDir();
    await git(work, 'clone', '-q', repo.gitDir, 'w');
    const w = join(work, 'w');
    writeFileSync(join(w, 'c.txt'), 'three\n');
    await git(w, 'add', 'c.txt');
    await git(w, 'commit', '-qm', 'c3');
    await git(w, 'push', '-q', 'origin', 'main', ':feature');
    const second = await syncMirror(hosted('api'), { cacheDir: cache, credentials: creds, backend });
    expect(second.action).toBe('fetched');
    expect(await refsOf(second.path)).toEqual(await refsOf(repo.gitDir));
    expect((await headBlobs(second.path)).size).toBe(3);

    // No file of the mirror holds the token; its config (which names the remote) must exist and hold no
    // credentials in a URL either, nor may the other text files git writes.
    const files = filesUnder(second.path);
    expect(files.map((f) => relative(second.path, f))).toContain('config');
    expect(readFileSync(join(second.path, 'config'), 'utf8')).toContain(hosted('api').cloneUrl);
    for (const f of files) expect(readFileSync(f).includes(TOKEN), f).toBe(false);
    for (const f of ['config', 'HEAD', 'packed-refs', 'FETCH_HEAD'].map((n) => join(second.path, n)).filter((p) => files.includes(p))) {
      expect(readFileSync(f, 'utf8')).not.toMatch(/\/\/[^/\s]*@/);
    }
    // Restore the fixture for the other backend.
    await git(w, 'push', '-q', 'origin', `${repo.sha.f1}:refs/heads/feature`);
    await git(repo.gitDir, 'update-ref', 'refs/heads/main', repo.sha.c2!);
  });

  it('classifies a wrong token as auth and a missing repo as not-found, leaving no partial mirror', async () => {
    const cache = await tempDir();
    const bad = syncMirror(hosted('api'), { cacheDir: cache, credentials: { username: 'x-access-token', password: 'nope-nope' }, backend });
    await expect(bad).rejects.toMatchObject({ kind: 'auth' });
    await expect(bad).rejects.toBeInstanceOf(MirrorError);
    await expect(syncMirror(hosted('missing'), { cacheDir: cache, credentials: creds, backend })).rejects.toMatchObject({ kind: 'not-found' });
    const hostDir = readdirSync(join(cache, 'mirrors'));
    const leftovers = hostDir.flatMap((h) => readdirSync(join(cache, 'mirrors', h, 'acme')));
    expect(leftovers).toEqual([]);
  });
});

describe('mirror failures', () => {
  it('reports a repository whose served pack is corrupt', async () => {
    const broken = await buildRepo({ bare: true, commits: [{ id: 'c1', files: { 'big.txt': randomBytes(64 * 1024).toString('hex') } }] });
    await git(broken.gitDir, 'repack', '-a', '-d', '-q');
    const packDir = join(broken.gitDir, 'objects', 'pack');
    const pack = join(packDir, readdirSync(packDir).find((f) => f.endsWith('.pack'))!);
    const bytes = readFileSync(pack);
    for (let i = 200; i < bytes.length - 100; i += 997) bytes[i] = bytes[i]! ^ 0xff;
    writeFileSync(pack, bytes);
    fake.addRepo('acme/broken', { gitDir: broken.gitDir });
    const cache = await tempDir();
    const err = await syncMirror(hosted('broken'), { cacheDir: cache, credentials: creds, backend: 'native' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MirrorError);
    expect((err as MirrorError).kind).toBe('corrupt');
    expect((err as Error).message).not.toContain(TOKEN);
  });

  it('mirrors an empty repository', async () => {
    const empty = await buildRepo({ bare: true });
    fake.addRepo('acme/empty', { gitDir: empty.gitDir });
    const cache = await tempDir();
    const m = await syncMirror(hosted('empty'), { cacheDir: cache, credentials: creds, backend: 'native' });
    expect(m).toMatchObject({ action: 'cloned', empty: true });
    expect((await headBlobs(m.path)).size).toBe(0);
  });
});


describe('org scan with the isomorphic backend', () => {
  it('stores the same locations as the native backend', async () => {
    const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const t = withCrc32Tail('ghp_', [...randomBytes(30)].map((b) => B62[b % 62]).join(''));
    const own = await startFakeGitHub({ tokens: { [TOKEN]: 'crawler' } });
    try {
      const r = await buildRepo({
        bare: true,
        commits: [
          { id: 'c1', files: { 'app/.env': `GITHUB_TOKEN=${t}\n` } },
          { id: 'b1', branch: 'topic', parents: ['c1'], files: { 'copy.txt': `token: ${t}\n` } },
          { id: 'c2', files: { 'app/.env': null } },
        ],
      });
      own.addRepo('acme/svc', { gitDir: r.gitDir });
      const engine = createEngine(loadCatalog(defaultDetectorsDir()));
      const host = new GitHubRepoHost(createGitHubClient({ baseUrl: own.url, token: TOKEN, throttle: false }), { token: TOKEN });
      const rows = async (backend: 'native' | 'isomorphic') => {
        const dir = await tempDir();
        const store = openStore(join(dir, 'k.db'), { key: randomBytes(32) });
        try {
          const contents = contentOpener({ engine, jobs: 1, maxBlobSize: 1 << 20 });
          const s = await scanOrg({ org: 'acme', host, store, engine, contents, cacheDir: join(dir, 'c'), maxBlobSize: 1 << 20, gitBackend: backend });
          expect(s.failed).toBe(0);
          return (await store.locations()).map(({ mirrorPath: _m, ...l }) => l);
        } finally {
          await store.close();
        }
      };
      const native = await rows('native');
      expect(native.map((l) => [l.path, l.commit])).toEqual([
        ['app/.env', r.sha.c1],
        ['copy.txt', r.sha.b1],
      ]);
      expect(await rows('isomorphic')).toEqual(native);
    } finally {
      await own.close();
    }
  });
});
