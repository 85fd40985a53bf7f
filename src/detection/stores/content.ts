// Credential stores read whole, recognised by content (binary files have no name here): DBeaver's encrypted
// credentials-config.json, decrypted; Java/PKCS#12 keystores, as base64; the base64 values of Kubernetes Secret
// manifests, decoded. Rescanned by every detector like decoded spans.
import { decryptDbeaverStore, mayBeDbeaverStore } from './dbeaver.js';
import { isKeystore, keystoreAsBase64 } from './keystore.js';
import { KUBERNETES_SECRET_KEYWORDS, kubernetesSecretSpans } from './kubernetes.js';

/** Literals the engine's prefilter looks for on behalf of the stores (lowercase; matched case-insensitively). */
export const STORE_KEYWORDS: readonly string[] = KUBERNETES_SECRET_KEYWORDS;

/** A whole-content store, decrypted: rescanned by every detector like a decoded span. */
export interface StoreSpan {
  decoder: 'dbeaver' | 'keystore' | 'kubernetes-secret';
  start: number;
  end: number;
  bytes: Buffer;
}

/** Whether binary content may be a store (and must reach the engine rather than be skipped as binary). */
export function mayHoldStore(data: Buffer): boolean {
  return mayBeDbeaverStore(data) || isKeystore(data);
}

/** The stores in `data`; `keywordHit`: whether the prefilter saw one of STORE_KEYWORDS there. */
export function storeSpans(data: Buffer, keywordHit: boolean): StoreSpan[] {
  const plain = decryptDbeaverStore(data);
  if (plain) return [{ decoder: 'dbeaver', start: 0, end: data.length, bytes: plain }];
  const b64 = keystoreAsBase64(data);
  if (b64) return [{ decoder: 'keystore', start: 0, end: data.length, bytes: b64 }];
  return keywordHit ? kubernetesSecretSpans(data).map((s) => ({ decoder: 'kubernetes-secret' as const, ...s })) : [];
}
