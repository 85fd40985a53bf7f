// After tsc: copy non-TypeScript assets the compiled code loads at run time (SQL migrations), and make the CLI
// entry executable. Detector YAML ships from the package's own detectors/ folder (see package.json "files").
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const from = new URL('src/store/migrations/', root);
const to = new URL('dist/src/store/migrations/', root);
mkdirSync(to, { recursive: true });
for (const f of readdirSync(from)) if (f.endsWith('.sql')) copyFileSync(new URL(f, from), new URL(f, to));

const bin = new URL('dist/cli/main.js', root);
if (existsSync(bin)) chmodSync(bin, 0o755);
