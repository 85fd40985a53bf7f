// The catalog's version: a digest of what decides which secrets a scan finds. The store records each blob it looked
// at under it, so a blob is skipped only by the catalog that scanned it (adding or changing a detector reaches
// every blob again on the next org run, without --rescan).
import { createHash } from 'node:crypto';
import { specificity } from './specificity.js';
import type { Catalog } from './types.js';

/**
 * Bump when the engine's own code changes what a catalog finds (a filter, a decoder, overlap rules): every blob is
 * then scanned again by the next incremental run, as after a detector change.
 */
const ENGINE_REVISION = 1;

const versions = new WeakMap<Catalog, string>();

/**
 * sha256 (hex) over every detector's matching fields, in id order: id, pattern, keywords, file_max_bytes, the
 * filters (entropy, checksum, decode, allow, generic, multiline), companions, and its specificity (which detector
 * wins a secret two match: generic, checksum, verify, companions, severity). Names, samples, references, rotation,
 * verify/reach/revoke blocks and the files' layout do not change it: they change nothing a scan finds.
 */
export function catalogVersion(catalog: Catalog): string {
  const known = versions.get(catalog);
  if (known) return known;
  const detectors = [...catalog.detectors]
    .sort((a, b) => (a.def.id < b.def.id ? -1 : a.def.id > b.def.id ? 1 : 0))
    .map(({ def }) => [
      def.id,
      def.pattern,
      def.keywords,
      def.file_max_bytes ?? null,
      def.entropy ?? null,
      def.checksum ?? null,
      def.decode ?? null,
      def.allow,
      def.generic,
      def.multiline,
      def.companions.map((c) => [c.name, c.pattern, c.within, c.required]),
      specificity(def),
    ]);
  const version = createHash('sha256')
    .update(JSON.stringify([ENGINE_REVISION, detectors]))
    .digest('hex');
  versions.set(catalog, version);
  return version;
}
