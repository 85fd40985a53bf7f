// The fast full-history enumeration (byte-level git log parser, overlapped sizes, numeric oid sort, Date-free
// isoUtc) must give exactly what the plain versions give, including on inputs the other fixtures never reach.
import { describe, expect, it } from 'vitest';
import { IsomorphicGitObjects } from '../src/objects/isomorphic.js';
import { logArgs, NativeGitObjects, RawLogParser } from '../src/objects/native.js';
import { isBlobMode, isNullOid, isoUtc, sortOids } from '../src/objects/provenance.js';
import { buildRepo, git, gitRaw } from '../testkit/git-repo.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const hex = (r: () => number, n: number) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(r() * 16)]).join('');

describe('isoUtc', () => {
  it('equals Date#toISOString for whole seconds, edges and the inputs it hands to Date', () => {
    const r = rng(7);
    const xs = Array.from({ length: 20000 }, () => Math.floor(r() * 253402300800));
    // leap days, century rules, the ends of the fast path, and values it must leave to Date
    xs.push(0, 1, 59, 86399, 86400, 951782400, 951868799, 951868800, 4107456000, 4107542400, 946684799, 253402300799);
    for (const x of xs) expect(isoUtc(x), String(x)).toBe(new Date(x * 1000).toISOString());
    for (const x of [-1, -86401, 1.5, 253402300800, 8.64e12]) expect(isoUtc(x)).toBe(new Date(x * 1000).toISOString());
    expect(() => isoUtc(Number.NaN)).toThrow(RangeError);
  });
});

describe('sortOids', () => {
  it('orders like the default string sort, ties on the numeric prefix included', () => {
    const r = rng(11);
    const oids = Array.from({ length: 5000 }, () => hex(r, 40));
    // shared 8-digit prefixes fall back to whole-string order inside the run
    for (let i = 0; i < 300; i++) oids.push(oids[i]!.slice(0, 8 + Math.floor(r() * 30)) + hex(r, 40).slice(0, 32 - Math.floor(r() * 30)));
    oids.push('00000000' + hex(r, 32), 'ffffffff' + hex(r, 32), hex(r, 64));
    expect(sortOids([...oids])).toEqual([...oids].sort());
  });

  it('takes the string sort for anything that is not lowercase hex', () => {
    for (const odd of [['b', 'a'], ['ABCDEF0123', 'abcdef0123', '0123456789'], ['zz' + 'a'.repeat(38), 'a'.repeat(40)], []]) {
      expect(sortOids([...odd])).toEqual([...odd].sort());
    }
  });
});

/** The straightforward per-token version of the walk's parser: the oracle for the byte-level one. */
function reference(stream: Buffer): Array<[string, string, string, string]> {
  const out: Array<[string, string, string, string]> = [];
  const toks: Buffer[] = [];
  for (let s = 0, i = stream.indexOf(0); ; i = stream.indexOf(0, s)) {
    if (i === -1) {
      if (s < stream.length) toks.push(stream.subarray(s));
      break;
    }
    toks.push(stream.subarray(s, i));
    s = i + 1;
  }
  let meta: string[] = [];
  for (let k = 0; k < toks.length; k++) {
    const tok = toks[k]!;
    if (tok[0] === 1) {
      meta = [tok.toString('utf8', 1), ...toks.slice(k + 1, k + 5).map((t) => t.toString('utf8'))];
      k += 4;
      continue;
    }
    let s = tok.toString('latin1');
    if (s.startsWith('\n')) s = s.slice(1);
    if (!s.startsWith(':')) continue;
    const parents = s.length - s.replace(/^:+/, '').length;
    const f = s.slice(parents).split(' ');
    const dst = f[2 * parents + 1]!;
    const path = toks[++k]!.toString('utf8');
    if (isBlobMode(f[parents]!) && !isNullOid(dst) && !f.slice(parents + 1, 2 * parents + 1).includes(dst)) {
      out.push([dst, meta[0]!, `${meta[1]} <${meta[2]}> ${isoUtc(Number(meta[3]))} ${meta[4]}`, path]);
    }
  }
  return out;
}

function parse(pieces: Buffer[]) {
  const got: Array<[string, string, string, string]> = [];
  const p = new RawLogParser((oid, m, path) => got.push([oid, m.commit, `${m.author.name} <${m.author.email}> ${m.date} ${m.subject}`, path]));
  for (const b of pieces) p.push(b);
  p.end();
  return { got, commits: p.commits };
}

describe('native full-history walk', () => {
  it('octopus merges, odd paths and long subjects: same as isomorphic, and chunking never matters', async () => {
    const long = 'long subject ' + 'ü x'.repeat(30000);
    const r = await buildRepo({
      commits: [
        { id: 'c0', files: { 'base.txt': 'base\n', 'tab\there.txt': 'tab\n', 'new\nline.txt': 'newline\n', 'q"uote.txt': 'quote\n' } },
        { id: 'a', branch: 'a', parents: ['c0'], files: { 'shared.txt': 'from a\n', 'a.txt': 'a\n' }, message: long },
        { id: 'b', branch: 'b', parents: ['c0'], files: { 'shared.txt': 'from b\n', 'b.txt': 'b\n', ':colon.txt': 'colon\n' } },
        { id: 'c', branch: 'c', parents: ['c0'], files: { 'shared.txt': 'from c\n', 'c.txt': 'c\n', '\u0001ctl.txt': 'control\n' } },
        // three parents: shared.txt takes b's blob (not new), octo.txt is new, base.txt is rewritten
        {
          id: 'm',
          parents: ['c0', 'a', 'b', 'c'],
          files: { 'shared.txt': 'from b\n', 'a.txt': 'a\n', 'b.txt': 'b\n', 'c.txt': 'c\n', ':colon.txt': 'colon\n', '\u0001ctl.txt': 'control\n', 'octo.txt': 'octopus\n', 'base.txt': 'base 2\n' },
          message: '\u0001starts with a control byte',
        },
        { id: 'd', parents: ['m'], files: { 'tab\there.txt': null, 'renamed.txt': 'tab\n' } },
      ],
    });
    // a tree whose path is not UTF-8 (git allows any bytes but NUL and '/')
    const oid = (await gitRaw(r.gitDir, ['hash-object', '-w', '--stdin'], { input: 'latin1 name\n' })).toString().trim();
    const tree = (await gitRaw(r.gitDir, ['mktree', '-z'], { input: Buffer.concat([Buffer.from(`100644 blob ${oid}\t`), Buffer.from([0x63, 0xe9, 0xff, 0x2e, 0x74]), Buffer.from([0])]) })).toString().trim();
    const bin = (await gitRaw(r.gitDir, ['commit-tree', tree, '-p', r.sha.d!, '-m', 'bytes'], { env: { ...process.env, GIT_AUTHOR_DATE: '1700000000 +0000', GIT_COMMITTER_DATE: '1700000000 +0000' } })).toString().trim();
    await git(r.gitDir, 'update-ref', 'refs/heads/bytes', bin);

    const native = await new NativeGitObjects({ gitDir: r.gitDir }).enumerate({ kind: 'all' });
    expect(native.problems).toEqual([]);
    expect(native.commits).toBe(7);
    const origins = native.blobs.flatMap((b) => b.origins.map((o) => [o.commit, o.path]));
    const at = (id: string) => origins.filter(([c]) => c === r.sha[id]).map(([, p]) => p).sort();
    expect(at('m')).toEqual(['base.txt', 'octo.txt']);
    expect(at('c')).toEqual(['\u0001ctl.txt', 'c.txt', 'shared.txt']);
    expect(at('b')).toEqual([':colon.txt', 'b.txt', 'shared.txt']);
    expect(at('c0')).toEqual(['base.txt', 'new\nline.txt', 'q"uote.txt', 'tab\there.txt']);
    expect(at('d')).toEqual(['renamed.txt']);
    expect(origins.filter(([c]) => c === bin).map(([, p]) => p)).toEqual(['c\ufffd\ufffd.t']);
    const subj = native.blobs.flatMap((b) => b.origins).find((o) => o.commit === r.sha.a)!.subject;
    expect(subj).toBe(long);

    // the isomorphic adapter reads the objects itself: both must agree on everything but non-UTF-8 bytes
    const iso = await new IsomorphicGitObjects({ gitDir: r.gitDir }).enumerate({ kind: 'range', to: r.sha.d!, exclude: [] });
    expect(await new NativeGitObjects({ gitDir: r.gitDir }).enumerate({ kind: 'range', to: r.sha.d!, exclude: [] })).toEqual(iso);

    // the byte-level parser against the per-token oracle, whatever the chunk boundaries
    const stream = await gitRaw(r.gitDir, logArgs(['--all']));
    const want = reference(stream);
    expect(want.length).toBeGreaterThan(10);
    expect(parse([stream])).toEqual({ got: want, commits: 7 });
    const bytes = [...stream].map((x) => Buffer.from([x]));
    expect(parse(bytes).got).toEqual(want);
    const r2 = rng(3);
    for (let round = 0; round < 20; round++) {
      const pieces: Buffer[] = [];
      for (let s = 0; s < stream.length; ) {
        const n = 1 + Math.floor(r2() * (round < 10 ? 64 : 70000));
        pieces.push(stream.subarray(s, s + n));
        s += n;
      }
      expect(parse(pieces).got).toEqual(want);
    }
  });

  it('reports a missing blob found by the walk and keeps every other size', async () => {
    const r = await buildRepo({ bare: true, commits: Array.from({ length: 30 }, (_, i) => ({ id: `c${i}`, files: { [`f${i % 7}.txt`]: `content ${i}\n` } })) });
    const full = await new NativeGitObjects({ gitDir: r.gitDir }).enumerate({ kind: 'all' });
    expect(full.blobs).toHaveLength(30);
    for (const b of full.blobs) expect(b.size).toBe(Number(await git(r.gitDir, 'cat-file', '-s', b.oid)));
    const sizes = Object.fromEntries(full.blobs.map((b) => [b.oid, b.size]));
    const victim = full.blobs[5]!.oid;
    // loose objects: delete one blob file
    const { rm } = await import('node:fs/promises');
    await rm(`${r.gitDir}/objects/${victim.slice(0, 2)}/${victim.slice(2)}`);
    const e = await new NativeGitObjects({ gitDir: r.gitDir }).enumerate({ kind: 'all' });
    expect(e.problems).toEqual([expect.objectContaining({ kind: 'missing-object', oid: victim })]);
    expect(e.blobs.map((b) => b.oid)).toEqual(full.blobs.map((b) => b.oid).filter((o) => o !== victim));
    for (const b of e.blobs) expect(b.size).toBe(sizes[b.oid]);
  });
});
