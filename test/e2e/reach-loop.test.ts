// What a leaked key can do, through the CLI an operator runs: `keyloop org --issues` verifies the token against the
// fake GitHub (its own issuer), asks what it reaches, stores it with the verification, writes it into the issue
// ("What this key can do") and `keyloop secrets --format json` shows it. The token never appears anywhere.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orgCommand } from '../../cli/commands/org.js';
import { revokeCommand } from '../../cli/commands/revoke.js';
import { orgIssueLoop } from '../../src/loop/org-hook.js';
import { startFakeGitHub, type FakeGitHub } from '../../testkit/fake-github.js';
import { buildRepo, tempDir } from '../../testkit/git-repo.js';
import { cliEnv, runCli } from '../helpers/run-cli.js';
import { ADMIN_TOKEN, allIssueText, cliContext, ghTokens, orgOptions } from './loop-world.js';

const OPERATOR_CONFIG = 'keyloop-operator.yaml';

describe('reach in the loop: org → issue body → secrets → revoke → issue closed → audit', () => {
  let gh: FakeGitHub;
  let dir: string;
  let env: Record<string, string | undefined>;
  const [LEAKED, READER] = ghTokens(2, 4242);

  beforeAll(async () => {
    // The leaked token belongs to alice; the fake GitHub is both where the leak is and the token's issuer.
    gh = await startFakeGitHub({ tokens: { [ADMIN_TOKEN]: 'keyloop-bot', [LEAKED!]: 'alice', [READER!]: 'bob' } });
    // a second leaked token that can only read: lower risk, so its issue comes second
    gh.tokenScopes.set(READER!, 'read:user');
    gh.tokenScopes.set(LEAKED!, 'repo, workflow, admin:org');
    gh.tokenExpiry.set(LEAKED!, '2031-01-01 00:00:00 UTC');
    gh.members.set('acme', new Set(['alice']));
    dir = await tempDir('keyloop-reach-loop-');
    const api = await buildRepo({
      bare: true,
      commits: [
        { id: 'c0', author: { name: 'Alice', email: '7+alice@users.noreply.github.com', date: '2024-11-01T00:00:00Z' }, files: { 'tools/read.env': `GH_READ=${READER}\n` } },
        { id: 'c1', author: { name: 'Alice', email: '7+alice@users.noreply.github.com', date: '2024-12-01T00:00:00Z' }, files: { 'deploy/.env': `GH_TOKEN=${LEAKED}\n` } },
      ],
    });
    gh.addRepo('acme/api', { private: true, gitDir: api.gitDir });
    gh.grant('acme/api', 'alice', 'admin');
    const site = await buildRepo({ bare: true, commits: [{ id: 's1', files: { 'index.html': '<h1>acme</h1>\n' } }] });
    gh.addRepo('acme/site', { private: false, gitDir: site.gitDir });
    gh.grant('acme/site', 'alice', 'push');
    gh.setAssignable('acme/api', 'alice');
    mkdirSync(path.join(dir, 'work'), { recursive: true });
    writeFileSync(path.join(dir, 'work', OPERATOR_CONFIG), `owners:\n  fallback: alice\n`);
    env = await cliEnv({ KEYLOOP_KEY: 'cd'.repeat(32), GITHUB_TOKEN: ADMIN_TOKEN, GITHUB_API_URL: gh.url, XDG_CACHE_HOME: path.join(dir, 'cache') });
  });
  afterAll(async () => gh?.close());

  const ctx = () => cliContext(path.join(dir, 'work'), env);

  it('the issue says what the token can do, from GitHub itself', async () => {
    const { c, err } = ctx();
    const hook = await orgIssueLoop({ issues: true, config: OPERATOR_CONFIG, allowInsecureIssuers: true }, c, { client: { throttle: false } });
    expect(await orgCommand(orgOptions(OPERATOR_CONFIG), c, { afterScan: hook, client: { throttle: false } }), err()).toBe(0);
    expect(gh.issues).toHaveLength(2);
    // highest risk first: the admin token's issue was opened before the read-only one's
    expect(gh.issues.map((i) => i.title)).toEqual(['Leaked GitHub key in deploy/.env', 'Leaked GitHub key in tools/read.env']);
    const body = gh.issues[0]!.body;
    expect(body).toMatch(/\| Risk \| \*\*(critical|high)\*\* \(\d+\/100\): live with admin access; public-write, ci; exposed \d+ days/);
    expect(gh.issues[1]!.body).toMatch(/\| Risk \| \*\*(low|medium)\*\* \(\d+\/100\): live with read access/);
    expect(body).toContain('### What this key can do');
    expect(body).toMatch(/Access: \*\*admin\*\*/);
    expect(body).toContain('Acts as: `alice`');
    expect(body).toContain('Scopes: `repo`, `workflow`, `admin:org`');
    expect(body).toContain('Expires: 2031-01-01');
    expect(body).toContain('Reaches 2 repositories (1 admin, 1 write; 1 public; **1 public it can write to**)');
    expect(body).toContain('Reaches 1 organization');
    expect(body).toContain('| `acme/api` (repository) | admin |');
    expect(body).toContain('keyloop revoke ');
    expect(body).toContain('Revoke or rotate it here: <https://github.com/settings/tokens>');
    expect(body).toContain('secret manager');
    expect(allIssueText(gh)).not.toContain(LEAKED);
    expect(allIssueText(gh)).not.toContain(READER);
    // verification and reach went to the token's own issuer: /user, /user/orgs, /user/repos on the fake GitHub
    expect(gh.requestsTo('GET', '/user/repos').length).toBeGreaterThan(0);
  });

  it('secrets --format json carries the reach with the last verification', async () => {
    const r = await runCli(['secrets', '--format', 'json'], { cwd: path.join(dir, 'work'), env });
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ detector: string; lastVerification: { status: string; reach?: { level: string; account?: string; scopes?: string[]; counts: Record<string, number>; tags: string[] } } }>;
    const row = rows.find((x) => x.detector === 'github-pat-classic')!;
    expect(row.lastVerification.status).toBe('live');
    expect(row.lastVerification.reach).toMatchObject({ level: 'admin', account: 'alice', scopes: ['repo', 'workflow', 'admin:org'], counts: { repository: 2, organization: 1 } });
    expect(row.lastVerification.reach!.tags).toEqual(expect.arrayContaining(['admin', 'public-write', 'ci']));
    expect(r.stdout).not.toContain(LEAKED);
  });

  it('secrets --sort risk lists the riskiest first, with the score', async () => {
    const r = await runCli(['secrets', '--format', 'json', '--sort', 'risk'], { cwd: path.join(dir, 'work'), env });
    const rows = JSON.parse(r.stdout) as Array<{ redacted: string; risk: { score: number; severity: string; factors: string[] } }>;
    expect(rows.map((x) => x.redacted)).toEqual([`ghp_…${LEAKED!.slice(-4)}`, `ghp_…${READER!.slice(-4)}`]);
    expect(rows[0]!.risk.score).toBeGreaterThan(rows[1]!.risk.score);
    // by default the most recently introduced comes first: here the same order by chance is not what is tested
    const recent = JSON.parse((await runCli(['secrets', '--format', 'json'], { cwd: path.join(dir, 'work'), env })).stdout) as Array<{ redacted: string }>;
    expect(recent.map((x) => x.redacted)).toEqual([`ghp_…${LEAKED!.slice(-4)}`, `ghp_…${READER!.slice(-4)}`]);
    const table = await runCli(['secrets', '--sort', 'risk'], { cwd: path.join(dir, 'work'), env });
    expect(table.stdout).toMatch(/REACH\s+RISK\s+OWNER/);
    expect(table.stdout).toMatch(/admin\s+\d+ (critical|high)/);
  });

  it('the report groups secrets by risk (JSON for the HTML report, a table in Markdown)', async () => {
    const j = await runCli(['report', '--format', 'json'], { cwd: path.join(dir, 'work'), env });
    const data = JSON.parse(j.stdout) as { byRisk: Array<{ severity: string; secrets: number; live: number; fingerprints: string[] }>; secrets: Array<{ fingerprint: string; reach: string; risk: { score: number } }> };
    expect(data.byRisk.map((g) => g.severity)).toEqual(['critical', 'high', 'medium', 'low', 'none']);
    expect(data.byRisk.reduce((a, g) => a + g.secrets, 0)).toBe(2);
    const admin = data.secrets.find((s) => s.reach === 'admin')!;
    expect(data.byRisk.find((g) => g.fingerprints.includes(admin.fingerprint))!.severity).toMatch(/critical|high/);
    const md = await runCli(['report', '--format', 'md'], { cwd: path.join(dir, 'work'), env });
    expect(md.stdout).toContain('## By risk');
    expect(md.stdout).toContain(`${admin.fingerprint.slice(0, 12)} github-pat-classic (${admin.risk.score})`);
  });


  it('the database holds the reach but never the token', () => {
    const dbFile = path.join(dir, 'work', 'keyloop.db');
    const db = new Database(dbFile, { readonly: true });
    try {
      const rows = db.prepare('SELECT reach FROM verifications WHERE reach IS NOT NULL').all() as { reach: string }[];
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.map((r) => (JSON.parse(r.reach) as { level: string }).level).sort()).toEqual(['admin', 'read']);
      // every call made with the token is in the audit log, to the fake GitHub only
      // a kept-alive connection the fake closed as it was reused is retried once, and both attempts are recorded
      const all = db.prepare('SELECT purpose, method, url, status, outcome FROM outbound_calls ORDER BY id').all() as { purpose: string; method: string; url: string; status: number | null; outcome: string }[];
      // each attempt is recorded as `sending` before it goes out, then with its outcome
      const sending = all.filter((c) => c.outcome === 'sending');
      const outcomes = all.filter((c) => c.outcome !== 'sending');
      expect(sending.map((c) => `${c.purpose} ${c.url}`).sort()).toEqual(outcomes.map((c) => `${c.purpose} ${c.url}`).sort());
      expect(outcomes.filter((c) => c.status === null).every((c) => /^network: (UND_ERR_SOCKET|ECONNRESET|EPIPE)$/.test(c.outcome))).toBe(true);
      const calls = all.filter((c) => c.status !== null);
      const paths = calls.map((c) => `${c.purpose} ${c.method} ${new URL(c.url).pathname}`);
      expect(paths.filter((p) => p.startsWith('verify'))).toEqual(['verify GET /user', 'verify GET /user']);
      expect(paths.filter((p) => p.startsWith('reach')).sort()).toEqual(['reach GET /user', 'reach GET /user', 'reach GET /user/orgs', 'reach GET /user/orgs', 'reach GET /user/repos', 'reach GET /user/repos']);
      expect(calls.every((c) => c.url.startsWith(gh.url) && c.status === 200)).toBe(true);
    } finally {
      db.close();
    }
    expect(readFileSync(dbFile).includes(Buffer.from(LEAKED!))).toBe(false);
  });

  const fpOf = (title: string) => /keyloop:fingerprint=([0-9a-f]{64})/.exec(gh.issues.find((i) => i.title.includes(title))!.body)![1]!;
  const work = () => path.join(dir, 'work');

  it('revoke refuses without a confirmation, and a "no" sends nothing', async () => {
    const fp = fpOf('deploy/.env');
    const r = await runCli(['revoke', fp.slice(0, 12), '--allow-insecure-issuers'], { cwd: work(), env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/revoking needs a confirmation: run it in a terminal, or pass --yes/);
    const dry = await runCli(['revoke', fp.slice(0, 12), '--dry-run', '--allow-insecure-issuers'], { cwd: work(), env });
    expect(dry.stdout).toBe(`would revoke github-pat-classic ghp_…${LEAKED!.slice(-4)} (${fp.slice(0, 12)}) with GitHub: POST ${gh.url}/credentials/revoke\n`);
    const asked: string[] = [];
    const { c } = cliContext(work(), env);
    await expect(revokeCommand({ fingerprint: fp, yes: false, dryRun: false, db: 'keyloop.db', format: 'text', allowInsecureIssuers: true }, { ...c, prompt: async (q) => (asked.push(q), 'no') })).rejects.toThrow(/not revoked/);
    expect(asked[0]).toMatch(/^Revoke github-pat-classic ghp_…\w{4} \(\w{12}\) with GitHub \(POST http:\/\/127\.0\.0\.1:\d+\/credentials\/revoke\)\? This cannot be undone\. GitHub revokes the token and notifies its owner/);
    expect(gh.revoked).toEqual([]);
    expect(gh.requestsTo('POST', '/credentials/revoke')).toHaveLength(0);
  });

  it('revoke --yes sends the token to GitHub’s revocation API, unauthenticated; re-verification says dead', async () => {
    const fp = fpOf('deploy/.env');
    const r = await runCli(['revoke', fp.slice(0, 12), '--yes', '--note', 'leaked in deploy/.env', '--allow-insecure-issuers'], { cwd: work(), env: { ...env, USER: 'secops' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`revoked github-pat-classic ghp_…${LEAKED!.slice(-4)} (${fp.slice(0, 12)}) with GitHub: POST ${gh.url}/credentials/revoke answered HTTP 202`);
    expect(r.stdout).toMatch(/re-verified: dead \(Bad credentials\)/);
    expect(gh.revoked).toEqual([LEAKED]);
    const post = gh.requestsTo('POST', '/credentials/revoke');
    expect(post).toHaveLength(1);
    expect(post[0]!.as).toBeNull();
    expect(r.stdout + r.stderr).not.toContain(LEAKED);
    // recorded: who, what, when
    const db = new Database(path.join(work(), 'keyloop.db'), { readonly: true });
    try {
      const e = db.prepare("SELECT e.at, e.detail FROM events e JOIN secrets s ON s.id = e.secret_id WHERE e.kind = 'revoked-by-keyloop' AND s.fingerprint = ?").get(fp) as { at: string; detail: string };
      expect(JSON.parse(e.detail)).toMatchObject({ by: expect.stringMatching(/^secops@/), issuer: 'github', method: 'POST', endpoint: `${gh.url}/credentials/revoke`, status: 202, note: 'leaked in deploy/.env' });
      expect(Date.parse(e.at)).toBeGreaterThan(Date.now() - 600_000);
      expect((db.prepare('SELECT status FROM secrets WHERE fingerprint = ?').get(fp) as { status: string }).status).toBe('revoked');
    } finally {
      db.close();
    }
  });

  it('the next loop run closes its issue as rotated; the other key’s issue stays open', async () => {
    const r = await runCli(['issues', '--config', OPERATOR_CONFIG, '--allow-insecure-issuers'], { cwd: work(), env });
    expect(r.code, r.stderr).toBe(0);
    const revoked = gh.issues.find((i) => i.title.includes('deploy/.env'))!;
    expect(revoked.state).toBe('closed');
    expect(revoked.state_reason).toBe('completed');
    expect(revoked.comments.at(-1)!.body).toMatch(/Verified revoked at .* Revoked with `keyloop revoke` by secops@.* Closing\./);
    expect(gh.issues.find((i) => i.title.includes('tools/read.env'))!.state).toBe('open');
  });

  it('audit lists every call made with a secret, and --check proves each went to its own issuer', async () => {
    const j = await runCli(['audit', '--format', 'json', '--check'], { cwd: work(), env });
    expect(j.code, j.stdout + j.stderr).toBe(0);
    const out = JSON.parse(j.stdout) as { calls: Array<{ purpose: string; method: string; url: string; status: number | null; outcome: string; issuer: string; fingerprint: string }>; check: { ok: boolean; problems: string[]; secretsChecked: boolean } };
    expect(out.check).toEqual({ ok: true, problems: [], secretsChecked: true });
    const answered = out.calls.filter((c) => c.status !== null);
    expect(answered.filter((c) => c.purpose === 'revoke')).toEqual([expect.objectContaining({ method: 'POST', url: `${gh.url}/credentials/revoke`, status: 202, issuer: 'github', fingerprint: fpOf('deploy/.env') })]);
    expect(new Set(out.calls.map((c) => c.purpose))).toEqual(new Set(['verify', 'reach', 'revoke']));
    expect(out.calls.every((c) => c.url.startsWith(gh.url))).toBe(true);
    expect(j.stdout).not.toContain(LEAKED);
    expect(j.stdout).not.toContain(READER);
    const t = await runCli(['audit', '--purpose', 'revoke'], { cwd: work(), env });
    expect(t.stdout).toMatch(/AT\s+PURPOSE\s+ISSUER\s+SECRET\s+METHOD\s+URL/);
    const revokes = out.calls.filter((c) => c.purpose === 'revoke' && c.status !== null).length;
    // each attempt recorded as `sending` first (a stale kept-alive connection may add a retried attempt)
    const revokeRows = out.calls.filter((c) => c.purpose === 'revoke');
    expect(revokeRows.map((c) => c.outcome === 'sending')).toEqual(revokeRows.map((_, i) => i % 2 === 0));
    expect(t.stdout).toContain(`${revokes} call(s) with a secret; by issuer and host:`);
    expect(t.stdout).toContain(`github ${gh.url}: ${revokes}`);
  });

  it('audit --check fails on a call to a host that is not the issuer’s, and on a URL holding a stored secret', async () => {
    const db = new Database(path.join(work(), 'keyloop.db'));
    try {
      const ins = db.prepare("INSERT INTO outbound_calls (at, purpose, issuer, fingerprint, method, url, status, outcome, duration_ms) VALUES (?, 'verify', 'github', NULL, 'GET', ?, 200, 'answered', 1)");
      ins.run(new Date().toISOString(), 'https://collector.example/user');
      ins.run(new Date().toISOString(), `${gh.url}/user?leak=${READER}`);
    } finally {
      db.close();
    }
    const r = await runCli(['audit', '--check'], { cwd: work(), env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/OUTSIDE: .* https:\/\/collector\.example\/user: https:\/\/collector\.example is not a host of github/);
    expect(r.stdout).toMatch(/OUTSIDE: .* github GET: holds the secret [0-9a-f]{12}/);
  });

});
