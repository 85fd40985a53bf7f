// The use case's FindingsVerifier port (core/ports.ts) over a catalog: each finding sent with its detector, so
// `keyloop scan --verify` and the App verify through one function (core/pipeline.ts verifyFindings).
import type { FindingsVerifier } from '../core/ports.js';
import type { Catalog } from '../detection/types.js';
import type { Verifier } from './verify.js';

/** A finding whose detector `catalog` does not hold is not sent (nothing says where its key belongs). */
export function findingsVerifier(verifier: Verifier, catalog: Catalog): FindingsVerifier {
  return {
    verify: (findings) =>
      verifier.verifyAll(
        findings.flatMap((f) => {
          const detector = catalog.byId.get(f.detector);
          return detector ? [{ detector, secret: f.secret, parts: f.parts, fingerprint: f.fingerprint }] : [];
        }),
      ),
  };
}
