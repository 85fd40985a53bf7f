import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../src/core/fingerprint.js';
import { defaultMigrationsDir } from '../src/store/migrate.js';
import { loadKey, openStore, parseKey } from '../src/store/index.js';
import type { FindingInput } from '../src/store/index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'keyloop-store-'));
const b62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const randomToken = (prefix: string, n: number) => prefix + [...randomBytes(n)].map((x) => b62[x % 62]).join('');

function finding(secret: string, over: Partial<FindingInput> = {}): FindingInput {
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
        commit: 'a'.repeat(40),
        author: { name: 'Alice', email: 'alice@example.test' },
        date: '2024-01-02T03:04:05Z',
        path: 'config/.env',
        line: 3,
        column: 7,
        blob: 'b'.repeat(40),
      },
    ],
    ...over,
  };
}

describe('store', () => {
  it('migrates, is STRICT with CHECKs, and reopens idempotently', () => {
    const dir = tmp();
    const db = join(dir, 'k.db');
    const s = openStore(db, { key: randomBytes(32) });
    expect(s.db.pragma('user_version', { simple: true })).toBeGreaterThanOrEqual(1);
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(() => s.db.prepare("INSERT INTO repos (full_name) VALUES ('no-slash')").run()).toThrow(/CHECK/);
    expect(() => s.db.prepare("INSERT INTO repos (full_name, fork) VALUES ('a/b', 'yes')").run()).toThrow();
    s.close();
    const again = openStore(db);
    expect(again.listRepos()).toEqual([]);
    again.close();
  });

  it('applies migrations in numeric order, tolerates gaps, and applies a late lower-numbered file', () => {
    const mdir = tmp();
    copyFileSync(join(defaultMigrationsDir(), '001-initial.sql'), join(mdir, '001-initial.sql'));
    writeFileSync(join(mdir, '010-issue-loop.sql'), 'CREATE TABLE t10 (x INTEGER) STRICT;');
    const db = join(tmp(), 'k.db');
    openStore(db, { migrationsDir: mdir }).close();
    writeFileSync(join(mdir, '002-late.sql'), 'CREATE TABLE t2 (x INTEGER) STRICT;');
    const s = openStore(db, { migrationsDir: mdir });
    expect(s.db.pragma('user_version', { simple: true })).toBe(10);
    const tables = s.db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['t10', 't2', 'secrets']));
    s.close();
    writeFileSync(join(mdir, '002-dup.sql'), 'SELECT 1;');
    expect(() => openStore(db, { migrationsDir: mdir })).toThrow(/share number 2/);
  });

  it('records a repo scan once: reruns add no duplicate rows, and blobs are remembered', () => {
    const s = openStore(join(tmp(), 'k.db'), { key: randomBytes(32) });
    const secret = randomToken('ghp_', 36);
    const f = finding(secret);
    const run = s.beginRun('org', 'acme');
    const first = s.recordRepoScan(run.id, 'acme/api', { findings: [f], blobs: [['b'.repeat(40), 'scanned'], ['c'.repeat(40), 'skipped']] });
    expect(first).toEqual({ newSecrets: 1, newLocations: 1, blobsScanned: 1, blobsSkipped: 1 });
    const second = s.recordRepoScan(run.id, 'acme/api', { findings: [f], blobs: [['b'.repeat(40), 'scanned']] });
    expect(second).toEqual({ newSecrets: 0, newLocations: 0, blobsScanned: 0, blobsSkipped: 0 });
    // Same secret in a second repo: one secret, two repos, one more 'detected' event.
    s.recordRepoScan(run.id, 'acme/web', { findings: [f], blobs: [['b'.repeat(40), 'scanned']] });
    expect(s.scannedBlobs('acme/api')).toEqual(new Set(['b'.repeat(40), 'c'.repeat(40)]));
    expect(s.scannedBlobs('acme/unknown').size).toBe(0);
    const count = (t: string) => s.db.prepare(`SELECT count(*) FROM ${t}`).pluck().get();
    expect([count('secrets'), count('locations'), count('scanned_blobs')]).toEqual([1, 2, 3]);
    expect(s.events({ kind: 'detected' }).map((e) => [e.repo, e.detail])).toEqual([
      ['acme/api', { first: 1, locations: 1 }],
      ['acme/web', { first: 0, locations: 1 }],
    ]);
    s.recordRepoFailure(run.id, 'acme/gone', 'HostError: 404');
    const done = s.finishRun(run.id, 'failed', '1 repo failed');
    expect(done).toMatchObject({ status: 'failed', reposDone: 2, reposFailed: 1, blobsScanned: 2, newSecrets: 1 });
    const inv = s.inventory();
    expect(inv).toHaveLength(1);
    expect(inv[0]).toMatchObject({ repos: ['acme/api', 'acme/web'], locations: 2, firstSeen: '2024-01-02T03:04:05Z', lastVerification: null });
    expect(s.locations(f.fingerprint).map((l) => [l.repo, l.path, l.line, l.column])).toEqual([
      ['acme/api', 'config/.env', 3, 7],
      ['acme/web', 'config/.env', 3, 7],
    ]);
    expect(s.resolveFingerprint(f.fingerprint.slice(0, 10))).toBe(f.fingerprint);
    s.close();
  });

  it('never stores the plaintext: database and WAL bytes hold no secret, and it decrypts only with the right key', () => {
    const dir = tmp();
    const db = join(dir, 'k.db');
    const key = randomBytes(32);
    const s = openStore(db, { key });
    const secret = randomToken('ghp_', 36);
    const awsId = 'AKIA' + randomToken('', 16).toUpperCase();
    const f = finding(secret, { parts: { id: awsId } });
    s.recordRepoScan(null, 'acme/api', { findings: [f], blobs: [] });
    expect(s.revealSecret(f.fingerprint)).toEqual({ secret, parts: { id: awsId } });
    // Read the files while the WAL still holds the pages (no checkpoint yet), then after close.
    const grep = () => {
      for (const name of readdirSync(dir)) {
        const bytes = readFileSync(join(dir, name));
        expect(bytes.includes(secret), name).toBe(false);
        expect(bytes.includes(awsId), name).toBe(false);
        expect(bytes.includes(secret.slice(4)), name).toBe(false);
      }
    };
    expect(existsSync(db + '-wal')).toBe(true);
    grep();
    s.close();
    grep();
    const wrong = openStore(db, { key: randomBytes(32) });
    expect(() => wrong.revealSecret(f.fingerprint)).toThrow(/does not match/);
    wrong.close();
    const noKey = openStore(db);
    expect(() => noKey.revealSecret(f.fingerprint)).toThrow(/KEYLOOP_KEY/);
    expect(noKey.inventory()).toHaveLength(1);
    noKey.close();
  });

  it('keeps verification history, owners, the email cache, issues and events', () => {
    const s = openStore(join(tmp(), 'k.db'), { key: randomBytes(32) });
    const f = finding(randomToken('ghp_', 36));
    s.recordRepoScan(null, 'acme/api', { findings: [f], blobs: [] });
    s.addVerification(f.fingerprint, { status: 'live', checkedAt: '2024-02-01T00:00:00Z', reason: '200', identity: { login: 'alice' } });
    s.addVerification(f.fingerprint, { status: 'dead', checkedAt: '2024-03-01T00:00:00Z', reason: '401' });
    expect(s.verifications(f.fingerprint).map((v) => v.status)).toEqual(['live', 'dead']);
    expect(s.latestVerification(f.fingerprint)).toMatchObject({ status: 'dead', reason: '401' });
    expect(s.inventory()[0]!.lastVerification).toEqual({ status: 'dead', checkedAt: '2024-03-01T00:00:00Z', reason: '401' });
    s.setOwner(f.fingerprint, 'acme/api', 'alice', 'commit-author');
    s.setOwner(f.fingerprint, 'acme/api', 'alice', 'codeowners');
    expect(s.owners(f.fingerprint)).toMatchObject([{ repo: 'acme/api', login: 'alice', source: 'codeowners' }]);
    expect(s.getEmailLogin('Alice@Example.test')).toBeUndefined();
    s.setEmailLogin('alice@example.test', 'alice');
    s.setEmailLogin('ghost@example.test', null);
    expect(s.getEmailLogin('ALICE@example.test')?.login).toBe('alice');
    expect(s.getEmailLogin('ghost@example.test')).toMatchObject({ login: null });
    s.upsertIssue({ repo: 'acme/api', number: 7, fingerprint: f.fingerprint, state: 'open', assignees: ['alice'] });
    s.addEvent({ kind: 'issue-opened', fingerprint: f.fingerprint, repo: 'acme/api', issue: { repo: 'acme/api', number: 7 } });
    const closed = s.upsertIssue({ repo: 'acme/api', number: 7, fingerprint: f.fingerprint, state: 'closed', stateReason: 'completed', assignees: ['alice'] });
    expect(closed).toMatchObject({ state: 'closed', stateReason: 'completed', assignees: ['alice'] });
    expect(closed.closedAt).not.toBeNull();
    expect(s.issuesFor(f.fingerprint, 'acme/api')).toHaveLength(1);
    s.setSecretStatus(f.fingerprint, 'false-positive', { by: 'bob' });
    expect(s.events({ fingerprint: f.fingerprint }).map((e) => e.kind)).toEqual([
      'detected',
      'verified-live',
      'verified-dead',
      'issue-opened',
      'marked-false-positive',
    ]);
    expect(() => s.addEvent({ kind: 'Bad Kind' })).toThrow(/CHECK/);
    s.close();
  });

  it('implements the VerificationCache port with a TTL over the history', async () => {
    let now = new Date('2024-05-01T00:00:00Z');
    const s = openStore(join(tmp(), 'k.db'), { key: randomBytes(32), clock: { now: () => now } });
    const f = finding(randomToken('ghp_', 36));
    s.recordRepoScan(null, 'acme/api', { findings: [f], blobs: [] });
    const cache = s.verificationCache();
    expect(await cache.get(f.fingerprint)).toBeUndefined();
    const v = { status: 'live' as const, checkedAt: now.toISOString(), reason: '200', identity: { login: 'alice' } };
    await cache.set(f.fingerprint, v, 60_000);
    expect(await cache.get(f.fingerprint)).toEqual(v);
    now = new Date(now.getTime() + 61_000);
    expect(await cache.get(f.fingerprint)).toBeUndefined();
    expect(s.verifications(f.fingerprint)).toHaveLength(1);
    await cache.set('f'.repeat(64), v, 60_000); // unknown secret: ignored, no throw
    s.close();
  });

  it('resumes an unfinished run and refuses one held by a live process', () => {
    const db = join(tmp(), 'k.db');
    const s = openStore(db, { key: randomBytes(32) });
    const run = s.beginRun('org', 'acme');
    s.recordRepoScan(run.id, 'acme/a', { findings: [], blobs: [] });
    s.recordRepoFailure(run.id, 'acme/b', 'boom');
    // Simulate a process killed mid-run: the row stays 'running' with a dead pid.
    s.db.prepare('UPDATE scan_runs SET pid = 2147483646 WHERE id = ?').run(run.id);
    const again = s.beginRun('org', 'acme');
    expect(again).toEqual({ id: run.id, resumed: true, finishedRepos: new Set(['acme/a']) });
    expect(s.getRun(run.id)?.resumes).toBe(1);
    s.finishRun(run.id, 'completed');
    expect(s.beginRun('org', 'acme').resumed).toBe(false);
    // A run held by another live process on this host (our parent) is refused.
    const held = s.beginRun('org', 'other');
    s.db.prepare('UPDATE scan_runs SET pid = ? WHERE id = ?').run(process.ppid, held.id);
    expect(() => s.beginRun('org', 'other')).toThrow(/in progress/);
    s.close();
  });
});

describe('store key', () => {
  it('parses hex and base64 keys and rejects others', () => {
    const k = randomBytes(32);
    expect(parseKey(k.toString('hex'), 'KEYLOOP_KEY')).toEqual(k);
    expect(parseKey(k.toString('base64'), 'KEYLOOP_KEY')).toEqual(k);
    expect(parseKey(k.toString('base64url'), 'KEYLOOP_KEY')).toEqual(k);
    expect(() => parseKey('abcd', 'KEYLOOP_KEY')).toThrow(/KEYLOOP_KEY: must be 32 bytes/);
  });

  it('creates the key file 0600 on first use, reuses it, prefers KEYLOOP_KEY, refuses a world-readable file', () => {
    const home = tmp();
    const env = { XDG_CONFIG_HOME: join(home, 'cfg') };
    expect(() => loadKey({ env })).toThrow(/no store key/);
    const k1 = loadKey({ env, create: true });
    const file = join(home, 'cfg', 'keyloop', 'store.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadKey({ env, create: true })).toEqual(k1);
    const k2 = randomBytes(32);
    expect(loadKey({ env: { ...env, KEYLOOP_KEY: k2.toString('hex') } })).toEqual(k2);
    const loose = join(home, 'loose.key');
    writeFileSync(loose, k2.toString('hex'), { mode: 0o644 });
    expect(() => loadKey({ env: {}, keyFile: loose })).toThrow(/readable by others/);
  });
});
