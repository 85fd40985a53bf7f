// SARIF 2.1.0 as GitHub code scanning accepts it: one rule per detector, one result per finding,
// partialFingerprints keyed by our stable fingerprint, GitHub's per-result location cap respected.
import type { Reporter } from './types.js';

const MAX_LOCATIONS = 1000; // GitHub rejects results with more locations
const LEVEL = { critical: 'error', high: 'error', medium: 'warning', low: 'note' } as const;
const SECURITY_SEVERITY = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0' } as const;
/** SARIF `rank` (0–100, how likely a result is a true positive) by confidence; a low-confidence result is a `note`. */
const RANK = { high: 90, medium: 60, low: 20 } as const;

export const sarifReporter: Reporter = ({ findings, reveal, incomplete, toolVersion, helpUri }) => {
  const ruleIds = [...new Set(findings.map((f) => f.detector))].sort();
  const ruleIndex = new Map(ruleIds.map((id, i) => [id, i]));
  const rules = ruleIds.map((id) => {
    const f = findings.find((x) => x.detector === id)!;
    const uri = helpUri?.(id);
    return {
      id,
      name: id.replace(/(^|-)([a-z0-9])/g, (_m, _d, c: string) => c.toUpperCase()),
      shortDescription: { text: `${f.name} committed to the repository` },
      fullDescription: { text: `A ${f.name} was found in the repository's git history. Rotate it with the issuer, then remove it.` },
      ...(uri ? { helpUri: uri } : {}),
      help: { text: `Rotate the ${f.name} with its issuer; removing it from the code does not revoke it.` },
      defaultConfiguration: { level: LEVEL[f.severity] },
      properties: { tags: ['security', 'secret', f.provider], 'security-severity': SECURITY_SEVERITY[f.severity], precision: 'high' },
    };
  });
  const results = findings.map((f) => {
    const locs = f.locations.slice(0, MAX_LOCATIONS);
    const status = f.verification ? ` (verified ${f.verification.status})` : '';
    return {
      ruleId: f.detector,
      ruleIndex: ruleIndex.get(f.detector),
      level: f.confidence === 'low' ? 'note' : LEVEL[f.severity],
      rank: RANK[f.confidence],
      message: { text: `${f.name} ${f.redacted}${status}` },
      locations: locs.map((l) => ({
        physicalLocation: {
          artifactLocation: { uri: encodeURI(l.path), uriBaseId: '%SRCROOT%' },
          region: { startLine: l.line, startColumn: l.column },
        },
        ...(l.commit ? { message: { text: `introduced in ${l.commit.slice(0, 12)} by ${l.author?.name ?? 'unknown'} on ${l.date}` } } : {}),
      })),
      partialFingerprints: { 'keyloop/v1': f.fingerprint },
      properties: {
        fingerprint: f.fingerprint,
        redacted: f.redacted,
        confidence: f.confidence,
        ...(f.alsoMatched?.length ? { alsoMatched: f.alsoMatched } : {}),
        ...(reveal ? { secret: f.secret } : {}),
        locationCount: f.locations.length,
        commits: [...new Set(f.locations.map((l) => l.commit).filter(Boolean))].slice(0, MAX_LOCATIONS),
        ...(f.verification ? { verification: f.verification } : {}),
      },
    };
  });
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'keyloop', version: toolVersion, informationUri: 'https://github.com/keyloop/keyloop', rules } },
        // an incomplete scan is not a successful one: each object it could not read is named
        invocations: [
          {
            executionSuccessful: incomplete.length === 0,
            toolExecutionNotifications: incomplete.map((i) => ({
              level: 'error',
              descriptor: { id: i.reason },
              message: { text: `not scanned: ${i.object ?? i.path ?? 'unknown object'}${i.path && i.object ? ` (${i.path})` : ''}: ${i.reason}${i.detail ? ` (${i.detail})` : ''}` },
              ...(i.path ? { locations: [{ physicalLocation: { artifactLocation: { uri: encodeURI(i.path), uriBaseId: '%SRCROOT%' } } }] } : {}),
              properties: { object: i.object },
            })),
          },
        ],
        results,
        columnKind: 'utf16CodeUnits',
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
};
