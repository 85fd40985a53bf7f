// The scan pool compiled by tsc into `out`, for tests of its worker threads: workers cannot load TypeScript, so
// under vitest the pool scans in-thread; a build of its module graph only runs the worker path as dist/ does.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as PoolModule from '../../src/scan/pool.js';

export async function buildScanPool(out: string): Promise<typeof PoolModule> {
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
    execFileSync(process.execPath, [tsc, ...args, 'src/scan/pool.ts', 'src/scan/worker.ts'], { stdio: 'pipe' });
  } catch {
    // type errors elsewhere still emit JavaScript; the existence check is what matters
  }
  if (!existsSync(join(out, 'src/scan/worker.js'))) throw new Error(`tsc did not build the scan worker into ${out}`);
  return (await import(pathToFileURL(join(out, 'src/scan/pool.js')).href)) as typeof PoolModule;
}
