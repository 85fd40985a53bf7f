// `keyloop revoke` for an npm token, end to end through the CLI an operator runs: `keyloop org --issues` opens the
// issue for a live npm token leaked in a repository, `keyloop revoke --yes` lists the account's tokens on the fake
// npm registry with the token itself and deletes it by its key, re-verification says dead, the next `keyloop issues`
// closes the issue as rotated, and `keyloop audit --check` shows both requests went to npm only. The registry's base
// URL is the operator's (issuers.npm.baseUrl); a loopback http:// one needs --allow-insecure-issuers.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orgCommand } from '../../cli/commands/org.js';
import { loadCatalog } from '../../src/detection/load.js';
import { orgIssueLoop } from '../../src/loop/org-hook.js';
import { startFakeGitHub, type FakeGitHub } from '../../testkit/fake-github.js';
import { FakeIssuer } from '../../testkit/fake-issuer.js';
import { buildRepo, tempDir } from '../../testkit/git-repo.js';
import { generateSample, rng } from '../../testkit/token-gen.js';
import { cliEnv, runCli } from '../helpers/run-cli.js';
import { ADMIN_TOKEN, allIssueText, cliContext, orgOptions } from './loop-world.js';

const OPERATOR_CONFIG = 'keyloop-operator.yaml';
const catalog = loadCatalog(path.join(import.meta.dirname, '..', '..', 'detectors'));

describe('revoke an npm token: org → issue → revoke → dead → issue closed as rotated → audit', () => {
  let gh: FakeGitHub;
  let npm: FakeIssuer;
  let dir: string;
  let env: Record<string, string | undefined>;
  const rand = rng(4711);
  const [LEAKED, SIBLING] = [0, 1].map(() => generateSample(catalog.byId.get('npm-access-token')!.def, rand).secret) as [string, string];
  const work = () => path.join(dir, 'work');

  beforeAll(async () => {
    gh = await startFakeGitHub({ tokens: { [ADMIN_TOKEN]: 'keyloop-bot' } });
    npm = await FakeIssuer.start();
    // alice's account on the registry holds the leaked token and another one, which must survive
    for (const t of [LEAKED, SIBLING]) {
      npm.setKey('npm', t);
      npm.setProfile('npm', t, { username: 'alice', packages: { '@acme/api-client': 'write' } });
    }
    dir = await tempDir('keyloop-revoke-npm-');
    const api = await buildRepo({
      bare: true,
      commits: [
        {
          id: 'c1',
          author: { name: 'Alice', email: '7+alice@users.noreply.github.com', date: '2024-12-01T00:00:00Z' },
          files: { '.npmrc': `//registry.npmjs.org/:_authToken=${LEAKED}\n` },
        },
      ],
    });
    gh.addRepo('acme/api', { private: true, gitDir: api.gitDir });
    gh.setAssignable('acme/api', 'alice');
    mkdirSync(work(), { recursive: true });
    writeFileSync(path.join(work(), OPERATOR_CONFIG), `issuers:\n  npm:\n    baseUrl: ${npm.baseUrl('npm')}\nowners:\n  fallback: alice\n`);
    env = await cliEnv({ KEYLOOP_KEY: 'ab'.repeat(32), GITHUB_TOKEN: ADMIN_TOKEN, GITHUB_API_URL: gh.url, XDG_CACHE_HOME: path.join(dir, 'cache') });
  });
  afterAll(async () => {
    await gh?.close();
    await npm?.close();
  });

  const fp = () => /keyloop:fingerprint=([0-9a-f]{64})/.exec(gh.issues.find((i) => i.title.includes('.npmrc'))!.body)![1]!;

  it('the org run opens an issue for the live npm token, saying keyloop can revoke it', async () => {
    const { c, err } = cliContext(work(), env);
    const hook = await orgIssueLoop({ issues: true, config: OPERATOR_CONFIG, allowInsecureIssuers: true }, c, { client: { throttle: false } });
    expect(await orgCommand(orgOptions(OPERATOR_CONFIG), c, { afterScan: hook, client: { throttle: false } }), err()).toBe(0);
    expect(gh.issues.map((i) => i.title)).toEqual(['Leaked npm key in .npmrc']);
    expect(gh.issues[0]!.body).toContain(`keyloop revoke ${fp().slice(0, 12)}`);
    expect(allIssueText(gh)).not.toContain(LEAKED);
  });

  it('a loopback http:// registry is refused without --allow-insecure-issuers; --dry-run shows the request and sends nothing', async () => {
    const refused = await runCli(['revoke', fp().slice(0, 12), '--yes', '--config', OPERATOR_CONFIG], { cwd: work(), env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/issuers\.npm\.baseUrl/);
    const dry = await runCli(['revoke', fp().slice(0, 12), '--dry-run', '--config', OPERATOR_CONFIG, '--allow-insecure-issuers'], { cwd: work(), env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe(
      `would revoke npm-access-token npm_…${LEAKED.slice(-4)} (${fp().slice(0, 12)}) with npm: DELETE ${npm.baseUrl('npm')}/-/npm/v1/tokens/token/…\n`,
    );
    expect(npm.requests.filter((r) => r.path.startsWith('/-/npm/v1/tokens'))).toEqual([]);
  });

  it('revoke --yes deletes the token by its key; re-verification says dead; the sibling token still works', async () => {
    const r = await runCli(['revoke', fp().slice(0, 12), '--yes', '--config', OPERATOR_CONFIG, '--allow-insecure-issuers'], {
      cwd: work(),
      env: { ...env, USER: 'secops' },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      `revoked npm-access-token npm_…${LEAKED.slice(-4)} (${fp().slice(0, 12)}) with npm: DELETE ${npm.baseUrl('npm')}/-/npm/v1/tokens/token/… answered HTTP 204`,
    );
    expect(r.stdout).toMatch(/re-verified: dead/);
    expect(npm.revocations).toEqual([{ issuer: 'npm', credential: LEAKED }]);
    expect(npm.liveCredentials('npm')).toEqual([SIBLING]);
    expect(r.stdout + r.stderr).not.toContain(LEAKED);
    const db = new Database(path.join(work(), 'keyloop.db'), { readonly: true });
    try {
      const e = db
        .prepare("SELECT e.detail FROM events e JOIN secrets s ON s.id = e.secret_id WHERE e.kind = 'revoked-by-keyloop' AND s.fingerprint = ?")
        .get(fp()) as { detail: string };
      expect(JSON.parse(e.detail)).toMatchObject({ by: expect.stringMatching(/^secops@/), issuer: 'npm', method: 'DELETE', status: 204 });
      expect((db.prepare('SELECT status FROM secrets WHERE fingerprint = ?').get(fp()) as { status: string }).status).toBe('revoked');
    } finally {
      db.close();
    }
    expect(readFileSync(path.join(work(), 'keyloop.db')).includes(Buffer.from(LEAKED))).toBe(false);
  });

  it('the next loop run closes the issue as rotated', async () => {
    const r = await runCli(['issues', '--config', OPERATOR_CONFIG, '--allow-insecure-issuers'], { cwd: work(), env });
    expect(r.code, r.stderr).toBe(0);
    const issue = gh.issues[0]!;
    expect(issue.state).toBe('closed');
    expect(issue.state_reason).toBe('completed');
    expect(issue.comments.at(-1)!.body).toMatch(/Verified revoked at .* Revoked with `keyloop revoke` by secops@.* Closing\./);
  });

  it('audit --check: the list and the delete went to npm, recorded before each went out, the token in no URL', async () => {
    const j = await runCli(['audit', '--format', 'json', '--check', '--purpose', 'revoke', '--config', OPERATOR_CONFIG], { cwd: work(), env });
    expect(j.code, j.stdout + j.stderr).toBe(0);
    const out = JSON.parse(j.stdout) as {
      calls: Array<{ method: string; url: string; status: number | null; outcome: string; issuer: string }>;
      check: { ok: boolean; secretsChecked: boolean };
    };
    expect(out.check).toMatchObject({ ok: true, secretsChecked: true });
    // answered calls (a stale kept-alive connection may add a retried attempt), each recorded as `sending` first
    expect(
      out.calls
        .filter((c) => c.status !== null)
        .map((c) => `${c.issuer} ${c.method} ${new URL(c.url).pathname.replace(/[0-9a-f]{128}$/, '<key>')} ${c.status}`),
    ).toEqual(['npm GET /npm/-/npm/v1/tokens 200', 'npm DELETE /npm/-/npm/v1/tokens/token/<key> 204']);
    expect(out.calls.map((c) => c.outcome === 'sending')).toEqual(out.calls.map((_, i) => i % 2 === 0));
    expect(out.calls.every((c) => c.issuer === 'npm' && c.url.startsWith(npm.baseUrl('npm')))).toBe(true);
    expect(j.stdout).not.toContain(LEAKED);
  });
});
