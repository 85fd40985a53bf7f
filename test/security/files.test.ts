// Files holding findings are the owner's alone. Before: `-o FILE` followed a symlink at FILE and kept an existing
// file's 0644 mode even with --reveal; the SQLite store was created 0644 (author e-mails, paths and previews
// world-readable). Now every such file is written 0600 and directories 0700 whatever the umask, and a report
// goes through a new file renamed into place.
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore as openStore } from '../../src/store/sqlite/index.js';
import { mkdirPrivate, mkdirPrivateSync, writePrivateFile } from '../../src/util/private-fs.js';
import { buildRepo, tempDir, type BuiltRepo } from '../../testkit/git-repo.js';
import { runCli } from '../helpers/run-cli.js';
import { scanReport } from '../helpers/scan-report.js';
import { rng } from '../../testkit/token-gen.js';

const DETECTORS = join(import.meta.dirname, '..', 'fixtures', 'detectors', 'basic');
const rand = rng(600);
const token = () => 'acme_' + Array.from({ length: 32 }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(rand() * 62)]).join('');
const mode = (p: string) => statSync(p).mode & 0o777;

// umask 000: nothing but keyloop's own modes decides (the worst case for a file created with a default mode)
let saved: number;
beforeEach(() => {
  saved = process.umask(0);
});
afterEach(() => {
  process.umask(saved);
});

describe('scan -o FILE', () => {
  let repo: BuiltRepo;
  let secret: string;
  beforeEach(async () => {
    secret = token();
    repo = await buildRepo({ commits: [{ id: 'c1', files: { 'app.env': `KEY=${secret}\n` } }] });
  });

  it('replaces an existing 0644 file with a 0600 one, also with --reveal', async () => {
    const dir = await tempDir();
    const out = join(dir, 'findings.json');
    writeFileSync(out, 'old report\n', { mode: 0o644 });
    chmodSync(out, 0o644);
    const r = await runCli(['scan', repo.dir, '--detectors', DETECTORS, '--no-progress', '--format', 'json', '--reveal', '-o', out]);
    expect(r.code).toBe(1);
    expect(mode(out)).toBe(0o600);
    expect(scanReport(readFileSync(out, 'utf8')).findings[0]!.secret).toBe(secret);
  });

  it('never writes through a symlink at FILE: the link is replaced, its target untouched', async () => {
    const dir = await tempDir();
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'do not overwrite\n');
    chmodSync(victim, 0o644);
    const out = join(dir, 'report.json');
    symlinkSync(victim, out);
    const r = await runCli(['scan', repo.dir, '--detectors', DETECTORS, '--no-progress', '--format', 'json', '--reveal', '-o', out]);
    expect(r.code).toBe(1);
    expect(readFileSync(victim, 'utf8')).toBe('do not overwrite\n');
    expect(mode(victim)).toBe(0o644);
    expect(lstatSync(out).isSymbolicLink()).toBe(false);
    expect(mode(out)).toBe(0o600);
    expect(readFileSync(out, 'utf8')).toContain(secret);
  });

  it('a dangling symlink to a file an attacker wants created is not followed either', async () => {
    const dir = await tempDir();
    const target = join(dir, 'created-by-link');
    const out = join(dir, 'out.sarif');
    symlinkSync(target, out);
    await runCli(['scan', repo.dir, '--detectors', DETECTORS, '--no-progress', '--format', 'sarif', '-o', out]);
    expect(existsSync(target)).toBe(false);
    expect(mode(out)).toBe(0o600);
  });

  it('an output path that cannot be written is a usage error naming it, and leaves no temp file', async () => {
    const dir = await tempDir();
    mkdirSync(join(dir, 'is-a-dir'));
    const r = await runCli(['scan', repo.dir, '--detectors', DETECTORS, '--no-progress', '--format', 'json', '-o', join(dir, 'is-a-dir')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--output: cannot write .*is-a-dir/);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir)).toEqual(['is-a-dir']);
  });
});

describe('the SQLite store and other files keyloop creates', () => {
  it('a new database, its -wal and -shm, and the directory made for it are 0600/0700', async () => {
    const dir = await tempDir();
    const db = join(dir, 'nested', 'state', 'keyloop.db');
    const store = openStore(db);
    store.db.exec('CREATE TABLE IF NOT EXISTS t (x TEXT); INSERT INTO t VALUES (1);');
    expect(mode(db)).toBe(0o600);
    for (const side of ['-wal', '-shm']) if (existsSync(db + side)) expect(mode(db + side), side).toBe(0o600);
    expect(existsSync(db + '-wal')).toBe(true);
    expect(mode(join(dir, 'nested'))).toBe(0o700);
    expect(mode(join(dir, 'nested', 'state'))).toBe(0o700);
    await store.close();
  });

  it('an existing world-readable database is narrowed to 0600 when opened for writing', async () => {
    const dir = await tempDir();
    const db = join(dir, 'old.db');
    await openStore(db).close();
    chmodSync(db, 0o644);
    const store = openStore(db);
    expect(mode(db)).toBe(0o600);
    await store.close();
  });

  it('report -o writes 0600 through a new file', async () => {
    const dir = await tempDir();
    const db = join(dir, 'k.db');
    await openStore(db).close();
    const out = join(dir, 'report.html');
    writeFileSync(out, 'old');
    chmodSync(out, 0o666);
    const r = await runCli(['report', '--db', db, '--format', 'html', '-o', out]);
    expect(r.code).toBe(0);
    expect(mode(out)).toBe(0o600);
    expect(readFileSync(out, 'utf8')).toMatch(/^<!doctype html>/);
  });

  it('mirror cache directories are created 0700 (sync and async), files written 0600', async () => {
    const dir = await tempDir();
    await mkdirPrivate(join(dir, 'cache', 'github.com', 'acme'));
    mkdirPrivateSync(join(dir, 'cache2', 'x'));
    for (const d of ['cache', 'cache/github.com', 'cache/github.com/acme', 'cache2', 'cache2/x']) expect(mode(join(dir, d)), d).toBe(0o700);
    // an existing parent (the operator's --cache-dir, say) is left as it was
    mkdirSync(join(dir, 'shared'), { mode: 0o755 });
    await mkdirPrivate(join(dir, 'shared', 'mirror'));
    expect(mode(join(dir, 'shared'))).toBe(0o755);
    expect(mode(join(dir, 'shared', 'mirror'))).toBe(0o700);
    writePrivateFile(join(dir, 'f'), 'x');
    expect(mode(join(dir, 'f'))).toBe(0o600);
  });
});
