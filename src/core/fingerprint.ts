// Stable finding identity: a keyed hash of (detector, secret). Survives renames, rebases and squashes.
import { createHmac } from 'node:crypto';

/**
 * Default key. Public, so fingerprints of low-entropy secrets could be brute-forced by anyone holding them:
 * set KEYLOOP_FINGERPRINT_KEY (or `fingerprint.key` in .keyloop.yaml) to an org-private value. Changing the key
 * changes every fingerprint (baselines and allowlists must then be regenerated).
 */
export const DEFAULT_FINGERPRINT_KEY = 'keyloop-fingerprint-v1';

export function fingerprint(detectorId: string, secret: string, key = DEFAULT_FINGERPRINT_KEY): string {
  return createHmac('sha256', key).update(detectorId).update('\0').update(secret).digest('hex');
}
