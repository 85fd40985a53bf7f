// RE2 helpers shared by the loader, the checker and the engine: capture-group counting and literal prefixes.
import RE2 from 're2';

/**
 * Number of capturing groups in an RE2 pattern. Skips escapes (`\(`), character classes (`[(]`, `[]()]`,
 * `[[:alpha:]]`), `\Q…\E` quoting and non-capturing forms (`(?:`, `(?i)`, `(?i:`); counts `(?P<n>`, `(?<n>`.
 */
export function countCaptureGroups(pattern: string): number {
  let n = 0;
  let i = 0;
  const len = pattern.length;
  while (i < len) {
    const c = pattern[i];
    if (c === '\\') {
      if (pattern[i + 1] === 'Q') {
        const end = pattern.indexOf('\\E', i + 2);
        i = end < 0 ? len : end + 2;
      } else i += 2;
      continue;
    }
    if (c === '[') {
      i = skipClass(pattern, i);
      continue;
    }
    if (c === '(') {
      if (pattern[i + 1] !== '?') n++;
      else if (pattern[i + 2] === 'P' && pattern[i + 3] === '<') n++;
      else if (pattern[i + 2] === '<' && pattern[i + 3] !== '=' && pattern[i + 3] !== '!') n++;
    }
    i++;
  }
  return n;
}

/** Index just past the character class opening at `start`. */
function skipClass(p: string, start: number): number {
  let i = start + 1;
  if (p[i] === '^') i++;
  if (p[i] === ']') i++; // a leading ] is literal
  while (i < p.length) {
    const c = p[i];
    if (c === '\\') i += 2;
    else if (c === '[' && p[i + 1] === ':') {
      const end = p.indexOf(':]', i + 2);
      i = end < 0 ? i + 1 : end + 2;
    } else if (c === ']') return i + 1;
    else i++;
  }
  return i;
}

/**
 * The case-sensitive literal every match starts with (after `\b` and opening groups), or '' when the pattern
 * has alternation, inline flags or no literal lead. RE2 scans a whole Buffer for such a prefix at GB/s.
 */
export function leadingLiteral(pattern: string): string {
  if (pattern.includes('|') || pattern.includes('(?i')) return '';
  let i = 0;
  for (;;) {
    if (pattern.startsWith('\\b', i)) i += 2;
    else if (pattern.startsWith('(?:', i)) i += 3;
    else if (pattern.startsWith('(?P<', i) || pattern.startsWith('(?<', i)) {
      const end = pattern.indexOf('>', i);
      if (end < 0) return '';
      i = end + 1;
    } else if (pattern[i] === '(' && pattern[i + 1] !== '?') i += 1;
    else break;
  }
  let lit = '';
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (/[A-Za-z0-9_\-:/.@=]/.test(c) && c !== '.') lit += c;
    else if (c === '\\' && /[-_.\/]/.test(pattern[i + 1] ?? '')) {
      lit += pattern[i + 1];
      i++;
    } else break;
    i++;
  }
  // A quantifier after the literal makes its last character optional or repeated; after a closing group, the
  // whole literal.
  const rest = pattern.slice(i);
  if (/^\)+[?*{]/.test(rest)) return '';
  if (/^[?*{]/.test(rest)) lit = lit.slice(0, -1);
  return lit;
}

/** Compiles with RE2; the error message names what RE2 refused. */
export function compileRe2(pattern: string, flags = ''): RE2 {
  return new RE2(pattern, flags);
}

export function escapeRe2(literal: string): string {
  return literal.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}
