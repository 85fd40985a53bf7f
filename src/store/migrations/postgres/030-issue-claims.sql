-- One issue per (secret, leaking repo), even with workers racing: the first INSERT wins the primary key; the
-- others find it claimed. A claim whose holder died before recording the issue may be taken over when stale.
CREATE TABLE issue_claims (
  secret_id       BIGINT NOT NULL REFERENCES secrets (id),
  subject_repo_id BIGINT NOT NULL REFERENCES repos (id),
  claimant        TEXT COLLATE "C" NOT NULL CHECK (length(claimant) > 0),
  claimed_at      TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (secret_id, subject_repo_id)
);
