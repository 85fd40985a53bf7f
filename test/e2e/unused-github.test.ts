// "Which tokens are unused?" for fine-grained GitHub tokens: the issue loop, run with a GitHub App installation token
// that may read the organization's fine-grained token list (GET /orgs/{org}/personal-access-tokens), takes a leaked
// token's last use from the one entry with its owner and its expiry to the second, among tokens that reach that
// organization's repositories. `keyloop secrets --unused DAYS` then lists the idle one; a token with a look-alike
// (same owner, same expiry), one that never expires and one of a personal account are left unknown, with why.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orgCommand } from '../../cli/commands/org.js';
import { createGitHubClient } from '../../src/adapters/github/client.js';
import { orgTokenGrants } from '../../src/adapters/github/org-token-grants.js';
import { loadCatalog } from '../../src/detection/load.js';
import { orgIssueLoop } from '../../src/loop/org-hook.js';
import { startFakeGitHub, type FakeGitHub } from '../../testkit/fake-github.js';
import { buildRepo, tempDir } from '../../testkit/git-repo.js';
import { generateSample, rng } from '../../testkit/token-gen.js';
import { cliEnv, runCli } from '../helpers/run-cli.js';
import { ADMIN_TOKEN, cliContext, orgOptions } from './loop-world.js';

const OPERATOR_CONFIG = 'keyloop-operator.yaml';
const catalog = loadCatalog(path.join(import.meta.dirname, '..', '..', 'detectors'));
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString();

interface Row {
  fingerprint: string;
  lastVerification: { status: string; reach?: { lastUsedAt?: string | null; gaps: string[]; facts: Record<string, unknown> } };
}

describe('secrets --unused for fine-grained GitHub tokens, from the organization token list', () => {
  let gh: FakeGitHub;
  let dir: string;
  let env: Record<string, string | undefined>;
  const rand = rng(5150);
  const fine = () => generateSample(catalog.byId.get('github-fine-grained-pat')!.def, rand).secret;
  const [IDLE, BUSY, TWIN, TWIN_OTHER, FOREVER, PERSONAL] = [fine(), fine(), fine(), fine(), fine(), fine()];
  const INSTALLATION = 'ghs_' + 'k'.repeat(36);
  const IDLE_USED = daysAgo(200);
  const work = () => path.join(dir, 'work');
  let rows: Row[] = [];
  const fpOf = new Map<string, string>();

  beforeAll(async () => {
    gh = await startFakeGitHub({ tokens: { [ADMIN_TOKEN]: 'keyloop-bot' } });
    // the operator runs keyloop as a GitHub App installed on acme, allowed to read its fine-grained token list
    gh.addInstallation({ id: 77, account: 'acme', repositories: 'all', permissions: { organization_personal_access_tokens: 'read' } });
    gh.addInstallationToken(INSTALLATION, 77);
    gh.addFineGrainedToken(IDLE, 'alice', { resourceOwner: 'acme', name: 'old deploy', expiresAt: '2031-03-01T10:20:30Z', lastUsedAt: IDLE_USED });
    gh.addFineGrainedToken(BUSY, 'carol', { resourceOwner: 'acme', name: 'ci', expiresAt: '2031-04-01T08:00:00Z', lastUsedAt: daysAgo(2) });
    // bob has two tokens on acme expiring the same second: which one leaked cannot be told
    gh.addFineGrainedToken(TWIN, 'bob', { resourceOwner: 'acme', name: 'a', expiresAt: '2031-05-01T00:00:00Z', lastUsedAt: daysAgo(300) });
    gh.addFineGrainedToken(TWIN_OTHER, 'bob', { resourceOwner: 'acme', name: 'b', expiresAt: '2031-05-01T00:00:00Z', lastUsedAt: daysAgo(1) });
    gh.addFineGrainedToken(FOREVER, 'erin', { resourceOwner: 'acme', name: 'no expiry', expiresAt: null, lastUsedAt: daysAgo(400) });
    gh.addFineGrainedToken(PERSONAL, 'dave', { resourceOwner: 'dave', name: 'mine', expiresAt: '2031-06-01T00:00:00Z', lastUsedAt: daysAgo(500) });
    dir = await tempDir('keyloop-unused-github-');
    const leaked = { IDLE, BUSY, TWIN, FOREVER, PERSONAL };
    const api = await buildRepo({
      bare: true,
      commits: [
        {
          id: 'c1',
          author: { name: 'Alice', email: '7+alice@users.noreply.github.com', date: '2024-12-01T00:00:00Z' },
          files: Object.fromEntries(Object.entries(leaked).map(([k, t]) => [`env/${k.toLowerCase()}.env`, `GH_TOKEN=${t}\n`])),
        },
      ],
    });
    gh.addRepo('acme/api', { private: true, gitDir: api.gitDir });
    for (const u of ['alice', 'bob', 'carol', 'erin']) gh.grant('acme/api', u, 'push');
    gh.setAssignable('acme/api', 'alice');
    mkdirSync(work(), { recursive: true });
    writeFileSync(path.join(work(), OPERATOR_CONFIG), `owners:\n  fallback: alice\n`);
    env = await cliEnv({ KEYLOOP_KEY: 'ce'.repeat(32), GITHUB_TOKEN: INSTALLATION, GITHUB_API_URL: gh.url, XDG_CACHE_HOME: path.join(dir, 'cache') });

    const { c, err } = cliContext(work(), env);
    const hook = await orgIssueLoop({ issues: true, config: OPERATOR_CONFIG, allowInsecureIssuers: true }, c, { client: { throttle: false } });
    expect(await orgCommand(orgOptions(OPERATOR_CONFIG), c, { afterScan: hook, client: { throttle: false } }), err()).toBe(0);
    const all = await runCli(['secrets', '--format', 'json'], { cwd: work(), env });
    rows = JSON.parse(all.stdout) as Row[];
    for (const name of Object.keys(leaked)) {
      const issue = gh.issues.find((i) => i.title.includes(`env/${name.toLowerCase()}.env`));
      fpOf.set(name, /keyloop:fingerprint=([0-9a-f]{64})/.exec(issue?.body ?? '')?.[1] ?? '');
    }
    expect(
      [...fpOf.values()].every((fp) => /^[0-9a-f]{64}$/.test(fp)),
      JSON.stringify([...fpOf]),
    ).toBe(true);
    expect(all.stdout + err()).not.toContain(IDLE);
  });
  afterAll(async () => gh?.close());

  const reachOf = (name: string) => rows.find((r) => r.fingerprint === fpOf.get(name))!.lastVerification.reach!;

  it('the idle token’s last use comes from its one entry (owner and expiry); secrets --unused 90 lists it alone', async () => {
    expect(reachOf('IDLE').lastUsedAt).toBe(IDLE_USED);
    expect(reachOf('IDLE').facts).toMatchObject({ last_used_from: "acme's fine-grained token list", token_name: 'old deploy' });
    expect(Date.now() - Date.parse(reachOf('BUSY').lastUsedAt!)).toBeLessThan(3 * 86_400_000);
    const r = await runCli(['secrets', '--unused', '90', '--format', 'json'], { cwd: work(), env });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Row[]).map((x) => x.fingerprint)).toEqual([fpOf.get('IDLE')]);
    const table = await runCli(['secrets', '--unused', '90'], { cwd: work(), env });
    expect(table.stdout).toMatch(/LAST USED\s+OWNER/);
    expect(table.stdout).toContain('1 secret(s)');
  });

  it('a token with a look-alike, one that never expires and a personal account’s are not claimed, and say why', () => {
    expect(reachOf('TWIN').lastUsedAt).toBeUndefined();
    expect(reachOf('TWIN').gaps).toContainEqual(
      "last use (organization token list): 2 tokens of bob in acme's list expire at 2031-05-01T00:00:00.000Z: not told apart",
    );
    expect(reachOf('FOREVER').lastUsedAt).toBeUndefined();
    expect(reachOf('FOREVER').gaps).toContainEqual(
      "last use (organization token list): the token has no expiry to tell it apart from its owner's other tokens",
    );
    expect(reachOf('PERSONAL').lastUsedAt).toBeUndefined();
    expect(reachOf('PERSONAL').gaps).toContainEqual('last use (organization token list): the token reaches no repository, so its organization is not known');
  });

  it('a credential that may not read the list: the reason, nothing claimed', async () => {
    const asUser = orgTokenGrants(createGitHubClient({ baseUrl: gh.url, token: ADMIN_TOKEN, throttle: false, retries: 0 }));
    const out = await asUser('acme');
    expect(out).toEqual({ error: expect.stringMatching(/HTTP 403.*Personal access tokens: read/) });
    gh.addInstallation({ id: 78, account: 'acme', repositories: 'all' });
    gh.addInstallationToken('ghs_' + 'n'.repeat(36), 78);
    const noPermission = orgTokenGrants(createGitHubClient({ baseUrl: gh.url, token: 'ghs_' + 'n'.repeat(36), throttle: false, retries: 0 }));
    expect(await noPermission('acme')).toEqual({ error: expect.stringMatching(/HTTP 403: Resource not accessible by integration/) });
  });
});
