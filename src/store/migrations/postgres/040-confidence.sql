-- How sure keyloop is that a stored secret is real (src/detection/confidence.ts), as ../040-confidence.sql: the
-- highest confidence any scan gave it. Rows stored before: generic detectors `low`, every other detector `medium`
-- (the next scan that sees the secret raises it).
ALTER TABLE secrets ADD COLUMN confidence TEXT NOT NULL DEFAULT 'medium' CHECK (confidence IN ('low', 'medium', 'high'));
UPDATE secrets SET confidence = 'low'
  WHERE detector IN ('generic-secret-assignment', 'generic-password-assignment', 'generic-dockerfile-env-secret', 'generic-xml-secret',
                     'generic-appsettings-secret', 'generic-bearer-token', 'generic-url-credentials', 'jwt-token');
