-- Which catalog looked at a blob (#18): a blob is skipped only by the catalog version that scanned it, so a
-- detector added or changed reaches the blobs scanned before on the next run, without --rescan. A version is a
-- digest (src/detection/catalog-version.ts), kept once here and referred to by id.
CREATE TABLE catalog_versions (
  id            INTEGER PRIMARY KEY,
  version       TEXT NOT NULL UNIQUE CHECK (length(version) = 64),
  first_seen_at TEXT NOT NULL
) STRICT;

-- NULL: recorded before this migration, by a catalog no one knows: the next run of any catalog scans it again.
ALTER TABLE scanned_blobs ADD COLUMN catalog_id INTEGER REFERENCES catalog_versions (id);
-- The catalog of the repository's last whole-history scan: an unchanged repository is skipped only by that catalog.
ALTER TABLE repos ADD COLUMN catalog_id INTEGER REFERENCES catalog_versions (id);
