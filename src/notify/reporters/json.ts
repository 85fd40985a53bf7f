// The scan's JSON report: one object, versioned, saying whether the scan was complete and what it could not read.
import { publicFinding, type Reporter } from './types.js';

/** Bumped only when a field changes meaning or goes away; new fields may appear in any version. */
export const JSON_REPORT_VERSION = 1;

/** `{ version, status, incomplete, findings }`; each finding with all its locations. */
export const jsonReporter: Reporter = ({ findings, reveal, incomplete }) =>
  JSON.stringify(
    {
      version: JSON_REPORT_VERSION,
      status: incomplete.length > 0 ? 'incomplete' : 'complete',
      incomplete,
      findings: findings.map((f) => publicFinding(f, reveal)),
    },
    null,
    2,
  ) + '\n';
