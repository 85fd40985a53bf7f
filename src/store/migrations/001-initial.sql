-- keyloop store, schema v1. Plaintext secrets never appear here: secrets.secret_enc is AES-256-GCM.
-- Text columns that take part in UNIQUE keys use '' instead of NULL (NULLs are never equal in UNIQUE).

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE repos (
  id              INTEGER PRIMARY KEY,
  full_name       TEXT NOT NULL UNIQUE CHECK (full_name GLOB '?*/?*'),
  default_branch  TEXT,
  clone_url       TEXT,
  fork            INTEGER NOT NULL DEFAULT 0 CHECK (fork IN (0, 1)),
  archived        INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
  private         INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1)),
  mirror_path     TEXT,
  head_commit     TEXT,
  last_scanned_at TEXT,
  last_error      TEXT
) STRICT;

CREATE TABLE scan_runs (
  id            INTEGER PRIMARY KEY,
  kind          TEXT NOT NULL CHECK (kind IN ('org', 'scan', 'push', 'app')),
  target        TEXT NOT NULL,
  started_at    TEXT NOT NULL,
  finished_at   TEXT,
  status        TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
  pid           INTEGER,
  host          TEXT,
  resumes       INTEGER NOT NULL DEFAULT 0 CHECK (resumes >= 0),
  repos_total   INTEGER NOT NULL DEFAULT 0 CHECK (repos_total >= 0),
  repos_done    INTEGER NOT NULL DEFAULT 0 CHECK (repos_done >= 0),
  repos_failed  INTEGER NOT NULL DEFAULT 0 CHECK (repos_failed >= 0),
  blobs_scanned INTEGER NOT NULL DEFAULT 0 CHECK (blobs_scanned >= 0),
  blobs_skipped INTEGER NOT NULL DEFAULT 0 CHECK (blobs_skipped >= 0),
  bytes_scanned INTEGER NOT NULL DEFAULT 0 CHECK (bytes_scanned >= 0),
  findings      INTEGER NOT NULL DEFAULT 0 CHECK (findings >= 0),
  new_secrets   INTEGER NOT NULL DEFAULT 0 CHECK (new_secrets >= 0),
  error         TEXT
) STRICT;
CREATE INDEX scan_runs_target ON scan_runs (kind, target, id);

-- One row per repo per run: what resuming a killed run reads to skip the repos already finished.
CREATE TABLE run_repos (
  run_id        INTEGER NOT NULL REFERENCES scan_runs (id),
  repo_id       INTEGER NOT NULL REFERENCES repos (id),
  status        TEXT NOT NULL CHECK (status IN ('done', 'failed')),
  finished_at   TEXT NOT NULL,
  elapsed_ms    INTEGER NOT NULL DEFAULT 0 CHECK (elapsed_ms >= 0),
  blobs_scanned INTEGER NOT NULL DEFAULT 0 CHECK (blobs_scanned >= 0),
  blobs_skipped INTEGER NOT NULL DEFAULT 0 CHECK (blobs_skipped >= 0),
  bytes_scanned INTEGER NOT NULL DEFAULT 0 CHECK (bytes_scanned >= 0),
  findings      INTEGER NOT NULL DEFAULT 0 CHECK (findings >= 0),
  error         TEXT,
  PRIMARY KEY (run_id, repo_id)
) STRICT, WITHOUT ROWID;

-- Blobs already looked at in a repo (scanned, or skipped as binary/too large): never read again.
CREATE TABLE scanned_blobs (
  repo_id INTEGER NOT NULL REFERENCES repos (id),
  oid     TEXT NOT NULL CHECK (length(oid) IN (40, 64)),
  outcome TEXT NOT NULL CHECK (outcome IN ('scanned', 'skipped')),
  run_id  INTEGER REFERENCES scan_runs (id),
  PRIMARY KEY (repo_id, oid)
) STRICT, WITHOUT ROWID;

CREATE TABLE secrets (
  id            INTEGER PRIMARY KEY,
  fingerprint   TEXT NOT NULL UNIQUE CHECK (length(fingerprint) = 64),
  detector      TEXT NOT NULL,
  name          TEXT NOT NULL,
  provider      TEXT NOT NULL,
  severity      TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  redacted      TEXT NOT NULL,
  -- version byte 1 | 12-byte IV | 16-byte GCM tag | ciphertext of JSON {secret, parts}; AAD = fingerprint.
  secret_enc    BLOB NOT NULL CHECK (length(secret_enc) > 29),
  key_id        TEXT NOT NULL,
  status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'false-positive', 'revoked', 'ignored')),
  detected_at   TEXT NOT NULL
) STRICT;

CREATE TABLE locations (
  id           INTEGER PRIMARY KEY,
  secret_id    INTEGER NOT NULL REFERENCES secrets (id),
  repo_id      INTEGER NOT NULL REFERENCES repos (id),
  blob         TEXT NOT NULL DEFAULT '',
  commit_oid   TEXT NOT NULL DEFAULT '',
  path         TEXT NOT NULL,
  line         INTEGER NOT NULL CHECK (line > 0),
  col          INTEGER NOT NULL CHECK (col > 0),
  author_name  TEXT,
  author_email TEXT,
  authored_at  TEXT,
  decoded      TEXT CHECK (decoded IS NULL OR json_valid(decoded)),
  run_id       INTEGER REFERENCES scan_runs (id),
  found_at     TEXT NOT NULL,
  UNIQUE (secret_id, repo_id, blob, commit_oid, path, line, col)
) STRICT;
CREATE INDEX locations_repo ON locations (repo_id, secret_id);
CREATE INDEX locations_blob ON locations (repo_id, blob);

-- Every check, not just the last: reports show when a key went from live to dead.
CREATE TABLE verifications (
  id         INTEGER PRIMARY KEY,
  secret_id  INTEGER NOT NULL REFERENCES secrets (id),
  status     TEXT NOT NULL CHECK (status IN ('live', 'dead', 'unknown')),
  checked_at TEXT NOT NULL,
  reason     TEXT NOT NULL,
  identity   TEXT CHECK (identity IS NULL OR json_valid(identity))
) STRICT;
CREATE INDEX verifications_secret ON verifications (secret_id, checked_at, id);

-- Who should rotate a secret in a repo, and how we decided.
CREATE TABLE owners (
  secret_id  INTEGER NOT NULL REFERENCES secrets (id),
  repo_id    INTEGER NOT NULL REFERENCES repos (id),
  login      TEXT NOT NULL,
  source     TEXT NOT NULL CHECK (source IN ('commit-author', 'codeowners', 'fallback', 'manual')),
  decided_at TEXT NOT NULL,
  PRIMARY KEY (secret_id, repo_id, login)
) STRICT, WITHOUT ROWID;

-- email → GitHub login (login NULL: GitHub maps the email to no account); cached to save API calls.
CREATE TABLE email_logins (
  email      TEXT PRIMARY KEY COLLATE NOCASE,
  login      TEXT,
  checked_at TEXT NOT NULL
) STRICT;

CREATE TABLE issues (
  id          INTEGER PRIMARY KEY,
  repo_id     INTEGER NOT NULL REFERENCES repos (id),
  number      INTEGER NOT NULL CHECK (number > 0),
  secret_id   INTEGER NOT NULL REFERENCES secrets (id),
  -- The repo the leak is in; differs from repo_id when issues go to a private triage repo.
  subject_repo_id INTEGER REFERENCES repos (id),
  state       TEXT NOT NULL CHECK (state IN ('open', 'closed')),
  state_reason TEXT,
  url         TEXT,
  assignees   TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(assignees)),
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  closed_at   TEXT,
  UNIQUE (repo_id, number)
) STRICT;
CREATE INDEX issues_secret ON issues (secret_id, repo_id);

-- Append-only history: the raw material for reports. detail is JSON and never holds a plaintext secret.
CREATE TABLE events (
  id        INTEGER PRIMARY KEY,
  at        TEXT NOT NULL,
  kind      TEXT NOT NULL CHECK (kind GLOB '[a-z]*' AND kind NOT GLOB '*[^a-z-]*'),
  secret_id INTEGER REFERENCES secrets (id),
  repo_id   INTEGER REFERENCES repos (id),
  issue_id  INTEGER REFERENCES issues (id),
  run_id    INTEGER REFERENCES scan_runs (id),
  detail    TEXT CHECK (detail IS NULL OR json_valid(detail))
) STRICT;
CREATE INDEX events_secret ON events (secret_id, id);
CREATE INDEX events_kind ON events (kind, at);
