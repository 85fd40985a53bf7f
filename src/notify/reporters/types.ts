// One interface for every output format. Reporters never see the plaintext unless `reveal` is set.
import type { Finding } from '../../core/model.js';
import type { RawFinding } from '../../core/model.js';
import type { IncompleteItem, ScanStats, SkippedItem } from '../../core/model.js';

export interface ReportInput {
  findings: RawFinding[];
  reveal: boolean;
  stats: ScanStats;
  skipped: SkippedItem[];
  /** What could not be scanned (unreadable objects, blobs over the size limit): non-empty = incomplete scan. */
  incomplete: IncompleteItem[];
  toolVersion: string;
  /** The terminal's width in columns when writing to one (the table fits it); undefined: no limit. */
  width?: number;
  /** Help URI per detector id (first reference), for SARIF rules. */
  helpUri?: (detectorId: string) => string | undefined;
}

export type Reporter = (input: ReportInput) => string;

/** The public shape of a finding: plaintext only with reveal. Field order is stable for golden tests. */
export function publicFinding(f: RawFinding, reveal: boolean): Finding {
  const out: Finding = {
    detector: f.detector,
    name: f.name,
    provider: f.provider,
    severity: f.severity,
    confidence: f.confidence,
    ...(f.alsoMatched?.length ? { alsoMatched: f.alsoMatched } : {}),
    fingerprint: f.fingerprint,
    ...(reveal ? { secret: f.secret } : {}),
    redacted: f.redacted,
    locations: f.locations,
  };
  if (f.verification) out.verification = f.verification;
  return out;
}
