// {{secret}} and {{parts.NAME}} in verify blocks. Values are encoded for where they land (URL path vs header).
const PLACEHOLDER = /\{\{\s*(secret|parts\.([a-z][a-z0-9_]*))\s*\}\}/g;
const ANY_BRACES = /\{\{[^}]*\}\}/g;

export interface TemplateVars {
  secret: string;
  parts: Record<string, string>;
}

export type Rendered = { ok: true; value: string } | { ok: false; missing: string };

/** Placeholders a template refers to: 'secret' and part names. Unknown placeholders are reported as `invalid`. */
export function placeholders(template: string): { secret: boolean; parts: string[]; invalid: string[] } {
  const parts: string[] = [];
  let secret = false;
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (m[2]) parts.push(m[2]);
    else secret = true;
  }
  const invalid = [...template.replace(PLACEHOLDER, '').matchAll(ANY_BRACES)].map((m) => m[0]);
  return { secret, parts, invalid };
}

/**
 * RFC 3986 pchar plus '/' (webhook paths are values too): '?', '#', '%', spaces… are percent-encoded so a value
 * cannot end the path or smuggle an encoded dot segment. Literal dot segments are refused by the caller.
 */
export function encodePathValue(v: string): string {
  return v.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/]/g, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join(''),
  );
}

export function render(template: string, vars: TemplateVars, encode: (v: string) => string = (v) => v): Rendered {
  let missing: string | undefined;
  const value = template.replace(PLACEHOLDER, (_all, _whole: string, part: string | undefined) => {
    if (part === undefined) return encode(vars.secret);
    const v = vars.parts[part];
    if (v === undefined || v === '') {
      missing ??= part;
      return '';
    }
    return encode(v);
  });
  return missing === undefined ? { ok: true, value } : { ok: false, missing };
}

/** Host labels from scanned data must be plain DNS labels: no '/', '@', ':' or anything that moves the authority. */
export function encodeHostValue(v: string): string {
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(v)) throw new UnsafeValueError();
  return v;
}

export class UnsafeValueError extends Error {
  override name = 'UnsafeValueError';
  constructor() {
    super('value from scanned data is not a plain host name');
  }
}
