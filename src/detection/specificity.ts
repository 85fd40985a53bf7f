// Which of two detectors that match one secret is reported: the one that knows most about it. One finding per
// secret keeps the others as `alsoMatched` (engine.ts resolveOverlaps, pipeline.ts mergeCoDetections).
import type { DetectorDef } from './schema.js';

const SEVERITY_RANK = { low: 0, medium: 1, high: 2, critical: 3 } as const;

/**
 * A detector's specificity: its catalog `precedence` first (a file format's own detector over a general format's);
 * then a provider detector over a generic one; then a checksum (the secret proves its own
 * format), a liveness check (it names the issuer: a GCP service-account key over a bare PKCS#8 key), a required
 * companion (an RSA key with a GitHub App id over a bare RSA key), any companion, severity. Equal scores are
 * ordered by detector id (compareSpecificity), so the choice never depends on match order.
 */
export function specificity(def: DetectorDef): number {
  return (
    (def.precedence ?? 0) * (1 << 11) +
    (def.generic ? 0 : 1 << 10) +
    (def.checksum ? 1 << 8 : 0) +
    (def.verify ? 1 << 6 : 0) +
    (def.companions.some((c) => c.required) ? 1 << 4 : 0) +
    (def.companions.length > 0 ? 1 << 2 : 0) +
    SEVERITY_RANK[def.severity]
  );
}

/** Negative when `a` is more specific than `b` (sorts the winner first); 0 only for the same detector. */
export function compareSpecificity(a: { id: string; rank: number }, b: { id: string; rank: number }): number {
  return b.rank - a.rank || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
