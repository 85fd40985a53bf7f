// --baseline previous.json: a prior JSON report (the versioned object, or the bare array of findings keyloop wrote
// before it); findings whose fingerprint it lists are not new.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { FINGERPRINT_PATTERN } from '../config/fields.js';
import { ConfigError } from '../core/errors.js';

const Findings = z.array(z.object({ fingerprint: z.string().regex(FINGERPRINT_PATTERN) }).loose());
const Report = z.object({ version: z.number().int().positive(), findings: Findings }).loose();

export function loadBaseline(file: string): Set<string> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(code === 'ENOENT' ? 'file not found' : `not a keyloop JSON report: ${(e as Error).message}`, `--baseline ${file}`);
  }
  const parsed = Array.isArray(raw) ? Findings.safeParse(raw) : Report.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new ConfigError(`not a keyloop JSON report (${i?.path.join('.') || 'root'}: ${i?.message})`, `--baseline ${file}`);
  }
  const findings = Array.isArray(parsed.data) ? parsed.data : parsed.data.findings;
  return new Set(findings.map((f) => f.fingerprint));
}
