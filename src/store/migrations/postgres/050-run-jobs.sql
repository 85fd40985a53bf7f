-- Runs handed to `keyloop worker` processes, as ../050-run-jobs.sql: what the run asked for, and one row per job
-- of the run with who holds it, its tries and its end. `data` never holds a token or a secret.
ALTER TABLE scan_runs ADD COLUMN options JSONB;

CREATE TABLE run_jobs (
  run_id      BIGINT NOT NULL REFERENCES scan_runs (id),
  kind        TEXT NOT NULL CHECK (kind IN ('scan-repo', 'verify', 'issue-sync')),
  subject     TEXT COLLATE "C" NOT NULL CHECK (length(subject) > 0),
  data        JSONB NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
  worker      TEXT,
  attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  queued_at   TEXT COLLATE "C" NOT NULL,
  started_at  TEXT COLLATE "C",
  finished_at TEXT COLLATE "C",
  result      JSONB,
  error       TEXT,
  PRIMARY KEY (run_id, kind, subject)
);
CREATE INDEX run_jobs_state ON run_jobs (state, queued_at);
