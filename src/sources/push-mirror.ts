// A bare mirror per repository for the App's pushes: fetch heads and tags, and report the refs known BEFORE the
// fetch (what a new branch or a force push is compared against). The remote is whatever the caller derived from the
// configured GitHub (never a payload's clone_url); the token travels as an env-only header scoped to that URL.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdirPrivate } from '../util/private-fs.js';
import path from 'node:path';
import { HostError } from '../core/errors.js';
import { gitRunner } from '../objects/git-process.js';
import { checkRemote, remoteEnv } from './git-remote.js';
import { mirrorDir } from './mirror.js';

export interface MirrorSync {
  gitDir: string;
  /** The mirror was created by this call: there were no known refs before it. */
  fresh: boolean;
  /** ref name → peeled commit oid, as the mirror had them before this fetch. */
  refsBefore: Map<string, string>;
  /** Same, after the fetch. */
  refsAfter: Map<string, string>;
  fetchMs: number;
}

export interface MirrorSource {
  fullName: string;
  cloneUrl: string;
  /** Installation token for HTTPS remotes; omitted for public or local remotes. */
  token?: string;
}

/** Same layout as the org crawl's mirrors (src/sources/mirror.ts), so one cache dir serves both. */
export function mirrorPath(cacheDir: string, fullName: string, cloneUrl: string): string {
  const [owner = '', name = ''] = fullName.split('/');
  return mirrorDir(cacheDir, { cloneUrl, owner, name });
}

/** ref → peeled commit oid for heads and tags (annotated tags peeled; tags of non-commits dropped). */
export async function listRefs(gitDir: string): Promise<Map<string, string>> {
  const git = gitRunner(gitDir);
  const r = await git.run(['for-each-ref', '--format=%(refname)%00%(objectname)%00%(objecttype)%00%(*objectname)%00%(*objecttype)', 'refs/heads', 'refs/tags']);
  if (r.code !== 0) throw new HostError(`git for-each-ref failed in ${gitDir}: ${r.stderr}`);
  const out = new Map<string, string>();
  for (const line of r.stdout.toString('utf8').split('\n')) {
    if (!line) continue;
    const [ref, oid, type, peeled, peeledType] = line.split('\0');
    if (!ref || !oid) continue;
    if (type === 'commit') out.set(ref, oid);
    else if (type === 'tag' && peeledType === 'commit' && peeled) out.set(ref, peeled);
  }
  return out;
}

export class GitMirrors {
  constructor(private readonly cacheDir: string) {}

  async sync(src: MirrorSource, signal?: AbortSignal): Promise<MirrorSync> {
    checkRemote(src.cloneUrl, !!src.token);
    const gitDir = mirrorPath(this.cacheDir, src.fullName, src.cloneUrl);
    const fresh = !existsSync(path.join(gitDir, 'HEAD'));
    const git = gitRunner(gitDir);
    if (fresh) {
      await mkdirPrivate(gitDir); // a mirror holds every secret of its history
      const init = await git.run(['init', '-q', '--bare']);
      if (init.code !== 0) throw new HostError(`git init ${gitDir} failed: ${init.stderr}`);
    }
    const refsBefore = fresh ? new Map<string, string>() : await listRefs(gitDir);
    const started = Date.now();
    const env = { ...process.env, ...remoteEnv(src.cloneUrl, src.token ? { username: 'x-access-token', password: src.token } : null), LC_ALL: 'C' };
    const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve, reject) => {
      const child = spawn(
        'git',
        ['--git-dir', gitDir, 'fetch', '--quiet', '--prune', '--no-write-fetch-head', '--', src.cloneUrl, '+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'],
        { env, stdio: ['ignore', 'ignore', 'pipe'], signal },
      );
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c ?? 1, stderr: err.trim() }));
    });
    if (code !== 0) {
      // git may echo the remote URL; the token is never in it, but strip any userinfo an operator put there.
      throw new HostError(`git fetch ${src.fullName} failed: ${stderr.replace(/\/\/[^/@\s]*@/g, '//***@').slice(0, 500)}`);
    }
    return { gitDir, fresh, refsBefore, refsAfter: await listRefs(gitDir), fetchMs: Date.now() - started };
  }
}
