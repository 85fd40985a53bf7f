// `keyloop detectors list|check`: the catalog as a user sees it, and the catalog's own test.
import { resolve } from 'node:path';
import { checkCatalog, formatProblem } from '../../src/detection/check.js';
import { defaultDetectorsDir, loadCatalog } from '../../src/detection/load.js';
import type { CommandContext } from '../context.js';

export interface DetectorsListOptions {
  format?: 'table' | 'json';
  detectors?: string;
}

export interface DetectorsCheckOptions {
  detectors?: string;
}

function detectorsDir(opt: string | undefined, ctx: CommandContext): string {
  return opt ? resolve(ctx.cwd, opt) : defaultDetectorsDir();
}

export async function detectorsListCommand(opts: DetectorsListOptions, ctx: CommandContext): Promise<number> {
  const catalog = loadCatalog(detectorsDir(opts.detectors, ctx));
  const rows = catalog.detectors.map(({ def, provider }) => ({
    id: def.id,
    name: def.name,
    provider: provider.id,
    keywords: def.keywords,
    verifies: def.verify !== undefined,
  }));
  if (opts.format === 'json') {
    ctx.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const table = [
    ['ID', 'NAME', 'PROVIDER', 'KEYWORDS', 'VERIFIES'],
    ...rows.map((r) => [r.id, r.name, r.provider, r.keywords.join(','), r.verifies ? 'yes' : 'no']),
  ];
  const widths = table[0]!.map((_, col) => Math.max(...table.map((row) => row[col]!.length)));
  for (const row of table) ctx.stdout.write(`${row.map((cell, col) => cell.padEnd(widths[col]!)).join('  ').trimEnd()}\n`);
  return 0;
}

export async function detectorsCheckCommand(opts: DetectorsCheckOptions, ctx: CommandContext): Promise<number> {
  const dir = detectorsDir(opts.detectors, ctx);
  const problems = checkCatalog(dir);
  for (const p of problems) ctx.stdout.write(`${formatProblem(p)}\n`);
  if (problems.length > 0) {
    ctx.stderr.write(`${problems.length} problem(s) in ${dir}\n`);
    return 1;
  }
  ctx.stderr.write(`detectors OK: ${dir}\n`);
  return 0;
}
