-- The host's pushed_at as of the last successful scan: an unchanged value means nothing to fetch.
ALTER TABLE repos ADD COLUMN pushed_at TEXT;
