// The peer bench's scoring rule and blob dump (the peers themselves are not installed by tests: they are
// optional, fetched by `npm run bench:peers` into a cache outside the repo).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dumpBlobs, scoreFindings } from '../bench/peers.js';
import type { CorpusManifest } from '../corpus/builder.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const rand = (n: number) => Array.from({ length: n }, () => 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'[Math.floor(Math.random() * 57)]).join('');

describe('scoreFindings', () => {
  const token = `tok_${rand(32)}`;
  const pem = `-----BEGIN TEST KEY-----\n${rand(64)}\n${rand(64)}\n-----END TEST KEY-----`;
  const b64Secret = `kb_${rand(30)}`;
  const manifest: CorpusManifest = {
    dir: '/nowhere',
    commits: 1,
    labels: [
      { path: 'a.env', detector: 'tok', secret: token, carrier: 'verbatim' },
      { path: 'key.json', detector: 'pem', secret: pem.split('\n').join('\\n'), carrier: 'json' },
      { path: 'k8s/s.yaml', detector: 'kb', secret: b64Secret, carrier: 'k8s' },
      { path: 'b.env', detector: 'tok', secret: `tok_${rand(32)}`, carrier: 'yaml' },
    ],
    decoys: [{ path: 'decoys/p.env', family: 'placeholders' }],
  };

  it('counts a match that contains the secret, a long enough part of it, the JSON-escaped form and the base64 form', () => {
    const r = scoreFindings(manifest, [
      { path: 'a.env', texts: [`TOKEN=${token}`], rule: 'x' },
      { path: 'key.json', texts: [pem], rule: 'x' },
      { path: 'k8s/s.yaml', texts: [Buffer.from(b64Secret).toString('base64')], rule: 'x' },
      { path: 'b.env', texts: ['tok_'], rule: 'x' }, // too short to count as part of a planted secret
    ]);
    expect(r.found).toBe(3);
    expect(r.missedByCarrier).toEqual({ yaml: 1 });
    expect(r.falsePositives).toBe(1);
  });

  it('counts false positives once per text, decoy findings per file and text, and companions apart', () => {
    const sid = `SK${rand(32)}`;
    const r = scoreFindings(
      manifest,
      [
        { path: 'decoys/p.env', texts: ['ghp_xxxxxxxxxxxxxxxxxxxx'], rule: 'gh' },
        { path: 'other/p.env', texts: ['ghp_xxxxxxxxxxxxxxxxxxxx'], rule: 'gh' },
        { path: 'decoys/p.env', texts: ['npm_1234567890'], rule: 'generic' },
        { path: 'a.env', texts: [sid], rule: 'sid' },
        { path: 'a.env', texts: [token.slice(0, 12)], rule: 'partial' },
      ],
      [sid],
    );
    expect(r.found).toBe(1);
    expect(r.falsePositives).toBe(2);
    expect(r.decoyFindings).toBe(2);
    expect(r.decoyFamilies).toEqual({ placeholders: 2 });
    expect(r.companionFindings).toBe(1);
  });
});

describe('dumpBlobs', () => {
  it('writes every blob of every ref, deleted files included, under its first path and a versions folder on collisions', () => {
    const repo = mkdtempSync(join(tmpdir(), 'peers-dump-'));
    const out = mkdtempSync(join(tmpdir(), 'peers-out-'));
    dirs.push(repo, out);
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: repo, env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
    git('init', '-q', '-b', 'main');
    mkdirSync(join(repo, 'cfg'));
    writeFileSync(join(repo, 'cfg/app.env'), 'V=1\n');
    writeFileSync(join(repo, 'gone.txt'), 'deleted later\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'one');
    writeFileSync(join(repo, 'cfg/app.env'), 'V=2\n');
    git('rm', '-q', 'gone.txt');
    git('add', '-A');
    git('commit', '-q', '-m', 'two');
    git('checkout', '-q', '-b', 'side', 'HEAD~1');
    writeFileSync(join(repo, 'side.txt'), 'only on a branch\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'side');

    const mapping = dumpBlobs(repo, out);
    expect(mapping.size).toBe(4);
    expect([...mapping.values()].sort()).toEqual(['cfg/app.env', 'cfg/app.env', 'gone.txt', 'side.txt']);
    const versions = [...mapping.keys()].filter((k) => k.startsWith('_versions/'));
    expect(versions).toHaveLength(1);
    const contents = ['cfg/app.env', versions[0]!].map((k) => readFileSync(join(out, k), 'utf8')).sort();
    expect(contents).toEqual(['V=1\n', 'V=2\n']);
    expect(readFileSync(join(out, 'gone.txt'), 'utf8')).toBe('deleted later\n');
    expect(readFileSync(join(out, 'side.txt'), 'utf8')).toBe('only on a branch\n');
  });
});
