-- When a cached verification stops being trusted (VerificationCache TTL). NULL: history only, never served from cache.
ALTER TABLE verifications ADD COLUMN expires_at TEXT COLLATE "C";
