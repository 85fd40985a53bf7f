-- How sure keyloop is that a stored secret is real (src/detection/confidence.ts): the highest confidence any
-- scan gave it (a secret first seen in a test fixture and later in real code is not a fixture). A live
-- verification makes any secret `high` when it is read. Rows stored before this column existed: generic
-- detectors `low`, every other detector `medium` (whether the value carried a structured prefix is not known
-- without decrypting it; the next scan that sees the secret raises it).
ALTER TABLE secrets ADD COLUMN confidence TEXT NOT NULL DEFAULT 'medium' CHECK (confidence IN ('low', 'medium', 'high'));
UPDATE secrets SET confidence = 'low'
  WHERE detector IN ('generic-secret-assignment', 'generic-password-assignment', 'generic-dockerfile-env-secret', 'generic-xml-secret',
                     'generic-appsettings-secret', 'generic-bearer-token', 'generic-url-credentials', 'jwt-token');
