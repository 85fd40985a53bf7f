// Redaction: the preview shown instead of a secret, and a registry every log line / error / issue body passes through.

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
 * Secrets seen during this process. `scrub` replaces each with its redacted form: the logger, error messages,
 * issue bodies and reports pass through it. Pass one registry explicitly (no module singleton).
 */
export class SecretRegistry {
  private readonly secrets = new Set<string>();
  private sorted: string[] | null = null;

  add(secret: string): void {
    // Very short strings would redact unrelated text; the engine never reports secrets this short.
    if (secret.length < 6 || this.secrets.has(secret)) return;
    this.secrets.add(secret);
    this.sorted = null;
  }

  get size(): number {
    return this.secrets.size;
  }

  scrub(text: string): string {
    if (this.secrets.size === 0) return text;
    this.sorted ??= [...this.secrets].sort((a, b) => b.length - a.length);
    let out = text;
    for (const s of this.sorted) if (out.includes(s)) out = out.split(s).join(redact(s));
    return out;
  }
}
