// How sure keyloop is that a finding is a real secret: `high` (a checksum holds, the secret carries its
// provider's structured prefix, or the issuer said it is live), `medium` (a provider pattern found next to its
// keyword), `low` (a generic assignment or entropy guess). A secret seen only in test fixtures or examples is one
// step lower. Reporters show it, `--min-confidence` filters on it, and the issue loop opens issues from
// `issues.minConfidence` (default medium) up, so a generic guess never lands on a person's desk unverified.
import type { Confidence } from '../core/model.js';
import type { DetectorDef } from './schema.js';

function lower(c: Confidence): Confidence {
  return c === 'high' ? 'medium' : 'low';
}

/**
 * What the detector and the secret alone say. A structured prefix is one of the detector's keywords (3+
 * characters) inside the secret itself (`ghp_`, `xoxb-`, `AKIA`, `-----BEGIN RSA PRIVATE KEY`): the value
 * names its own format. A keyword only around it (`twilio … <32 hex>`) is weaker evidence.
 */
export function baseConfidence(def: DetectorDef, secret: string): Confidence {
  if (def.generic) return 'low';
  if (def.checksum) return 'high';
  const lower = secret.toLowerCase();
  return def.keywords.some((k) => k.length >= 3 && lower.includes(k.toLowerCase())) ? 'high' : 'medium';
}

/**
 * Test fixtures and examples: a path with a test/, tests/, __tests__/, spec/, fixtures/, testdata/, examples/
 * (…) directory, or a test file by its name (`x.test.ts`, `x_test.go`, `test_x.py`). Secrets there are usually
 * planted on purpose; they are still reported, one confidence step lower.
 */
const FIXTURE_DIR = /(?:^|\/)(?:tests?|__tests__|__mocks__|__fixtures__|spec|specs|fixtures?|testdata|test-data|examples?|samples?)\//i;
const FIXTURE_FILE = /(?:^|\/)(?:[^/]+[._-](?:test|spec)\.[a-z0-9]+|[^/]+_test\.go|test_[^/]+\.py|[^/]+\.examples?\.json)$/i;

export function isFixturePath(path: string): boolean {
  return FIXTURE_DIR.test(path) || FIXTURE_FILE.test(path);
}

/** A finding's confidence: live verification wins; otherwise the base, one step lower when every location is a fixture. */
export function findingConfidence(base: Confidence, locations: readonly { context?: string }[], verification?: { status: string }): Confidence {
  if (verification?.status === 'live') return 'high';
  return locations.length > 0 && locations.every((l) => l.context === 'fixture') ? lower(base) : base;
}
