// Scores a scan of the formats corpus (corpus/formats-builder.ts) against its labels: recall per family (a label is
// found when a finding's secret contains it, from a provider detector when the label asks for one) and false
// positives (a finding that is neither a planted secret nor one of its encodings). Pure: shared by
// `npm run bench:accuracy` and test/formats-accuracy.test.ts.
import type { FormatLabel, FormatsManifest } from '../corpus/formats-builder.js';
import type { RawFinding } from '../src/core/model.js';
import type { Catalog } from '../src/detection/types.js';

export interface FamilyRow {
  family: string;
  planted: number;
  found: number;
  falsePositives: number;
}

export interface FormatsReport {
  planted: number;
  found: number;
  recall: number;
  precision: number;
  falsePositives: number;
  missed: { family: string; path: string; secret: string; provider: boolean; generic: string[] }[];
  unexpected: { family: string; path: string; detector: string; redacted: string }[];
  byFamily: FamilyRow[];
}

/** Whether `f` reports the planted secret of `l`. */
function reports(f: RawFinding, l: FormatLabel): boolean {
  return f.secret.includes(l.secret);
}

/** A finding of some form of a planted secret (an encoding, part of a key block): not a false positive. */
function related(f: RawFinding, l: FormatLabel): boolean {
  return reports(f, l) || (f.secret.length >= 6 && l.secret.includes(f.secret)) || l.aliases.some((a) => a.includes(f.secret) || f.secret.includes(a));
}

export function scoreFormats(manifest: FormatsManifest, findings: RawFinding[], catalog: Catalog): FormatsReport {
  const generic = (d: string) => catalog.byId.get(d)?.def.generic ?? false;
  const familyOf = (path: string) => path.split('/')[0]!;
  const rows = new Map<string, FamilyRow>(manifest.families.map((f) => [f, { family: f, planted: 0, found: 0, falsePositives: 0 }]));
  const byPath = new Map<string, RawFinding[]>();
  for (const f of findings) for (const p of new Set(f.locations.map((l) => l.path))) byPath.set(p, [...(byPath.get(p) ?? []), f]);

  const missed: FormatsReport['missed'] = [];
  for (const l of manifest.labels) {
    const row = rows.get(l.family)!;
    row.planted++;
    const here = byPath.get(l.path) ?? [];
    if (here.some((f) => reports(f, l) && (!l.provider || !generic(f.detector)))) row.found++;
    else missed.push({ family: l.family, path: l.path, secret: l.secret, provider: l.provider, generic: here.filter((f) => reports(f, l)).map((f) => f.detector) });
  }

  const unexpected: FormatsReport['unexpected'] = [];
  for (const [path, list] of byPath) {
    const labels = manifest.labels.filter((l) => l.path === path);
    for (const f of list) {
      if (labels.some((l) => related(f, l))) continue;
      const row = rows.get(familyOf(path));
      if (row) row.falsePositives++;
      unexpected.push({ family: familyOf(path), path, detector: f.detector, redacted: f.redacted });
    }
  }
  const planted = manifest.labels.length;
  const found = planted - missed.length;
  return {
    planted,
    found,
    recall: planted ? found / planted : 1,
    precision: found + unexpected.length ? found / (found + unexpected.length) : 1,
    falsePositives: unexpected.length,
    missed,
    unexpected,
    byFamily: [...rows.values()],
  };
}
