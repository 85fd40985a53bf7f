-- One issue per (secret, leaking repo), even with processes racing: whoever inserts the claim first opens the
-- issue; the others find it claimed and leave it alone. A claim whose holder died may be taken over when stale.
CREATE TABLE issue_claims (
  secret_id       INTEGER NOT NULL REFERENCES secrets (id),
  subject_repo_id INTEGER NOT NULL REFERENCES repos (id),
  claimant        TEXT NOT NULL CHECK (length(claimant) > 0),
  claimed_at      TEXT NOT NULL,
  PRIMARY KEY (secret_id, subject_repo_id)
) STRICT, WITHOUT ROWID;
