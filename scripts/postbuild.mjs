// Makes the CLI entry executable after tsc (npm links bin files, but a fresh clone runs `node dist/...`).
import { chmodSync, existsSync } from 'node:fs';
const bin = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(bin)) chmodSync(bin, 0o755);
