// A demo loop history for the HTML report's screenshot (docs/report.png) and its tests: five repositories, seventeen
// findings of every severity, owners and a CODEOWNERS team, verifications over months, issues opened and closed.
// Secret-free by construction: the "secrets" are placeholder words no detector matches, previews are made up.
import { createHash } from 'node:crypto';
import type { Verification } from '../src/core/model.js';
import type { Store } from '../src/store/index.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';

export const DEMO_NOW = new Date('2025-06-02T09:00:00Z');
export const DEMO_KEY = Buffer.from('5e'.repeat(32), 'hex');

type Sev = 'critical' | 'high' | 'medium' | 'low';
interface DemoSecret {
  detector: string;
  name: string;
  provider: string;
  severity: Sev;
  /** made-up preview: a prefix, an ellipsis and four characters */
  preview: string;
  repo: string;
  paths: string[];
  committed: string;
  detected: string;
  /** [status, ISO date] in order */
  checks: [Verification['status'], string][];
  owner?: string;
  status?: 'false-positive' | 'ignored' | 'revoked';
  issue?: 'open' | 'closed';
}

const S: DemoSecret[] = [
  { detector: 'aws-access-key-id', name: 'AWS access key', provider: 'aws', severity: 'critical', preview: 'AKIA…Q7TX', repo: 'acme/payments-api', paths: ['config/prod.env'], committed: '2024-11-04', detected: '2025-01-06', checks: [['live', '2025-01-06'], ['live', '2025-03-01'], ['live', '2025-06-01']], owner: 'alice', issue: 'open' },
  { detector: 'stripe-secret-key', name: 'Stripe secret key', provider: 'stripe', severity: 'critical', preview: 'sk_l…9fQa', repo: 'acme/payments-api', paths: ['src/billing/settings.py', 'docs/setup.md'], committed: '2024-12-12', detected: '2025-01-06', checks: [['live', '2025-01-06'], ['dead', '2025-01-09']], owner: 'alice', issue: 'closed' },
  { detector: 'github-pat-classic', name: 'GitHub personal access token (classic)', provider: 'github', severity: 'critical', preview: 'ghp_…mK2d', repo: 'acme/infra-terraform', paths: ['.github/workflows/deploy.yml'], committed: '2025-01-20', detected: '2025-01-21', checks: [['live', '2025-01-21'], ['dead', '2025-01-22']], owner: 'acme/platform-team', issue: 'closed' },
  { detector: 'gcp-service-account-key', name: 'GCP service account key', provider: 'gcp', severity: 'critical', preview: '{"ty…e7b1', repo: 'acme/data-pipeline', paths: ['jobs/backfill/credentials.json'], committed: '2025-02-14', detected: '2025-02-15', checks: [['live', '2025-02-15'], ['live', '2025-04-10']], owner: 'dave', issue: 'open' },
  { detector: 'slack-bot-token', name: 'Slack bot token', provider: 'slack', severity: 'high', preview: 'xoxb…0Lrs', repo: 'acme/web-storefront', paths: ['scripts/notify-release.sh'], committed: '2024-10-02', detected: '2025-01-06', checks: [['live', '2025-01-06'], ['unknown', '2025-01-20'], ['dead', '2025-02-03']], owner: 'bob', issue: 'closed' },
  { detector: 'openai-api-key', name: 'OpenAI API key', provider: 'openai', severity: 'high', preview: 'sk-p…T3bl', repo: 'acme/web-storefront', paths: ['server/ai/summarize.ts'], committed: '2025-03-18', detected: '2025-03-19', checks: [['live', '2025-03-19'], ['live', '2025-05-30']], owner: 'bob', issue: 'open' },
  { detector: 'npm-access-token', name: 'npm access token', provider: 'npm', severity: 'high', preview: 'npm_…4ZqE', repo: 'acme/mobile-app', paths: ['.npmrc'], committed: '2025-02-02', detected: '2025-02-03', checks: [['live', '2025-02-03'], ['dead', '2025-02-10']], owner: 'carol', issue: 'closed' },
  { detector: 'datadog-api-key', name: 'Datadog API key', provider: 'datadog', severity: 'high', preview: '3f1c…a90e', repo: 'acme/data-pipeline', paths: ['deploy/values.yaml'], committed: '2025-04-01', detected: '2025-04-02', checks: [['unknown', '2025-04-02'], ['unknown', '2025-05-01']], owner: 'acme/platform-team', issue: 'open' },
  { detector: 'azure-storage-account-key', name: 'Azure storage account key', provider: 'azure', severity: 'high', preview: 'Xr9d…Ng==', repo: 'acme/infra-terraform', paths: ['terraform/storage.tf'], committed: '2024-09-15', detected: '2025-01-06', checks: [['live', '2025-01-06'], ['dead', '2025-03-04']], owner: 'acme/platform-team', issue: 'closed' },
  { detector: 'github-pat-classic', name: 'GitHub personal access token (classic)', provider: 'github', severity: 'high', preview: 'ghp_…Vw8c', repo: 'acme/infra-terraform', paths: ['scripts/bootstrap.sh'], committed: '2025-03-10', detected: '2025-03-11', checks: [['live', '2025-03-11'], ['dead', '2025-03-13']], owner: 'acme/platform-team', issue: 'closed' },
  { detector: 'private-key', name: 'Private key (PEM)', provider: 'generic', severity: 'medium', preview: '----…KEY-', repo: 'acme/mobile-app', paths: ['android/app/release.pem'], committed: '2024-08-20', detected: '2025-01-06', checks: [], owner: 'carol', issue: 'open' },
  { detector: 'generic-secret-assignment', name: 'Secret assignment', provider: 'generic', severity: 'medium', preview: 'Q2hh…dGVy', repo: 'acme/web-storefront', paths: ['src/config/legacy.js'], committed: '2024-12-01', detected: '2025-01-06', checks: [], status: 'false-positive' },
  { detector: 'azure-ad-client-secret', name: 'Azure AD client secret', provider: 'azure', severity: 'medium', preview: 'p8Q~…xY1z', repo: 'acme/payments-api', paths: ['helm/secrets.yaml'], committed: '2025-05-06', detected: '2025-05-07', checks: [['live', '2025-05-07'], ['dead', '2025-05-12']], owner: 'alice', issue: 'closed' },
  { detector: 'generic-url-credentials', name: 'Credentials in a URL', provider: 'generic', severity: 'medium', preview: 'http…@db:', repo: 'acme/data-pipeline', paths: ['notebooks/explore.ipynb'], committed: '2025-05-20', detected: '2025-05-21', checks: [['unknown', '2025-05-21']] },
  { detector: 'generic-password-assignment', name: 'Password assignment', provider: 'generic', severity: 'low', preview: 'hunt…r2!x', repo: 'acme/mobile-app', paths: ['test/fixtures/login.json'], committed: '2025-03-03', detected: '2025-03-04', checks: [], owner: 'carol', status: 'ignored' },
  { detector: 'generic-bearer-token', name: 'Bearer token', provider: 'generic', severity: 'low', preview: 'eyJh…4dQw', repo: 'acme/web-storefront', paths: ['e2e/recordings/checkout.har'], committed: '2025-04-22', detected: '2025-04-23', checks: [['dead', '2025-04-23']] },
  { detector: 'twilio-api-key', name: 'Twilio API key', provider: 'twilio', severity: 'low', preview: 'SK9a…31c0', repo: 'acme/payments-api', paths: ['src/notify/sms.py'], committed: '2025-01-28', detected: '2025-01-29', checks: [['live', '2025-01-29'], ['dead', '2025-04-18']], owner: 'dave', issue: 'closed' },
];

const hex = (s: string, n: number) => createHash('sha256').update(s).digest('hex').slice(0, n);

/** Fills `store` with the demo history; its clock must be the one given here (detection times are set through it). */
async function fill(store: Store, clock: { t: number }): Promise<void> {
  for (const repo of [...new Set(S.map((s) => s.repo))]) await store.upsertRepo({ fullName: repo, private: true });
  const byDetection = [...S.entries()].sort(([, a], [, b]) => a.detected.localeCompare(b.detected));
  const issueNo = new Map<string, number>();
  for (const [i, s] of byDetection) {
    clock.t = Date.parse(`${s.detected}T08:00:00Z`);
    const fingerprint = hex(`keyloop-demo-${i}`, 64);
    await store.recordRepoScan(null, s.repo, {
      blobs: [],
      findings: [
        {
          detector: s.detector,
          name: s.name,
          provider: s.provider,
          severity: s.severity,
          fingerprint,
          redacted: s.preview,
          secret: `demo placeholder ${i}, not a credential`,
          parts: {},
          locations: s.paths.map((path, j) => ({
            commit: hex(`commit-${i}-${j}`, 40),
            blob: hex(`blob-${i}-${j}`, 40),
            author: { name: s.owner && !s.owner.includes('/') ? s.owner : 'ci-bot', email: 'dev@acme.example' },
            date: `${s.committed}T${String(10 + j).padStart(2, '0')}:30:00Z`,
            path,
            line: 3 + j * 11,
            column: 1,
          })),
        },
      ],
    });
    for (const [status, at] of s.checks) await store.addVerification(fingerprint, { status, checkedAt: `${at}T08:05:00.000Z`, reason: `demo: ${status}` });
    if (s.owner) await store.setOwner(fingerprint, s.repo, s.owner, s.owner.includes('/') ? 'codeowners' : 'commit-author');
    if (s.status) await store.setSecretStatus(fingerprint, s.status);
    if (s.issue) {
      const n = (issueNo.get(s.repo) ?? 0) + 1;
      issueNo.set(s.repo, n);
      const assignees = s.owner && !s.owner.includes('/') ? [s.owner] : [];
      await store.upsertIssue({ repo: s.repo, number: n, fingerprint, subjectRepo: s.repo, state: s.issue, ...(s.issue === 'closed' ? { stateReason: 'completed' } : {}), assignees });
    }
  }
  clock.t = DEMO_NOW.getTime();
}

/** Creates the demo database at `path` and returns it open (at DEMO_NOW). */
export async function openDemoStore(path: string): Promise<Store> {
  const clock = { t: DEMO_NOW.getTime() };
  const store = openSqliteStore(path, { key: DEMO_KEY, clock: { now: () => new Date(clock.t) } });
  await fill(store, clock);
  return store;
}

export const DEMO_SECRET_COUNT = S.length;
