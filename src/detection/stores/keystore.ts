// Java keystores (JKS, JCEKS) and PKCS#12 bundles (.p12/.pfx) are binary: recognised by their magic bytes and
// handed to the detectors as base64, the form CI variables and Kubernetes secrets carry them in, so one pair of
// detectors (private-key.yaml) reports both. The private keys inside are encrypted under the store password,
// often a default one ("changeit"), so a committed keystore is a leaked key at one guess's distance.

/** Keystores are small; larger binary files are something else. */
const MAX_BYTES = 1 << 20;

/** JKS (FEEDFEED) or JCEKS (CECECECE) magic, or a DER PKCS#12 PFX: SEQUENCE { INTEGER 3, … }. */
export function isKeystore(data: Buffer): boolean {
  if (data.length < 64 || data.length > MAX_BYTES) return false;
  const magic = data.readUInt32BE(0);
  if (magic === 0xfeedfeed || magic === 0xcececece) return true;
  if (data[0] !== 0x30) return false;
  // the outer SEQUENCE's length takes 2 (0x82) or 3 (0x83) bytes, or is indefinite (0x80, BER)
  const at = data[1] === 0x82 ? 4 : data[1] === 0x83 ? 5 : data[1] === 0x80 ? 2 : -1;
  return at > 0 && data[at] === 0x02 && data[at + 1] === 0x01 && data[at + 2] === 0x03;
}

/** The keystore as base64, for the detectors to read. */
export function keystoreAsBase64(data: Buffer): Buffer | null {
  return isKeystore(data) ? Buffer.from(data.toString('base64'), 'latin1') : null;
}
