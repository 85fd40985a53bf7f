// "Which tokens are unused?": last use as the issuers report it (GitLab last_used_at, AWS GetAccessKeyLastUsed, via
// the fake issuers and the real verifier), kept with the verification in a real store, then
// `keyloop secrets --unused DAYS` and the report. A key whose issuer does not expose last use is never listed.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../src/core/fingerprint.js';
import { loadCatalog } from '../src/detection/load.js';
import { openStore } from '../src/store/index.js';
import { SecretRegistry } from '../src/util/redact.js';
import { createVerifier } from '../src/verification/verify.js';
import { tempDir } from '../testkit/git-repo.js';
import { generateSample, rng } from '../testkit/token-gen.js';
import { useFakeIssuer } from './helpers/issuer-fixture.js';
import { runCli } from './helpers/run-cli.js';

const catalog = loadCatalog(join(import.meta.dirname, '..', 'detectors'));
const rand = rng(2124);
const secretOf = (id: string) => generateSample(catalog.byId.get(id)!.def, rand).secret;
const KEY = '5a'.repeat(32);
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString();

const fx = useFakeIssuer();

describe('secrets --unused', () => {
  it('lists live keys unused for DAYS days or never used, from what GitLab and AWS report', async () => {
    const f = fx.fake;
    const idle = secretOf('gitlab-pat');
    const busy = secretOf('gitlab-pat');
    const neverUsed = secretOf('gitlab-pat');
    const github = secretOf('github-pat-classic');
    const awsId = secretOf('aws-access-key-id');
    const awsSecret = randomBytes(30).toString('base64');
    for (const t of [idle, busy, neverUsed]) f.setKey('gitlab', t);
    f.setProfile('gitlab', idle, { scopes: ['api'], lastUsed: daysAgo(100) });
    f.setProfile('gitlab', busy, { scopes: ['api'], lastUsed: daysAgo(1) });
    f.setProfile('gitlab', neverUsed, { scopes: ['read_api'], lastUsed: null });
    f.setKey('github', github);
    f.aws.set(awsId, awsSecret);
    f.setKey('aws', awsId);
    f.setKey('aws-iam', awsId);
    f.awsIdentity.set(awsId, { account: '123456789012', arn: 'arn:aws:iam::123456789012:user/old' });
    f.setProfile('aws-iam', awsId, { user: 'old', policies: ['ReadOnlyAccess'], lastUsed: daysAgo(400) });

    const dir = await tempDir('keyloop-unused-');
    const db = join(dir, 'keyloop.db');
    const store = await openStore(db, { key: Buffer.from(KEY, 'hex') });
    const verifier = createVerifier({ baseUrls: f.baseUrls(), allowInsecure: true, registry: new SecretRegistry(), reach: true });
    const keys: Array<{ detector: string; secret: string; parts: Record<string, string> }> = [
      { detector: 'gitlab-pat', secret: idle, parts: {} },
      { detector: 'gitlab-pat', secret: busy, parts: {} },
      { detector: 'gitlab-pat', secret: neverUsed, parts: {} },
      { detector: 'github-pat-classic', secret: github, parts: {} },
      { detector: 'aws-access-key-id', secret: awsId, parts: { secret_access_key: awsSecret } },
    ];
    const fps = new Map<string, string>();
    try {
      for (const [i, k] of keys.entries()) {
        const det = catalog.byId.get(k.detector)!;
        const fp = fingerprint(k.detector, k.secret);
        fps.set(k.secret, fp);
        await store.recordRepoScan(null, 'acme/api', {
          findings: [
            {
              detector: k.detector,
              name: det.def.name,
              provider: det.provider.id,
              severity: 'high',
              fingerprint: fp,
              redacted: `…${k.secret.slice(-4)}`,
              secret: k.secret,
              parts: k.parts,
              locations: [{ commit: 'a'.repeat(40), author: { name: 'A', email: 'a@example.test' }, date: '2024-01-01T00:00:00Z', path: `k${i}.env`, line: 1, column: 1, blob: String(i).repeat(40) }],
            },
          ],
          blobs: [],
        });
        const v = await verifier.verify({ detector: det, secret: k.secret, parts: k.parts, fingerprint: fp });
        expect(v.status, `${k.detector}: ${v.reason}`).toBe('live');
        await store.addVerification(fp, v);
      }
    } finally {
      await store.close();
    }

    const r = await runCli(['secrets', '--db', db, '--unused', '30', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ fingerprint: string; lastVerification: { reach: { lastUsedAt: string | null } } }>;
    expect(new Set(rows.map((x) => x.fingerprint))).toEqual(new Set([fps.get(idle), fps.get(neverUsed), fps.get(awsId)]));
    expect(rows.find((x) => x.fingerprint === fps.get(neverUsed))!.lastVerification.reach.lastUsedAt).toBeNull();
    // a longer threshold drops the key idle for 100 days, keeps the one never used and the AWS key idle for 400
    const long = JSON.parse((await runCli(['secrets', '--db', db, '--unused', '365', '--format', 'json'])).stdout) as Array<{ fingerprint: string }>;
    expect(new Set(long.map((x) => x.fingerprint))).toEqual(new Set([fps.get(neverUsed), fps.get(awsId)]));
    const table = await runCli(['secrets', '--db', db, '--unused', '30']);
    expect(table.stdout).toMatch(/LAST USED\s+OWNER/);
    expect(table.stdout).toMatch(/\bnever\b/);
    expect(table.stdout).toContain('3 secret(s)');

    // the report lists every live key whose issuer reports last use, never used first
    const rep = JSON.parse((await runCli(['report', '--db', db, '--format', 'json'])).stdout) as { lastUsed: Array<{ fingerprint: string; lastUsedAt: string | null; idleDays: number | null }> };
    expect(rep.lastUsed.map((u) => u.fingerprint)).toEqual([fps.get(neverUsed), fps.get(awsId), fps.get(idle), fps.get(busy)]);
    expect(rep.lastUsed[1]!.idleDays).toBeGreaterThanOrEqual(399);
    const md = (await runCli(['report', '--db', db, '--format', 'md'])).stdout;
    expect(md).toContain('## Live keys and their last use');
    const html = (await runCli(['report', '--db', db, '--format', 'html'])).stdout;
    const lastUsed = /<table id="last-used">(.*?)<\/table>/.exec(html)?.[1] ?? '';
    expect([...lastUsed.matchAll(/data-fingerprint="([0-9a-f]{64})"/g)].map((m) => m[1])).toEqual(rep.lastUsed.map((u) => u.fingerprint));
    expect(lastUsed).toContain('<td>never</td>');
    for (const k of keys) expect(r.stdout + table.stdout + md + html).not.toContain(k.secret);
  });
});
