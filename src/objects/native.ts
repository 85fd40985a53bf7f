// GitObjects over the git CLI: a handful of streaming processes per call, never one per commit.
import { ConfigError } from '../core/errors.js';
import type { BlobRead, BlobSelection, Enumeration, EnumerationProblem, GitObjects } from '../core/ports.js';
import { ByteReader, gitRunner, nulTokens, type GitRunner } from './git-process.js';
import { isBlobMode, isNullOid, isoUtc, OriginCollector, type CommitMeta } from './provenance.js';

const LOG_FORMAT = '--format=%x01%H%x00%P%x00%an%x00%ae%x00%at%x00%s%x00';
const EMPTY_TREE_SHA1 = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const NO_ONE = { name: '', email: '' };

export interface NativeOptions {
  /** The git directory (`.git`, a bare repo, or a worktree's gitdir). */
  gitDir: string;
  /** The working tree, when there is one (needed for nothing but kept so git sees the same repo a user does). */
  workTree?: string;
}

export class NativeGitObjects implements GitObjects {
  readonly backend = 'native' as const;
  private readonly git: GitRunner;

  constructor(opts: NativeOptions) {
    this.git = gitRunner(opts.gitDir, opts.workTree);
  }

  async resolve(rev: string): Promise<string | null> {
    if (rev === '' || rev.startsWith('-')) return null;
    const r = await this.git.run(['rev-parse', '-q', '--verify', `${rev}^{commit}`]);
    const out = r.stdout.toString().trim();
    return r.code === 0 && out ? out : null;
  }

  async enumerate(selection: BlobSelection): Promise<Enumeration> {
    switch (selection.kind) {
      case 'all':
        return this.walk(['--all']);
      case 'range': {
        const to = await this.mustResolve(selection.to);
        const exclude = await Promise.all(selection.exclude.map((r) => this.mustResolve(r)));
        return this.walk([to, ...(exclude.length ? ['--not', ...exclude] : [])]);
      }
      case 'head':
        return this.head();
      case 'staged':
        return this.staged();
    }
  }

  private async mustResolve(rev: string): Promise<string> {
    const oid = await this.resolve(rev);
    if (!oid) throw new ConfigError(`unknown revision '${rev}'`);
    return oid;
  }

  /** One `git log -c --raw` over the whole selection: combined diffs give exactly the merge semantics we want. */
  private async walk(revs: string[]): Promise<Enumeration> {
    const problems: EnumerationProblem[] = [];
    const collector = new OriginCollector();
    const child = this.git.spawn([
      'log', '-c', '--raw', '--no-renames', '--no-abbrev', '-z', '--root', '--no-color', '--no-textconv',
      '--no-ext-diff', '--no-show-signature', LOG_FORMAT, ...revs, '--',
    ]);
    child.stdin.end();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));

    let commits = 0;
    let meta: CommitMeta | null = null;
    let header: string[] | null = null;
    // after a raw entry comes its path: the blob it introduces, or '' when the path is to be skipped
    let pending: string | null = null;
    for await (const tok of nulTokens(child.stdout)) {
      if (header) {
        header.push(tok.toString('utf8'));
        if (header.length === 6) {
          const [commit, , name, email, at, subject] = header as [string, string, string, string, string, string];
          meta = { commit, author: { name, email }, date: isoUtc(Number(at)), subject };
          header = null;
        }
        continue;
      }
      if (pending !== null) {
        if (pending) collector.add(pending, meta!, tok.toString('utf8'));
        pending = null;
        continue;
      }
      if (tok[0] === 1) {
        commits++;
        header = [tok.toString('utf8', 1)];
        continue;
      }
      let s = tok.toString('latin1');
      if (s.startsWith('\n')) s = s.slice(1);
      if (!s.startsWith(':')) continue; // the format's own terminators
      const parents = s.length - s.replace(/^:+/, '').length;
      const f = s.slice(parents).split(' ');
      const dstMode = f[parents]!;
      const srcShas = f.slice(parents + 1, 2 * parents + 1);
      const dst = f[2 * parents + 1]!;
      pending = isBlobMode(dstMode) && !isNullOid(dst) && !srcShas.includes(dst) ? dst : '';
    }
    const code = await exited;
    if (code !== 0) problems.push(classify(stderr, 'git log'));
    return { blobs: collector.finish(await this.sizes(collector.oids(), problems), problems), problems, commits };
  }

  private async commitMeta(rev: string): Promise<CommitMeta | null> {
    const r = await this.git.run(['log', '-1', '--no-walk', '-z', '--no-show-signature', LOG_FORMAT, rev, '--']);
    if (r.code !== 0 || r.stdout.length === 0) return null;
    const [first, , name, email, at, subject] = r.stdout.toString('utf8').split('\0');
    return { commit: first!.slice(1), author: { name: name!, email: email! }, date: isoUtc(Number(at)), subject: subject! };
  }

  private async head(): Promise<Enumeration> {
    const problems: EnumerationProblem[] = [];
    const collector = new OriginCollector();
    const head = await this.resolve('HEAD');
    if (!head) return { blobs: [], problems, commits: 0 };
    const meta = (await this.commitMeta(head))!;
    const r = await this.git.run(['ls-tree', '-r', '-z', '--full-tree', head]);
    if (r.code !== 0) problems.push(classify(r.stderr, 'git ls-tree'));
    for (const rec of splitNul(r.stdout)) {
      const tab = rec.indexOf('\t');
      const [mode, , oid] = rec.slice(0, tab).split(' ');
      if (isBlobMode(mode!)) collector.add(oid!, meta, rec.slice(tab + 1));
    }
    return { blobs: collector.finish(await this.sizes(collector.oids(), problems), problems), problems, commits: 0 };
  }

  private async staged(): Promise<Enumeration> {
    const problems: EnumerationProblem[] = [];
    const collector = new OriginCollector();
    const base = (await this.resolve('HEAD')) ?? EMPTY_TREE_SHA1;
    const r = await this.git.run(['diff-index', '--cached', '--raw', '-z', '--no-renames', '--no-abbrev', base, '--']);
    if (r.code !== 0) throw new ConfigError(`cannot read the index: ${firstLine(r.stderr)}`);
    const staged: CommitMeta = { commit: '', author: NO_ONE, date: '', subject: '' };
    const toks = splitNul(r.stdout);
    for (let i = 0; i + 1 < toks.length; i += 2) {
      const f = toks[i]!.replace(/^:/, '').split(' ');
      const [, dstMode, srcSha, dst] = f as [string, string, string, string];
      if (isBlobMode(dstMode) && !isNullOid(dst) && srcSha !== dst) collector.add(dst, staged, toks[i + 1]!);
    }
    return { blobs: collector.finish(await this.sizes(collector.oids(), problems), problems), problems, commits: 0 };
  }

  /** Sizes of the given blobs in one `cat-file --batch-check`; absent from the map when missing. */
  private async sizes(oids: string[], problems: EnumerationProblem[]): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    if (oids.length === 0) return sizes;
    const r = await this.git.run(
      ['cat-file', '--batch-check=%(objectname) %(objecttype) %(objectsize)'],
      oids.join('\n') + '\n',
    );
    for (const line of r.stdout.toString().split('\n')) {
      const [oid, type, size] = line.split(' ');
      if (type === 'blob' && oid) sizes.set(oid, Number(size));
    }
    if (r.code !== 0) {
      problems.push(classify(r.stderr, 'git cat-file'));
      // a corrupt object kills batch-check: learn the remaining sizes one process at a time
      for (const oid of oids) {
        if (sizes.has(oid)) continue;
        const one = await this.git.run(['cat-file', '-s', oid]);
        if (one.code === 0) sizes.set(oid, Number(one.stdout.toString().trim()));
      }
    }
    return sizes;
  }

  async *read(oids: Iterable<string>, opts: { maxBlobSize: number }): AsyncIterable<BlobRead> {
    const wanted = new Set(oids);
    if (wanted.size === 0) return;
    const order = await this.packOrder(wanted);
    const queue: string[] = [];
    for (const { oid, size } of order) {
      if (size > opts.maxBlobSize) {
        yield { oid, error: 'too-large', detail: `blob is ${size} bytes, over the ${opts.maxBlobSize}-byte limit`, size };
      } else queue.push(oid);
    }
    for (const oid of wanted) {
      yield { oid, error: 'missing-object', detail: `blob ${oid} is not in the object database` };
    }
    yield* this.catBatch(queue, opts.maxBlobSize);
  }

  /**
   * Wanted blobs present in the object database, in pack order (3–4× faster to read than sha order).
   * Removes every found oid from `wanted`, leaving the missing ones.
   */
  private async packOrder(wanted: Set<string>): Promise<Array<{ oid: string; size: number }>> {
    const child = this.git.spawn([
      'cat-file', '--batch-all-objects', '--unordered', '--batch-check=%(objectname) %(objecttype) %(objectsize)',
    ]);
    child.stdin.end();
    child.stderr.resume();
    const out: Array<{ oid: string; size: number }> = [];
    const reader = new ByteReader(child.stdout);
    for (let line = await reader.line(); line !== null; line = await reader.line()) {
      const sp = line.indexOf(' ');
      const oid = line.slice(0, sp);
      if (!wanted.has(oid)) continue;
      const [, type, size] = line.split(' ');
      if (type !== 'blob') continue;
      wanted.delete(oid);
      out.push({ oid, size: Number(size) });
    }
    return out;
  }

  /** One long-lived `cat-file --batch`; restarted only past an object that kills it (a corrupt one). */
  private async *catBatch(queue: string[], maxBlobSize: number): AsyncGenerator<BlobRead> {
    let next = 0;
    while (next < queue.length) {
      const child = this.git.spawn(['cat-file', '--batch']);
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdin.on('error', () => {});
      const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
      // requests are tiny; git blocks on its stdout when we stop reading, which is the backpressure
      child.stdin.end(queue.slice(next).join('\n') + '\n');
      const reader = new ByteReader(child.stdout);
      try {
        while (next < queue.length) {
          const oid = queue[next]!;
          const header = await reader.line();
          if (header === null) break;
          const [got, type, sizeText] = header.split(' ');
          if (got !== oid) {
            yield { oid, error: 'corrupt-object', detail: `unexpected reply from git cat-file: ${header.slice(0, 100)}` };
            next = queue.length;
            break;
          }
          if (type === 'missing') {
            next++;
            yield { oid, error: 'missing-object', detail: `blob ${oid} is not in the object database` };
            continue;
          }
          const size = Number(sizeText);
          const data = await reader.bytes(size + 1);
          if (data === null) break;
          next++;
          if (type !== 'blob') yield { oid, error: 'corrupt-object', detail: `object ${oid} is a ${type}, not a blob` };
          else if (size > maxBlobSize) yield { oid, error: 'too-large', detail: `blob is ${size} bytes`, size };
          else yield { oid, data: data.subarray(0, size) };
        }
      } finally {
        child.stdout.destroy();
        child.kill();
        await exited;
      }
      if (next < queue.length) {
        // git died on queue[next]: report it and go on with a fresh process
        const oid = queue[next++]!;
        yield { oid, error: 'corrupt-object', detail: firstLine(stderr) || 'git cat-file stopped on this object' };
      }
    }
  }

  async close(): Promise<void> {
    // every process is scoped to one call; nothing stays open
  }
}

function splitNul(buf: Buffer): string[] {
  const s = buf.toString('utf8');
  const parts = s.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
}

function classify(stderr: string, what: string): EnumerationProblem {
  const line = firstLine(stderr) || `${what} failed`;
  const m = /\b([0-9a-f]{40,64})\b/.exec(line);
  const kind = /missing|unable to read|could not read|bad object|not a valid|cannot read/i.test(line)
    ? 'missing-object'
    : /corrupt|inflate|hash mismatch|bad header/i.test(line)
      ? 'corrupt-object'
      : 'git-error';
  return { kind, ...(m ? { oid: m[1] } : {}), detail: `${what}: ${line}` };
}
