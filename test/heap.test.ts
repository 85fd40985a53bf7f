// src/util/heap.ts: importing it keeps V8's young generation at its initial size in that process (the CLI and
// the scan benchmark import it first). Run in a fresh node process, as the flag is process-wide.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const source = ts.transpileModule(readFileSync(join(import.meta.dirname, '..', 'src', 'util', 'heap.ts'), 'utf8'), {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
}).outputText;

function newSpaceAfterChurn(prelude: string): number {
  const script = `${prelude}
import { getHeapSpaceStatistics } from 'node:v8';
let keep = [];
for (let i = 0; i < 2e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 1e5) keep = []; }
process.stdout.write(String(getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size));`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

describe('keepYoungGenerationSmall', () => {
  it('stops the young generation from growing past its initial size; without it, it grows', () => {
    const tuned = newSpaceAfterChurn(source);
    const untuned = newSpaceAfterChurn('');
    expect(tuned).toBeLessThanOrEqual(4 << 20);
    expect(untuned).toBeGreaterThan(4 * tuned);
  });
});
