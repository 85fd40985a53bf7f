// Path globs (`paths.exclude`) compiled to RE2: paths come from scanned content, so matching must be linear
// (picomatch compiles to backtracking JS regexes; `*a*a*a*a*a*a*a*a*a*a*b` took 30 s on a 40-character name).
import RE2 from 're2';

/** A glob keyloop cannot compile; the message says why. */
export class GlobError extends Error {
  override name = 'GlobError';
}

const MAX_LENGTH = 1024;
const MAX_EXPANSIONS = 64;
const META = /[\\^$.|?*+()[\]{}]/g;

/** `{a,b}` alternatives expanded (nesting allowed), at most MAX_EXPANSIONS patterns. */
function expandBraces(glob: string): string[] {
  let depth = 0;
  let open = -1;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '{') {
      if (depth === 0) open = i;
      depth++;
    } else if (c === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        const alts = splitTopLevel(glob.slice(open + 1, i));
        const before = glob.slice(0, open);
        const after = glob.slice(i + 1);
        const out: string[] = [];
        for (const a of alts) {
          for (const e of expandBraces(before + a + after)) {
            out.push(e);
            if (out.length > MAX_EXPANSIONS) throw new GlobError(`more than ${MAX_EXPANSIONS} alternatives`);
          }
        }
        return out;
      }
    }
  }
  if (depth > 0) throw new GlobError('unclosed {');
  return [glob];
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

/** One path segment (no `/`, no braces) → regex source. */
function segmentSource(seg: string): string {
  let out = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '\\') {
      const next = seg[++i];
      if (next === undefined) throw new GlobError('trailing backslash');
      out += next.replace(META, '\\$&');
    } else if (c === '*') {
      while (seg[i + 1] === '*') i++;
      out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const close = classEnd(seg, i);
      if (close < 0) {
        out += '\\[';
        continue;
      }
      let body = seg.slice(i + 1, close);
      const negate = body[0] === '!' || body[0] === '^';
      if (negate) body = body.slice(1);
      const escaped = body.replace(/\//g, '').replace(/[\\\][^]/g, '\\$&');
      if (escaped === '') throw new GlobError('empty character class');
      out += negate ? `[^/${escaped}]` : `[${escaped}]`;
      i = close;
    } else out += c.replace(META, '\\$&');
  }
  return out;
}

/** Index of the `]` closing the class opened at `open`, or -1. A `]` right after `[`, `[!` or `[^` is literal. */
function classEnd(seg: string, open: number): number {
  let j = open + 1;
  if (seg[j] === '!' || seg[j] === '^') j++;
  if (seg[j] === ']') j++;
  for (; j < seg.length; j++) if (seg[j] === ']') return j;
  return -1;
}

function patternSource(glob: string): string {
  let g = glob.replace(/^(?:\.\/|\/)+/, '');
  if (g.endsWith('/')) g += '**';
  if (g === '') throw new GlobError('empty pattern');
  // A segment of stars only is `**` (git reads `***` so); repeated `**` segments are one.
  const segs = g
    .split('/')
    .map((s) => (/^\*{2,}$/.test(s) ? '**' : s))
    .filter((s, i, all) => !(s === '**' && all[i - 1] === '**'));
  if (segs.some((s) => s === '')) throw new GlobError('empty path segment');
  let src = '';
  segs.forEach((s, i) => {
    const first = i === 0;
    const last = i === segs.length - 1;
    if (s === '**') {
      // any number of whole segments, including none
      if (first && last) src += '.*';
      else if (first) src += '(?:.*/)?';
      else if (last) src += '(?:/.*)?';
      else src += '(?:/.*)?/';
      return;
    }
    const prevDoubleStar = i > 0 && segs[i - 1] === '**';
    if (!first && !prevDoubleStar) src += '/';
    src += segmentSource(s);
  });
  return src;
}

/**
 * Compiles one glob: `*` (within a segment), `**` (any number of segments), `?`, `[a-z]`, `[!x]`, `{a,b}`, `\x`.
 * Matched against the whole repo-relative path; a trailing `/` means the directory and everything under it.
 */
export function compileGlob(glob: string): RE2 {
  if (glob.length > MAX_LENGTH) throw new GlobError(`longer than ${MAX_LENGTH} characters`);
  const alts = expandBraces(glob).map(patternSource);
  try {
    return new RE2(`^(?:${alts.join('|')})$`);
  } catch (e) {
    throw new GlobError((e as Error).message);
  }
}

/** One matcher for many globs (already validated by the config loader). */
export function globMatcher(globs: readonly string[]): ((path: string) => boolean) | null {
  if (globs.length === 0) return null;
  const res = globs.map(compileGlob);
  return (path) => res.some((re) => re.test(path));
}
