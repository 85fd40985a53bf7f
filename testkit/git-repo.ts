// Declarative git histories for tests, built with one `git fast-import` so 500-commit fixtures take well under a second.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Person {
  name: string;
  email: string;
  /** ISO 8601 with an offset (e.g. '2024-03-01T10:00:00+02:00'); default: a fixed epoch + one minute per commit. */
  date?: string;
}

/** File content: text, bytes, a symlink, a gitlink (submodule entry), or null to delete the path. */
export type FileSpec =
  | string
  | Buffer
  | null
  | { content: string | Buffer; executable?: boolean }
  | { symlink: string }
  | { gitlink: string };

export interface CommitSpec {
  /** Name used in `sha` of the result and in other commits' `parents`. */
  id: string;
  /** Branch the commit lands on (refs/heads/<branch>); default 'main'. */
  branch?: string;
  /**
   * Parent ids, first parent first. Default: the current tip of `branch` (none for its first commit).
   * `[]` makes a root commit. The tree starts from the first parent's tree; `files` are changes on top.
   */
  parents?: string[];
  files?: Record<string, FileSpec>;
  author?: Person;
  committer?: Person;
  message?: string;
}

export interface AnnotatedTag {
  target: string;
  message: string;
  tagger?: Person;
}

export interface RepoSpec {
  bare?: boolean;
  commits?: CommitSpec[];
  /** name → commit id (lightweight) or annotated tag. */
  tags?: Record<string, string | AnnotatedTag>;
  /** Any other full ref name → commit id (e.g. 'refs/pull/1/head', 'refs/remotes/origin/x'). */
  refs?: Record<string, string>;
  /** Branch HEAD points at; default: the first commit's branch, or 'main'. */
  head?: string;
  /** Non-bare only: written to the working tree and added to the index (the `--staged` case). */
  staged?: Record<string, string | Buffer | null>;
  /** Non-bare only: written to the working tree but not staged. */
  unstaged?: Record<string, string | Buffer | null>;
}

export interface BuiltRepo {
  /** Working tree (non-bare) or the git dir itself (bare). */
  dir: string;
  /** The git directory ($dir/.git or $dir). */
  gitDir: string;
  /** Commit id → full sha. */
  sha: Record<string, string>;
  cleanup(): Promise<void>;
}

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh temp dir, removed when the process exits (or earlier by the caller). */
export async function tempDir(prefix = 'keyloop-test-'): Promise<string> {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/** Run git in `dir`; resolves trimmed stdout, rejects with stderr on a non-zero exit. */
export function git(dir: string, ...args: string[]): Promise<string> {
  return gitRaw(dir, args).then((b) => b.toString('utf8').trim());
}

/** Run git in `dir` with optional stdin; resolves raw stdout. */
export function gitRaw(dir: string, args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      args,
      { cwd: dir, encoding: 'buffer', maxBuffer: 1 << 30, env: opts.env ?? process.env },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`git ${args.join(' ')} failed: ${stderr.toString().trim() || err.message}`));
        else resolve(stdout);
      },
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

const BASE_EPOCH = 1_700_000_000; // 2023-11-14T22:13:20Z

function gitDate(p: Person | undefined, index: number): string {
  if (!p?.date) return `${BASE_EPOCH + index * 60} +0000`;
  const secs = Math.floor(Date.parse(p.date) / 1000);
  if (Number.isNaN(secs)) throw new Error(`bad date ${p.date}`);
  const m = /([+-])(\d\d):?(\d\d)$/.exec(p.date);
  const tz = m ? `${m[1]}${m[2]}${m[3]}` : '+0000';
  return `${secs} ${tz}`;
}

function ident(p: Person | undefined, fallback: Person, index: number): string {
  const who = p ?? fallback;
  return `${who.name} <${who.email}> ${gitDate(p ?? fallback, index)}`;
}

/** fast-import path: always C-quoted so spaces, quotes and newlines are safe; UTF-8 bytes pass through. */
function quotePath(p: string): string {
  return '"' + p.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"';
}

const DEFAULT_AUTHOR: Person = { name: 'Test Author', email: 'author@example.test' };

class Stream {
  parts: Buffer[] = [];
  line(s: string): void {
    this.parts.push(Buffer.from(s + '\n', 'utf8'));
  }
  data(content: string | Buffer): void {
    const b = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    this.line(`data ${b.length}`);
    this.parts.push(b, Buffer.from('\n'));
  }
}

/** Build a repository from a declarative history. */
export async function buildRepo(spec: RepoSpec): Promise<BuiltRepo> {
  const root = await tempDir('keyloop-repo-');
  const bare = spec.bare ?? false;
  const commits = spec.commits ?? [];
  const head = spec.head ?? commits[0]?.branch ?? 'main';
  await git(root, 'init', '-q', ...(bare ? ['--bare'] : []), '-b', head, '.');
  const gitDir = bare ? root : path.join(root, '.git');

  const marks = new Map<string, number>();
  const tips = new Map<string, string>();
  const seen = new Set<string>();
  const fiTip = new Map<string, number>();
  const s = new Stream();
  let mark = 0;
  commits.forEach((c, i) => {
    if (marks.has(c.id)) throw new Error(`duplicate commit id ${c.id}`);
    const branch = c.branch ?? 'main';
    const parents = c.parents ?? (tips.has(branch) ? [tips.get(branch)!] : []);
    const pm = parents.map((p) => {
      const m = marks.get(p);
      if (m === undefined) throw new Error(`commit ${c.id}: unknown parent ${p} (list parents before children)`);
      return m;
    });
    mark += 1;
    marks.set(c.id, mark);
    tips.set(branch, c.id);
    // a root commit on a branch fast-import already knows must not inherit its tree; resetting every
    // commit instead would make fast-import reload each parent tree (10× slower)
    const reset = pm.length === 0 && seen.has(branch);
    if (reset) s.line(`reset refs/heads/${branch}`);
    seen.add(branch);
    s.line(`commit refs/heads/${branch}`);
    s.line(`mark :${mark}`);
    s.line(`author ${ident(c.author, DEFAULT_AUTHOR, i)}`);
    s.line(`committer ${ident(c.committer ?? c.author, DEFAULT_AUTHOR, i)}`);
    s.data(c.message ?? `commit ${c.id}`);
    // `from` the branch's own tip makes fast-import reload that tree: omit it when implied
    if (pm[0] !== undefined && !(fiTip.get(branch) === pm[0] && pm.length >= 1 && !reset)) s.line(`from :${pm[0]}`);
    fiTip.set(branch, mark);
    for (const m of pm.slice(1)) s.line(`merge :${m}`);
    for (const [p, f] of Object.entries(c.files ?? {})) {
      if (f === null) s.line(`D ${quotePath(p)}`);
      else if (typeof f === 'string' || Buffer.isBuffer(f)) {
        s.line(`M 100644 inline ${quotePath(p)}`);
        s.data(f);
      } else if ('symlink' in f) {
        s.line(`M 120000 inline ${quotePath(p)}`);
        s.data(f.symlink);
      } else if ('gitlink' in f) s.line(`M 160000 ${f.gitlink} ${quotePath(p)}`);
      else {
        s.line(`M ${f.executable ? '100755' : '100644'} inline ${quotePath(p)}`);
        s.data(f.content);
      }
    }
    s.line('');
  });
  const markOf = (id: string, what: string): number => {
    const m = marks.get(id);
    if (m === undefined) throw new Error(`${what}: unknown commit ${id}`);
    return m;
  };
  for (const [name, t] of Object.entries(spec.tags ?? {})) {
    if (typeof t === 'string') {
      s.line(`reset refs/tags/${name}`);
      s.line(`from :${markOf(t, `tag ${name}`)}`);
      s.line('');
    } else {
      s.line(`tag ${name}`);
      s.line(`from :${markOf(t.target, `tag ${name}`)}`);
      s.line(`tagger ${ident(t.tagger, DEFAULT_AUTHOR, commits.length)}`);
      s.data(t.message); // data's own trailing LF ends the tag command
    }
  }
  for (const [ref, id] of Object.entries(spec.refs ?? {})) {
    s.line(`reset ${ref}`);
    s.line(`from :${markOf(id, ref)}`);
    s.line('');
  }
  s.line('done');

  const sha: Record<string, string> = {};
  if (commits.length > 0 || spec.tags || spec.refs) {
    const marksFile = path.join(gitDir, 'keyloop-test-marks');
    await fastImport(gitDir, Buffer.concat(s.parts), marksFile);
    const byMark = new Map<number, string>();
    for (const line of (await readFile(marksFile, 'utf8')).split('\n')) {
      const m = /^:(\d+) ([0-9a-f]{40,64})$/.exec(line);
      if (m) byMark.set(Number(m[1]), m[2]!);
    }
    await unlink(marksFile);
    for (const [id, m] of marks) sha[id] = byMark.get(m)!;
  }

  if (!bare) {
    const hasHead = await git(root, 'rev-parse', '-q', '--verify', 'HEAD^{commit}').then(
      () => true,
      () => false,
    );
    if (hasHead) await git(root, 'read-tree', '-u', '--reset', 'HEAD');
    for (const [set, add] of [
      [spec.staged, true],
      [spec.unstaged, false],
    ] as const) {
      for (const [p, content] of Object.entries(set ?? {})) {
        const abs = path.join(root, p);
        if (content === null) await rm(abs, { force: true });
        else {
          await mkdir(path.dirname(abs), { recursive: true });
          await writeFile(abs, content);
        }
        if (add) await git(root, 'add', '-A', '--', p);
      }
    }
  }
  return { dir: root, gitDir, sha, cleanup: () => rm(root, { recursive: true, force: true }) };
}

function fastImport(gitDir: string, input: Buffer, marksFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['--git-dir', gitDir, 'fast-import', '--quiet', '--done', `--export-marks=${marksFile}`], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`git fast-import failed (${code}): ${err.trim()}`))));
    child.stdin.on('error', () => {}); // the close handler reports the real failure
    child.stdin.end(input);
  });
}

/** A linear-ish synthetic history of `n` commits over a few branches, for size/speed tests. */
export function syntheticHistory(n: number, opts: { files?: number; branches?: number } = {}): CommitSpec[] {
  const files = opts.files ?? 50;
  const branches = opts.branches ?? 3;
  const out: CommitSpec[] = [];
  for (let i = 0; i < n; i++) {
    const branch = i < branches || i % 10 !== 0 ? 'main' : `b${i % branches}`;
    const f: Record<string, FileSpec> = {
      [`dir${i % 7}/file${i % files}.txt`]: `line ${i}\n`.repeat(1 + (i % 5)),
    };
    if (i % 13 === 12) f[`dir${(i + 3) % 7}/file${(i + 1) % files}.txt`] = null;
    out.push({ id: `c${i}`, branch, files: f, message: `change ${i}` });
  }
  return out;
}
