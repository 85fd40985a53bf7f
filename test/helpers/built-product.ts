// The product compiled by tsc into `out`, for tests of what runs from dist/: the scan pool's worker threads
// (workers cannot load TypeScript, so under vitest the pool scans in-thread) and the bundled CLI (built-cli.ts).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, realpathSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as PoolModule from '../../src/scan/pool.js';

/** tsc of `entries` and what they import into `out`, laid out as dist/ (out/src, out/cli); type errors do not stop it. */
export function tscBuild(out: string, entries: string[]): void {
  const tsc = resolve('node_modules/typescript/bin/tsc');
  const args = [
    '--outDir',
    out,
    '--rootDir',
    '.',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--target',
    'es2022',
    '--skipLibCheck',
    '--types',
    'node',
  ];
  try {
    execFileSync(process.execPath, [tsc, ...args, ...entries], { stdio: 'pipe' });
  } catch {
    // type errors elsewhere still emit JavaScript; the callers check that what they need exists
  }
}

export async function buildScanPool(out: string): Promise<typeof PoolModule> {
  tscBuild(out, ['src/scan/pool.ts', 'src/scan/worker.ts']);
  if (!existsSync(join(out, 'src/scan/worker.js'))) throw new Error(`tsc did not build the scan worker into ${out}`);
  return (await import(pathToFileURL(join(out, 'src/scan/pool.js')).href)) as typeof PoolModule;
}

/**
 * keyloop as `npm run build` makes it, in the package folder `pkg`: tsc of the CLI and the scan worker into
 * pkg/dist, then scripts/postbuild.mjs on it (assets, compiled catalog, the bundle). pkg gets the package.json,
 * detectors/ and node_modules an installed package has. Returns the bin (pkg/dist/cli/main.js).
 */
export function buildCli(pkg: string): string {
  const dist = join(pkg, 'dist');
  tscBuild(dist, ['cli/main.ts', 'src/scan/worker.ts']);
  if (!existsSync(join(dist, 'cli/main.js'))) throw new Error(`tsc did not build the CLI into ${dist}`);
  copyFileSync('package.json', join(pkg, 'package.json'));
  symlinkSync(resolve('detectors'), join(pkg, 'detectors'));
  symlinkSync(realpathSync('node_modules'), join(pkg, 'node_modules'));
  execFileSync(process.execPath, ['scripts/postbuild.mjs', dist], { stdio: 'pipe' });
  return join(dist, 'cli/main.js');
}
