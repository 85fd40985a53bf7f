// Every value keyloop hands to git is checked before it gets there: clone URLs are derived from the configured
// GitHub, remotes must be https (loopback http), refs and revisions cannot read as options, and the token is
// scoped to one URL. Table tests for the rules, then each spawn site fed an option-like value.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cloneUrlFor, gitBaseUrl, isRepoFullName } from '../../src/adapters/github/clone-url.js';
import { GitMirrors } from '../../src/sources/push-mirror.js';
import { defaultRef, readMirrorFile } from '../../src/attribution/mirror-files.js';
import { isBranchName, isRefName, isRevision } from '../../src/core/git-names.js';
import { checkRemote, remoteEnv, scopedOnAuth } from '../../src/sources/git-remote.js';
import { headBlobs, syncMirror } from '../../src/sources/mirror.js';
import { buildRepo, tempDir } from '../../testkit/git-repo.js';
import { runCli } from '../helpers/run-cli.js';

const upload = (marker: string) => `--upload-pack=touch ${marker};true`;

describe('clone URLs are derived from the configured GitHub', () => {
  it.each([
    ['https://api.github.com', 'https://github.com'],
    ['https://api.github.com/', 'https://github.com'],
    ['https://ghes.example.com/api/v3', 'https://ghes.example.com'],
    ['https://ghes.example.com/api/v3/', 'https://ghes.example.com'],
    ['https://api.acme.ghe.com', 'https://acme.ghe.com'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['http://localhost:9/api/v3', 'http://localhost:9'],
    ['http://[::1]:9', 'http://[::1]:9'],
    ['https://proxy.example.com/github', 'https://proxy.example.com/github'],
  ])('%s → %s', (api, web) => {
    expect(gitBaseUrl(api)).toBe(web);
    expect(cloneUrlFor(api, 'acme/app')).toBe(`${web}/acme/app.git`);
  });

  it.each([
    ['http://github.example.com/api/v3', /https/],
    ['http://10.0.0.5', /https/],
    ['ftp://example.com', /https/],
    ['https://user:pw@example.com', /credentials/],
    ['https://example.com/?x=1', /query/],
    ['not a url', /not a URL/],
  ])('refuses %s', (api, why) => {
    expect(() => gitBaseUrl(api)).toThrow(why);
  });

  it.each([
    ['acme/app', true],
    ['Acme-Corp/app.js', true],
    ['acme/.github', true],
    ['octo_emu/x_y-z.1', true],
    ['-acme/app', false],
    ['acme/-app', false],
    ['acme/..', false],
    ['acme/a..b', false],
    ['acme/.', false],
    ['acme', false],
    ['acme/app/x', false],
    ['acme/app x', false],
    ['acme/app\n', false],
    ['acme/ap%2fp', false],
    ['../acme/app', false],
    ['acme/' + 'a'.repeat(101), false],
  ])('full name %j valid: %s', (name, ok) => {
    expect(isRepoFullName(name)).toBe(ok);
    if (ok) expect(new URL(cloneUrlFor('https://api.github.com', name)).host).toBe('github.com');
    else expect(() => cloneUrlFor('https://api.github.com', name)).toThrow(/repository name/);
  });
});

describe('refs and revisions', () => {
  it.each([
    ['refs/heads/main', true],
    ['refs/heads/feature/x-1', true],
    ['refs/tags/v1.2.3', true],
    ['refs/heads/ünïcode', true],
    ['main', false],
    ['--upload-pack=x', false],
    ['refs/heads/--upload-pack=touch', false],
    ['refs/heads/-x', false],
    ['refs/heads/a..b', false],
    ['refs/heads/a b', false],
    ['refs/heads/a~1', false],
    ['refs/heads/a^', false],
    ['refs/heads/a:b', false],
    ['refs/heads/a@{1}', false],
    ['refs/heads/.hidden', false],
    ['refs/heads/x.lock', false],
    ['refs/heads/x/', false],
    ['refs/heads//x', false],
    ['refs/heads/x.', false],
    ['refs/heads/a\u0001', false],
  ])('ref %j valid: %s', (ref, ok) => {
    expect(isRefName(ref)).toBe(ok);
  });

  it('branch names and revisions never start with "-"', () => {
    expect(isBranchName('main')).toBe(true);
    expect(isBranchName('-main')).toBe(false);
    expect(isBranchName('--output=/tmp/x')).toBe(false);
    expect(isRevision('HEAD~2')).toBe(true);
    expect(isRevision('--all')).toBe(false);
    expect(isRevision('')).toBe(false);
    expect(isRevision('a\nb')).toBe(false);
  });
});

describe('remotes and token scoping', () => {
  const creds = { username: 'x-access-token', password: 'tok-' + 'x'.repeat(20) };

  it.each([
    ['--upload-pack=touch /tmp/x;true', /refusing git remote/],
    ['-u', /refusing git remote/],
    ['ext::sh -c touch% /tmp/x', /only https/],
    ['ssh://example.com/a.git', /only https/],
    ['file:///tmp/a.git', /only https/],
    ['http://example.com/a.git', /only https/],
    ['https://u:p@example.com/a.git', /credentials/],
    ['relative/path', /not a URL/],
    ['', /refusing git remote/],
  ])('refuses remote %j', (url, why) => {
    expect(() => checkRemote(url, false)).toThrow(why);
    expect(() => remoteEnv(url, creds)).toThrow();
  });

  it('accepts https, loopback http, and a local path only without a token', () => {
    expect(() => checkRemote('https://github.com/acme/app.git', true)).not.toThrow();
    expect(() => checkRemote('http://127.0.0.1:9/acme/app.git', true)).not.toThrow();
    expect(() => checkRemote('/srv/git/app.git', false)).not.toThrow();
    expect(() => checkRemote('/srv/git/app.git', true)).toThrow(/local path/);
  });

  it('the token is an extraHeader for the exact remote URL only; redirects are off; no other transport', () => {
    const url = 'https://github.com/acme/app.git';
    const env = remoteEnv(url, creds);
    const pairs = Array.from({ length: Number(env.GIT_CONFIG_COUNT) }, (_, i) => [env[`GIT_CONFIG_KEY_${i}`], env[`GIT_CONFIG_VALUE_${i}`]]);
    const withToken = pairs.filter(([, v]) => v!.includes(Buffer.from(`x-access-token:${creds.password}`).toString('base64')));
    expect(withToken.map(([k]) => k)).toEqual([`http.${url}.extraHeader`]);
    expect(pairs).toContainEqual(['http.followRedirects', 'false']);
    expect(pairs).toContainEqual(['credential.helper', '']);
    expect(env.GIT_ALLOW_PROTOCOL).toBe('https:http:file');
    expect(JSON.stringify(remoteEnv(url, null))).not.toContain('extraHeader');
  });

  it('isomorphic-git gets credentials only when asked for that remote', () => {
    const onAuth = scopedOnAuth('https://github.com/acme/app.git', creds);
    expect(onAuth('https://github.com/acme/app.git')).toEqual(creds);
    expect(onAuth('https://evil.example.com/acme/app.git')).toEqual({ cancel: true });
    expect(onAuth('https://github.com/acme/other.git')).toEqual({ cancel: true });
  });
});

describe('each git spawn site refuses option-like values', () => {
  const hosted = (cloneUrl: string) => ({ fullName: 'acme/app', owner: 'acme', name: 'app', defaultBranch: 'main', cloneUrl, private: true, fork: false, archived: false, sizeKb: 1 });

  it.each(['native', 'isomorphic'] as const)('org mirror (%s): a --upload-pack clone URL fails that repo and runs nothing', async (backend) => {
    const marker = path.join(await tempDir('keyloop-marker-'), 'PWNED');
    await expect(syncMirror(hosted(upload(marker)), { cacheDir: await tempDir(), backend })).rejects.toMatchObject({ name: 'HostError', kind: 'error' });
    expect(existsSync(marker)).toBe(false);
  });

  it('App mirror: a --upload-pack remote is refused before git runs', async () => {
    const marker = path.join(await tempDir('keyloop-marker-'), 'PWNED');
    await expect(new GitMirrors(await tempDir()).sync({ fullName: 'acme/app', cloneUrl: upload(marker) })).rejects.toThrow(/refusing git remote/);
    await expect(new GitMirrors(await tempDir()).sync({ fullName: 'acme/app', cloneUrl: '/tmp/x.git', token: 'tok' })).rejects.toThrow(/local path/);
    expect(existsSync(marker)).toBe(false);
  });

  it('org mirror: a hostile default branch is never handed to git; HEAD tree reads refuse option-like revisions', async () => {
    const up = await buildRepo({ bare: true, commits: [{ id: 'c1', files: { 'CODEOWNERS': '* @acme/owners\n' } }] });
    const cache = await tempDir();
    const first = await syncMirror(hosted(up.gitDir), { cacheDir: cache, backend: 'native' });
    const marker = path.join(await tempDir('keyloop-marker-'), 'PWNED');
    const again = await syncMirror({ ...hosted(up.gitDir), defaultBranch: upload(marker) }, { cacheDir: cache, backend: 'native' });
    expect(again.path).toBe(first.path);
    await expect(headBlobs(first.path, `--output=${marker}`)).rejects.toThrow(/not a revision/);
    expect(await defaultRef(first.path, upload(marker))).toBe('HEAD');
    expect(await readMirrorFile(first.path, await defaultRef(first.path, 'main'), 'CODEOWNERS')).toContain('@acme/owners');
    expect(existsSync(marker)).toBe(false);
  });

  it.each(['native', 'isomorphic'] as const)('scan --range (%s): option-like sides are bad input (exit 2) and nothing is written', async (backend) => {
    const repo = await buildRepo({ commits: [{ id: 'c1', files: { 'a.txt': 'a\n' } }, { id: 'c2', files: { 'b.txt': 'b\n' } }] });
    const marker = path.join(await tempDir('keyloop-marker-'), 'PWNED');
    for (const range of [`--output=${marker}`, `--output=${marker}..HEAD`, `HEAD..--output=${marker}`, 'HEAD..--all']) {
      const r = await runCli(['scan', repo.dir, '--range', range, '--git-backend', backend, '--format', 'json'], { env: { ...process.env } });
      expect(r.code, `${range}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/not a revision/);
    }
    expect(existsSync(marker)).toBe(false);
  });
});
