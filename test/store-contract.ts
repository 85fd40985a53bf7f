// The Store contract: every method of the port, written once against the interface and run against each adapter
// (store-sqlite.test.ts, store-postgres.test.ts). An adapter passes when it behaves like this, keys included.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fingerprint } from '../src/core/fingerprint.js';
import type { Reach } from '../src/core/model.js';
import type { Clock, OutboundCall } from '../src/core/ports.js';
import type { FindingInput, Store } from '../src/core/store.js';

/** One database of the adapter under test; `open` may be called several times (each is a separate connection, like another process). */
export interface ContractDb {
  open(opts?: { key?: Buffer; clock?: Clock }): Promise<Store>;
  /** Rewrites a run's pid (simulates a process that died, or one that is alive). */
  setRunPid(store: Store, runId: number, pid: number): Promise<void>;
  count(store: Store, table: string): Promise<number>;
  /** Every byte the database holds at rest (SQLite: its files; PostgreSQL: every column of every table). */
  atRest(store: Store): Promise<Buffer>;
  cleanup(): Promise<void>;
}

const b62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const randomToken = (prefix: string, n: number) => prefix + [...randomBytes(n)].map((x) => b62[x % 62]).join('');
const oid = (c: string) => c.repeat(40);
/** Catalog versions (detection/catalog-version.ts digests). */
const CATALOG_A = 'a'.repeat(64);
const CATALOG_B = 'b'.repeat(64);

export function finding(secret: string, over: Partial<FindingInput> = {}): FindingInput {
  const detector = over.detector ?? 'github-pat';
  return {
    detector,
    name: 'GitHub personal access token',
    provider: 'github',
    severity: 'high',
    fingerprint: fingerprint(detector, secret),
    redacted: 'ghp_…' + secret.slice(-4),
    secret,
    parts: {},
    locations: [
      {
        commit: oid('a'),
        author: { name: 'Alice', email: 'alice@example.test' },
        date: '2024-01-02T03:04:05Z',
        path: 'config/.env',
        line: 3,
        column: 7,
        blob: oid('b'),
      },
    ],
    ...over,
  };
}

export function storeContract(name: string, makeDb: () => Promise<ContractDb>): void {
  describe(`Store contract: ${name}`, () => {
    const open: { db: ContractDb; stores: Store[] }[] = [];
    /** A fresh database and a store on it (closed and dropped after the test). */
    async function fresh(opts: { key?: Buffer; clock?: Clock } = { key: randomBytes(32) }) {
      const db = await makeDb();
      const entry = { db, stores: [] as Store[] };
      open.push(entry);
      const again = async (o: { key?: Buffer; clock?: Clock } = opts) => {
        const s = await db.open(o);
        entry.stores.push(s);
        return s;
      };
      return { db, s: await again(), again };
    }
    afterEach(async () => {
      for (const e of open.splice(0)) {
        for (const s of e.stores) await s.close().catch(() => {});
        await e.db.cleanup();
      }
    });

    describe('repos', () => {
      it('upserts by full name: same id, unspecified fields keep their value, listed by name', async () => {
        const { s } = await fresh();
        const id = await s.upsertRepo({ fullName: 'acme/web', defaultBranch: 'main', private: true, cloneUrl: 'https://example.test/acme/web.git' });
        expect(await s.upsertRepo({ fullName: 'acme/web', mirrorPath: '/m/web.git' })).toBe(id);
        await s.upsertRepo({ fullName: 'acme/API', fork: true });
        expect(await s.getRepo('acme/web')).toMatchObject({
          id,
          fullName: 'acme/web',
          defaultBranch: 'main',
          private: true,
          fork: false,
          archived: false,
          cloneUrl: 'https://example.test/acme/web.git',
          mirrorPath: '/m/web.git',
          headCommit: null,
          lastScannedAt: null,
          lastError: null,
          pushedAt: null,
        });
        expect(await s.getRepo('acme/none')).toBeUndefined();
        // Byte order, as SQLite compares: upper case before lower case.
        expect((await s.listRepos()).map((r) => [r.fullName, r.fork])).toEqual([
          ['acme/API', true],
          ['acme/web', false],
        ]);
        await expect(s.upsertRepo({ fullName: 'no-slash' })).rejects.toThrow(/check/i);
      });
    });

    describe('runs and scans', () => {
      it('records a repo scan once: a rerun adds no secret, location, blob or event, and counters add up', async () => {
        const { db, s } = await fresh();
        const f = finding(randomToken('ghp_', 36));
        const run = await s.beginRun('org', 'acme');
        expect(run).toMatchObject({ resumed: false, finishedRepos: new Set() });
        await s.setRunTotal(run.id, 3);
        const first = await s.recordRepoScan(run.id, 'acme/api', {
          findings: [f],
          blobs: [
            [oid('b'), 'scanned'],
            [oid('c'), 'skipped'],
          ],
          catalog: CATALOG_A,
          bytesScanned: 100,
          headCommit: oid('d'),
          pushedAt: '2024-05-01T00:00:00Z',
          elapsedMs: 12.6,
          suppressedByRepoConfig: 2,
        });
        expect(first).toEqual({ newSecrets: 1, newLocations: 1, blobsScanned: 1, blobsSkipped: 1 });
        const second = await s.recordRepoScan(run.id, 'acme/api', { findings: [f], blobs: [[oid('b'), 'scanned']], catalog: CATALOG_A });
        expect(second).toEqual({ newSecrets: 0, newLocations: 0, blobsScanned: 0, blobsSkipped: 0 });
        // The same secret in a second repo: one secret, two repos, one more 'detected' event.
        await s.recordRepoScan(run.id, 'acme/web', { findings: [f], blobs: [[oid('b'), 'scanned']], catalog: CATALOG_A, suppressedByRepoConfig: 1 });
        expect(await s.scannedBlobs('acme/api', CATALOG_A)).toEqual(new Set([oid('b'), oid('c')]));
        expect((await s.scannedBlobs('acme/unknown', CATALOG_A)).size).toBe(0);
        expect([await db.count(s, 'secrets'), await db.count(s, 'locations'), await db.count(s, 'scanned_blobs'), await db.count(s, 'events')]).toEqual([1, 2, 3, 2]);
        expect((await s.events({ kind: 'detected' })).map((e) => [e.repo, e.detail, e.runId, e.fingerprint])).toEqual([
          ['acme/api', { first: 1, locations: 1 }, run.id, f.fingerprint],
          ['acme/web', { first: 0, locations: 1 }, run.id, f.fingerprint],
        ]);
        expect(await s.getRepo('acme/api')).toMatchObject({ headCommit: oid('d'), pushedAt: '2024-05-01T00:00:00Z', lastError: null });
        expect((await s.getRepo('acme/api'))!.lastScannedAt).not.toBeNull();
        await s.recordRepoFailure(run.id, 'acme/gone', 'HostError: 404', 5);
        expect((await s.getRepo('acme/gone'))!.lastError).toBe('HostError: 404');
        expect(await s.runRepos(run.id)).toEqual([
          { repo: 'acme/api', status: 'done', elapsedMs: 13, blobsScanned: 1, blobsSkipped: 1, bytesScanned: 100, findings: 2, suppressedByRepoConfig: 2, error: null },
          { repo: 'acme/gone', status: 'failed', elapsedMs: 5, blobsScanned: 0, blobsSkipped: 0, bytesScanned: 0, findings: 0, suppressedByRepoConfig: 0, error: 'HostError: 404' },
          { repo: 'acme/web', status: 'done', elapsedMs: 0, blobsScanned: 1, blobsSkipped: 0, bytesScanned: 0, findings: 1, suppressedByRepoConfig: 1, error: null },
        ]);
        const done = await s.finishRun(run.id, 'failed', '1 repo failed');
        expect(done).toMatchObject({
          id: run.id,
          kind: 'org',
          target: 'acme',
          status: 'failed',
          error: '1 repo failed',
          reposTotal: 3,
          reposDone: 2,
          reposFailed: 1,
          blobsScanned: 2,
          blobsSkipped: 1,
          bytesScanned: 100,
          findings: 3,
          newSecrets: 1,
          suppressedByRepoConfig: 3,
          resumes: 0,
        });
        expect(done.finishedAt).not.toBeNull();
        expect(await s.getRun(run.id)).toEqual(done);
        expect(await s.getRun(run.id + 1000)).toBeUndefined();
      });

      it('keys scanned blobs by catalog version: another catalog records them again, counted once per catalog', async () => {
        const { db, s } = await fresh();
        const run = await s.beginRun('org', 'acme');
        const blobs: [string, 'scanned' | 'skipped'][] = [
          [oid('1'), 'scanned'],
          [oid('2'), 'scanned'],
          [oid('3'), 'skipped'],
        ];
        expect(await s.recordRepoScan(run.id, 'acme/api', { findings: [], blobs, catalog: CATALOG_A, wholeHistory: true, headCommit: oid('d') })).toMatchObject({
          blobsScanned: 2,
          blobsSkipped: 1,
        });
        expect((await s.getRepo('acme/api'))!.catalog).toBe(CATALOG_A);
        expect(await s.scannedBlobs('acme/api', CATALOG_A)).toEqual(new Set([oid('1'), oid('2'), oid('3')]));
        expect((await s.scannedBlobs('acme/api', CATALOG_B)).size).toBe(0);
        // The same catalog again: nothing new. Another catalog: every blob is recorded again, each once.
        expect(await s.recordRepoScan(run.id, 'acme/api', { findings: [], blobs, catalog: CATALOG_A })).toMatchObject({ blobsScanned: 0, blobsSkipped: 0 });
        expect(await s.recordRepoScan(run.id, 'acme/api', { findings: [], blobs: blobs.slice(0, 2), catalog: CATALOG_B })).toMatchObject({
          blobsScanned: 2,
          blobsSkipped: 0,
        });
        expect(await s.recordRepoScan(run.id, 'acme/api', { findings: [], blobs: blobs.slice(0, 2), catalog: CATALOG_B })).toMatchObject({ blobsScanned: 0 });
        expect(await s.scannedBlobs('acme/api', CATALOG_B)).toEqual(new Set([oid('1'), oid('2')]));
        expect(await s.scannedBlobs('acme/api', CATALOG_A)).toEqual(new Set([oid('3')]));
        expect(await db.count(s, 'scanned_blobs')).toBe(3);
        // Only a whole-history scan makes a catalog the repository's.
        expect((await s.getRepo('acme/api'))!.catalog).toBe(CATALOG_A);
        await s.recordRepoScan(run.id, 'acme/api', { findings: [], blobs: [[oid('3'), 'skipped']], catalog: CATALOG_B, wholeHistory: true });
        expect((await s.getRepo('acme/api'))!.catalog).toBe(CATALOG_B);
        expect((await s.listRepos()).map((r) => [r.fullName, r.catalog])).toEqual([['acme/api', CATALOG_B]]);
        expect((await s.runRepos(run.id)).map((r) => [r.blobsScanned, r.blobsSkipped])).toEqual([[4, 2]]);
        // Blobs without the catalog that looked at them are refused: they could never be skipped again.
        await expect(s.recordRepoScan(run.id, 'acme/api', { findings: [], blobs: [[oid('4'), 'scanned']] })).rejects.toThrow(/catalog/);
        expect(await db.count(s, 'scanned_blobs')).toBe(3);
      });

      it('sums what repositories\' own configs suppressed, per repo over every run, largest first', async () => {
        const { s } = await fresh();
        expect(await s.repoConfigSuppressions()).toEqual([]);
        for (const target of ['acme', 'acme-2']) {
          const run = await s.beginRun('org', target);
          await s.recordRepoScan(run.id, 'acme/api', { findings: [], blobs: [], suppressedByRepoConfig: 2 });
          await s.recordRepoScan(run.id, 'acme/web', { findings: [], blobs: [], suppressedByRepoConfig: 0 });
          await s.recordRepoScan(run.id, 'acme/zip', { findings: [], blobs: [], suppressedByRepoConfig: target === 'acme' ? 5 : 0 });
          await s.finishRun(run.id, 'completed');
        }
        const rows = await s.repoConfigSuppressions();
        expect(rows.map(({ lastAt: _l, ...r }) => r)).toEqual([
          { repo: 'acme/zip', suppressed: 5, runs: 1 },
          { repo: 'acme/api', suppressed: 4, runs: 2 },
        ]);
        for (const r of rows) expect(r.lastAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      });

      it('records without a run, and a failure after a success marks the repo failed in that run', async () => {
        const { s } = await fresh();
        const out = await s.recordRepoScan(null, 'acme/api', { findings: [finding(randomToken('ghp_', 36))], blobs: [[oid('e'), 'scanned']], catalog: CATALOG_A });
        expect(out).toEqual({ newSecrets: 1, newLocations: 1, blobsScanned: 1, blobsSkipped: 0 });
        expect((await s.events({ kind: 'detected' }))[0]!.runId).toBeNull();
        const run = await s.beginRun('scan', '/repo');
        await s.recordRepoScan(run.id, 'acme/api', { findings: [], blobs: [] });
        await s.recordRepoFailure(run.id, 'acme/api', 'boom');
        expect((await s.runRepos(run.id)).map((r) => [r.status, r.error])).toEqual([['failed', 'boom']]);
      });

      it('resumes an unfinished run with its finished repos, and refuses one held by a live process here', async () => {
        const { db, s } = await fresh();
        const run = await s.beginRun('org', 'acme');
        await s.recordRepoScan(run.id, 'acme/a', { findings: [], blobs: [] });
        await s.recordRepoFailure(run.id, 'acme/b', 'boom');
        // A process killed mid-run: the row stays 'running' with a dead pid.
        await db.setRunPid(s, run.id, 2147483646);
        expect(await s.beginRun('org', 'acme')).toEqual({ id: run.id, resumed: true, finishedRepos: new Set(['acme/a']) });
        expect((await s.getRun(run.id))!.resumes).toBe(1);
        await s.finishRun(run.id, 'interrupted');
        expect((await s.beginRun('org', 'acme')).id).toBe(run.id); // interrupted resumes too
        await s.finishRun(run.id, 'completed');
        const next = await s.beginRun('org', 'acme');
        expect(next.resumed).toBe(false);
        expect(next.id).toBeGreaterThan(run.id);
        expect((await s.beginRun('scan', 'acme')).resumed).toBe(false); // another kind, another run
        const held = await s.beginRun('org', 'other');
        await db.setRunPid(s, held.id, process.ppid); // our parent: alive, on this host
        await expect(s.beginRun('org', 'other')).rejects.toThrow(/in progress/);
        const all = await s.listRuns();
        expect(all.map((r) => r.id)).toEqual([...all.map((r) => r.id)].sort((a, b) => b - a));
        expect(await s.listRuns(1)).toHaveLength(1);
      });

      it('is atomic per recorded scan: a failing batch leaves nothing behind', async () => {
        const { db, s } = await fresh();
        const good = finding(randomToken('ghp_', 36));
        const bad = finding(randomToken('ghp_', 36), { locations: [{ ...good.locations[0]!, line: 0 }] }); // violates line > 0
        await expect(s.recordRepoScan(null, 'acme/api', { findings: [good, bad], blobs: [[oid('f'), 'scanned']], catalog: CATALOG_A })).rejects.toThrow();
        expect([await db.count(s, 'secrets'), await db.count(s, 'locations'), await db.count(s, 'scanned_blobs'), await db.count(s, 'events')]).toEqual([0, 0, 0, 0]);
      });
    });

    describe('runs handed to workers', () => {
      const opts = { issues: true, verify: false, rescan: false, refetch: false };
      const job = (subject: string) => ({ kind: 'scan-repo' as const, subject, data: { runId: 0, repo: { fullName: subject } } });

      it('starts a run for workers, continues the unfinished one, and keeps a local run of the same target out', async () => {
        const { db, s } = await fresh();
        const run = await s.beginQueuedRun('acme', opts);
        expect(run.resumed).toBe(false);
        expect(await s.runOptions(run.id)).toEqual(opts);
        expect(await s.beginQueuedRun('acme', opts)).toEqual({ id: run.id, resumed: true });
        await expect(s.beginRun('org', 'acme')).rejects.toThrow(/handed to workers and not finished/);
        const local = await s.beginRun('org', 'other');
        expect(await s.runOptions(local.id)).toBeNull();
        await db.setRunPid(s, local.id, process.ppid); // held by a live process on this host (our parent)
        await expect(s.beginQueuedRun('other', opts)).rejects.toThrow(/in progress/);
      });

      it('adds jobs once, starts and ends each once, and moves the run on when the last one ends (one caller wins)', async () => {
        const { s, again } = await fresh();
        const run = await s.beginQueuedRun('acme', opts);
        expect((await s.addRunJobs(run.id, [job('acme/a'), job('acme/b')])).map((j) => j.subject)).toEqual(['acme/a', 'acme/b']);
        expect(await s.addRunJobs(run.id, [job('acme/a'), job('acme/c')])).toEqual([job('acme/c')]);
        const started = await s.startRunJob(run.id, 'scan-repo', 'acme/a', 'host:1');
        expect(started).toMatchObject({ runId: run.id, kind: 'scan-repo', subject: 'acme/a', state: 'running', worker: 'host:1', attempts: 1, data: job('acme/a').data });
        // The same job delivered again (its worker died): taken over, the try counted.
        expect(await s.startRunJob(run.id, 'scan-repo', 'acme/a', 'host:2')).toMatchObject({ worker: 'host:2', attempts: 2 });
        await s.recordRepoScan(run.id, 'acme/a', { findings: [finding(randomToken('ghp_', 36))], blobs: [] });
        await s.finishRunJob(run.id, 'scan-repo', 'acme/a', { state: 'done', result: { findings: 1 } });
        // Finished: a repeated delivery finds nothing to do, and a late finish changes nothing.
        expect(await s.startRunJob(run.id, 'scan-repo', 'acme/a', 'host:3')).toBeNull();
        await s.finishRunJob(run.id, 'scan-repo', 'acme/a', { state: 'failed', error: 'late' });
        const decide = vi.fn(() => ({ finish: { status: 'completed' as const } }));
        expect(await s.advanceRun(run.id, decide)).toBeNull(); // b and c still queued
        expect(decide).not.toHaveBeenCalled();
        await s.finishRunJob(run.id, 'scan-repo', 'acme/b', { state: 'failed', error: 'boom' });
        await s.startRunJob(run.id, 'scan-repo', 'acme/c', 'host:1');
        await s.finishRunJob(run.id, 'scan-repo', 'acme/c', { state: 'done' });
        expect((await s.runJobs(run.id)).map((j) => [j.subject, j.state, j.attempts, j.result, j.error])).toEqual([
          ['acme/a', 'done', 2, { findings: 1 }, null],
          ['acme/b', 'failed', 0, null, 'boom'],
          ['acme/c', 'done', 1, null, null],
        ]);
        // Two processes move it on at once: one adds the next jobs, the other finds them queued.
        const next = (_r: unknown, jobs: { kind: string }[]) =>
          jobs.some((j) => j.kind === 'issue-sync') ? { finish: { status: 'completed' as const } } : { add: [{ kind: 'issue-sync' as const, subject: 'acme/a', data: { runId: run.id, repo: 'acme/a' } }] };
        const other = await again();
        const both = await Promise.all([s.advanceRun(run.id, next), other.advanceRun(run.id, next)]);
        expect(both.filter((x) => x !== null)).toHaveLength(1);
        expect((await s.runJobs(run.id)).filter((j) => j.kind === 'issue-sync').map((j) => j.state)).toEqual(['queued']);
        await s.finishRunJob(run.id, 'issue-sync', 'acme/a', { state: 'done' });
        expect(await s.advanceRun(run.id, next)).toEqual({ finish: { status: 'completed' } });
        expect(await s.getRun(run.id)).toMatchObject({ status: 'completed', findings: 1, reposDone: 1 });
        expect(await s.advanceRun(run.id, next)).toBeNull(); // not running any more
      });

      it('lists jobs of running runs still queued after a while (to send again)', async () => {
        let now = Date.parse('2025-01-01T00:00:00Z');
        const clock = { now: () => new Date(now) };
        const { s } = await fresh({ key: randomBytes(32), clock });
        const run = await s.beginQueuedRun('acme', opts);
        await s.addRunJobs(run.id, [job('acme/a'), job('acme/b')]);
        await s.startRunJob(run.id, 'scan-repo', 'acme/b', 'host:1');
        expect(await s.queuedRunJobs(60_000)).toEqual([]);
        now += 120_000;
        expect((await s.queuedRunJobs(60_000)).map((j) => [j.runId, j.subject, j.data])).toEqual([[run.id, 'acme/a', job('acme/a').data]]);
      });
    });

    describe('secrets', () => {
      it('seals secrets at rest: no plaintext in the stored bytes, reveal only with the right key', async () => {
        const key = randomBytes(32);
        const { db, s, again } = await fresh({ key });
        const secret = randomToken('ghp_', 36);
        const awsId = 'AKIA' + randomToken('', 16).toUpperCase();
        const f = finding(secret, { parts: { id: awsId } });
        await s.recordRepoScan(null, 'acme/api', { findings: [f], blobs: [] });
        expect(await s.revealSecret(f.fingerprint)).toEqual({ secret, parts: { id: awsId } });
        const bytes = await db.atRest(s);
        expect(bytes.length).toBeGreaterThan(0);
        expect(bytes.includes(f.fingerprint)).toBe(true); // the reader does see the data
        for (const needle of [secret, secret.slice(4), awsId]) expect(bytes.includes(needle)).toBe(false);
        const wrong = await again({ key: randomBytes(32) });
        await expect(wrong.revealSecret(f.fingerprint)).rejects.toThrow(/does not match/);
        await expect(wrong.recordRepoScan(null, 'acme/api', { findings: [finding(randomToken('ghp_', 36))], blobs: [] })).rejects.toThrow(/does not match/);
        const noKey = await again({});
        await expect(noKey.revealSecret(f.fingerprint)).rejects.toThrow(/KEYLOOP_KEY/);
        expect(await noKey.inventory()).toHaveLength(1); // reading the inventory needs no key
        await expect(s.revealSecret('0'.repeat(64))).rejects.toThrow(/no secret/);
      });

      it('keeps the highest confidence any scan gave a secret; a new one without a confidence is medium', async () => {
        const { s } = await fresh();
        const token = randomToken('ghp_', 36);
        await s.recordRepoScan(null, 'acme/api', { findings: [finding(token, { confidence: 'low' })], blobs: [] });
        const fp = finding(token).fingerprint;
        expect((await s.getSecret(fp))!.confidence).toBe('low');
        await s.recordRepoScan(null, 'acme/web', { findings: [finding(token, { confidence: 'high' })], blobs: [] });
        expect((await s.getSecret(fp))!.confidence).toBe('high');
        await s.recordRepoScan(null, 'acme/api', { findings: [finding(token, { confidence: 'medium' })], blobs: [] });
        await s.recordRepoScan(null, 'acme/api', { findings: [finding(token)], blobs: [] });
        expect((await s.getSecret(fp))!.confidence).toBe('high');
        expect((await s.inventory())[0]!.confidence).toBe('high');
        const other = randomToken('ghp_', 36);
        await s.recordRepoScan(null, 'acme/api', { findings: [finding(other)], blobs: [] });
        expect((await s.getSecret(finding(other).fingerprint))!.confidence).toBe('medium');
      });

      it('resolves fingerprint prefixes, lists, gets, and changes status with an event', async () => {
        const { s } = await fresh();
        const f1 = finding(randomToken('ghp_', 36));
        const f2 = finding(randomToken('ghp_', 36));
        await s.recordRepoScan(null, 'acme/api', { findings: [f1, f2], blobs: [] });
        expect(await s.resolveFingerprint(f1.fingerprint.slice(0, 10).toUpperCase())).toBe(f1.fingerprint);
        await expect(s.resolveFingerprint('xyz')).rejects.toThrow(/at least 8 hex/);
        await expect(s.resolveFingerprint('0000000000')).rejects.toThrow(/no secret/);
        expect((await s.listSecrets()).map((r) => r.fingerprint)).toEqual([f1.fingerprint, f2.fingerprint]);
        expect(await s.getSecret(f1.fingerprint)).toMatchObject({ detector: 'github-pat', provider: 'github', severity: 'high', status: 'open', redacted: f1.redacted });
        expect(await s.getSecret('0'.repeat(64))).toBeUndefined();
        await s.setSecretStatus(f1.fingerprint, 'false-positive', { by: 'bob' });
        await s.setSecretStatus(f1.fingerprint, 'false-positive'); // unchanged: no event
        await s.setSecretStatus(f1.fingerprint, 'open');
        await s.setSecretStatus(f1.fingerprint, 'revoked');
        await s.setSecretStatus(f1.fingerprint, 'ignored');
        expect((await s.events({ fingerprint: f1.fingerprint })).map((e) => [e.kind, e.detail])).toEqual([
          ['detected', { first: 1, locations: 1 }],
          ['marked-false-positive', { from: 'open', to: 'false-positive', by: 'bob' }],
          ['unmarked-false-positive', { from: 'false-positive', to: 'open' }],
          ['revoked', { from: 'open', to: 'revoked' }],
          ['status-changed', { from: 'revoked', to: 'ignored' }],
        ]);
        await expect(s.setSecretStatus('0'.repeat(64), 'open')).rejects.toThrow(/no secret/);
      });

      it('keeps verification history, serves the latest, and the cache honours its TTL', async () => {
        let now = new Date('2024-05-01T00:00:00Z');
        const { s } = await fresh({ key: randomBytes(32), clock: { now: () => now } });
        const f = finding(randomToken('ghp_', 36));
        await s.recordRepoScan(null, 'acme/api', { findings: [f], blobs: [] });
        await s.addVerification(f.fingerprint, { status: 'live', checkedAt: '2024-02-01T00:00:00Z', reason: '200', identity: { login: 'alice' } });
        await s.addVerification(f.fingerprint, { status: 'dead', checkedAt: '2024-03-01T00:00:00Z', reason: '401' });
        expect((await s.verifications(f.fingerprint)).map(({ id: _id, ...v }) => v)).toEqual([
          { status: 'live', checkedAt: '2024-02-01T00:00:00Z', reason: '200', identity: { login: 'alice' } },
          { status: 'dead', checkedAt: '2024-03-01T00:00:00Z', reason: '401' },
        ]);
        expect(await s.latestVerification(f.fingerprint)).toMatchObject({ status: 'dead', reason: '401' });
        expect(await s.latestVerification('0'.repeat(64))).toBeUndefined();
        expect((await s.events({ fingerprint: f.fingerprint })).map((e) => [e.kind, e.at])).toEqual([
          ['detected', expect.any(String)],
          ['verified-live', '2024-02-01T00:00:00Z'],
          ['verified-dead', '2024-03-01T00:00:00Z'],
        ]);
        // History-only checks are never served from the cache.
        const cache = s.verificationCache();
        expect(await cache.get(f.fingerprint)).toBeUndefined();
        const v = { status: 'live' as const, checkedAt: now.toISOString(), reason: '200', identity: { login: 'alice' } };
        await cache.set(f.fingerprint, v, 60_000);
        expect(await cache.get(f.fingerprint)).toEqual(v);
        now = new Date(now.getTime() + 61_000);
        expect(await cache.get(f.fingerprint)).toBeUndefined();
        expect(await s.verifications(f.fingerprint)).toHaveLength(3);
        await cache.set('f'.repeat(64), v, 60_000); // unknown secret: ignored, no throw
        await expect(s.addVerification('f'.repeat(64), v)).rejects.toThrow(/no secret/);
      });

      it('upserts owners by (secret, repo, login) and caches email → login case-insensitively', async () => {
        const { s } = await fresh();
        const f = finding(randomToken('ghp_', 36));
        await s.recordRepoScan(null, 'acme/api', { findings: [f], blobs: [] });
        await s.setOwner(f.fingerprint, 'acme/api', 'alice', 'commit-author');
        await s.setOwner(f.fingerprint, 'acme/api', 'alice', 'codeowners');
        await s.setOwner(f.fingerprint, 'acme/api', 'Zed', 'manual');
        await s.setOwner(f.fingerprint, 'acme/other', 'acme/security', 'fallback');
        expect((await s.owners(f.fingerprint)).map((o) => [o.repo, o.login, o.source])).toEqual([
          ['acme/api', 'Zed', 'manual'],
          ['acme/api', 'alice', 'codeowners'],
          ['acme/other', 'acme/security', 'fallback'],
        ]);
        await expect(s.setOwner('0'.repeat(64), 'acme/api', 'x', 'manual')).rejects.toThrow(/no secret/);
        expect(await s.getEmailLogin('Alice@Example.test')).toBeUndefined();
        await s.setEmailLogin('alice@example.test', 'alice');
        await s.setEmailLogin('ghost@example.test', null);
        expect((await s.getEmailLogin('ALICE@example.test'))?.login).toBe('alice');
        expect(await s.getEmailLogin('ghost@example.test')).toMatchObject({ login: null, checkedAt: expect.any(String) });
        await s.setEmailLogin('Alice@Example.TEST', 'alice2');
        expect((await s.getEmailLogin('alice@example.test'))?.login).toBe('alice2');
      });

      it('builds the inventory and the location list in a stable order', async () => {
        const { s } = await fresh();
        const a = finding(randomToken('ghp_', 36));
        const loc = a.locations[0]!;
        const b = finding(randomToken('ghp_', 36), {
          locations: [
            { ...loc, date: '2023-06-01T00:00:00Z', path: 'b.txt', decoded: ['base64'] },
            { ...loc, date: null, commit: null, author: null, path: 'a.txt', blob: null },
          ],
        });
        await s.recordRepoScan(null, 'acme/web', { findings: [a, b], blobs: [] });
        await s.recordRepoScan(null, 'acme/api', { findings: [a], blobs: [] });
        await s.addVerification(a.fingerprint, { status: 'live', checkedAt: '2024-02-01T00:00:00Z', reason: '200', identity: { login: 'alice' } });
        await s.setOwner(a.fingerprint, 'acme/api', 'bob', 'manual');
        await s.setOwner(a.fingerprint, 'acme/web', 'alice', 'manual');
        const inv = await s.inventory();
        expect(inv.map((r) => r.fingerprint)).toEqual([a.fingerprint, b.fingerprint]); // latest lastSeen first
        expect(inv[0]).toMatchObject({
          repos: ['acme/api', 'acme/web'],
          locations: 2,
          firstSeen: '2024-01-02T03:04:05Z',
          lastSeen: '2024-01-02T03:04:05Z',
          owners: ['alice', 'bob'],
          lastVerification: { status: 'live', checkedAt: '2024-02-01T00:00:00Z', reason: '200', identity: { login: 'alice' } },
        });
        expect(inv[1]).toMatchObject({ repos: ['acme/web'], locations: 2, firstSeen: '2023-06-01T00:00:00Z', owners: [], lastVerification: null });
        const ls = await s.locations(b.fingerprint);
        expect(ls).toEqual([
          { fingerprint: b.fingerprint, repo: 'acme/web', mirrorPath: null, blob: null, commit: null, path: 'a.txt', line: 3, column: 7, authorName: null, authorEmail: null, date: null, decoded: null },
          {
            fingerprint: b.fingerprint,
            repo: 'acme/web',
            mirrorPath: null,
            blob: oid('b'),
            commit: oid('a'),
            path: 'b.txt',
            line: 3,
            column: 7,
            authorName: 'Alice',
            authorEmail: 'alice@example.test',
            date: '2023-06-01T00:00:00Z',
            decoded: ['base64'],
          },
        ]);
        const all = await s.locations();
        expect(all).toHaveLength(4);
        expect(all.map((l) => l.fingerprint)).toEqual([...all.map((l) => l.fingerprint)].sort());
      });
    });

    describe('issues and events', () => {
      it('upserts issues by (repo, number); closed_at follows the state; filters by subject and state', async () => {
        const { db, s } = await fresh();
        const f = finding(randomToken('ghp_', 36));
        await s.recordRepoScan(null, 'acme/api', { findings: [f], blobs: [] });
        const opened = await s.upsertIssue({ repo: 'acme/api', number: 7, fingerprint: f.fingerprint, state: 'open', assignees: ['alice'], url: 'https://x/7' });
        expect(opened).toMatchObject({ repo: 'acme/api', number: 7, fingerprint: f.fingerprint, subjectRepo: null, state: 'open', closedAt: null, assignees: ['alice'], url: 'https://x/7' });
        await s.addEvent({ kind: 'issue-opened', fingerprint: f.fingerprint, repo: 'acme/api', issue: { repo: 'acme/api', number: 7 }, detail: { issue: 'acme/api#7' } });
        const closed = await s.upsertIssue({ repo: 'acme/api', number: 7, fingerprint: f.fingerprint, state: 'closed', stateReason: 'completed', assignees: ['alice', 'bob'] });
        expect(closed).toMatchObject({ id: opened.id, state: 'closed', stateReason: 'completed', assignees: ['alice', 'bob'], url: 'https://x/7' });
        expect(closed.closedAt).not.toBeNull();
        const again = await s.upsertIssue({ repo: 'acme/api', number: 7, fingerprint: f.fingerprint, state: 'closed', stateReason: 'completed', assignees: ['alice', 'bob'] });
        expect(again.closedAt).toBe(closed.closedAt);
        expect((await s.upsertIssue({ repo: 'acme/api', number: 7, fingerprint: f.fingerprint, state: 'open', stateReason: 'reopened' })).closedAt).toBeNull();
        // A triage repo issue about the leak in acme/web.
        await s.upsertIssue({ repo: 'acme/security', number: 1, fingerprint: f.fingerprint, subjectRepo: 'acme/web', state: 'closed', assignees: [] });
        expect(await db.count(s, 'issues')).toBe(2);
        expect((await s.issuesFor(f.fingerprint)).map((i) => `${i.repo}#${i.number}`)).toEqual(['acme/api#7', 'acme/security#1']);
        expect((await s.issuesFor(f.fingerprint, 'acme/web')).map((i) => i.subjectRepo)).toEqual(['acme/web']);
        expect((await s.issuesFor(f.fingerprint, 'acme/api')).map((i) => i.number)).toEqual([7]);
        expect((await s.listIssues({ state: 'open' })).map((i) => i.number)).toEqual([7]);
        expect((await s.listIssues({ state: 'closed' })).map((i) => i.repo)).toEqual(['acme/security']);
        expect(await s.listIssues()).toHaveLength(2);
        expect(await s.getIssue('acme/api', 8)).toBeUndefined();
        await expect(s.upsertIssue({ repo: 'acme/api', number: 9, fingerprint: '0'.repeat(64), state: 'open' })).rejects.toThrow(/no secret/);
      });

      it('claims one issue per (secret, leaking repo): first claimant wins, even when racing from two connections', async () => {
        const { s, again } = await fresh();
        const f = finding(randomToken('ghp_', 36));
        await s.recordRepoScan(null, 'acme/api', { findings: [f], blobs: [] });
        const other = await again();
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? other : s).claimIssue(f.fingerprint, 'acme/api', `worker-${i}`)),
        );
        const winners = results.filter((r) => r.won);
        expect(winners).toHaveLength(1);
        const holder = winners[0]!.claimant;
        expect(new Set(results.map((r) => r.claimant))).toEqual(new Set([holder]));
        expect((await s.claimIssue(f.fingerprint, 'acme/api', holder)).won).toBe(true); // idempotent for its holder
        expect((await s.claimIssue(f.fingerprint, 'acme/web', 'worker-x')).won).toBe(true); // another leaking repo, another key
        // A claim whose holder died: taken over only once stale.
        expect((await other.claimIssue(f.fingerprint, 'acme/api', 'late', { staleMs: 3_600_000 })).won).toBe(false);
        await new Promise((r) => setTimeout(r, 5));
        const taken = await other.claimIssue(f.fingerprint, 'acme/api', 'late', { staleMs: 1 });
        expect(taken).toMatchObject({ won: true, claimant: 'late' });
        await expect(s.claimIssue('0'.repeat(64), 'acme/api', 'x')).rejects.toThrow(/no secret/);
      });

      it('appends events and filters them by fingerprint, kind and id', async () => {
        const { s } = await fresh();
        const f = finding(randomToken('ghp_', 36));
        await s.recordRepoScan(null, 'acme/api', { findings: [f], blobs: [] });
        const run = await s.beginRun('org', 'acme');
        await s.addEvent({ kind: 'note', detail: { hello: 'world', n: 1, nested: { a: [1, 2] } } });
        await s.addEvent({ kind: 'commented', fingerprint: f.fingerprint, repo: 'acme/api', runId: run.id });
        const all = await s.events();
        expect(all.map((e) => e.kind)).toEqual(['detected', 'note', 'commented']);
        expect(all[1]).toMatchObject({ fingerprint: null, repo: null, issueNumber: null, runId: null, detail: { hello: 'world', n: 1, nested: { a: [1, 2] } } });
        expect(all[2]).toMatchObject({ fingerprint: f.fingerprint, repo: 'acme/api', runId: run.id, detail: null });
        expect((await s.events({ sinceId: all[0]!.id })).map((e) => e.kind)).toEqual(['note', 'commented']);
        expect((await s.events({ kind: 'commented', fingerprint: f.fingerprint })).map((e) => e.id)).toEqual([all[2]!.id]);
        await expect(s.addEvent({ kind: 'Bad Kind' })).rejects.toThrow(/check/i);
        await expect(s.addEvent({ kind: 'closed', issue: { repo: 'acme/api', number: 99 } })).rejects.toThrow(/unknown issue/);
      });
    });

    describe('App deliveries', () => {
      const job = (repo: string, n = 1) => ({ kind: 'push', repo: { fullName: repo }, n });
      const input = (guid: string, repo: string | null, j: unknown = repo ? job(repo) : null) => ({
        guid,
        event: 'push',
        action: null,
        installationId: 42,
        repo,
        job: j,
        receivedAt: new Date().toISOString(),
      });

      it('records deliveries once by GUID and claims them in order, one running per repo', async () => {
        const { s } = await fresh();
        expect(await s.insertDelivery(input('g1', 'acme/a'))).toBe(true);
        expect(await s.insertDelivery(input('g1', 'acme/a'))).toBe(false); // redelivery
        expect(await s.insertDelivery(input('g2', 'acme/a'))).toBe(true);
        expect(await s.insertDelivery(input('g3', 'acme/b'))).toBe(true);
        expect(await s.insertDelivery(input('g4', null, null))).toBe(true); // ignored
        expect(await s.deliveryCounts()).toEqual({ queued: 3, running: 0, done: 0, failed: 0, ignored: 1 });
        const now = new Date();
        const c1 = await s.claimDelivery(now);
        expect(c1).toMatchObject({ guid: 'g1', event: 'push', repo: 'acme/a', job: job('acme/a'), attempts: 1 });
        const c2 = await s.claimDelivery(now);
        expect(c2?.guid).toBe('g3'); // g2 waits: acme/a has one running
        expect(await s.claimDelivery(now)).toBeUndefined();
        await s.completeDelivery(c1!.seq, now.toISOString(), { findings: 2 });
        expect(await s.getDelivery('g1')).toMatchObject({ status: 'done', attempts: 1, result: { findings: 2 }, error: null, finishedAt: now.toISOString() });
        expect((await s.getDelivery('g1'))!.startedAt).toBe(now.toISOString());
        expect((await s.claimDelivery(now))?.guid).toBe('g2');
        expect(await s.getDelivery('g4')).toMatchObject({ status: 'ignored', repo: null });
        expect(await s.getDelivery('nope')).toBeUndefined();
      });

      it('retries with a due time, holds later deliveries of that repo, fails, and requeues without spending attempts', async () => {
        const { s } = await fresh();
        await s.insertDelivery(input('r1', 'acme/a'));
        await s.insertDelivery(input('r2', 'acme/a'));
        await s.insertDelivery(input('r3', 'acme/b'));
        const t0 = new Date('2030-01-01T00:00:00Z');
        const c = (await s.claimDelivery(t0))!;
        await s.retryDelivery(c.seq, t0.getTime() + 60_000, 'Error: 502');
        expect(await s.nextDeliveryDue()).toBe(0); // r2, r3 are due now
        // r2 must not overtake r1, which waits for its retry.
        expect((await s.claimDelivery(t0))?.guid).toBe('r3');
        expect(await s.claimDelivery(t0)).toBeUndefined();
        const later = new Date(t0.getTime() + 60_000);
        const again = (await s.claimDelivery(later))!;
        expect(again).toMatchObject({ guid: 'r1', attempts: 2 });
        expect(await s.getDelivery('r1')).toMatchObject({ status: 'running', error: 'Error: 502' });
        expect(await s.requeueDeliveries(again.seq)).toBe(1);
        expect(await s.getDelivery('r1')).toMatchObject({ status: 'queued', attempts: 1 });
        const third = (await s.claimDelivery(later))!;
        await s.failDelivery(third.seq, later.toISOString(), 'PermanentError: gone');
        expect(await s.getDelivery('r1')).toMatchObject({ status: 'failed', error: 'PermanentError: gone', finishedAt: later.toISOString() });
        const r2 = (await s.claimDelivery(later))!;
        expect(r2.guid).toBe('r2');
        expect(await s.requeueDeliveries()).toBe(2); // r2 and r3 were running
        expect(await s.requeueDeliveries(r2.seq)).toBe(0); // not running any more
        expect(await s.deliveryCounts()).toEqual({ queued: 2, running: 0, done: 0, failed: 1, ignored: 0 });
        expect(await s.nextDeliveryDue()).toBe(0);
      });

      it('never hands one delivery to two claimants racing from two connections', async () => {
        const { s, again } = await fresh();
        const other = await again();
        for (let i = 0; i < 12; i++) await s.insertDelivery(input(`c${i}`, `acme/r${i % 4}`));
        const got: string[] = [];
        await Promise.all(
          [s, other, s, other].map(async (store) => {
            for (;;) {
              const d = await store.claimDelivery(new Date());
              if (!d) {
                if ((await store.deliveryCounts()).queued === 0) return;
                await new Promise((r) => setTimeout(r, 2));
                continue;
              }
              got.push(d.guid);
              await store.completeDelivery(d.seq, new Date().toISOString(), null);
            }
          }),
        );
        expect(got.sort()).toEqual(Array.from({ length: 12 }, (_, i) => `c${i}`).sort());
      });

      it('applies installation changes and lists installed repos', async () => {
        const { s } = await fresh();
        const at = '2024-01-01T00:00:00Z';
        expect(await s.recordInstallationRepos({ installationId: 5, added: [{ fullName: 'acme/a', githubId: 1, private: true }, { fullName: 'acme/b', private: false }], removed: [], forgetInstallation: false, at })).toEqual([]);
        await s.recordInstallationRepos({ installationId: 6, added: [{ fullName: 'other/c', private: false }], removed: [], forgetInstallation: false, at });
        expect(await s.installedRepos()).toEqual([
          { fullName: 'acme/a', installationId: 5 },
          { fullName: 'acme/b', installationId: 5 },
          { fullName: 'other/c', installationId: 6 },
        ]);
        expect((await s.getRepo('acme/a'))?.private).toBe(true); // repos are upserted too
        expect(await s.recordInstallationRepos({ installationId: 5, added: [], removed: ['acme/b'], forgetInstallation: false, at })).toEqual(['acme/b']);
        expect((await s.recordInstallationRepos({ installationId: 5, added: [], removed: [], forgetInstallation: true, at })).sort()).toEqual(['acme/a']);
        expect(await s.installedRepos()).toEqual([{ fullName: 'other/c', installationId: 6 }]);
        // Re-adding clears the removal.
        await s.recordInstallationRepos({ installationId: 7, added: [{ fullName: 'acme/a', private: true }], removed: [], forgetInstallation: false, at });
        expect((await s.installedRepos()).map((r) => [r.fullName, r.installationId])).toEqual([
          ['acme/a', 7],
          ['other/c', 6],
        ]);
        expect(await s.getRepo('acme/b')).toBeDefined(); // findings history is kept
      });
    });

    describe('reach and the audit log', () => {
      const reach = (over: Partial<Reach> = {}): Reach => ({
        checkedAt: '2024-02-01T00:00:01Z',
        level: 'admin',
        tags: ['admin', 'public-write'],
        account: 'alice',
        scopes: ['repo', 'admin:org'],
        expiresAt: null,
        facts: { orgs: ['acme'], twoFactor: true, repos: 3 },
        resources: [{ kind: 'repository', name: 'acme/site', access: 'admin', public: true }],
        counts: { repository: 3, 'repository:admin': 1 },
        gaps: [],
        ...over,
      });

      it('keeps a live key\'s reach with its verification: history, latest, cache, inventory and the event', async () => {
        const now = new Date('2024-02-01T00:00:00Z');
        const { s } = await fresh({ key: randomBytes(32), clock: { now: () => now } });
        const f = finding(randomToken('ghp_', 36));
        await s.recordRepoScan(null, 'acme/api', { findings: [f], blobs: [] });
        const live = { status: 'live' as const, checkedAt: '2024-02-01T00:00:00Z', reason: '200', identity: { login: 'alice' }, reach: reach() };
        await s.verificationCache().set(f.fingerprint, live, 60_000);
        expect(await s.verificationCache().get(f.fingerprint)).toEqual(live);
        expect(await s.latestVerification(f.fingerprint)).toMatchObject({ reach: reach() });
        expect((await s.inventory())[0]!.lastVerification).toEqual(live);
        await s.addVerification(f.fingerprint, { status: 'dead', checkedAt: '2024-03-01T00:00:00Z', reason: '401' });
        const history = await s.verifications(f.fingerprint);
        expect(history.map((v) => v.reach?.level ?? null)).toEqual(['admin', null]);
        expect(history[0]!.reach).toEqual(reach());
        expect((await s.inventory())[0]!.lastVerification).toEqual({ status: 'dead', checkedAt: '2024-03-01T00:00:00Z', reason: '401' });
        expect((await s.events({ fingerprint: f.fingerprint })).map((e) => [e.kind, e.detail])).toEqual([
          ['detected', { first: 1, locations: 1 }],
          ['verified-live', { reason: '200', reach: 'admin' }],
          ['verified-dead', { reason: '401' }],
        ]);
      });

      it('serves the newest reach asked at or after a time, skipping checks without one', async () => {
        const { s } = await fresh();
        const f = finding(randomToken('ghp_', 36));
        await s.recordRepoScan(null, 'acme/api', { findings: [f], blobs: [] });
        expect(await s.recentReach(f.fingerprint, '2000-01-01T00:00:00Z')).toBeUndefined();
        await s.addVerification(f.fingerprint, { status: 'live', checkedAt: '2024-02-01T00:00:00Z', reason: '200', reach: reach({ checkedAt: '2024-02-01T00:00:00Z', level: 'read' }) });
        await s.addVerification(f.fingerprint, { status: 'live', checkedAt: '2024-02-02T00:00:00Z', reason: '200', reach: reach({ checkedAt: '2024-02-02T00:00:00Z' }) });
        await s.addVerification(f.fingerprint, { status: 'unknown', checkedAt: '2024-02-03T00:00:00Z', reason: 'HTTP 503' });
        expect((await s.recentReach(f.fingerprint, '2024-02-01T12:00:00Z'))?.level).toBe('admin');
        expect((await s.recentReach(f.fingerprint, '2024-02-02T00:00:00Z'))?.checkedAt).toBe('2024-02-02T00:00:00Z');
        expect(await s.recentReach(f.fingerprint, '2024-02-02T00:00:01Z')).toBeUndefined();
        expect(await s.recentReach('0'.repeat(64), '2000-01-01T00:00:00Z')).toBeUndefined();
      });

      it('appends outbound calls and reads them back oldest first, filtered; durations are whole non-negative ms', async () => {
        const { s } = await fresh();
        const fpA = 'a'.repeat(64);
        const fpB = 'b'.repeat(64);
        const call = (over: Partial<OutboundCall>): OutboundCall => ({
          at: '2024-01-01T00:00:00.000Z',
          purpose: 'verify',
          issuer: 'github',
          fingerprint: fpA,
          method: 'GET',
          url: 'https://api.github.com/user',
          status: 200,
          outcome: 'answered',
          durationMs: 12.6,
          ...over,
        });
        const sink = s.auditSink();
        await sink(call({ at: '2024-01-01T00:00:02.000Z', purpose: 'reach', url: 'https://api.github.com/user/repos?page=2' }));
        await s.recordOutboundCall(call({}));
        await sink(call({ at: '2024-01-01T00:00:02.000Z', issuer: 'slack', fingerprint: fpB, method: 'POST', url: 'https://slack.com/api/auth.revoke', purpose: 'revoke' }));
        await s.recordOutboundCall(call({ at: '2024-01-01T00:00:03.000Z', fingerprint: null, status: null, outcome: 'timeout', durationMs: -1 }));
        const all = await s.outboundCalls();
        expect(all.map((c) => [c.at, c.purpose, c.issuer])).toEqual([
          ['2024-01-01T00:00:00.000Z', 'verify', 'github'],
          ['2024-01-01T00:00:02.000Z', 'reach', 'github'],
          ['2024-01-01T00:00:02.000Z', 'revoke', 'slack'],
          ['2024-01-01T00:00:03.000Z', 'verify', 'github'],
        ]);
        expect(all[0]).toEqual({ id: expect.any(Number), ...call({ durationMs: 13 }) });
        expect(all[3]).toMatchObject({ fingerprint: null, status: null, outcome: 'timeout', durationMs: 0 });
        expect(new Set(all.map((c) => c.id)).size).toBe(4);
        expect((await s.outboundCalls({ fingerprint: fpA })).map((c) => c.purpose)).toEqual(['verify', 'reach']);
        expect((await s.outboundCalls({ issuer: 'github', since: '2024-01-01T00:00:02.000Z' })).map((c) => c.purpose)).toEqual(['reach', 'verify']);
        expect((await s.outboundCalls({ purpose: 'revoke' })).map((c) => c.url)).toEqual(['https://slack.com/api/auth.revoke']);
        expect(await s.outboundCalls({ issuer: 'npm' })).toEqual([]);
        await expect(s.recordOutboundCall(call({ purpose: 'exfiltrate' as OutboundCall['purpose'] }))).rejects.toThrow();
        await expect(s.recordOutboundCall(call({ fingerprint: 'short' }))).rejects.toThrow();
        expect(await s.outboundCalls()).toHaveLength(4);
      });
    });

    it('reports where it lives without a password, and closes', async () => {
      const { s } = await fresh();
      expect(s.location).not.toMatch(/:(?!\*\*\*@)[^/@:]+@/);
      expect(['sqlite', 'postgres']).toContain(s.kind);
    });
  });
}
