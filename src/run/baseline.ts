// --baseline previous.json: a prior JSON report; findings whose fingerprint it lists are not new.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';

const BaselineFile = z.array(z.object({ fingerprint: z.string().regex(/^[0-9a-f]{16,64}$/) }).loose());

export function loadBaseline(file: string): Set<string> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(code === 'ENOENT' ? 'file not found' : `not a keyloop JSON report: ${(e as Error).message}`, `--baseline ${file}`);
  }
  const parsed = BaselineFile.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new ConfigError(`not a keyloop JSON report (${i?.path.join('.') || 'root'}: ${i?.message})`, `--baseline ${file}`);
  }
  return new Set(parsed.data.map((f) => f.fingerprint));
}
