// Compiles src/ and cli/ file by file with TypeScript's own transpiler (tsconfig has isolatedModules, so each file
// compiles alone) into a temp dir laid out like the package, so a test can run the real CLI as a child process
// (to kill -9 it, or to measure its RSS) without a prior `npm run build` or a bundler.
import { copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { filesUnder } from './fs.js';
import { tempDir } from './git-repo.js';

const ROOT = path.resolve(import.meta.dirname, '..');

/** Compiles into a fresh dir (`name` labels it); run `node <main>`. `remove()` deletes it (else: at exit). */
export async function compileCli(name: string): Promise<{ dir: string; main: string; remove(): void }> {
  const dir = await tempDir(`keyloop-cli-${name}-`);
  for (const top of ['src', 'cli']) {
    for (const file of filesUnder(path.join(ROOT, top))) {
      const dest = path.join(dir, path.relative(ROOT, file));
      mkdirSync(path.dirname(dest), { recursive: true });
      if (file.endsWith('.ts')) {
        const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
          fileName: file,
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, isolatedModules: true },
        });
        writeFileSync(dest.replace(/\.ts$/, '.js'), outputText);
      } else {
        copyFileSync(file, dest); // SQL migrations
      }
    }
  }
  // The package around it: ESM, its dependencies, and the built-in detectors found next to package.json.
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'keyloop', type: 'module' }));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  symlinkSync(path.join(ROOT, 'detectors'), path.join(dir, 'detectors'), 'dir');
  return { dir, main: path.join(dir, 'cli', 'main.js'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
