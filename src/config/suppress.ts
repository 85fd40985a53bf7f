// Drops findings by config: the operator's layer, then the scanned repository's own (narrowing only), then extra
// fingerprints (triage verdicts, --baseline). What the repository layer drops is counted, so org and App runs can
// show how much a repository hid from its own report.
import RE2 from 're2';
import type { RawFinding } from '../core/model.js';
import { globMatcher } from './glob.js';
import type { Suppression } from './normalize.js';

export interface SuppressLayers {
  operator?: Suppression | null;
  repository?: Suppression | null;
  /** Fingerprints dropped as well (triaged false positives, a baseline). */
  fingerprints?: ReadonlySet<string> | null;
}

export interface Suppressed {
  findings: RawFinding[];
  /** Findings kept by the operator's layer that the repository's config dropped. */
  byRepository: number;
}

/** One layer as a function: the finding (locations under excluded paths removed), or null when dropped. */
function layer(s: Suppression): (f: RawFinding) => RawFinding | null {
  const excluded = globMatcher(s.excludePaths);
  const allow = s.allowRegexes.map((r) => new RE2(r));
  const fingerprints = new Set(s.allowFingerprints);
  const disabled = new Set(s.disable);
  const only = new Set(s.only);
  return (f) => {
    if (disabled.has(f.detector) || (only.size > 0 && !only.has(f.detector))) return null;
    if (fingerprints.has(f.fingerprint) || allow.some((re) => re.test(f.secret))) return null;
    if (!excluded) return f;
    const locations = f.locations.filter((l) => !excluded(l.path));
    if (locations.length === 0) return null;
    return locations.length === f.locations.length ? f : { ...f, locations };
  };
}

export function suppress(findings: RawFinding[], layers: SuppressLayers): Suppressed {
  const operator = layers.operator ? layer(layers.operator) : (f: RawFinding) => f;
  const repository = layers.repository ? layer(layers.repository) : null;
  const extra = layers.fingerprints;
  let byRepository = 0;
  const kept: RawFinding[] = [];
  for (const f of findings) {
    if (extra?.has(f.fingerprint)) continue;
    const a = operator(f);
    if (!a) continue;
    const b = repository ? repository(a) : a;
    if (!b) {
      byRepository++;
      continue;
    }
    kept.push(b);
  }
  return { findings: kept, byRepository };
}
