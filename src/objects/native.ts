// GitObjects over the git CLI: a handful of streaming processes per call, never one per commit.
import { asError, ConfigError } from '../core/errors.js';
import type { BlobRead, BlobSelection, Enumeration, EnumerationProblem, GitObjects } from '../core/ports.js';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Author } from '../core/model.js';
import { ByteReader, gitRunner, type GitRunner } from './git-process.js';
import { isBlobMode, isNullOid, isoUtc, OriginCollector, resolveRange, type CommitMeta, type SizeOf } from './provenance.js';

const LOG_FORMAT = '--format=%x01%H%x00%P%x00%an%x00%ae%x00%at%x00%s%x00';
/** The walk's format: no parents (a raw record's colons say how many), 2.7 MB less to print and read on 65k commits. */
const WALK_FORMAT = '--format=%x01%H%x00%an%x00%ae%x00%at%x00%s%x00';
const EMPTY_TREE_SHA1 = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const NO_ONE = { name: '', email: '' };

/** The one `git log` the full-history walk parses (exported for the parser's tests). */
export function logArgs(revs: string[]): string[] {
  return [
    'log', '-c', '--raw', '--no-renames', '--no-abbrev', '-z', '--root', '--no-color', '--no-textconv',
    '--no-ext-diff', '--no-show-signature', WALK_FORMAT, ...revs, '--',
  ];
}

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
        const { to, exclude } = await resolveRange(this, selection);
        return this.walk([to, ...(exclude.length ? ['--not', ...exclude] : [])]);
      }
      case 'head':
        return this.head();
      case 'staged':
        return this.staged();
    }
  }

  /** One `git log -c --raw` over the whole selection: combined diffs give exactly the merge semantics we want. */
  private async walk(revs: string[]): Promise<Enumeration> {
    const problems: EnumerationProblem[] = [];
    const collector = new OriginCollector();
    // sizes are asked while the log still runs: a second core does cat-file's work instead of the wall clock
    const sizer = new SizeQuery(this.git);
    // git flushes after every commit into a pipe unless told not to: 60k tiny reads cost more than the parse
    const child = this.git.spawn(logArgs(revs), { GIT_FLUSH: '0' });
    child.stdin.end();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
    const parser = new RawLogParser((oid, meta, path) => {
      if (collector.add(oid, meta, path)) sizer.ask(oid);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          try {
            parser.push(chunk);
          } catch (err) {
            reject(asError(err));
          }
        });
        child.stdout.on('end', resolve);
        child.stdout.on('error', reject);
      });
    } catch (err) {
      sizer.abort();
      child.kill();
      throw err;
    }
    parser.end();
    const code = await exited;
    if (code !== 0) {
      problems.push(classify(stderr, 'git log'));
      // git names a ref, not the object, when a tip is unreadable: find which tips those are
      if (revs[0] === '--all') problems.push(...(await this.unreadableTips()));
    }
    const sizes = await sizer.finish(() => collector.oids(), problems);
    return { blobs: collector.finish(sizes, problems), problems, commits: parser.commits };
  }

  /** Ref tips (as `rev-parse --all` lists them, without reading objects) that git cannot read. */
  private async unreadableTips(): Promise<EnumerationProblem[]> {
    const refs = await this.git.run(['for-each-ref', '--format=%(objectname) %(refname)']);
    const named = new Map<string, string>();
    for (const line of refs.stdout.toString('utf8').split('\n')) {
      const sp = line.indexOf(' ');
      if (sp > 0) named.set(line.slice(0, sp), line.slice(sp + 1));
    }
    // for-each-ref stops at the first ref it cannot read; rev-parse --all lists every value without reading
    const all = await this.git.run(['rev-parse', '--all']);
    const oids = [...new Set(all.stdout.toString('latin1').split('\n').filter((l) => /^[0-9a-f]{40,64}$/.test(l)))];
    if (oids.length === 0) return [];
    const check = await this.git.run(['cat-file', '--batch-check=%(objectname) %(objecttype)'], oids.join('\n') + '\n');
    const out: EnumerationProblem[] = [];
    for (const line of check.stdout.toString('latin1').split('\n')) {
      const [oid, what] = line.split(' ');
      if (what === 'missing' && oid) out.push({ kind: 'missing-object', oid, detail: `${named.get(oid) ?? 'a ref'} points at ${oid}, which cannot be read` });
    }
    return out;
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
    const meta = await this.commitMeta(head);
    if (!meta) {
      problems.push({ kind: 'corrupt-object', oid: head, detail: `HEAD ${head} cannot be read` });
      return { blobs: [], problems, commits: 0 };
    }
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
    const against = (base: string) => this.git.run(['diff-index', '--cached', '--raw', '-z', '--no-renames', '--no-abbrev', base, '--']);
    // against HEAD straight away (one git process less at every commit); an unborn branch compares with nothing
    let r = await against('HEAD');
    if (r.code !== 0 && (await this.resolve('HEAD')) === null) r = await against(EMPTY_TREE_SHA1);
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
  private async sizes(oids: string[], problems: EnumerationProblem[]): Promise<SizeOf> {
    const q = new SizeQuery(this.git);
    for (const oid of oids) q.ask(oid);
    return q.finish(() => oids, problems);
  }

  async *read(oids: Iterable<string>, opts: { maxBlobSize: number }): AsyncIterable<BlobRead> {
    const wanted = new Set(oids);
    if (wanted.size === 0) return;
    const order = wanted.size <= FEW_BLOBS ? await this.askedOrder(wanted) : await this.packOrder(wanted);
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
   * A few wanted blobs (a staged scan's): their sizes asked one by one (`cat-file --batch-check`), not found by
   * listing every object as packOrder does, which costs ~0.1 s CPU per thousand loose objects whatever is wanted.
   * Removes every found blob from `wanted`, leaving the missing ones.
   */
  private async askedOrder(wanted: Set<string>): Promise<Array<{ oid: string; size: number }>> {
    const oids = [...wanted];
    const q = new SizeQuery(this.git);
    for (const oid of oids) q.ask(oid);
    const sizeOf = await q.finish(() => oids, []);
    const out: Array<{ oid: string; size: number }> = [];
    oids.forEach((oid, i) => {
      const size = sizeOf(oid, i);
      if (size === undefined) return;
      wanted.delete(oid);
      out.push({ oid, size });
    });
    return out;
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

/** An object id in git's words; not a pack's name (pack-<hex>.pack), which is no object. */
const OID_IN_TEXT = /(?<![\w-])([0-9a-f]{40}|[0-9a-f]{64})(?![\w.])/;

function classify(stderr: string, what: string): EnumerationProblem {
  // the line that names an object says most; else git's fatal line (the cause), else the first
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const line = lines.find((l) => OID_IN_TEXT.test(l)) ?? lines.find((l) => l.startsWith('fatal:')) ?? lines[0] ?? `${what} failed`;
  const m = OID_IN_TEXT.exec(line);
  const kind = /missing|unable to read|could not read|bad object|not a valid|cannot read/i.test(line)
    ? 'missing-object'
    : /corrupt|inflate|hash mismatch|bad header/i.test(line)
      ? 'corrupt-object'
      : 'git-error';
  return { kind, ...(m ? { oid: m[1] } : {}), detail: `${what}: ${line}` };
}

/**
 * `cat-file --batch-check` fed while the caller is still finding oids. Sizes are absent from the result when
 * the object is missing; a process that dies (a corrupt object) is reported once and the remaining sizes are
 * learned one process at a time, as before.
 */
class SizeQuery {
  private child: ChildProcessWithoutNullStreams | null = null;
  private exited: Promise<number> | null = null;
  private stderr = '';
  /** Oids not yet written to git; git answers one line per request, in request order. */
  private unsent: string[] = [];
  private asked = 0;
  private answered = 0;
  private carry: Buffer | null = null;
  /** Size by request position, NaN until known: 8 bytes a blob instead of a Map entry and a second oid string. */
  private sizes = new Float64Array(1024).fill(Number.NaN);

  constructor(private readonly git: GitRunner) {}

  /** Asks the size of the next blob: the n-th call is answered at position n. */
  ask(oid: string): void {
    this.unsent.push(oid);
    if (++this.asked > this.sizes.length) {
      const grown = new Float64Array(this.sizes.length * 2).fill(Number.NaN);
      grown.set(this.sizes);
      this.sizes = grown;
    }
    if (this.unsent.length >= 8192) this.send();
  }

  private send(): void {
    if (this.unsent.length === 0) return;
    if (!this.child) this.start();
    let bytes = 0;
    for (const oid of this.unsent) bytes += oid.length + 1;
    const out = Buffer.allocUnsafe(bytes);
    let o = 0;
    for (const oid of this.unsent) {
      o += out.write(oid, o, 'latin1');
      out[o++] = 10;
    }
    this.unsent = [];
    this.child!.stdin.write(out);
  }

  private start(): void {
    // --buffer: one write per 4 KiB of answers instead of one per object
    // answers come one line per request, in order: the oid need not be echoed back
    const child = this.git.spawn(['cat-file', '--buffer', '--batch-check=%(objecttype) %(objectsize)']);
    this.child = child;
    child.stdin.on('error', () => {}); // git may die before reading everything; 'close' reports it
    child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => this.lines(d));
    this.exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  }

  private lines(chunk: Buffer): void {
    const b = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = null;
    let pos = 0;
    for (let nl = b.indexOf(10, pos); nl !== -1; nl = b.indexOf(10, pos)) {
      this.line(b, pos, nl);
      pos = nl + 1;
    }
    if (pos < b.length) this.carry = Buffer.from(b.subarray(pos));
  }

  /** `blob <size>` for the next oid asked; `<oid> missing` and other types leave no size. */
  private line(b: Buffer, s: number, e: number): void {
    const at = this.answered++;
    if (at >= this.asked || e - s < 6) return;
    if (b[s] !== 0x62 || b[s + 1] !== 0x6c || b[s + 2] !== 0x6f || b[s + 3] !== 0x62 || b[s + 4] !== 32) return;
    let size = 0;
    for (let i = s + 5; i < e; i++) {
      const d = b[i]! - 48;
      if (d < 0 || d > 9 || i - s > 20) {
        size = Number(b.toString('latin1', s + 5, e));
        break;
      }
      size = size * 10 + d;
    }
    this.sizes[at] = size;
  }

  /** Stops the process when the caller gives up before `finish`. */
  abort(): void {
    this.child?.kill();
  }

  async finish(oids: () => string[], problems: EnumerationProblem[]): Promise<SizeOf> {
    const sizeOf: SizeOf = (_oid, index) => {
      const v = this.sizes[index]!;
      return Number.isNaN(v) ? undefined : v;
    };
    this.send();
    if (!this.child) return sizeOf;
    this.child.stdin.end();
    const code = await this.exited!;
    if (this.carry) this.line(this.carry, 0, this.carry.length);
    this.carry = null;
    if (code !== 0) {
      problems.push(classify(this.stderr.trim(), 'git cat-file'));
      const all = oids();
      for (let i = 0; i < all.length; i++) {
        if (sizeOf(all[i]!, i) !== undefined) continue;
        const one = await this.git.run(['cat-file', '-s', all[i]!]);
        if (one.code === 0) this.sizes[i] = Number(one.stdout.toString().trim());
      }
    }
    return sizeOf;
  }
}

/** Up to this many blobs, read() asks for their sizes instead of listing the object database (askedOrder). */
const FEW_BLOBS = 256;

const MODE_BYTES = ['100644', '100755', '120000', '100664'].map((m) => Buffer.from(m, 'latin1'));

/**
 * Incremental parser of `git log -c --raw -z` with WALK_FORMAT, over bytes: only the oids and paths that are
 * kept are ever decoded. Records are `:<modes…> <oids…> <status>\0<path>\0`, with one `:` per parent.
 */
export class RawLogParser {
  commits = 0;
  /** The unfinished token's pieces. */
  private carry: Buffer[] = [];
  /** Header field being read (1..4) after a commit marker, or 0. */
  private field = 0;
  private commit = '';
  private name = '';
  private email = '';
  private at = 0;
  private meta: CommitMeta | null = null;
  /** After a raw entry comes its path: the blob it introduces, or '' when the path is to be skipped. */
  private pending: string | null = null;
  private readonly authors = new Map<string, Map<string, Author>>();
  /** Paths, names and emails repeat across commits: decoded once, then found by their bytes. */
  private readonly paths = new BytesInterner();
  private readonly people = new BytesInterner();

  constructor(private readonly emit: (oid: string, meta: CommitMeta, path: string) => void) {}

  push(chunk: Buffer): void {
    let pos = 0;
    let nul = chunk.indexOf(0);
    if (this.carry.length) {
      if (nul === -1) {
        this.carry.push(chunk); // joined once its end arrives: a huge token costs one copy, not one per chunk
        return;
      }
      this.carry.push(chunk.subarray(0, nul));
      const tok = Buffer.concat(this.carry);
      this.carry = [];
      this.token(tok, 0, tok.length);
      pos = nul + 1;
      nul = chunk.indexOf(0, pos);
    }
    while (nul !== -1) {
      this.token(chunk, pos, nul);
      pos = nul + 1;
      nul = chunk.indexOf(0, pos);
    }
    if (pos < chunk.length) this.carry.push(chunk.subarray(pos));
  }

  end(): void {
    const tok = Buffer.concat(this.carry);
    this.carry = [];
    if (tok.length) this.token(tok, 0, tok.length);
  }

  private token(b: Buffer, s: number, e: number): void {
    if (this.field !== 0) {
      this.headerField(b, s, e);
      return;
    }
    if (this.pending !== null) {
      if (this.pending) this.emit(this.pending, this.meta!, this.path(b, s, e));
      this.pending = null;
      return;
    }
    if (s < e && b[s] === 1) {
      this.commits++;
      this.commit = b.toString('latin1', s + 1, e);
      this.field = 1;
      return;
    }
    if (s < e && b[s] === 10) s++; // the newline between a commit's header and its first record
    if (s < e && b[s] === 58) this.pending = this.record(b, s, e);
  }

  private headerField(b: Buffer, s: number, e: number): void {
    switch (this.field++) {
      case 1:
        this.name = this.people.get(b, s, e);
        return;
      case 2:
        this.email = this.people.get(b, s, e);
        return;
      case 3:
        this.at = digits(b, s, e);
        return;
      default: {
        this.field = 0;
        let byEmail = this.authors.get(this.name);
        if (!byEmail) this.authors.set(this.name, (byEmail = new Map<string, Author>()));
        let author = byEmail.get(this.email);
        if (!author) byEmail.set(this.email, (author = { name: this.name, email: this.email }));
        this.meta = { commit: this.commit, author, date: isoUtc(this.at), subject: b.toString('utf8', s, e) };
      }
    }
  }

  /** The blob a raw record introduces, or '' (not a blob, a deletion, or equal to some parent's). */
  private record(b: Buffer, s: number, e: number): string {
    let p = s;
    while (p < e && b[p] === 58) p++;
    const parents = p - s;
    // fields: parents+1 modes, parents+1 oids, status; we need the last mode, the parents' oids and the last oid
    for (let f = 0; f < parents; f++) p = skipField(b, p, e);
    const modeStart = p;
    const modeEnd = fieldEnd(b, p, e);
    if (modeEnd >= e || !isBlobModeBytes(b, modeStart, modeEnd)) return '';
    const srcStart = modeEnd + 1;
    p = srcStart;
    for (let f = 0; f < parents; f++) p = skipField(b, p, e);
    const dstStart = p;
    const dstEnd = fieldEnd(b, p, e);
    if (dstStart >= e || dstEnd === dstStart) return '';
    const len = dstEnd - dstStart;
    let zeros = true;
    for (let i = dstStart; i < dstEnd; i++) {
      if (b[i] !== 48) {
        zeros = false;
        break;
      }
    }
    if (zeros) return '';
    for (let f = 0, q = srcStart; f < parents; f++) {
      const qe = fieldEnd(b, q, e);
      if (qe - q === len && sameBytes(b, q, dstStart, len)) return '';
      q = qe + 1;
    }
    return b.toString('latin1', dstStart, dstEnd);
  }

  private path(b: Buffer, s: number, e: number): string {
    return this.paths.get(b, s, e);
  }

}

interface Interned {
  bytes: Buffer;
  text: string;
  next: Interned | null;
}

/** UTF-8 strings by their bytes: a repeated value costs a hash and a comparison, not a decode and a new string. */
class BytesInterner {
  private readonly byHash = new Map<number, Interned>();

  get(b: Buffer, s: number, e: number): string {
    const len = e - s;
    let h = 0x811c9dc5 ^ len;
    for (let i = s; i < e; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    const first = this.byHash.get(h);
    for (let c: Interned | null | undefined = first; c; c = c.next) {
      if (c.bytes.length !== len) continue;
      let i = 0;
      while (i < len && c.bytes[i] === b[s + i]) i++;
      if (i === len) return c.text;
    }
    const text = b.toString('utf8', s, e);
    this.byHash.set(h, { bytes: Buffer.from(b.subarray(s, e)), text, next: first ?? null });
    return text;
  }
}

/** `Number(text)` for the bytes, without the string when they are plain digits. */
function digits(b: Buffer, s: number, e: number): number {
  if (e - s < 1 || e - s > 15) return Number(b.toString('latin1', s, e));
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) return Number(b.toString('latin1', s, e));
    n = n * 10 + d;
  }
  return n;
}

/** Byte comparison in JS: oids differ within a byte or two, cheaper than a native compare call. */
function sameBytes(b: Buffer, x: number, y: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (b[x + i] !== b[y + i]) return false;
  return true;
}

function fieldEnd(b: Buffer, p: number, e: number): number {
  while (p < e && b[p] !== 32) p++;
  return p;
}

function skipField(b: Buffer, p: number, e: number): number {
  return Math.min(fieldEnd(b, p, e) + 1, e);
}

function isBlobModeBytes(b: Buffer, s: number, e: number): boolean {
  if (e - s !== 6) return false;
  outer: for (const m of MODE_BYTES) {
    for (let i = 0; i < 6; i++) if (b[s + i] !== m[i]) continue outer;
    return true;
  }
  return false;
}
