// Kubernetes Secret manifests carry values base64-encoded under `data:`. A bare password has no keyword once
// encoded, so the engine's keyword-driven base64 decoding never looks at it: in a manifest that says
// `kind: Secret`, every `key: <base64>` line is decoded and handed to the detectors as `key: value`, where the
// key name gives them the context a password needs.
import RE2 from 're2';
import { isBase64, printable } from './text.js';

/** Literals whose presence makes a blob worth this pass (the engine's prefilter reports them). */
export const KUBERNETES_SECRET_KEYWORDS = ['kind: secret', '"kind": "secret"'];

const DATA_LINE = new RE2('(?m)^[ \\t]+([A-Za-z0-9_.-]{1,253}):[ \\t]*["\']?([A-Za-z0-9+/]{4,}={0,2})["\']?[ \\t]*\\r?$', 'gd');
const DATA_JSON = new RE2('"([A-Za-z0-9_.-]{1,253})"[ \\t]*:[ \\t]*"([A-Za-z0-9+/]{4,}={0,2})"', 'gd');

export interface KubernetesSpan {
  start: number;
  end: number;
  bytes: Buffer;
}

/** Decoded `data:` values of a Secret manifest, one span per value (its byte range), as `key: value` text. */
export function kubernetesSecretSpans(data: Buffer): KubernetesSpan[] {
  const out: KubernetesSpan[] = [];
  for (const re of [DATA_LINE, DATA_JSON]) {
    re.lastIndex = 0;
    let m: ReturnType<RE2['exec']>;
    while ((m = re.exec(data)) !== null) {
      const idx = (m as unknown as { indices: [number, number][] }).indices;
      const [vs, ve] = idx[2]!;
      const value = data.toString('latin1', vs, ve);
      if (!isBase64(value)) continue;
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      // multi-line values (a PEM key, an .env file) keep their line breaks
      if (decoded === value || !decoded.split('\n').every((l) => (l.endsWith('\r') ? l.slice(0, -1) : l) === '' || printable(l.endsWith('\r') ? l.slice(0, -1) : l) !== null)) continue;
      const key = data.toString('utf8', idx[1]![0], idx[1]![1]);
      out.push({ start: vs, end: ve, bytes: Buffer.from(`${key}: ${decoded}\n`, 'utf8') });
    }
  }
  return out;
}
