// Text from scanned content (paths, commit subjects, author names, previews, git's messages about a repository)
// shown to a person: characters that steer a terminal or reorder text are made visible instead of obeyed.
// JSON, CSV and SARIF keep exact values (their encoders escape what they must); this is for table, markdown,
// HTML and stderr.

/**
 * C0 controls (newline and tab too: they would start a spoofed row), DEL, C1 controls (U+009B is a CSI to
 * terminals in 8-bit mode), bidi embeddings, overrides and isolates (U+202A–202E, U+2066–2069), the implicit
 * marks (U+200E, U+200F, U+061C) and the Unicode line and paragraph separators.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const visible = (c: string): string => {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** `s` with every unsafe character written as an escape (`\x1b`, `\n`, `\u202e`); other text unchanged. */
export function escapeControls(s: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(s) ? s.replace(UNSAFE, visible) : s;
}

/** Whether `s` holds a character escapeControls would rewrite. */
export function hasControls(s: string): boolean {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(s);
}
