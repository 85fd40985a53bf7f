// After tsc: copy non-TypeScript assets the compiled code loads at run time (SQL migrations; uPlot, which the HTML
// report inlines, since an installed keyloop has no devDependencies), and make the CLI entry executable.
// Detector YAML ships from the package's own detectors/ folder (see package.json "files"); its compiled form (below)
// ships in dist/src/detection.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

const root = new URL('../', import.meta.url);
// SQLite migrations, and the PostgreSQL ones in their postgres/ subfolder.
for (const dir of ['src/store/migrations/', 'src/store/migrations/postgres/']) {
  const from = new URL(dir, root);
  const to = new URL('dist/' + dir, root);
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from)) if (f.endsWith('.sql')) copyFileSync(new URL(f, from), new URL(f, to));
}

// must match src/notify/uplot-asset.ts (UPLOT_FILES, UPLOT_VENDOR_DIR)
const uplotDist = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
const vendor = new URL('dist/src/notify/vendor/uplot/', root);
mkdirSync(vendor, { recursive: true });
for (const f of ['uPlot.iife.min.js', 'uPlot.min.css']) copyFileSync(`${uplotDist}/${f}`, new URL(f, vendor));
copyFileSync(`${uplotDist}/../LICENSE`, new URL('LICENSE', vendor));

const bin = new URL('dist/cli/main.js', root);
if (existsSync(bin)) chmodSync(bin, 0o755);

// The built-in detector catalog, parsed and validated once (src/detection/load.ts: the compiled catalog). A catalog
// that does not validate is not compiled: keyloop then reads the YAML and reports the error where it is used.
const { writeCompiledCatalog, COMPILED_CATALOG_FILE } = await import(new URL('dist/src/detection/load.js', root).href);
const compiledCatalog = new URL(`dist/src/detection/${COMPILED_CATALOG_FILE}`, root);
try {
  writeCompiledCatalog(new URL('detectors/', root).pathname, compiledCatalog.pathname);
} catch (err) {
  rmSync(compiledCatalog, { force: true });
  console.warn(`postbuild: built-in detectors not compiled (${err.message}); keyloop will read detectors/*.yaml`);
}
