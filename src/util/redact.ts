// Redaction: the preview shown instead of a secret, and a registry every log line / error / issue body passes through.
import { escapeControls } from './terminal-safe.js';

/** `ghp_…a1B2`: a short literal prefix when the token has one, an ellipsis, the last 4 characters. Short secrets show nothing. */
export function redact(secret: string): string {
  // PEM/OpenSSH/PGP blocks: the armor header says what it is; no key material is shown.
  const armor = /^(-----BEGIN [A-Z0-9 ]+-----)/.exec(secret)?.[1] ?? /^(PuTTY-User-Key-File-\d+: [\w-]+)/.exec(secret)?.[1];
  if (armor) return `${armor}…`;
  if (secret.length < 12) return '…';
  const prefix = /^([A-Za-z]{2,8}[_-](?:[A-Za-z0-9]{1,6}[_-])?)/.exec(secret)?.[1] ?? '';
  const keep = prefix.length <= 12 ? prefix : '';
  return `${keep}…${secret.slice(-4)}`;
}

/**
 * The forms a secret takes in keyloop's outputs, each with the encoding that produced it (so its preview is
 * written the same way and a JSON report stays JSON): as is, inside a JSON string, with control characters
 * escaped (table, stderr), in a CSV quoted cell, percent-encoded (SARIF URIs, permalinks), HTML-escaped.
 */
const ENCODINGS: ((s: string) => string)[] = [
  (s) => s,
  (s) => JSON.stringify(s).slice(1, -1),
  escapeControls,
  (s) => s.replace(/"/g, '""'),
  (s) => encodeURI(s),
  (s) => encodeURIComponent(s),
  (s) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!),
];

/** How many times scrub looks again after replacing (a preview next to other text could complete a secret). */
const MAX_PASSES = 4;

interface Form {
  text: string;
  /** What replaces one occurrence on its own: the preview, encoded as the form is. */
  replacement: string;
}

/**
 * Secrets seen during this process. `scrub` replaces each with its redacted form: the logger, error messages,
 * issue bodies and reports pass through it. Pass one registry explicitly (no module singleton).
 */
export class SecretRegistry {
  private readonly secrets = new Set<string>();
  private forms: Form[] | null = null;

  add(secret: string): void {
    // Very short strings would redact unrelated text; the engine never reports secrets this short.
    if (secret.length < 6 || this.secrets.has(secret)) return;
    this.secrets.add(secret);
    this.forms = null;
  }

  get size(): number {
    return this.secrets.size;
  }

  private allForms(): Form[] {
    if (!this.forms) {
      const byText = new Map<string, Form>();
      for (const s of this.secrets) {
        const preview = redact(s);
        for (const enc of ENCODINGS) {
          const text = enc(s);
          if (!byText.has(text)) byText.set(text, { text, replacement: enc(preview) });
        }
      }
      // longest first: where forms start at the same place, the longest wins
      this.forms = [...byText.values()].sort((a, b) => b.text.length - a.text.length);
    }
    return this.forms;
  }

  /**
   * `text` with every occurrence of a registered secret, in any of its output forms, replaced by its preview.
   * Occurrences that overlap (two secrets sharing characters) are replaced together by a bare ellipsis, so no
   * part of either survives; the result is checked again in case a preview completed a secret with its neighbours.
   */
  scrub(text: string): string {
    if (this.secrets.size === 0) return text;
    const forms = this.allForms();
    let out = text;
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const hits: { start: number; end: number; form: Form }[] = [];
      for (const f of forms) for (let p = out.indexOf(f.text); p !== -1; p = out.indexOf(f.text, p + 1)) hits.push({ start: p, end: p + f.text.length, form: f });
      if (hits.length === 0) return out;
      hits.sort((a, b) => a.start - b.start || b.end - a.end);
      let result = '';
      let at = 0;
      for (let i = 0; i < hits.length; ) {
        let { start, end } = hits[i]!;
        const first = hits[i]!;
        let j = i + 1;
        while (j < hits.length && hits[j]!.start < end) end = Math.max(end, hits[j++]!.end);
        // one occurrence (and the shorter forms inside it) keeps its preview; overlapping secrets become '…'
        const alone = hits.slice(i + 1, j).every((h) => h.end <= first.end);
        result += out.slice(at, start) + (alone ? first.form.replacement : '…');
        at = end;
        i = j;
      }
      out = result + out.slice(at);
    }
    // still finding secrets after every pass: nothing of them may show
    for (const f of forms) out = out.split(f.text).join('…');
    return out;
  }
}
