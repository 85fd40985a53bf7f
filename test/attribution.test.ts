import { describe, expect, it } from 'vitest';
import { compilePattern, loadCodeowners, ownersOf, parseCodeowners } from '../src/attribution/codeowners.js';
import { botMatcher, isBotLogin } from '../src/attribution/bots.js';
import { parseNoreplyEmail } from '../src/attribution/noreply.js';
import { Attributor, type AttributionHost, type EmailLoginCache } from '../src/attribution/owners.js';
import { parseLoopConfig } from '../src/core/loop-config.js';

// GitHub's documented example file (docs.github.com "About code owners"), owners shortened.
const GITHUB_EXAMPLE = `
# This is a comment.
*       @global-owner1 @global-owner2
*.js    @js-owner #This is an inline comment.
*.go docs@example.com
*.txt @octo-org/octocats
/build/logs/ @doctocat
docs/*  docs@example.com
apps/ @octocat
/docs/ @doctocat
/scripts/ @doctocat @octocat
**/logs @octocat
/apps/ @octocat
/apps/github
`;

const who = (path: string, text = GITHUB_EXAMPLE) => {
  const m = ownersOf(parseCodeowners(text), path);
  if (!m) return null;
  return m.owners.map((o) => (o.kind === 'user' ? '@' + o.login : o.kind === 'team' ? `@${o.org}/${o.slug}` : o.email));
};

describe('CODEOWNERS matching (GitHub documented examples)', () => {
  it('the last matching rule wins', () => {
    expect(who('README.md')).toEqual(['@global-owner1', '@global-owner2']);
    expect(who('src/index.js')).toEqual(['@js-owner']);
    expect(who('cmd/main.go')).toEqual(['docs@example.com']);
    expect(who('notes/a.txt')).toEqual(['@octo-org/octocats']);
  });

  it('inline comments are not owners', () => {
    const f = parseCodeowners('*.js @js-owner #This is an inline comment.');
    expect(f.rules[0]!.owners).toEqual([{ kind: 'user', login: 'js-owner' }]);
    expect(f.errors).toEqual([]);
  });

  it('/build/logs/ owns the directory at the root and its subdirectories', () => {
    expect(who('build/logs/today.log')).toEqual(['@octocat']); // **/logs is later and also matches
    const text = '* @all\n/build/logs/ @doctocat';
    expect(who('build/logs/a/b.txt', text)).toEqual(['@doctocat']);
    expect(who('x/build/logs/a.txt', text)).toEqual(['@all']);
    expect(who('build/logs', text)).toEqual(['@all']); // a file named logs is not the directory
  });

  it('docs/* matches docs/getting-started.md but not docs/build-app/troubleshooting.md', () => {
    const text = '* @all\ndocs/* docs@example.com';
    expect(who('docs/getting-started.md', text)).toEqual(['docs@example.com']);
    expect(who('docs/build-app/troubleshooting.md', text)).toEqual(['@all']);
    // anchored: a nested docs directory is not docs/*
    expect(who('sub/docs/a.md', text)).toEqual(['@all']);
  });

  it('apps/ matches an apps directory anywhere', () => {
    const text = '* @all\napps/ @octocat';
    expect(who('apps/a.js', text)).toEqual(['@octocat']);
    expect(who('deep/nested/apps/x/y.rb', text)).toEqual(['@octocat']);
    expect(who('myapps/a.js', text)).toEqual(['@all']);
  });

  it('**/logs matches a logs directory at any depth', () => {
    const text = '* @all\n**/logs @octocat';
    for (const p of ['build/logs/a', 'scripts/logs/b', 'deeply/nested/logs/c', 'logs/d']) expect(who(p, text)).toEqual(['@octocat']);
    expect(who('catalogs/x', text)).toEqual(['@all']);
  });

  it('/apps/github with no owners leaves that subdirectory unowned, not unmatched', () => {
    expect(who('apps/github/x.js')).toEqual([]);
    expect(who('apps/other/x.js')).toEqual(['@octocat']);
    const m = ownersOf(parseCodeowners(GITHUB_EXAMPLE), 'apps/github/x.js');
    expect(m?.pattern).toBe('/apps/github');
  });

  it('paths are case sensitive', () => {
    const text = '/Docs/ @a';
    expect(who('Docs/x', text)).toEqual(['@a']);
    expect(who('docs/x', text)).toBeNull();
  });

  it('skips ! negation and [ ] ranges (unsupported on GitHub) and reports them', () => {
    const f = parseCodeowners('* @a\n!*.md @b\n*.[ch] @c');
    expect(f.rules.map((r) => r.pattern)).toEqual(['*']);
    expect(f.errors.map((e) => e.line)).toEqual([2, 3]);
    expect(ownersOf(f, 'README.md')?.owners).toEqual([{ kind: 'user', login: 'a' }]);
  });

  it('compiles ?, * and ** without crossing directories for single stars', () => {
    expect(compilePattern('src/*.ts').test('src/a.ts')).toBe(true);
    expect(compilePattern('src/*.ts').test('src/x/a.ts')).toBe(false);
    expect(compilePattern('src/**/*.ts').test('src/x/y/a.ts')).toBe(true);
    expect(compilePattern('src/**/*.ts').test('src/a.ts')).toBe(true);
    expect(compilePattern('/a?c').test('abc')).toBe(true);
    expect(compilePattern('/a?c').test('a/c')).toBe(false);
    expect(compilePattern('/docs/**').test('docs/a/b')).toBe(true);
  });

  it('looks in .github/, then the root, then docs/', async () => {
    const files: Record<string, string> = { 'CODEOWNERS': '* @root', 'docs/CODEOWNERS': '* @docs' };
    const found = await loadCodeowners(async (p) => files[p] ?? null);
    expect(found?.path).toBe('CODEOWNERS');
    files['.github/CODEOWNERS'] = '* @dotgithub';
    expect((await loadCodeowners(async (p) => files[p] ?? null))?.path).toBe('.github/CODEOWNERS');
    expect(await loadCodeowners(async () => null)).toBeNull();
  });
});

describe('noreply emails', () => {
  it('parses ID+login and login forms, offline', () => {
    expect(parseNoreplyEmail('12345+octo-cat@users.noreply.github.com')).toEqual({ login: 'octo-cat', id: 12345 });
    expect(parseNoreplyEmail('octocat@users.noreply.github.com')).toEqual({ login: 'octocat' });
    expect(parseNoreplyEmail('OctoCat@Users.NoReply.GitHub.com')).toEqual({ login: 'OctoCat' });
    expect(parseNoreplyEmail('octocat@github.com')).toBeNull();
    expect(parseNoreplyEmail('-bad@users.noreply.github.com')).toBeNull();
  });
});

describe('bots', () => {
  it('skips [bot] accounts, GitHub noreply senders and configured patterns', () => {
    const isBot = botMatcher(['ci-*@example.com', 'Jenkins']);
    expect(isBot({ name: 'dependabot[bot]', email: '49699333+dependabot[bot]@users.noreply.github.com' })).toBe(true);
    expect(isBot({ name: 'GitHub', email: 'noreply@github.com' })).toBe(true);
    expect(isBot({ name: 'Deploy', email: 'ci-deploy@example.com' })).toBe(true);
    expect(isBot({ name: 'jenkins', email: 'build@example.com' })).toBe(true);
    expect(isBot({ name: 'Alice', email: 'alice@example.com' })).toBe(false);
    expect(isBotLogin('renovate[bot]')).toBe(true);
    expect(isBotLogin('alice')).toBe(false);
  });
});

class MemoryEmailCache implements EmailLoginCache {
  readonly map = new Map<string, { login: string | null; checkedAt: string }>();
  get(email: string) {
    return this.map.get(email);
  }
  set(email: string, login: string | null, checkedAt: string) {
    this.map.set(email, { login, checkedAt });
  }
}

/** A host answering from tables, counting calls (the commits API is what the cache must spare). */
function tableHost(commitLogins: Record<string, string | null>, assignable: Record<string, string[]>) {
  const calls = { commits: 0, assign: 0 };
  const host: AttributionHost = {
    async commitAuthorLogin(_repo, sha) {
      calls.commits++;
      return commitLogins[sha] ?? null;
    },
    async canAssign(repo, login) {
      calls.assign++;
      return (assignable[repo] ?? []).includes(login);
    },
  };
  return { host, calls };
}

const clock = { now: () => new Date('2025-01-10T00:00:00Z') };
const loc = (commit: string, email: string, path = 'app/.env', date = '2024-01-01T00:00:00Z') => ({
  commit,
  author: { name: email.split('@')[0]!, email },
  date,
  path,
});

describe('Attributor', () => {
  it('commit author first, via noreply offline, then the commits API with an email cache', async () => {
    const { host, calls } = tableHost({ c2: 'bob' }, { 'o/r': ['alice', 'bob'] });
    const cache = new MemoryEmailCache();
    const a = new Attributor(host, cache, parseLoopConfig({}).owners, clock);
    const r = await a.attribute({
      repo: 'o/r',
      issueRepo: 'o/r',
      locations: [loc('c1', '1+alice@users.noreply.github.com'), loc('c2', 'Bob@corp.example', 'b.env', '2024-02-01T00:00:00Z')],
      codeowners: null,
    });
    expect(r.assignees.map((x) => x.login)).toEqual(['alice', 'bob']);
    expect(calls.commits).toBe(1);
    expect(cache.get('bob@corp.example')?.login).toBe('bob');
    // Second attributor (next run) hits the cache, not the API.
    const b = new Attributor(host, cache, parseLoopConfig({}).owners, clock);
    await b.attribute({ repo: 'o/r', issueRepo: 'o/r', locations: [loc('c9', 'bob@corp.example')], codeowners: null });
    expect(calls.commits).toBe(1);
  });

  it('drops unassignable authors and falls to CODEOWNERS users; teams are mentioned, not assigned', async () => {
    const { host } = tableHost({ c1: 'mallory' }, { 'o/r': ['carol'] });
    const a = new Attributor(host, new MemoryEmailCache(), parseLoopConfig({}).owners, clock);
    const co = parseCodeowners('* @carol @o/platform');
    const r = await a.attribute({ repo: 'o/r', issueRepo: 'o/r', locations: [loc('c1', 'mallory@x.example')], codeowners: co });
    expect(r.assignees).toEqual([{ login: 'carol', source: 'codeowners' }]);
    expect(r.teams).toEqual([{ team: 'o/platform', source: 'codeowners' }]);
    expect(r.notes.join('\n')).toContain('mallory (commit-author): not assignable in o/r');
    expect(r.notes.join('\n')).not.toContain('@x.example');
  });

  it('assignability is checked in the repo the issue goes to (security repo for public leaks)', async () => {
    const { host } = tableHost({ c1: 'dave' }, { 'o/public': ['dave'], 'o/security': [] });
    const a = new Attributor(host, new MemoryEmailCache(), parseLoopConfig({ owners: { fallback: 'sec-lead' } }).owners, clock);
    const r = await a.attribute({ repo: 'o/public', issueRepo: 'o/security', locations: [loc('c1', 'dave@x.example')], codeowners: null });
    expect(r.assignees).toEqual([]);
    const { host: host2 } = tableHost({ c1: 'dave' }, { 'o/security': ['sec-lead'] });
    const r2 = await new Attributor(host2, new MemoryEmailCache(), parseLoopConfig({ owners: { fallback: 'sec-lead' } }).owners, clock).attribute({
      repo: 'o/public',
      issueRepo: 'o/security',
      locations: [loc('c1', 'dave@x.example')],
      codeowners: null,
    });
    expect(r2.assignees).toEqual([{ login: 'sec-lead', source: 'fallback' }]);
  });

  it('skips bots, and an unknown email is not asked again within the TTL', async () => {
    const { host, calls } = tableHost({}, { 'o/r': ['ops'] });
    const cache = new MemoryEmailCache();
    const cfg = parseLoopConfig({ owners: { fallback: '@o/security', bots: ['deploy@*'] } }).owners;
    const a = new Attributor(host, cache, cfg, clock);
    const r = await a.attribute({
      repo: 'o/r',
      issueRepo: 'o/r',
      locations: [loc('c1', '49699333+dependabot[bot]@users.noreply.github.com'), loc('c2', 'deploy@corp.example'), loc('c3', 'ghost@corp.example')],
      codeowners: null,
    });
    expect(r.assignees).toEqual([]);
    expect(r.teams).toEqual([{ team: 'o/security', source: 'fallback' }]);
    expect(calls.commits).toBe(1); // only ghost@ was looked up
    expect(cache.get('ghost@corp.example')).toEqual({ login: null, checkedAt: clock.now().toISOString() });
    await new Attributor(host, cache, cfg, clock).attribute({ repo: 'o/r', issueRepo: 'o/r', locations: [loc('c4', 'ghost@corp.example')], codeowners: null });
    expect(calls.commits).toBe(1);
    const later = { now: () => new Date('2025-03-01T00:00:00Z') };
    await new Attributor(host, cache, cfg, later).attribute({ repo: 'o/r', issueRepo: 'o/r', locations: [loc('c4', 'ghost@corp.example')], codeowners: null });
    expect(calls.commits).toBe(2);
  });

  it('candidates list every assignable user across tiers, in order, for 422 fallback', async () => {
    const { host } = tableHost({ c1: 'alice' }, { 'o/r': ['alice', 'carol', 'lead'] });
    const a = new Attributor(host, new MemoryEmailCache(), parseLoopConfig({ owners: { fallback: 'lead' } }).owners, clock);
    const r = await a.attribute({ repo: 'o/r', issueRepo: 'o/r', locations: [loc('c1', 'a@x.example')], codeowners: parseCodeowners('* @carol') });
    expect(r.assignees.map((x) => x.login)).toEqual(['alice']);
    expect(r.candidates.map((x) => x.login)).toEqual(['alice', 'carol', 'lead']);
  });
});
