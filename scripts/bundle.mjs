// After tsc and postbuild: bundle the CLI (DIST/cli/main.js and what it imports) into DIST/cli/main.js plus chunks
// in DIST/cli/chunks/, so `keyloop` starts by reading a few files instead of ~200 modules (README: Start-up).
// Bundled: keyloop's own modules and zod (tree-shaken: no locale modules). Kept external: every other package
// (native addons, and packages that locate files of their own at run time) and node's built-ins. The commands'
// dynamic imports become chunks, still loaded on demand. The scan worker thread stays tsc's DIST/src/scan/worker.js.
//
// Modules find files beside themselves through import.meta.url (migrations, the compiled catalog, the uPlot asset,
// the worker script, the package root): in the bundle each module's import.meta.url is rewritten to the URL its
// tsc output has (DIST/src/…), computed from the chunk's own URL, so every such file is found where postbuild put
// it, wherever the package is installed.
import { existsSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Packages bundled rather than loaded from node_modules. */
const BUNDLED = new Set(['zod']);
/** Stands for the URL of DIST/ in a module's code until renderChunk knows which chunk the module is in. */
const DIST_URL = '__keyloopDistUrl__';

const packageName = (id) => (id.startsWith('@') ? id.split('/').slice(0, 2).join('/') : id.split('/')[0]);

/** `dist`: the tsc output folder (holding cli/main.js). Returns the files written, relative to `dist`. */
export async function bundleCli(dist) {
  const { rolldown } = await import('rolldown');
  const root = realpathSync(dist);
  const staging = join(root, '.bundle');
  rmSync(staging, { recursive: true, force: true });
  const bundle = await rolldown({
    input: join(root, 'cli', 'main.js'),
    platform: 'node',
    logLevel: 'warn',
    external: (id, importer) => {
      if (id.startsWith('node:') || id.startsWith('.') || isAbsolute(id) || !importer) return false;
      return !BUNDLED.has(packageName(id));
    },
    plugins: [
      {
        name: 'keyloop-module-urls',
        transform(code, id) {
          if (!id.startsWith(root + sep) || !code.includes('import.meta.url')) return null;
          const own = JSON.stringify(relative(root, id).split(sep).join('/'));
          return { code: code.replaceAll('import.meta.url', `new URL(${own}, ${DIST_URL}).href`), map: null };
        },
        renderChunk(code, chunk) {
          if (!code.includes(DIST_URL)) return null;
          const up =
            relative(dirname(join(root, 'cli', chunk.fileName)), root)
              .split(sep)
              .join('/') || '.';
          return { code: code.replaceAll(DIST_URL, `new URL(${JSON.stringify(up + '/')}, import.meta.url)`), map: null };
        },
      },
    ],
  });
  const { output } = await bundle.write({ dir: staging, format: 'esm', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' });
  await bundle.close();
  // tsc's cli/ (main.js, commands/ …, maps) is replaced by the bundle: nothing else loads it
  const out = join(root, 'cli');
  for (const f of readdirSync(out)) rmSync(join(out, f), { recursive: true, force: true });
  if (existsSync(join(staging, 'chunks'))) renameSync(join(staging, 'chunks'), join(out, 'chunks'));
  renameSync(join(staging, 'main.js'), join(out, 'main.js'));
  rmSync(staging, { recursive: true, force: true });
  return output.map((o) => `cli/${o.fileName}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dist = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'dist'));
  const files = await bundleCli(dist);
  const size = files.reduce((n, f) => n + readFileSync(join(dist, f)).length, 0);
  console.log(`bundle: ${files.length} files, ${(size / 1024).toFixed(0)} kB in ${pathToFileURL(join(dist, 'cli')).pathname}`);
}
