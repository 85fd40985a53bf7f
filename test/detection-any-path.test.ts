// A scan for any path (ScanContext.anyPath) keeps, per match, the path classes it holds in; the matches it keeps
// for a path must be exactly those of a scan with that path. Checked over the accuracy corpus (every detector in
// every carrier, and the decoy families whose verdict depends on the path: lockfiles, minified bundles, code).
import { readdirSync, readFileSync, rmSync, statSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCorpus } from '../corpus/builder.js';
import { createEngine, matchesForPath } from '../src/detection/engine.js';
import { pathClass, PATH_CLASSES } from '../src/detection/filters.js';
import { loadCatalog } from '../src/detection/load.js';

const work = mkdtempSync(join(tmpdir(), 'keyloop-anypath-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === '.git') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else out.push(p);
  }
  return out;
}

describe('scan for any path', () => {
  it('equals a scan with the path, for every file and a path of every class', () => {
    const catalog = loadCatalog(join(import.meta.dirname, '..', 'detectors'));
    const engine = createEngine(catalog);
    const manifest = buildCorpus(join(work, 'repo'), catalog, { seed: 99, largeMiB: 1 });
    const others = ['README.md', 'src/app.py', 'package-lock.json', 'dist/app.min.js', 'web/vendor.bundle.js', 'go.sum', 'yarn.lock', 'lib/x.min.js'];
    const classes = new Set(others.map(pathClass));
    let matches = 0;
    let differ = 0;
    for (const file of files(manifest.dir)) {
      const data = readFileSync(file);
      const own = relative(manifest.dir, file);
      const any = engine.scan(data, { path: '', anyPath: true });
      for (const path of [own, ...others]) {
        classes.add(pathClass(path));
        const want = engine.scan(data, { path });
        expect(matchesForPath(any, path), `${own} as ${path}`).toEqual(want);
        matches += want.length;
      }
      if (any.some((m) => m.pathClasses !== (1 << PATH_CLASSES) - 1)) differ++;
    }
    expect(matches).toBeGreaterThan(500);
    // some matches hold only for some paths (the point of the classes), and the paths cover several classes
    expect(differ).toBeGreaterThan(0);
    expect(classes.size).toBeGreaterThanOrEqual(4);
  });
});
