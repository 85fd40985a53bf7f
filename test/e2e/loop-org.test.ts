// `keyloop org` with the issue loop as its afterScan hook, then `keyloop triage`, `keyloop issues` and
// `keyloop report` on the same database: the CLI path an operator runs, against the fakes.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orgCommand } from '../../cli/commands/org.js';
import { orgIssueLoop } from '../../src/loop/org-hook.js';
import { startFakeGitHub, type FakeGitHub } from '../../testkit/fake-github.js';
import { FakeIssuer } from '../../testkit/fake-issuer.js';
import { buildRepo, tempDir } from '../../testkit/git-repo.js';
import { cliEnv, runCli } from '../helpers/run-cli.js';
import { ADMIN_TOKEN, allIssueText, cliContext, ghTokens, orgOptions } from './loop-world.js';

/** The operator's config file (a .keyloop.yaml in the current directory would not be read by org/issues). */
const OPERATOR_CONFIG = 'keyloop-operator.yaml';

describe('keyloop org → issues → triage → report', () => {
  let gh: FakeGitHub;
  let issuer: FakeIssuer;
  let dir: string;
  let env: Record<string, string | undefined>;
  const [T1, T2] = ghTokens(2, 21);

  beforeAll(async () => {
    gh = await startFakeGitHub({ tokens: { [ADMIN_TOKEN]: 'keyloop-bot' } });
    issuer = await FakeIssuer.start();
    dir = await tempDir('keyloop-loop-org-');
    const api = await buildRepo({
      bare: true,
      commits: [
        { id: 'c1', author: { name: 'Alice', email: '7+alice@users.noreply.github.com', date: '2024-12-01T00:00:00Z' }, files: { 'app/.env': `GH=${T1}\n` } },
        { id: 'c2', author: { name: 'Eve', email: 'eve@corp.example', date: '2024-12-02T00:00:00Z' }, files: { 'tests/fixture.txt': `not_a_key=${T2}\n` } },
      ],
    });
    gh.addRepo('acme/api', { private: true, gitDir: api.gitDir });
    gh.setAssignable('acme/api', 'alice', 'lead');
    issuer.setKey('github', T1!, 'live');
    issuer.setKey('github', T2!, 'live');
    mkdirSync(path.join(dir, 'work'), { recursive: true });
    writeFileSync(
      path.join(dir, 'work', OPERATOR_CONFIG),
      `issuers:\n  github:\n    baseUrl: ${issuer.baseUrl('github')}\nowners:\n  fallback: lead\npolicy:\n  maxLiveDays: 7\n`,
    );
    env = await cliEnv({ KEYLOOP_KEY: 'ef'.repeat(32), GITHUB_TOKEN: ADMIN_TOKEN, GITHUB_API_URL: gh.url, XDG_CACHE_HOME: path.join(dir, 'cache') });
  });
  afterAll(async () => {
    await gh?.close();
    await issuer?.close();
  });

  const ctx = () => cliContext(path.join(dir, 'work'), env);
  const orgOpts = () => orgOptions(OPERATOR_CONFIG);

  it('org --dry-run style hook prints the plan and opens nothing', async () => {
    const { c, out } = ctx();
    const hook = await orgIssueLoop({ dryRun: true, config: OPERATOR_CONFIG, allowInsecureIssuers: true }, c, { client: { throttle: false } });
    expect(await orgCommand(orgOpts(), c, { afterScan: hook, client: { throttle: false } })).toBe(0);
    expect(out()).toMatch(/would open issue in acme\/api: "Leaked GitHub key in app\/\.env"/);
    expect(gh.issues).toHaveLength(0);
  });

  it('org opens one issue per live secret at the end of the run', async () => {
    const { c, err } = ctx();
    const hook = await orgIssueLoop({ issues: true, config: OPERATOR_CONFIG, allowInsecureIssuers: true }, c, { client: { throttle: false } });
    expect(await orgCommand(orgOpts(), c, { afterScan: hook, client: { throttle: false } })).toBe(0);
    expect(err()).toMatch(/issue loop: 2 action\(s\)/);
    expect(gh.issues.map((i) => i.title).sort()).toEqual(['Leaked GitHub key in app/.env', 'Leaked GitHub key in tests/fixture.txt']);
    expect(gh.issues.find((i) => i.title.includes('app/.env'))!.assignees).toEqual(['alice']);
    // eve maps to no GitHub account: the fallback owner gets it.
    expect(gh.issues.find((i) => i.title.includes('fixture'))!.assignees).toEqual(['lead']);
    expect(allIssueText(gh)).not.toContain(T1);
    expect(allIssueText(gh)).not.toContain(T2);
  });

  it('triage --false-positive labels and closes the issue, and the fingerprint is suppressed', async () => {
    const fixture = gh.issues.find((i) => i.title.includes('fixture'))!;
    const fp = /keyloop:fingerprint=([0-9a-f]{64})/.exec(fixture.body)![1]!;
    const r = await runCli(['triage', fp.slice(0, 10), '--false-positive', '--note', 'test fixture'], { cwd: path.join(dir, 'work'), env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('open → false-positive');
    expect(r.stdout).toMatch(/acme\/api#\d+: closed/);
    expect(fixture.state).toBe('closed');
    expect(fixture.state_reason).toBe('not_planned');
    expect(fixture.labels).toContain('false-positive');
    expect(fixture.comments.at(-1)!.body).toContain('> test fixture');
    const { openStore } = await import('../../src/store/index.js');
    const { suppressedFingerprints } = await import('../../src/loop/triage.js');
    const store = await openStore(path.join(dir, 'work', 'keyloop.db'));
    expect([...(await suppressedFingerprints(store))]).toEqual([fp]);
    await store.close();

    // The loop leaves it closed on the next run even though the key is live.
    const again = await runCli(['issues', '--format', 'json', '--config', OPERATOR_CONFIG, '--allow-insecure-issuers'], { cwd: path.join(dir, 'work'), env });
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as { actions: unknown[] }).actions).toEqual([]);
    expect(fixture.state).toBe('closed');

    const back = await runCli(['triage', fp, '--reopen'], { cwd: path.join(dir, 'work'), env });
    expect(back.code).toBe(0);
    expect(fixture.state).toBe('open');
    expect(fixture.labels).not.toContain('false-positive');
  });

  it('triage argument errors are one line', async () => {
    const r = await runCli(['triage', 'abcdef12', '--false-positive', '--reopen'], { cwd: path.join(dir, 'work'), env });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('keyloop: give exactly one of --false-positive, --accepted-risk, --reopen\n');
  });

  it('issues --dry-run plans, report shows the figures', async () => {
    issuer.setKey('github', T1!, 'dead');
    const dry = await runCli(['issues', '--dry-run', '--config', OPERATOR_CONFIG, '--allow-insecure-issuers'], { cwd: path.join(dir, 'work'), env });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('(dry run: nothing changed)');
    const rep = await runCli(['report', '--format', 'json'], { cwd: path.join(dir, 'work'), env });
    const data = JSON.parse(rep.stdout) as { totals: Record<string, number>; precision: { detector: string; falsePositives: number }[] };
    expect(data.totals).toMatchObject({ secrets: 2, issuesOpen: 2, falsePositives: 0 });
    const md = await runCli(['report', '-o', 'r.html', '--format', 'html'], { cwd: path.join(dir, 'work'), env });
    expect(md.code).toBe(0);
    expect(md.stderr).toMatch(/report written to .*r\.html/);
  });
});
