// Confidence on every finding: from the detector and the secret (generic low, provider medium, checksum or a
// structured prefix high), one step lower when every location is a test fixture or example, high once the
// issuer says live; stored as the highest any scan gave, and migrated for rows stored before it existed.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../src/core/fingerprint.js';
import { scanSource, type ContentSource } from '../src/core/content.js';
import { inThreadStage } from '../src/scan/stage.js';
import { applyVerification } from '../src/core/model.js';
import { baseConfidence, findingConfidence, isFixturePath } from '../src/detection/confidence.js';
import { createEngine } from '../src/detection/engine.js';
import { loadCatalog } from '../src/detection/load.js';
import { defaultMigrationsDir, loadMigrations } from '../src/store/migrate.js';
import type { FindingInput } from '../src/store/index.js';
import { migrate } from '../src/store/sqlite/migrate.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'keyloop-conf-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const catalog = loadCatalog('test/fixtures/detectors/basic');
const engine = createEngine(catalog);
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const rand = (n: number) => Array.from(randomBytes(n), (b) => ALNUM[b % 62]).join('');
const def = (id: string) => catalog.byId.get(id)!.def;

function source(files: Record<string, string>): ContentSource {
  return {
    items: Object.keys(files).map((path) => ({
      id: path,
      blob: null,
      size: files[path]!.length,
      origins: [{ commit: '', author: { name: '', email: '' }, date: '', subject: '', path }],
    })),
    problems: [],
    async *read(ids) {
      for (const id of ids) yield { id, data: Buffer.from(files[id]!) };
    },
  };
}
const scan = async (files: Record<string, string>) => (await scanSource(source(files), inThreadStage(engine), { maxBlobSize: 1 << 20 })).findings;

describe('confidence', () => {
  it('from the detector and the secret: generic low, checksum high, a structured prefix high, a keyword around it medium', () => {
    expect(baseConfidence(def('generic-secret'), rand(24))).toBe('low');
    expect(baseConfidence(def('kltk-token'), `kltk_${rand(36)}`)).toBe('high');
    expect(baseConfidence(def('acme-token'), `acme_${rand(32)}`)).toBe('high');
    expect(baseConfidence(def('acme-secret-key'), rand(40))).toBe('medium');
  });

  it('test fixtures and examples by path', () => {
    for (const p of ['test/a.env', 'src/__tests__/x.ts', 'pkg/tests/fixtures/key.pem', 'spec/x.rb', 'testdata/k', 'examples/app.js', 'a/b.test.ts', 'x_test.go', 'test_x.py', 'apis/kms.examples.json']) {
      expect(isFixturePath(p), p).toBe(true);
    }
    for (const p of ['src/app.ts', 'config/prod.env', 'contest/x.js', 'latest/a.js', 'src/testing.ts', 'attestation/k.pem']) expect(isFixturePath(p), p).toBe(false);
  });

  it('one step lower when every location is a fixture; live makes it high', () => {
    expect(findingConfidence('high', [{ context: 'fixture' }])).toBe('medium');
    expect(findingConfidence('medium', [{ context: 'fixture' }, {}])).toBe('medium');
    expect(findingConfidence('low', [{ context: 'fixture' }])).toBe('low');
    const f = { confidence: findingConfidence('medium', [{ context: 'fixture' }]) };
    applyVerification(f, { status: 'live', checkedAt: 'x', reason: 'r' });
    expect(f.confidence).toBe('high');
  });

  it('the pipeline sets it per finding and marks fixture locations', async () => {
    const tok = `acme_${rand(32)}`;
    const other = `acme_${rand(32)}`;
    const generic = rand(24);
    const fs = await scan({ 'test/fixtures/a.env': `T=${tok}\nO=${other}\n`, 'src/b.env': `T=${tok}\npassword = "${generic}"\n` });
    const by = new Map(fs.map((f) => [f.secret, f]));
    expect(by.get(tok)).toMatchObject({ confidence: 'high' });
    expect(by.get(tok)!.locations.map((l) => [l.path, l.context])).toEqual([
      ['src/b.env', undefined],
      ['test/fixtures/a.env', 'fixture'],
    ]);
    expect(by.get(other)).toMatchObject({ confidence: 'medium' });
    expect(by.get(generic)).toMatchObject({ detector: 'generic-secret', confidence: 'low' });
  });
});

describe('confidence in the store', () => {
  const finding = (secret: string, confidence?: FindingInput['confidence']): FindingInput => ({
    detector: 'acme-token',
    name: 'Acme API token',
    provider: 'acme',
    severity: 'high',
    ...(confidence ? { confidence } : {}),
    fingerprint: fingerprint('acme-token', secret),
    redacted: 'acme_…',
    secret,
    parts: {},
    locations: [{ commit: 'a'.repeat(40), author: null, date: null, path: 'x.env', line: 1, column: 1, blob: 'b'.repeat(40) }],
  });

  it('keeps the highest confidence any scan gave a secret', async () => {
    const s = openSqliteStore(join(tmp(), 'k.db'), { key: randomBytes(32) });
    const secret = `acme_${rand(32)}`;
    await s.recordRepoScan(null, 'acme/api', { findings: [finding(secret, 'low')], blobs: [] });
    expect((await s.getSecret(finding(secret).fingerprint))?.confidence).toBe('low');
    await s.recordRepoScan(null, 'acme/api', { findings: [finding(secret, 'medium')], blobs: [] });
    await s.recordRepoScan(null, 'acme/api', { findings: [finding(secret, 'low')], blobs: [] });
    expect((await s.getSecret(finding(secret).fingerprint))?.confidence).toBe('medium');
    expect(() => s.db.prepare("UPDATE secrets SET confidence = 'certain'").run()).toThrow(/CHECK/);
    await s.close();
  });

  it('migrates rows stored before the column: generic detectors low, the others medium', () => {
    const dir = tmp();
    const all = loadMigrations();
    const m040 = all.find((m) => m.name === '040-confidence.sql')!;
    // a database at the schema just before 040, with two secrets in it
    const db = new Database(join(dir, 'k.db'));
    migrate(
      db,
      all.filter((m) => m.version < m040.version),
    );
    const insert = db.prepare(
      "INSERT INTO secrets (fingerprint, detector, name, provider, severity, redacted, secret_enc, key_id, detected_at) VALUES (?, ?, 'n', 'p', 'high', 'r', ?, 'k', 'now')",
    );
    insert.run('a'.repeat(64), 'generic-password-assignment', randomBytes(40));
    insert.run('b'.repeat(64), 'github-pat-classic', randomBytes(40));
    migrate(db, all);
    expect(db.prepare('SELECT detector, confidence FROM secrets ORDER BY fingerprint').all()).toEqual([
      { detector: 'generic-password-assignment', confidence: 'low' },
      { detector: 'github-pat-classic', confidence: 'medium' },
    ]);
    db.close();
    expect(readdirSync(defaultMigrationsDir())).toContain('040-confidence.sql');
  });
});
