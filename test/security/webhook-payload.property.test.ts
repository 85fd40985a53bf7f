// Property tests for webhook payload parsing (src/app/events.ts): random and mutated payloads either normalize
// into a job whose every git-bound value is safe, or throw the documented ConfigError; nothing else.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cloneUrlFor, isRepoFullName } from '../../src/adapters/github/clone-url.js';
import { ConfigError } from '../../src/core/errors.js';
import { Job, normalizeEvent, type Job as JobT } from '../../src/app/events.js';
import { isBranchName, isRefName } from '../../src/core/git-names.js';

const BASES = ['https://api.github.com', 'https://ghes.example.com/api/v3', 'http://127.0.0.1:8080'];
const HEX = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

const hostile = fc.oneof(
  fc.constantFrom(
    '--upload-pack=touch /tmp/PWNED;true',
    '-u',
    '--output=/tmp/x',
    'http://127.0.0.1:18080/x.git',
    'https://evil.example.com/acme/app.git',
    'ext::sh -c touch% /tmp/x',
    'file:///etc',
    '../../etc/passwd',
    'acme/../../x',
    'acme/app\u001b[31m',
    'refs/heads/main\n--all',
    'refs/heads/a..b',
    'refs/heads/-x',
    '@',
    '',
    'a'.repeat(5000),
  ),
  fc.string(),
  fc.string({ unit: 'binary' }),
);
const value = fc.oneof(hostile, fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.string(), { maxLength: 2 }), fc.object({ maxDepth: 1 }));
const sha = fc.oneof(fc.constant('0'.repeat(40)), fc.stringMatching(/^[0-9a-f]{40}$/), hostile);

const repository = fc.record(
  {
    id: fc.oneof(fc.integer(), value),
    full_name: fc.oneof(fc.constantFrom('acme/app', 'Acme-Corp/.github', 'octo_emu/x.y'), hostile),
    clone_url: hostile,
    default_branch: fc.oneof(fc.constantFrom('main', 'release/1.x'), hostile),
    private: fc.oneof(fc.boolean(), value),
  },
  { requiredKeys: [] },
);

const push = fc.record(
  {
    ref: fc.oneof(fc.constantFrom('refs/heads/main', 'refs/tags/v1', 'refs/heads/feature/x'), hostile),
    before: sha,
    after: sha,
    created: fc.oneof(fc.boolean(), value),
    deleted: fc.oneof(fc.boolean(), value),
    forced: fc.oneof(fc.boolean(), value),
    repository: fc.oneof(repository, value),
    installation: fc.oneof(fc.record({ id: fc.oneof(fc.integer(), value) }), value),
    head_commit: fc.oneof(fc.constant(null), fc.record({ id: sha }), value),
  },
  { requiredKeys: [] },
);

const repoLite = fc.record({ id: fc.oneof(fc.integer(), value), full_name: repository.map((r) => r.full_name), private: fc.oneof(fc.boolean(), value) }, { requiredKeys: [] });
const installation = fc.record(
  {
    action: fc.oneof(fc.constantFrom('created', 'deleted', 'suspend', 'unsuspend', 'added', 'removed', 'new_permissions_accepted'), hostile),
    installation: fc.oneof(fc.record({ id: fc.oneof(fc.integer({ min: 1 }), value), account: fc.oneof(fc.record({ login: hostile }), value) }), value),
    repositories: fc.oneof(fc.array(repoLite, { maxLength: 4 }), value),
    repositories_added: fc.oneof(fc.array(repoLite, { maxLength: 4 }), value),
    repositories_removed: fc.oneof(fc.array(repoLite, { maxLength: 4 }), value),
  },
  { requiredKeys: [] },
);

const event = fc.oneof(fc.constantFrom('push', 'installation', 'installation_repositories', 'ping', 'star'), fc.string());
const payload = fc.oneof(push, installation, fc.jsonValue(), fc.anything());

function checkJob(job: JobT, base: string): void {
  // What the queue stores must parse back (a restart reads it with the same schema).
  expect(Job.parse(JSON.parse(JSON.stringify(job)))).toBeTruthy();
  const repos = job.kind === 'repos' ? job.added : [job.repo];
  for (const r of repos) {
    expect(isRepoFullName(r.fullName)).toBe(true);
    if (r.defaultBranch !== undefined) expect(isBranchName(r.defaultBranch)).toBe(true);
    const url = cloneUrlFor(base, r.fullName);
    expect(url.startsWith('-')).toBe(false);
    expect(new URL(url).host).toBe(new URL(base).host === 'api.github.com' ? 'github.com' : new URL(base).host);
  }
  if (job.kind === 'repos') for (const n of job.removed) expect(isRepoFullName(n)).toBe(true);
  if (job.kind === 'push') {
    expect(isRefName(job.ref)).toBe(true);
    expect(job.before).toMatch(HEX);
    expect(job.after).toMatch(HEX);
  }
  // Nothing from a payload's clone_url survives into the job.
  expect(JSON.stringify(job)).not.toMatch(/clone|evil\.example|18080|upload-pack|ext::/);
}

describe('normalizeEvent on hostile payloads', () => {
  it('returns a safe job or throws ConfigError, for random and mutated payloads', () => {
    fc.assert(
      fc.property(event, payload, fc.constantFrom(...BASES), (ev, p, base) => {
        let out;
        try {
          out = normalizeEvent(ev, p);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          return;
        }
        if (out.job) checkJob(out.job, base);
        if (out.repo !== null) expect(isRepoFullName(out.repo)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('a push payload with valid fields normalizes, whatever its clone_url says', () => {
    fc.assert(
      fc.property(hostile, fc.stringMatching(/^[0-9a-f]{40}$/), fc.stringMatching(/^[0-9a-f]{40}$/), (cloneUrl, before, after) => {
        const out = normalizeEvent('push', { ref: 'refs/heads/main', before, after, repository: { full_name: 'acme/app', clone_url: cloneUrl }, installation: { id: 1 } });
        expect(out.job).toMatchObject({ kind: 'push', repo: { fullName: 'acme/app' } });
        expect(JSON.stringify(out.job)).not.toContain('clone');
      }),
      { numRuns: 300 },
    );
  });

  // found by the property above (seed 1097549667): the action string was carried into the queued job as given
  it('installation_repositories acts only on `added`/`removed`; any other action is ignored, not queued', () => {
    const base = { installation: { id: 1, account: { login: 'acme' } }, repositories_added: [{ full_name: 'acme/app' }], repositories_removed: [] };
    for (const action of ['--upload-pack=touch /tmp/PWNED;true', 'deleted', '']) {
      expect(normalizeEvent('installation_repositories', { ...base, action }).job).toBeNull();
    }
    expect(normalizeEvent('installation_repositories', { ...base, action: 'added' }).job).toMatchObject({ kind: 'repos', action: 'added', added: [{ fullName: 'acme/app' }] });
  });
});
