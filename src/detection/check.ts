// `keyloop detectors check`: every mistake a detector author can make, found without running a scan.
import { basename } from 'node:path';
import type { ConfigError } from '../core/errors.js';
import { createEngine } from './engine.js';
import { detectorPatterns, providerFiles, readProviderFile } from './load.js';
import { compileRe2, countCaptureGroups } from './regex.js';
import type { DetectorDef, ProviderFile } from './schema.js';
import type { Catalog, LoadedDetector, ProviderInfo } from './types.js';

export interface CatalogProblem {
  file: string;
  detector?: string;
  field?: string;
  message: string;
}

export function formatProblem(p: CatalogProblem): string {
  return `${p.file}${p.detector ? ` [${p.detector}]` : ''}${p.field ? ` ${p.field}` : ''}: ${p.message}`;
}

/** Every problem of the catalog in `dir`; empty when clean. Samples run through the real engine. */
export function checkCatalog(dir: string): CatalogProblem[] {
  const problems: CatalogProblem[] = [];
  const good: LoadedDetector[] = [];
  const seen = new Map<string, string>();
  const providers = new Map<string, ProviderInfo>();
  for (const path of providerFiles(dir)) {
    const file = basename(path);
    let pf: ProviderFile;
    try {
      pf = readProviderFile(path);
    } catch (err) {
      problems.push({ file, message: (err as ConfigError).message.replace(`${file}: `, '') });
      continue;
    }
    const name = file.replace(/\.ya?ml$/, '');
    if (pf.provider.id !== name) problems.push({ file, field: 'provider.id', message: `"${pf.provider.id}" must equal the file name "${name}"` });
    providers.set(pf.provider.id, pf.provider);
    pf.detectors.forEach((def, i) => {
      const at = (field: string) => `detectors[${i}].${field}`;
      let ok = true;
      const prior = seen.get(def.id);
      if (prior) {
        problems.push({ file, detector: def.id, field: at('id'), message: `duplicate id (first defined in ${prior})` });
        ok = false;
      } else seen.set(def.id, file);
      for (const { field, pattern } of detectorPatterns(def)) {
        try {
          compileRe2(pattern);
        } catch (err) {
          problems.push({ file, detector: def.id, field: at(field), message: `RE2 cannot compile: ${(err as Error).message}` });
          ok = false;
          continue;
        }
        if (field === 'pattern' || field.startsWith('companions')) {
          const groups = countCaptureGroups(pattern);
          if (groups !== 1) {
            problems.push({ file, detector: def.id, field: at(field), message: `needs exactly one capture group, has ${groups}` });
            ok = false;
          }
        }
      }
      if (ok) good.push({ def, provider: pf.provider, file: path });
    });
  }
  const catalog: Catalog = { detectors: good, byId: new Map(good.map((d) => [d.def.id, d])), providers };
  const engine = createEngine(catalog);
  for (const { def, file } of good) {
    const f = basename(file);
    def.examples.forEach((ex, i) => {
      const text = typeof ex === 'string' ? ex : ex.text;
      const { matches, rejections } = engine.explain(Buffer.from(text, 'utf8'), { path: 'example.txt' });
      // a more specific detector may report the secret with this one in `alsoMatched`: this one still found it
      const mine = matches.filter((m) => m.detectorId === def.id || m.alsoMatched?.includes(def.id));
      const why = rejections.filter((r) => r.detectorId === def.id).map((r) => r.reason);
      if (mine.length === 0) {
        problems.push({ file: f, detector: def.id, field: `examples[${i}]`, message: `no finding${why.length ? ` (dropped: ${why.join('; ')})` : ''}` });
      } else if (typeof ex !== 'string' && !mine.some((m) => m.secret === ex.secret)) {
        problems.push({ file: f, detector: def.id, field: `examples[${i}]`, message: `found a different secret than the one given (${mine.length} finding(s))` });
      } else if (!matchesHoldKeyword(def, text)) {
        problems.push({
          file: f,
          detector: def.id,
          field: `examples[${i}]`,
          message: `a match holds none of the keywords (${def.keywords.join(', ')}); delta-aware scans read only changed lines and need one in every match`,
        });
      }
    });
    def.negative_examples.forEach((text, i) => {
      const matches = engine.scan(Buffer.from(text, 'utf8'), { path: 'example.txt' });
      if (matches.some((m) => m.detectorId === def.id || m.alsoMatched?.includes(def.id))) {
        problems.push({ file: f, detector: def.id, field: `negative_examples[${i}]`, message: 'produces a finding' });
      }
    });
  }
  return problems;
}

/** Whether every match of the detector's pattern in `text` (the whole match, not only the secret) holds a keyword. */
function matchesHoldKeyword(def: DetectorDef, text: string): boolean {
  // a key-file detector runs on small contents whatever they hold (delta scans read such a blob whole)
  if (def.file_max_bytes !== undefined && Buffer.byteLength(text) <= def.file_max_bytes) return true;
  const keywords = def.keywords.map((k) => k.toLowerCase());
  const re = compileRe2(def.pattern, 'g');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const whole = m[0].toLowerCase();
    if (!keywords.some((k) => whole.includes(k))) return false;
    if (m[0].length === 0) re.lastIndex++;
  }
  return true;
}
