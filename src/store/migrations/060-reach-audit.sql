-- What a live key can do (src/reach), kept with the verification that found it: JSON from the issuer's answers,
-- scrubbed, never the secret.
ALTER TABLE verifications ADD COLUMN reach TEXT CHECK (reach IS NULL OR json_valid(reach));

-- Every request keyloop sent with a secret in it (verification, reach, revocation): to whom, where, when, and what
-- came back. Never the secret: the URL is scrubbed and no header or body is kept. `keyloop audit` reads it.
CREATE TABLE outbound_calls (
  id          INTEGER PRIMARY KEY,
  at          TEXT NOT NULL,
  purpose     TEXT NOT NULL CHECK (purpose IN ('verify', 'reach', 'revoke')),
  issuer      TEXT NOT NULL,
  fingerprint TEXT CHECK (fingerprint IS NULL OR length(fingerprint) = 64),
  method      TEXT NOT NULL,
  url         TEXT NOT NULL,
  status      INTEGER,
  outcome     TEXT NOT NULL,
  duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0)
) STRICT;
CREATE INDEX outbound_calls_at ON outbound_calls (at, id);
CREATE INDEX outbound_calls_fingerprint ON outbound_calls (fingerprint, id);
