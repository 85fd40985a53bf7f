// Parses `keyloop scan --format json` output: the versioned report object, checked against its documented shape.
import { z } from 'zod';
import { Finding, IncompleteItem } from '../../src/core/model-schema.js';

export const ScanReport = z.object({
  version: z.literal(1),
  status: z.enum(['complete', 'incomplete']),
  incomplete: z.array(IncompleteItem),
  // loose: other stages may add fields to findings (confidence…); the documented ones must be there
  findings: z.array(Finding.loose()),
});
export type ScanReport = z.infer<typeof ScanReport>;

/** The whole report; throws when stdout is not one, or when status and incomplete disagree. */
export function scanReport(stdout: string): ScanReport {
  const r = ScanReport.parse(JSON.parse(stdout));
  if ((r.status === 'incomplete') !== r.incomplete.length > 0) throw new Error(`status ${r.status} with ${r.incomplete.length} incomplete entries`);
  return r;
}

/** Just the findings of a scan JSON report. */
export function scanFindings(stdout: string): ScanReport['findings'] {
  return scanReport(stdout).findings;
}
