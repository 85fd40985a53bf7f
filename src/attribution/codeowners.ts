// CODEOWNERS parsing and matching with GitHub's rules, which differ from gitignore in a few places:
// the last matching line wins, `docs/*` does not reach into subdirectories, `!` negation and `[ ]` ranges are
// not supported (such lines are skipped), and paths are case sensitive.

/** Where GitHub looks, first found wins. */
export const CODEOWNERS_PATHS = ['.github/CODEOWNERS', 'CODEOWNERS', 'docs/CODEOWNERS'] as const;

export type CodeOwner =
  | { kind: 'user'; login: string }
  | { kind: 'team'; org: string; slug: string }
  | { kind: 'email'; email: string };

export interface CodeownersRule {
  pattern: string;
  owners: CodeOwner[];
  /** 1-based line in the file. */
  line: number;
  matches(path: string): boolean;
}

export interface CodeownersFile {
  rules: CodeownersRule[];
  /** Lines GitHub would not accept; they are skipped. */
  errors: { line: number; message: string }[];
}

export interface CodeownersMatch {
  pattern: string;
  line: number;
  /** Empty: the path is deliberately unowned (a pattern with no owners), which is not the same as no match. */
  owners: CodeOwner[];
}

function parseOwner(token: string): CodeOwner | null {
  const team = /^@([A-Za-z0-9][A-Za-z0-9-]*)\/([A-Za-z0-9._-]+)$/.exec(token);
  if (team) return { kind: 'team', org: team[1]!, slug: team[2]! };
  const user = /^@([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))$/.exec(token);
  if (user) return { kind: 'user', login: user[1]! };
  if (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(token)) return { kind: 'email', email: token };
  return null;
}

export function parseCodeowners(text: string): CodeownersFile {
  const rules: CodeownersRule[] = [];
  const errors: CodeownersFile['errors'] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    // An inline comment starts at a `#` that begins a token.
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) return;
    const tokens = line.split(/\s+/);
    const pattern = tokens[0]!;
    if (pattern.startsWith('!')) {
      errors.push({ line: lineNo, message: 'negation (!) is not supported in CODEOWNERS' });
      return;
    }
    if (/[[\]]/.test(pattern)) {
      errors.push({ line: lineNo, message: 'character ranges ([ ]) are not supported in CODEOWNERS' });
      return;
    }
    const owners: CodeOwner[] = [];
    for (const t of tokens.slice(1)) {
      const o = parseOwner(t);
      if (o) owners.push(o);
      else errors.push({ line: lineNo, message: `not an owner: ${t}` });
    }
    let re: RegExp;
    try {
      re = compilePattern(pattern);
    } catch (e) {
      errors.push({ line: lineNo, message: (e as Error).message });
      return;
    }
    const dirOnly = pattern.endsWith('/');
    // `docs/*` is the one shape GitHub keeps non-recursive; every other pattern that names a directory owns
    // everything below it, as in gitignore.
    const shallow = /(^|\/)\*$/.test(pattern);
    rules.push({
      pattern,
      owners,
      line: lineNo,
      matches: (path) => matchPath(re, path, dirOnly, shallow),
    });
  });
  return { rules, errors };
}

function matchPath(re: RegExp, path: string, dirOnly: boolean, shallow: boolean): boolean {
  const p = path.replace(/^\/+/, '');
  if (!dirOnly && re.test(p)) return true;
  if (shallow) return false;
  // Any proper directory prefix matching the pattern owns the path.
  for (let i = p.indexOf('/'); i !== -1; i = p.indexOf('/', i + 1)) {
    if (re.test(p.slice(0, i))) return true;
  }
  return false;
}

/** Pattern → anchored RegExp over a repo-relative path without leading slash. */
export function compilePattern(pattern: string): RegExp {
  let p = pattern;
  if (p.endsWith('/')) p = p.slice(0, -1);
  // A slash at the start or in the middle anchors the pattern at the root; otherwise it matches at any depth.
  const anchored = p.includes('/');
  if (p.startsWith('/')) p = p.slice(1);
  if (!p) throw new Error('empty pattern');
  let out = '';
  let i = 0;
  while (i < p.length) {
    const c = p[i]!;
    if (c === '*' && p[i + 1] === '*') {
      const atStart = i === 0;
      const before = atStart || p[i - 1] === '/';
      const after = i + 2 === p.length || p[i + 2] === '/';
      if (before && after) {
        if (i + 2 === p.length) {
          out += '.*'; // trailing /** : everything inside
          i += 2;
        } else {
          out += '(?:.*/)?'; // leading **/ or middle /**/ : zero or more directories
          i += 3;
        }
        continue;
      }
      out += '[^/]*';
      i += 2;
      continue;
    }
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\' && i + 1 < p.length) {
      i++;
      out += escapeRe(p[i]!);
    } else out += escapeRe(c);
    i++;
  }
  return new RegExp(anchored ? `^${out}$` : `^(?:.*/)?${out}$`);
}

function escapeRe(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}

/** GitHub's precedence: the last matching rule wins. */
export function ownersOf(file: CodeownersFile, path: string): CodeownersMatch | null {
  for (let i = file.rules.length - 1; i >= 0; i--) {
    const r = file.rules[i]!;
    if (r.matches(path)) return { pattern: r.pattern, line: r.line, owners: r.owners };
  }
  return null;
}

/** Reads CODEOWNERS from the first of GitHub's locations that exists. `read` returns null for a missing path. */
export async function loadCodeowners(read: (path: string) => Promise<string | null>): Promise<{ path: string; file: CodeownersFile } | null> {
  for (const p of CODEOWNERS_PATHS) {
    const text = await read(p);
    if (text !== null) return { path: p, file: parseCodeowners(text) };
  }
  return null;
}
