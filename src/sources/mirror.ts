// Bare mirrors of hosted repos in the cache dir: `git clone --mirror` the first time, `git fetch --prune` after.
// The token travels only as an http.<url>.extraHeader set through GIT_CONFIG_* env vars (./git-remote.ts): never in
// a URL, the mirror's config, argv, a log line or the store. Without a git binary, isomorphic-git does the transfer.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { mkdirPrivate } from '../util/private-fs.js';
import { homedir } from 'node:os';
import path from 'node:path';
import type * as IsoGit from 'isomorphic-git';
import { HostError } from '../core/errors.js';
import type { GitCredentials, HostedRepo } from '../core/ports.js';
import { isBranchName, isRevision } from '../core/git-names.js';
import { hasGitBinary } from '../objects/open.js';
import { checkRemote, remoteEnv, scopedOnAuth } from './git-remote.js';

export type MirrorErrorKind = 'not-found' | 'auth' | 'corrupt' | 'network' | 'error';

/** A failed clone/fetch, classified so the run summary can say why (the message never holds credentials). */
export class MirrorError extends HostError {
  constructor(
    readonly kind: MirrorErrorKind,
    message: string,
    status?: number,
  ) {
    super(message, status);
  }
}

/** `$XDG_CACHE_HOME/keyloop` or `~/.cache/keyloop` (`%LOCALAPPDATA%\keyloop` on Windows). */
export function defaultCacheDir(env: Record<string, string | undefined>): string {
  if (env.XDG_CACHE_HOME) return path.join(env.XDG_CACHE_HOME, 'keyloop');
  if (process.platform === 'win32' && env.LOCALAPPDATA) return path.join(env.LOCALAPPDATA, 'keyloop');
  return path.join(env.HOME || homedir(), '.cache', 'keyloop');
}

const segment = (s: string) => {
  if (!/^[A-Za-z0-9._-]+$/.test(s) || s === '.' || s === '..') throw new HostError(`unexpected repository path segment "${s}"`);
  return s;
};

/** <cacheDir>/mirrors/<host[_port]>/<owner>/<name>.git: two GitHub hosts never share a mirror. */
export function mirrorDir(cacheDir: string, repo: Pick<HostedRepo, 'cloneUrl' | 'owner' | 'name'>): string {
  let host = 'local';
  try {
    const u = new URL(repo.cloneUrl);
    host = u.host.replace(/:/g, '_') || 'local';
  } catch {
    /* a path-like clone URL (tests, file remotes) */
  }
  return path.join(cacheDir, 'mirrors', segment(host), segment(repo.owner), `${segment(repo.name)}.git`);
}

export interface MirrorOptions {
  cacheDir: string;
  credentials?: GitCredentials | null;
  /** 'auto': native git when on PATH, else isomorphic-git. */
  backend?: 'auto' | 'native' | 'isomorphic';
  signal?: AbortSignal;
  env?: Record<string, string | undefined>;
}

export interface MirrorResult {
  path: string;
  action: 'cloned' | 'fetched';
  /** The remote has no refs at all (an empty repository). */
  empty: boolean;
  elapsedMs: number;
}

/** Brings the mirror of `repo` up to date. Throws MirrorError on 404, auth failure, corrupt pack, network. */
export async function syncMirror(repo: HostedRepo, opts: MirrorOptions): Promise<MirrorResult> {
  const started = Date.now();
  const dir = mirrorDir(opts.cacheDir, repo);
  const native = opts.backend === 'native' || (opts.backend !== 'isomorphic' && (await hasGitBinary()));
  const exists = fs.existsSync(path.join(dir, 'HEAD'));
  try {
    checkRemote(repo.cloneUrl, !!opts.credentials);
  } catch (err) {
    throw new MirrorError('error', `${repo.fullName}: ${(err as Error).message}`);
  }
  if (native) {
    if (!exists) await nativeClone(repo, dir, opts);
    else await nativeFetch(repo, dir, opts);
  } else {
    await isoSync(repo, dir, exists, opts);
  }
  return { path: dir, action: exists ? 'fetched' : 'cloned', empty: !hasAnyRef(dir), elapsedMs: Date.now() - started };
}

function hasAnyRef(dir: string): boolean {
  const packed = path.join(dir, 'packed-refs');
  if (fs.existsSync(packed) && /^[0-9a-f]{40}/m.test(fs.readFileSync(packed, 'utf8'))) return true;
  const walk = (d: string): boolean => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory() ? walk(path.join(d, e.name)) : e.isFile()) return true;
    }
    return false;
  };
  return fs.existsSync(path.join(dir, 'refs')) && walk(path.join(dir, 'refs'));
}

/** `remote`: the URL this command talks to (it alone gets the token); omitted for local-only commands. */
function runGit(args: string[], opts: MirrorOptions, remote?: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const auth = remote === undefined ? { GIT_TERMINAL_PROMPT: '0' } : remoteEnv(remote, opts.credentials);
    const child = spawn('git', args, {
      env: { ...process.env, ...(opts.env ?? {}), ...auth, LC_ALL: 'C' },
      stdio: ['ignore', 'ignore', 'pipe'],
      signal: opts.signal,
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => ((e as { name?: string }).name === 'AbortError' ? resolve({ code: 130, stderr: 'aborted' }) : reject(e)));
    child.on('close', (code) => resolve({ code: code ?? 1, stderr: err.trim() }));
  });
}

/** Message safe to log and store: no userinfo from an operator-written URL, bounded length. */
function clean(s: string, secret?: string): string {
  let out = s.replace(/\/\/[^/@\s]*@/g, '//***@');
  if (secret) out = out.split(secret).join('***');
  return out.replace(/\s+/g, ' ').slice(0, 400);
}

function classify(fullName: string, op: string, stderr: string, creds?: GitCredentials | null): MirrorError {
  const msg = `git ${op} ${fullName} failed: ${clean(stderr, creds?.password)}`;
  if (/repository not found|not found|\b404\b/i.test(stderr)) return new MirrorError('not-found', msg, 404);
  if (/authentication failed|could not read username|\b401\b|\b403\b|terminal prompts disabled/i.test(stderr)) return new MirrorError('auth', msg, 401);
  if (/corrupt|bad object|inflate|did not send all necessary objects|index-pack failed|invalid .*pack|missing (blob|tree|commit)/i.test(stderr))
    return new MirrorError('corrupt', msg);
  if (/could not resolve|connection refused|timed out|unable to access|early eof|rpc failed/i.test(stderr)) return new MirrorError('network', msg);
  return new MirrorError('error', msg);
}

async function nativeClone(repo: HostedRepo, dir: string, opts: MirrorOptions): Promise<void> {
  await mkdirPrivate(path.dirname(dir)); // mirrors hold every secret of their history
  // Clone next to the target and rename: a process killed mid-clone leaves only a .partial dir, removed next time.
  const tmp = `${dir}.partial`;
  await rm(tmp, { recursive: true, force: true });
  const r = await runGit(['clone', '--mirror', '--quiet', '--', repo.cloneUrl, tmp], opts, repo.cloneUrl);
  if (r.code !== 0) {
    await rm(tmp, { recursive: true, force: true });
    throw classify(repo.fullName, 'clone', r.stderr, opts.credentials);
  }
  await rename(tmp, dir);
}

async function nativeFetch(repo: HostedRepo, dir: string, opts: MirrorOptions): Promise<void> {
  // The stored remote URL may be stale (repo renamed/transferred): fetch from the URL the host gives now.
  const set = await runGit(['--git-dir', dir, 'remote', 'set-url', '--', 'origin', repo.cloneUrl], opts);
  if (set.code !== 0) throw classify(repo.fullName, 'remote set-url', set.stderr, opts.credentials);
  const r = await runGit(['--git-dir', dir, 'fetch', '--prune', '--quiet', '--', 'origin'], opts, repo.cloneUrl);
  if (r.code !== 0) throw classify(repo.fullName, 'fetch', r.stderr, opts.credentials);
  if (repo.defaultBranch && isBranchName(repo.defaultBranch)) {
    // Follow a default-branch rename so HEAD (and "still present at HEAD") stays right.
    const ref = `refs/heads/${repo.defaultBranch}`;
    const has = await runGit(['--git-dir', dir, 'rev-parse', '--verify', '--quiet', ref], opts);
    if (has.code === 0) await runGit(['--git-dir', dir, 'symbolic-ref', '--', 'HEAD', ref], opts);
  }
}

async function isoSync(repo: HostedRepo, dir: string, exists: boolean, opts: MirrorOptions): Promise<void> {
  const git = await import('isomorphic-git');
  const http = (await import('isomorphic-git/http/node')).default;
  const creds = opts.credentials;
  const common = {
    fs,
    http,
    gitdir: dir,
    url: repo.cloneUrl,
    onAuth: scopedOnAuth(repo.cloneUrl, creds),
    onAuthFailure: () => ({ cancel: true }),
  };
  try {
    if (!exists) {
      const tmp = `${dir}.partial`;
      await rm(tmp, { recursive: true, force: true });
      await mkdirPrivate(tmp);
      try {
        await git.init({ fs, gitdir: tmp, bare: true, defaultBranch: repo.defaultBranch ?? 'main' });
        await git.addRemote({ fs, gitdir: tmp, remote: 'origin', url: repo.cloneUrl });
        await isoFetchAll(git, { ...common, gitdir: tmp }, repo);
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        throw err;
      }
      await rename(tmp, dir);
    } else {
      await git.setConfig({ fs, gitdir: dir, path: 'remote.origin.url', value: repo.cloneUrl });
      await isoFetchAll(git, common, repo);
    }
  } catch (err) {
    const e = err as { code?: string; data?: { statusCode?: number }; message?: string };
    const status = e.data?.statusCode;
    const text = `${e.code ?? ''} ${status ?? ''} ${e.message ?? String(err)}`;
    if (status === 404) throw new MirrorError('not-found', `fetch ${repo.fullName} failed: ${clean(text, creds?.password)}`, 404);
    if (status === 401 || status === 403 || e.code === 'UserCanceledError') throw new MirrorError('auth', `fetch ${repo.fullName} failed: ${clean(text, creds?.password)}`, 401);
    throw classify(repo.fullName, 'fetch', text, creds);
  }
}

/** isomorphic-git has no --mirror: fetch every branch and tag of the remote into local refs/heads, refs/tags. */
async function isoFetchAll(git: typeof IsoGit, common: Record<string, unknown> & { gitdir: string }, repo: HostedRepo): Promise<void> {
  const refs = await git.listServerRefs({ http: common.http as never, url: repo.cloneUrl, onAuth: common.onAuth as never, onAuthFailure: common.onAuthFailure as never, prefix: 'refs/heads/' });
  const fsm = common.fs as typeof fs;
  for (const r of refs) {
    const branch = r.ref.slice('refs/heads/'.length);
    const res = await git.fetch({ ...(common as unknown as Parameters<typeof git.fetch>[0]), ref: branch, remoteRef: branch, singleBranch: true, tags: true, prune: false });
    if (res.fetchHead) await git.writeRef({ fs: fsm, gitdir: common.gitdir, ref: r.ref, value: res.fetchHead, force: true });
  }
  // Tags: fetch each one the mirror lacks, then point the ref at the server's object (annotated tags too).
  const tags = await git.listServerRefs({ http: common.http as never, url: repo.cloneUrl, onAuth: common.onAuth as never, onAuthFailure: common.onAuthFailure as never, prefix: 'refs/tags/' });
  const have = async (oid: string) => git.readObject({ fs: fsm, gitdir: common.gitdir, oid, format: 'deflated' }).then(() => true, () => false);
  for (const t of tags) {
    if (t.ref.endsWith('^{}')) continue;
    if (!(await have(t.oid))) {
      await git.fetch({ ...(common as unknown as Parameters<typeof git.fetch>[0]), remoteRef: t.ref, ref: t.ref, singleBranch: true, tags: false, prune: false });
    }
    if (await have(t.oid)) await git.writeRef({ fs: fsm, gitdir: common.gitdir, ref: t.ref, value: t.oid, force: true });
  }
  // Drop branches the remote no longer has (fetch --prune).
  const remote = new Set(refs.map((r) => r.ref));
  for (const b of await git.listBranches({ fs: fsm, gitdir: common.gitdir })) {
    if (!remote.has(`refs/heads/${b}`)) await git.deleteRef({ fs: fsm, gitdir: common.gitdir, ref: `refs/heads/${b}` });
  }
  if (repo.defaultBranch && isBranchName(repo.defaultBranch) && remote.has(`refs/heads/${repo.defaultBranch}`)) {
    fsm.writeFileSync(path.join(common.gitdir, 'HEAD'), `ref: refs/heads/${repo.defaultBranch}\n`);
  }
}

/** Blob oids in the tree of `rev` (default HEAD) of a mirror: what "still present at the default branch" checks. */
export async function headBlobs(gitDir: string, rev = 'HEAD'): Promise<Set<string>> {
  const out = new Set<string>();
  if (!isRevision(rev)) throw new HostError(`not a revision: ${JSON.stringify(rev.slice(0, 100))}`);
  if (await hasGitBinary()) {
    const child = spawn('git', ['--git-dir', gitDir, 'ls-tree', '-r', '-z', '--full-tree', '--end-of-options', rev], {
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let carry = '';
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      const parts = (carry + chunk.toString('latin1')).split('\0');
      carry = parts.pop() ?? '';
      for (const p of parts) {
        const m = /^\d+ blob ([0-9a-f]{40,64})\t/.exec(p);
        if (m) out.add(m[1]!);
      }
    }
    return out;
  }
  const git = await import('isomorphic-git');
  const oid = await git.resolveRef({ fs, gitdir: gitDir, ref: rev }).catch(() => null);
  if (!oid) return out;
  await git.walk({
    fs,
    gitdir: gitDir,
    trees: [git.TREE({ ref: oid })],
    map: async (_p, [e]) => {
      if (e && (await e.type()) === 'blob') out.add(await e.oid());
      // null would stop the walk from descending into trees.
      return true;
    },
    reduce: async () => undefined,
  });
  return out;
}
