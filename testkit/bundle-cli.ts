// Bundles the CLI (rolldown, from vite's toolchain) so a test can run the real command in a child process.
import { rmSync } from 'node:fs';
import path, { join } from 'node:path';
import { build } from 'rolldown';

const ROOT = path.resolve(import.meta.dirname, '..');

/** Builds cli/main.ts into a fresh dir and returns it (run `<dir>/main.js`); `remove()` deletes it. */
export async function bundleCli(name: string): Promise<{ dir: string; main: string; remove(): void }> {
  // Inside node_modules so the bundle resolves better-sqlite3 & co. and finds detectors/ and migrations.
  const dir = join(ROOT, 'node_modules', '.keyloop-test', `${name}-${process.pid}`);
  await build({
    input: join(ROOT, 'cli', 'main.ts'),
    platform: 'node',
    external: (id) => !id.startsWith('.') && !path.isAbsolute(id) && !id.startsWith('\0'),
    output: { dir, format: 'esm' },
    logLevel: 'silent',
  });
  return { dir, main: join(dir, 'main.js'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
