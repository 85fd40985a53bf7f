-- Findings a scanned repository's own .keyloop.yaml dropped from the report (allowlists, excluded paths,
-- disabled detectors): counted per repo and run so a repository hiding its leaks shows up in summaries and reports.
ALTER TABLE run_repos ADD COLUMN suppressed_by_repo_config INTEGER NOT NULL DEFAULT 0 CHECK (suppressed_by_repo_config >= 0);
ALTER TABLE scan_runs ADD COLUMN suppressed_by_repo_config INTEGER NOT NULL DEFAULT 0 CHECK (suppressed_by_repo_config >= 0);
