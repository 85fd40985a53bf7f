// The compiled catalog (src/detection/load.ts, written by scripts/postbuild.mjs): what it loads equals what the
// YAML gives, it is used only for provider files byte for byte those it was built from, and a catalog that does
// not validate is never compiled.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import { loadCatalog, writeCompiledCatalog } from '../src/detection/load.js';
import type { Catalog } from '../src/detection/types.js';

const DIR = join(import.meta.dirname, '..', 'detectors');
const tmp = mkdtempSync(join(tmpdir(), 'keyloop-compiled-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const NONE = join(tmp, 'no-compiled-catalog.json');

const plain = (c: Catalog) => ({ detectors: c.detectors, byId: [...c.byId], providers: [...c.providers] });

describe('compiled catalog', () => {
  const compiled = join(tmp, 'catalog.generated.json');
  writeCompiledCatalog(DIR, compiled);

  it('loads the same catalog as the YAML files, file paths included', () => {
    expect(plain(loadCatalog(DIR, compiled))).toStrictEqual(plain(loadCatalog(DIR, NONE)));
  });

  it('is used for a copy of the same files in another folder (the paths are that folder’s)', () => {
    const copy = join(tmp, 'copy');
    cpSync(DIR, copy, { recursive: true });
    // a marker only the compiled file holds shows which one was read
    const doctored = join(tmp, 'doctored.json');
    const c = JSON.parse(readFileSync(compiled, 'utf8')) as { providers: { data: { detectors: { name: string }[] } }[] };
    c.providers[0]!.data.detectors[0]!.name = 'from the compiled file';
    writeFileSync(doctored, JSON.stringify(c));
    const loaded = loadCatalog(copy, doctored);
    expect(loaded.detectors[0]!.def.name).toBe('from the compiled file');
    expect(loaded.detectors[0]!.file.startsWith(copy)).toBe(true);
  });

  it('is not used once a provider file changes, or a file is added or removed', () => {
    const edited = join(tmp, 'edited');
    cpSync(DIR, edited, { recursive: true });
    const first = loadCatalog(DIR, NONE).detectors[0]!;
    const file = first.file.replace(DIR, edited);
    writeFileSync(file, readFileSync(file, 'utf8').replace(`name: ${first.def.name}`, 'name: Edited after the build'));
    expect(loadCatalog(edited, compiled).detectors[0]!.def.name).toBe('Edited after the build');

    const fewer = join(tmp, 'fewer');
    cpSync(DIR, fewer, { recursive: true });
    rmSync(file.replace(edited, fewer));
    expect(loadCatalog(fewer, compiled).providers.has(first.provider.id)).toBe(false);
  });

  it('ignores a compiled file of another format', () => {
    const other = join(tmp, 'other-format.json');
    writeFileSync(other, JSON.stringify({ ...JSON.parse(readFileSync(compiled, 'utf8')), format: 999, providers: [] }));
    expect(loadCatalog(DIR, other).detectors.length).toBe(loadCatalog(DIR, NONE).detectors.length);
  });

  it('refuses to compile a catalog that does not validate', () => {
    const bad = join(tmp, 'bad');
    cpSync(DIR, bad, { recursive: true });
    writeFileSync(
      join(bad, 'zz-broken.yaml'),
      'provider: {id: zz-broken, name: Broken}\ndetectors:\n  - id: broken-one\n    name: Broken one\n    keywords: [brk]\n    pattern: "(unclosed"\n    examples: ["brk"]\n',
    );
    expect(() => writeCompiledCatalog(bad, join(tmp, 'never.json'))).toThrow(ConfigError);
    expect(() => readFileSync(join(tmp, 'never.json'))).toThrow();
  });
});
