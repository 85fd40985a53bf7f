// Global false-positive filters that do not cost recall: placeholders, documentation keys, references to
// environment variables, template expressions. Applied by the engine to every candidate secret.
import type { DetectorDef } from './schema.js';

export interface FilterContext {
  /** The full line containing the secret (decoded text when found inside a decoded span). */
  line: string;
  path: string;
  detector: DetectorDef;
}

const PLACEHOLDER_WORDS = /(?:x{4,}|\*{4,}|changeme|your[_-]?(?:api[_-]?)?(?:key|token|secret)|example|dummy|placeholder|redacted)/i;
const TEMPLATE = /^(?:\$\{[^}]*\}|\$\(.*\)|\{\{.*\}\}|%\(\w+\)s|<[^>]+>|\$[A-Z_][A-Z0-9_]*)$/;

/** A reason the candidate is not a real secret, or null to keep it. */
export function falsePositiveReason(secret: string, ctx: FilterContext): string | null {
  if (TEMPLATE.test(secret)) return 'template or variable reference';
  if (PLACEHOLDER_WORDS.test(secret)) return 'placeholder';
  if (ctx.detector.generic && /^(.)\1+$/.test(secret)) return 'repeated character';
  return null;
}
