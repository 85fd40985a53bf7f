// File-tree helpers for tests and benchmarks.
import { readdirSync } from 'node:fs';
import path from 'node:path';

/** Every file (not directory) under `dir`, recursively, as full paths; symlinks are listed, not followed. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}
