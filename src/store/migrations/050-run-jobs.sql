-- Runs handed to `keyloop worker` processes (`keyloop org --enqueue`): what the run asked for, and one row per job
-- of the run (a repository to scan, a batch of secrets to verify, a repository's issues to sync) with who holds
-- it, how often it was tried and how it ended. `data` is the job's payload (names, run id, fingerprints: never a
-- token or a secret), kept so a job lost before it reached the queue can be sent again.
ALTER TABLE scan_runs ADD COLUMN options TEXT CHECK (options IS NULL OR json_valid(options));

CREATE TABLE run_jobs (
  run_id      INTEGER NOT NULL REFERENCES scan_runs (id),
  kind        TEXT NOT NULL CHECK (kind IN ('scan-repo', 'verify', 'issue-sync')),
  subject     TEXT NOT NULL CHECK (length(subject) > 0),
  data        TEXT NOT NULL CHECK (json_valid(data)),
  state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
  worker      TEXT,
  attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  queued_at   TEXT NOT NULL,
  started_at  TEXT,
  finished_at TEXT,
  result      TEXT CHECK (result IS NULL OR json_valid(result)),
  error       TEXT,
  PRIMARY KEY (run_id, kind, subject)
) STRICT;
CREATE INDEX run_jobs_state ON run_jobs (state, queued_at);
