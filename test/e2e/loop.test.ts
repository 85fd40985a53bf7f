// The whole loop against the fake GitHub and the fake issuer: plant keys, scan, open assigned issues without
// the secret, close on revocation, reopen on resurrection, survive a lost database, route public leaks.
// Each test builds its own world from the shared builders below, up to the state it needs.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { allIssueText, createWorld, ghTokens, type World } from './loop-world.js';

const alice = { name: 'Alice', email: '1001+alice@users.noreply.github.com' };
const bob = { name: 'Bob', email: 'bob@corp.example' };
const dave = { name: 'Dave', email: 'dave@corp.example' };
const botAuthor = { name: 'dependabot[bot]', email: '49699333+dependabot[bot]@users.noreply.github.com' };

const CONFIG = {
  owners: { fallback: 'sec-lead' },
  issues: { repo: 'acme/security' },
  policy: { maxLiveDays: 7, remindEveryDays: 3, escalate: '@acme/sec-leads' },
};

/** Every test gets its own world (fake GitHub, fake issuer, repos, store): a failure in one fells no other. */
describe('issue loop end to end', () => {
  const [A, B, C, D] = ghTokens(4, 7) as [string, string, string, string];
  const date = (d: number) => ({ date: `2024-12-${String(d).padStart(2, '0')}T10:00:00+00:00` });
  const worlds: World[] = [];

  /** Three repos with four planted tokens (D dead on arrival), scanned; nothing on GitHub yet. Clock: Jan 1. */
  async function scanned(): Promise<World> {
    const w = await createWorld('2025-01-01T00:00:00Z');
    worlds.push(w);
    w.gh.emails.set('bob@corp.example', 'bob');
    w.gh.emails.set('dave@corp.example', 'dave');
    w.gh.setAssignable('acme/api', 'alice', 'carol');
    w.gh.setAssignable('acme/site', 'dave');
    w.gh.setAssignable('acme/security', 'sec-lead');
    await w.addRepo('acme/api', {
      private: true,
      commits: [
        { id: 'c1', author: { ...alice, ...date(1) }, files: { 'README.md': '# api\n', '.github/CODEOWNERS': '* @carol @acme/platform\n' } },
        { id: 'c2', author: { ...alice, ...date(2) }, files: { 'config/prod.env': `DEBUG=0\nGITHUB_TOKEN=${A}\n` } },
        { id: 'c3', author: { ...bob, ...date(3) }, files: { 'deploy/ci.yml': `env:\n  TOKEN: ${B}\n` } },
        { id: 'c4', author: { ...botAuthor, ...date(4) }, files: { 'deps/lock.env': `X_TOKEN=${D}\n` } },
      ],
    });
    await w.addRepo('acme/site', {
      private: false,
      commits: [{ id: 's1', author: { ...dave, ...date(5) }, files: { 'index.js': `const token = "${C}";\n` } }],
    });
    await w.addRepo('acme/security', { private: true, commits: [{ id: 'x1', files: { 'README.md': 'triage\n' } }] });
    for (const t of [A, B, C]) w.issuer.setKey('github', t, 'live');
    w.issuer.setKey('github', D, 'dead');
    await w.scanAll();
    return w;
  }

  /** scanned(), then the first loop run: one open issue per live (secret, repo), three in all. */
  async function withIssues(): Promise<World> {
    const w = await scanned();
    const r = await w.loop(CONFIG);
    expect(r.executed.filter((e) => !e.ok)).toEqual([]);
    expect(w.gh.issues).toHaveLength(3);
    return w;
  }

  /** A is revoked: two consecutive dead checks, a day apart, close its issue. Returns the first dead check's time. */
  async function revokeA(w: World): Promise<string> {
    w.issuer.setKey('github', A, 'dead');
    w.clock.advanceDays(1);
    const firstDead = w.clock.now().toISOString();
    await w.loop(CONFIG);
    w.clock.advanceDays(1);
    await w.loop(CONFIG);
    return firstDead;
  }

  /** The public leak's issue (in acme/security) closed on GitHub as a false positive, and the loop run after it. */
  async function triageSiteAsFalsePositive(w: World) {
    const c = issuesIn(w, 'acme/security')[0]!;
    c.state = 'closed';
    c.state_reason = 'not_planned';
    c.labels.push('false-positive');
    w.clock.advanceDays(1);
    await w.loop(CONFIG);
    return c;
  }

  const fpOf = async (w: World, token: string) => {
    for (const s of await w.store.listSecrets()) if ((await w.store.revealSecret(s.fingerprint)).secret === token) return s.fingerprint;
    throw new Error('no stored secret for that token');
  };
  const issuesIn = (w: World, repo: string) => w.gh.issues.filter((i) => i.repo === repo);
  const issueFor = async (w: World, token: string) => {
    const fp = await fpOf(w, token);
    return w.gh.issues.find((i) => i.body.includes(`keyloop:fingerprint=${fp}`))!;
  };
  const eventKinds = async (w: World) => new Set((await w.store.events()).map((e) => e.kind));

  // Whatever a test did: no planted secret in any issue title, body or comment, nor in the store's events.
  afterEach(async () => {
    for (const w of worlds.splice(0)) {
      try {
        const text = allIssueText(w.gh);
        const events = JSON.stringify(await w.store.events());
        for (const t of [A, B, C, D]) {
          expect(text).not.toContain(t);
          expect(events).not.toContain(t);
        }
      } finally {
        await w.close();
      }
    }
  });

  it('dry run plans without touching GitHub or the store', async () => {
    const w = await scanned();
    const posts = w.gh.requests.filter((r) => r.method !== 'GET').length;
    const r = await w.loop(CONFIG, { dryRun: true });
    expect(r.lines.filter((l) => l.startsWith('open issue'))).toHaveLength(3);
    expect(r.lines.join('\n')).not.toContain(A);
    expect(w.gh.issues).toHaveLength(0);
    expect(w.gh.requests.filter((r) => r.method !== 'GET').length).toBe(posts);
    expect(await w.store.listIssues()).toHaveLength(0);
  });

  it('run 1: one assigned issue per live (secret, repo), owners by commit author then CODEOWNERS', async () => {
    const w = await scanned();
    const r = await w.loop(CONFIG);
    expect(r.executed.filter((e) => !e.ok)).toEqual([]);

    expect(issuesIn(w, 'acme/api')).toHaveLength(2);
    const a = await issueFor(w, A);
    const b = await issueFor(w, B);
    expect(a.title).toBe('Leaked GitHub key in config/prod.env');
    expect(a.labels).toEqual(['keyloop', 'secret:github-pat-classic', 'severity:critical']);
    // alice from her noreply address, offline.
    expect(a.assignees).toEqual(['alice']);
    // bob maps to a login via the commits API but cannot be assigned: CODEOWNERS (carol) owns deploy/ci.yml.
    expect(b.assignees).toEqual(['carol']);
    expect(b.body).toContain('@acme/platform');
    expect((await w.store.getEmailLogin('bob@corp.example'))?.login).toBe('bob');

    // The public repo gets nothing; its issue lives in the private security repo, assigned to the fallback.
    expect(issuesIn(w, 'acme/site')).toHaveLength(0);
    const sec = issuesIn(w, 'acme/security');
    expect(sec).toHaveLength(1);
    expect(sec[0]!.title).toBe('Leaked GitHub key in index.js');
    expect(sec[0]!.body).toContain('keyloop:repo=acme/site');
    expect(sec[0]!.body).toContain('https://github.com/acme/site/blob/');
    expect(sec[0]!.assignees).toEqual(['sec-lead']);

    // The dead token (committed by a bot) gets no issue.
    expect(w.gh.issues).toHaveLength(3);
    expect(a.body).toMatch(/Verification \| \*\*live\*\*/);
    expect(a.body).toContain('login: `user-');
    expect(a.body).toContain('settings/tokens');
    expect(a.body).toMatch(/Exposure so far \| 29 days/);
    expect(await w.store.listIssues({ state: 'open' })).toHaveLength(3);
    expect(await w.store.owners(await fpOf(w, A))).toContainEqual(expect.objectContaining({ login: 'alice', source: 'commit-author' }));
    expect(await w.store.owners(await fpOf(w, B))).toContainEqual(expect.objectContaining({ login: 'carol', source: 'codeowners' }));
    for (const k of ['issue-opened', 'verified-live', 'verified-dead']) expect(await eventKinds(w)).toContain(k);
  });

  it('run 2 with nothing new changes nothing on GitHub', async () => {
    const w = await withIssues();
    w.clock.advanceDays(1);
    const writes = w.gh.requests.filter((r) => r.method !== 'GET').length;
    const r = await w.loop(CONFIG);
    expect(r.actions).toEqual([]);
    expect(w.gh.requests.filter((r) => r.method !== 'GET').length).toBe(writes);
  });

  it('a key flipped to dead closes its issue after two consecutive dead checks', async () => {
    const w = await withIssues();
    w.issuer.setKey('github', A, 'dead');
    w.clock.advanceDays(1);
    const firstDead = w.clock.now().toISOString();
    await w.loop(CONFIG);
    expect((await issueFor(w, A)).state).toBe('open');
    w.clock.advanceDays(1);
    await w.loop(CONFIG);
    const a = await issueFor(w, A);
    expect(a.state).toBe('closed');
    expect(a.state_reason).toBe('completed');
    expect(a.comments.at(-1)!.body).toContain(`Verified revoked at ${firstDead}`);
    expect((await w.store.getSecret(await fpOf(w, A)))!.status).toBe('revoked');
    expect(await eventKinds(w)).toContain('closed');
    // the others stay open
    expect((await issueFor(w, B)).state).toBe('open');
  });

  it('an unknown answer never closes or reopens anything', async () => {
    const w = await withIssues();
    await revokeA(w);
    w.issuer.setIssuer('github', '5xx');
    w.clock.advanceDays(1);
    const r = await w.loop(CONFIG);
    expect(r.actions).toEqual([]);
    expect((await issueFor(w, A)).state).toBe('closed');
    expect((await issueFor(w, B)).state).toBe('open');
  });

  it('the key live again reopens the issue with a comment', async () => {
    const w = await withIssues();
    await revokeA(w);
    w.issuer.setKey('github', A, 'live');
    w.clock.advanceDays(1);
    await w.loop(CONFIG);
    const a = await issueFor(w, A);
    expect(a.state).toBe('open');
    expect(a.comments.at(-1)!.body).toContain('live** again');
    expect(await eventKinds(w)).toContain('reopened');
  });

  it('new locations of the same secret get one comment listing them', async () => {
    const w = await withIssues();
    await w.addCommits('acme/api', [{ id: 'c5', author: { ...bob, ...date(20) }, files: { 'deploy/cd.yml': `token: ${B}\n`, 'deploy/other.yml': `t2: ${B}\n` } }]);
    await w.scan('acme/api');
    w.clock.advanceDays(1);
    const before = (await issueFor(w, B)).comments.length;
    await w.loop(CONFIG);
    const b = await issueFor(w, B);
    expect(b.comments.length).toBe(before + 1);
    expect(b.comments.at(-1)!.body).toContain('2 new locations');
    expect(b.comments.at(-1)!.body).toContain('deploy/cd.yml#L1');
    expect(await eventKinds(w)).toContain('commented');
    w.clock.advanceDays(1);
    await w.loop(CONFIG);
    expect((await issueFor(w, B)).comments.length).toBe(before + 1);
  });

  it('reminds once a key stays live past policy.maxLiveDays, then at most every remindEveryDays', async () => {
    const w = await withIssues();
    const reminders = async () => (await issueFor(w, B)).comments.filter((c) => c.body.includes('⏰')).length;
    w.clock.advanceDays(7); // B live since Jan 1: 7 days is not past maxLiveDays (7)
    await w.loop(CONFIG);
    expect(await reminders()).toBe(0);
    w.clock.advanceDays(1);
    await w.loop(CONFIG);
    expect(await reminders()).toBe(1);
    const b = await issueFor(w, B);
    expect(b.comments.at(-1)!.body).toContain('@acme/sec-leads');
    expect(b.comments.at(-1)!.body).toContain('@carol');
    w.clock.advanceDays(1);
    await w.loop(CONFIG);
    expect(await reminders()).toBe(1);
    w.clock.advanceDays(2);
    await w.loop(CONFIG);
    expect(await reminders()).toBe(2);
    expect(await eventKinds(w)).toContain('issue-reminded');
  });

  it('after the database is lost, a rerun finds the issues by marker and opens no duplicate', async () => {
    const w = await withIssues();
    const count = w.gh.issues.length;
    await w.freshDb();
    await w.scanAll();
    w.clock.advanceDays(1);
    const r = await w.loop(CONFIG);
    expect(w.gh.issues.length).toBe(count);
    expect(r.actions.filter((a) => a.kind === 'open')).toEqual([]);
    expect(r.actions.filter((a) => a.kind === 'adopt')).toHaveLength(count);
    expect(await w.store.listIssues()).toHaveLength(count);
    expect(await eventKinds(w)).toContain('issue-adopted');
    // and the comment stream does not restart: no "new locations" comments for adopted issues
    expect(r.actions.filter((a) => a.kind === 'comment-locations')).toEqual([]);
  });

  it('an issue closed on GitHub with the false-positive label is picked up as a triage verdict', async () => {
    const w = await withIssues();
    const c = await triageSiteAsFalsePositive(w);
    const fp = /keyloop:fingerprint=([0-9a-f]{64})/.exec(c.body)![1]!;
    expect((await w.store.getSecret(fp))!.status).toBe('false-positive');
    expect(await w.store.events({ fingerprint: fp, kind: 'triaged' })).toHaveLength(1);
    // and stays closed although the key is live
    w.clock.advanceDays(1);
    await w.loop(CONFIG);
    expect(c.state).toBe('closed');
  });

  it('policy.revokeGitHubTokens sends live GitHub tokens (not false positives) to POST /credentials/revoke, unauthenticated, once', async () => {
    const w = await withIssues();
    await triageSiteAsFalsePositive(w); // C: live, but triaged as not a secret
    w.clock.advanceDays(1);
    await w.loop({ ...CONFIG, policy: { ...CONFIG.policy, revokeGitHubTokens: true } });
    const calls = w.gh.requestsTo('POST', '/credentials/revoke');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.as).toBeNull();
    expect([...w.gh.revoked].sort()).toEqual([A, B].sort());
    expect(await eventKinds(w)).toContain('token-revoke-requested');
    w.clock.advanceDays(1);
    await w.loop({ ...CONFIG, policy: { ...CONFIG.policy, revokeGitHubTokens: true } });
    expect(w.gh.requestsTo('POST', '/credentials/revoke')).toHaveLength(1);
  });

  it('policy.revokeGitHubTokens sends nothing when the audit log cannot record it, and records sending then the answer when it can', async () => {
    const w = await withIssues();
    w.clock.advanceDays(1);
    const policy = { ...CONFIG, policy: { ...CONFIG.policy, revokeGitHubTokens: true } };
    // the same database, opened read-only: every audit write fails
    const readOnly = openSqliteStore(w.store.location, { readonly: true });
    try {
      const r = await w.loop(policy, { audit: readOnly.auditSink() });
      expect(w.gh.requestsTo('POST', '/credentials/revoke')).toHaveLength(0);
      expect(w.gh.revoked).toEqual([]);
      expect(r.warnings).toContainEqual(expect.stringMatching(/^revocation failed: not sent: the audit log cannot record the call \(.*readonly database.*\)$/));
      expect(r.executed.filter((e) => e.action.kind === 'revoke-token').every((e) => !e.ok)).toBe(true);
    } finally {
      await readOnly.close();
    }
    w.clock.advanceDays(1);
    await w.loop(policy, { audit: w.store.auditSink() });
    expect(w.gh.requestsTo('POST', '/credentials/revoke')).toHaveLength(1);
    // A, B and C are live (none triaged here): one batch; each token's `sending` record comes before its answer
    const rows = await w.store.outboundCalls({ purpose: 'revoke' });
    const fps = [...new Set(rows.map((c) => c.fingerprint))];
    expect(fps).toHaveLength(3);
    for (const fp of fps) expect(rows.filter((c) => c.fingerprint === fp).map((c) => `${c.status ?? '-'} ${c.outcome}`)).toEqual(['- sending', '202 answered (batch of 3)']);
  });
});

describe('assignment refused at creation', () => {
  let w: World;
  afterAll(async () => {
    await w?.close();
  });

  it('a 422 on assignment falls back to the next owner', async () => {
    w = await createWorld('2025-01-01T00:00:00Z');
    const [T] = ghTokens(1, 99);
    w.gh.setAssignable('acme/app', 'alice', 'carol');
    await w.addRepo('acme/app', {
      private: true,
      commits: [{ id: 'c1', author: { ...alice, date: '2024-12-01T00:00:00Z' }, files: { CODEOWNERS: '* @carol\n', '.env': `GH=${T}\n` } }],
    });
    w.issuer.setKey('github', T!, 'live');
    await w.scanAll();
    // alice passes checkUserCanBeAssigned, but the create call is refused (permissions changed meanwhile).
    w.gh.fault({ method: 'POST', path: '/repos/acme/app/issues', kind: 'status', status: 422, times: 1 });
    const r = await w.loop({});
    expect(r.executed.map((e) => e.ok)).toEqual([true]);
    const posts = w.gh.requestsTo('POST', '/repos/acme/app/issues');
    // The fake drops a faulted request's body unread: the first attempt is known by its 422.
    expect(posts.map((p) => p.status)).toEqual([422, 201]);
    expect((posts[1]!.body as { assignees?: string[] }).assignees).toEqual(['carol']);
    expect(w.gh.issues.map((i) => i.assignees)).toEqual([['carol']]);
    expect((await w.store.events({ kind: 'issue-opened' }))[0]!.detail?.rejected).toEqual(['alice']);
  });
});

describe('a public security repo', () => {
  let w: World;
  afterAll(async () => {
    await w?.close();
  });

  it('never receives issues about public leaks', async () => {
    w = await createWorld('2025-01-01T00:00:00Z');
    const [T] = ghTokens(1, 123);
    await w.addRepo('acme/site', { private: false, commits: [{ id: 's1', files: { 'a.js': `k="${T}"\n` } }] });
    await w.addRepo('acme/security', { private: false, commits: [{ id: 'x1', files: { 'README.md': 'x\n' } }] });
    w.issuer.setKey('github', T!, 'live');
    await w.scanAll();
    const r = await w.loop({ issues: { repo: 'acme/security' } });
    expect(w.gh.issues).toEqual([]);
    expect(r.warnings.join('\n')).toContain('issues.repo acme/security is public');
    expect(r.warnings.join('\n')).toContain('acme/site is public: no issue opened');
  });
});
