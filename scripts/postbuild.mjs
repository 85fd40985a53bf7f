// After tsc: copy non-TypeScript assets the compiled code loads at run time (SQL migrations; uPlot, which the HTML
// report inlines, since an installed keyloop has no devDependencies), compile the detector catalog, bundle the CLI
// (scripts/bundle.mjs) and make its entry executable. `node scripts/postbuild.mjs [DIST]`: DIST is tsc's output
// folder, dist/ by default (test/helpers/built-cli.ts builds one elsewhere).
// Detector YAML ships from the package's own detectors/ folder (see package.json "files"); its compiled form (below)
// ships in dist/src/detection.
import { chmodSync, copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleCli } from './bundle.mjs';

const root = new URL('../', import.meta.url);
const dist = process.argv[2] ? pathToFileURL(resolve(process.argv[2]) + '/') : new URL('dist/', root);
// SQLite migrations, and the PostgreSQL ones in their postgres/ subfolder.
for (const dir of ['src/store/migrations/', 'src/store/migrations/postgres/']) {
  const from = new URL(dir, root);
  const to = new URL(dir, dist);
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from)) if (f.endsWith('.sql')) copyFileSync(new URL(f, from), new URL(f, to));
}

// must match src/notify/uplot-asset.ts (UPLOT_FILES, UPLOT_VENDOR_DIR)
const uplotDist = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
const vendor = new URL('src/notify/vendor/uplot/', dist);
mkdirSync(vendor, { recursive: true });
for (const f of ['uPlot.iife.min.js', 'uPlot.min.css']) copyFileSync(`${uplotDist}/${f}`, new URL(f, vendor));
copyFileSync(`${uplotDist}/../LICENSE`, new URL('LICENSE', vendor));

// The built-in detector catalog, parsed and validated once (src/detection/compiled-catalog.ts). A catalog
// that does not validate is not compiled: keyloop then reads the YAML and reports the error where it is used.
const { writeCompiledCatalog, COMPILED_CATALOG_FILE } = await import(new URL('src/detection/load.js', dist).href);
const compiledCatalog = new URL(`src/detection/${COMPILED_CATALOG_FILE}`, dist);
try {
  writeCompiledCatalog(new URL('detectors/', root).pathname, compiledCatalog.pathname);
} catch (err) {
  rmSync(compiledCatalog, { force: true });
  console.warn(`postbuild: built-in detectors not compiled (${err.message}); keyloop will read detectors/*.yaml`);
}

// Last: the bundle is made from tsc's cli/main.js, which it replaces.
await bundleCli(dist.pathname);
chmodSync(new URL('cli/main.js', dist), 0o755);
