-- GitHub App webhook deliveries: written before the 2xx reply, processed by queue workers, idempotent by the
-- X-GitHub-Delivery GUID. `job` is the normalized event (refs, shas, repo, installation), never the raw payload:
-- commit messages in a raw push payload could carry a secret, and nothing at rest may.

CREATE TABLE app_deliveries (
  seq             INTEGER PRIMARY KEY,
  guid            TEXT NOT NULL UNIQUE CHECK (length(guid) BETWEEN 1 AND 200),
  event           TEXT NOT NULL,
  action          TEXT,
  installation_id INTEGER,
  -- owner/name the work touches; the queue runs at most one delivery per repo at a time (mirror + ref order).
  repo            TEXT,
  job             TEXT CHECK (job IS NULL OR json_valid(job)),
  status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'ignored')),
  attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- epoch milliseconds: a retried delivery waits for its backoff.
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  received_at     TEXT NOT NULL,
  started_at      TEXT,
  finished_at     TEXT,
  error           TEXT,
  result          TEXT CHECK (result IS NULL OR json_valid(result))
) STRICT;
CREATE INDEX app_deliveries_pending ON app_deliveries (status, next_attempt_at, seq);
CREATE INDEX app_deliveries_repo ON app_deliveries (repo, status);

-- Repositories the App is installed on (installation / installation_repositories events). Forgetting a repo keeps
-- its findings: removed_at marks it, a later re-add clears it.
CREATE TABLE app_repos (
  full_name       TEXT PRIMARY KEY CHECK (full_name GLOB '?*/?*'),
  github_id       INTEGER,
  installation_id INTEGER NOT NULL,
  private         INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1)),
  added_at        TEXT NOT NULL,
  removed_at      TEXT
) STRICT;
CREATE INDEX app_repos_installation ON app_repos (installation_id);
