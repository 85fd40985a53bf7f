// With no git binary on PATH, 'auto' falls back to the isomorphic adapter, which must never spawn git.
import { describe, expect, it } from 'vitest';
import { openRepo } from '../src/objects/open.js';
import { buildRepo } from '../testkit/git-repo.js';

describe('openRepo without git on PATH', () => {
  it('auto picks isomorphic and it enumerates and reads', async () => {
    const r = await buildRepo({ commits: [{ id: 'c0', files: { 'a.txt': 'alpha\n' } }, { id: 'c1', files: { 'a.txt': 'beta\n' } }] });
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const o = (await openRepo(r.dir, 'auto'))!;
      expect(o.backend).toBe('isomorphic');
      const e = await o.enumerate({ kind: 'all' });
      expect(e.commits).toBe(2);
      expect(e.blobs).toHaveLength(2);
      const texts: string[] = [];
      for await (const b of o.read(e.blobs.map((x) => x.oid), { maxBlobSize: 100 })) if ('data' in b) texts.push(b.data.toString());
      expect(texts.sort()).toEqual(['alpha\n', 'beta\n']);
      expect(await o.resolve('HEAD')).toBe(r.sha.c1);
    } finally {
      process.env.PATH = saved;
    }
  });
});
