// Grouping, the last step of the scan stage: matches become findings, one per detector + secret with every
// location (each origin of each blob), co-detections of one secret merged, confidence from the detector, the
// secret and where it was found.
import type { Location, Match } from '../core/model.js';
import { fingerprint as computeFingerprint } from '../core/fingerprint.js';
import type { RawFinding } from '../core/model.js';
import { compareLocations, type ContentItem, type FindingGroups } from '../core/content.js';
import { baseConfidence, findingConfidence, isFixturePath } from '../detection/confidence.js';
import { compareSpecificity, specificity } from '../detection/specificity.js';
import type { Catalog } from '../detection/types.js';
import { redact, type SecretRegistry } from '../util/redact.js';

export interface GroupOptions {
  fingerprintKey?: string;
  /** Every secret found is registered here (so logs and reports can scrub it). */
  registry?: SecretRegistry;
}

export function groupFindings(catalog: Catalog, opts: GroupOptions): FindingGroups {
  const groups = new Map<string, RawFinding>();
  return {
    add: (m, item) => addMatch(groups, m, item, catalog, opts),
    get size() {
      return groups.size;
    },
    findings() {
      const findings = mergeCoDetections([...groups.values()], catalog);
      for (const f of findings) {
        f.locations.sort(compareLocations);
        f.confidence = findingConfidence(f.confidence, f.locations);
      }
      findings.sort(
        (a, b) => compareLocations(a.locations[0]!, b.locations[0]!) || a.detector.localeCompare(b.detector) || a.fingerprint.localeCompare(b.fingerprint),
      );
      return findings;
    },
  };
}

function addMatch(groups: Map<string, RawFinding>, m: Match, item: ContentItem, catalog: Catalog, opts: GroupOptions) {
  const det = catalog.byId.get(m.detectorId);
  if (!det) return;
  opts.registry?.add(m.secret);
  const key = `${m.detectorId}\0${m.secret}`;
  let f = groups.get(key);
  if (!f) {
    f = {
      detector: m.detectorId,
      name: det.def.name,
      provider: det.provider.id,
      severity: det.def.severity,
      // the detector's and the secret's say; the locations' context is applied once every match is in
      confidence: baseConfidence(det.def, m.secret),
      fingerprint: computeFingerprint(m.detectorId, m.secret, opts.fingerprintKey),
      secret: m.secret,
      parts: { ...m.parts },
      redacted: redact(m.secret),
      locations: [],
    };
    groups.set(key, f);
  } else {
    for (const [k, v] of Object.entries(m.parts)) f.parts[k] ??= v;
  }
  if (m.alsoMatched) f.alsoMatched = union(f.alsoMatched, m.alsoMatched);
  const blob = item.blob;
  for (const o of item.origins) {
    const loc: Location = {
      commit: o.commit || null,
      author: o.commit ? o.author : null,
      date: o.commit ? o.date : null,
      path: o.path,
      line: m.line,
      column: m.column,
      blob,
    };
    if (m.decoded?.length) loc.decoded = m.decoded;
    if (isFixturePath(o.path)) loc.context = 'fixture';
    f.locations.push(loc);
  }
}

function union(a: string[] | undefined, b: readonly string[]): string[] {
  return [...new Set([...(a ?? []), ...b])].sort();
}

/**
 * One finding per secret across blobs too: where the engine saw detector X beat Y on a secret (Y in X's
 * `alsoMatched`), Y's finding of that same secret elsewhere joins X's, locations and all.
 */
function mergeCoDetections(findings: RawFinding[], catalog: Catalog): RawFinding[] {
  if (!findings.some((f) => f.alsoMatched)) return findings;
  const bySecret = new Map<string, RawFinding[]>();
  for (const f of findings) bySecret.set(f.secret, [...(bySecret.get(f.secret) ?? []), f]);
  const merged = new Set<RawFinding>();
  const rankOf = (f: RawFinding) => ({ id: f.detector, rank: ((d) => (d ? specificity(d.def) : 0))(catalog.byId.get(f.detector)) });
  for (const group of bySecret.values()) {
    if (group.length < 2) continue;
    group.sort((a, b) => compareSpecificity(rankOf(a), rankOf(b)));
    group.forEach((g, i) => {
      const into = group.slice(0, i).find((f) => !merged.has(f) && f.alsoMatched?.includes(g.detector));
      if (!into) return;
      merged.add(g);
      into.locations.push(...g.locations);
      for (const [k, v] of Object.entries(g.parts)) into.parts[k] ??= v;
      if (g.alsoMatched)
        into.alsoMatched = union(
          into.alsoMatched,
          g.alsoMatched.filter((d) => d !== into.detector),
        );
    });
  }
  return merged.size === 0 ? findings : findings.filter((f) => !merged.has(f));
}
