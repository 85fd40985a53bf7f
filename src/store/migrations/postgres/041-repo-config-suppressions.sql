-- Findings a scanned repository's own .keyloop.yaml dropped from the report, counted per repo and run, as
-- ../041-repo-config-suppressions.sql.
ALTER TABLE run_repos ADD COLUMN suppressed_by_repo_config BIGINT NOT NULL DEFAULT 0 CHECK (suppressed_by_repo_config >= 0);
ALTER TABLE scan_runs ADD COLUMN suppressed_by_repo_config BIGINT NOT NULL DEFAULT 0 CHECK (suppressed_by_repo_config >= 0);
