// `keyloop scan --verify` end to end: real catalog, real repo, fake issuers over loopback set as operator base URLs
// (--config) on loopback http, which only --allow-insecure-issuers accepts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/detection/load.js';
import { buildRepo, tempDir, type BuiltRepo } from '../../testkit/git-repo.js';
import { FakeIssuer } from '../../testkit/fake-issuer.js';
import { generateSample, rng } from '../../testkit/token-gen.js';
import { runCli } from '../helpers/run-cli.js';
import { scanFindings } from '../helpers/scan-report.js';

const catalog = loadCatalog(join(import.meta.dirname, '..', '..', 'detectors'));
const rand = rng(77);
const sample = (id: string) => generateSample(catalog.byId.get(id)!.def, rand).secret;

let issuer: FakeIssuer;
let repo: BuiltRepo;
/** The operator's config (--config): where the fake issuers are. A repository's own .keyloop.yaml cannot say that. */
let operatorConfig: string;
const live = sample('github-pat-classic');
const dead = sample('github-pat-classic');
const slack = sample('slack-bot-token');

beforeAll(async () => {
  issuer = await FakeIssuer.start();
  issuer.setKey('github', live, 'live');
  issuer.setKey('slack', slack, 'live');
  repo = await buildRepo({
    commits: [{ id: 'c1', files: { 'ci/deploy.sh': `export GH_TOKEN=${live}\nexport OLD_TOKEN=${dead}\n`, 'bot/config.yml': `slack:\n  token: ${slack}\n` } }],
  });
  operatorConfig = join(await tempDir(), 'operator.yaml');
  writeFileSync(
    operatorConfig,
    `issuers:\n  github: { baseUrl: "${issuer.baseUrl('github')}" }\n  slack: { baseUrl: "${issuer.baseUrl('slack')}" }\n`,
  );
});
afterAll(async () => issuer?.close?.());

describe('keyloop scan --verify', () => {
  it('adds verification {status, checkedAt, reason, identity} to each finding', async () => {
    const r = await runCli(['scan', repo.dir, '--verify', '--format', 'json', '--reveal', '--no-progress', '--config', operatorConfig, '--allow-insecure-issuers']);
    expect(r.code).toBe(1);
    const fs = scanFindings(r.stdout) as unknown as { secret: string; verification: { status: string; checkedAt: string; reason: string; identity?: Record<string, string> } }[];
    const by = (s: string) => fs.find((f) => f.secret === s)!.verification;
    expect(by(live).status).toBe('live');
    expect(by(live).identity?.login).toMatch(/^user-/);
    expect(Date.parse(by(live).checkedAt)).not.toBeNaN();
    expect(by(dead).status).toBe('dead');
    expect(by(slack).status).toBe('live');
    // each secret went only to its own issuer
    for (const req of issuer.requests) {
      const seen = JSON.stringify(req.headers) + req.rawUrl + req.body;
      if (seen.includes(slack)) expect(req.issuer).toBe('slack');
      if (seen.includes(live) || seen.includes(dead)) expect(req.issuer).toBe('github');
    }
  });

  it('--only-live keeps only live keys; the table shows a status column; nothing leaks without --reveal', async () => {
    const only = await runCli(['scan', repo.dir, '--only-live', '--format', 'json', '--reveal', '--no-progress', '--config', operatorConfig, '--allow-insecure-issuers']);
    expect((scanFindings(only.stdout) as unknown as { secret: string }[]).map((f) => f.secret).sort()).toEqual([live, slack].sort());
    const table = await runCli(['scan', repo.dir, '--verify', '--format', 'table', '--no-progress', '--config', operatorConfig, '--allow-insecure-issuers']);
    expect(table.stdout).toContain('STATUS');
    expect(table.stdout).toMatch(/dead/);
    for (const s of [live, dead, slack]) {
      expect(table.stdout + table.stderr).not.toContain(s);
    }
  });

  it('an issuer outage is unknown, never dead', async () => {
    issuer.setIssuer('github', '5xx');
    try {
      const r = await runCli(['scan', repo.dir, '--verify', '--format', 'json', '--reveal', '--no-progress', '--config', operatorConfig, '--allow-insecure-issuers']);
      const fs = scanFindings(r.stdout) as unknown as { secret: string; verification: { status: string } }[];
      expect(fs.find((f) => f.secret === live)!.verification.status).toBe('unknown');
      expect(fs.find((f) => f.secret === dead)!.verification.status).toBe('unknown');
    } finally {
      issuer.setIssuer('github', undefined);
    }
  });
});
