// uPlot (MIT, github.com/leeoniya/uPlot), the charting library the HTML report inlines: its minified JS and CSS.
// A built keyloop reads the copies scripts/postbuild.mjs put beside this module (an installed keyloop has no
// devDependencies); run from source (tests), it reads them from node_modules. Never fetched: the report is offline.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InternalError } from '../core/errors.js';

export interface UplotAsset {
  js: string;
  css: string;
  version: string;
  /** uPlot's MIT licence: its notice goes with every copy, so into each report (as an HTML comment). */
  license: string;
}

export const UPLOT_FILES = ['uPlot.iife.min.js', 'uPlot.min.css'] as const;
/** Where postbuild copies them, relative to this module. */
export const UPLOT_VENDOR_DIR = 'vendor/uplot';

let cached: UplotAsset | undefined;

/** Where the files are read from: the vendored copy when present, else the installed package. */
export function uplotDir(): string {
  const vendored = join(dirname(fileURLToPath(import.meta.url)), UPLOT_VENDOR_DIR);
  if (existsSync(join(vendored, UPLOT_FILES[0]))) return vendored;
  try {
    return dirname(createRequire(import.meta.url).resolve(`uplot/dist/${UPLOT_FILES[0]}`));
  } catch {
    throw new InternalError(`uPlot not found: neither ${vendored} (run npm run build) nor the uplot package`);
  }
}

export function uplotAsset(): UplotAsset {
  if (cached) return cached;
  const dir = uplotDir();
  const js = readFileSync(join(dir, UPLOT_FILES[0]), 'utf8');
  const css = readFileSync(join(dir, UPLOT_FILES[1]), 'utf8');
  // vendored: LICENSE beside the files; the package keeps it one level up from dist/
  const license = readFileSync(existsSync(join(dir, 'LICENSE')) ? join(dir, 'LICENSE') : join(dir, '..', 'LICENSE'), 'utf8').trim();
  // Inlined verbatim into <script> and <style>: text that would end the element early is a packaging bug.
  if (/<\/script|<!--/i.test(js) || /<\/style/i.test(css) || license.includes('--')) throw new InternalError(`uPlot in ${dir} cannot be inlined: it holds a closing tag`);
  const version = /uPlot \(v([0-9.]+)\)/.exec(js)?.[1];
  if (!version || !js.includes('var uPlot=')) throw new InternalError(`${join(dir, UPLOT_FILES[0])} is not uPlot's IIFE build`);
  cached = { js, css, version, license };
  return cached;
}
