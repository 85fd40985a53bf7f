// GitHub noreply commit emails carry the login (and, since 2017, the stable numeric id): no API call needed.

const NOREPLY = /^(?:(\d+)\+)?([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))@users\.noreply\.github\.com$/i;

export interface NoreplyIdentity {
  login: string;
  /** Numeric account id, present in `ID+login@…` addresses (stable across renames). */
  id?: number;
}

export function parseNoreplyEmail(email: string): NoreplyIdentity | null {
  const m = NOREPLY.exec(email.trim());
  if (!m) return null;
  return m[1] ? { login: m[2]!, id: Number(m[1]) } : { login: m[2]! };
}
