// `keyloop scan --db`: what a local scan found goes into the store as a run of kind 'scan', so `secrets`, `where`,
// `triage` and `report` work for a user who never crawls an org. The repository is named by its origin URL (with
// any credentials cut out) or, without one, by its absolute path.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';
import { recordScan, type RepositoryScan } from '../core/pipeline.js';
import type { Store } from '../core/store.js';
import type { ResolvedTarget } from '../sources/resolve.js';
import { incompleteMessage } from './scan.js';

/** The inventory name of a scanned root: `remote.origin.url` without userinfo, else the absolute path. */
export async function localRepoName(target: Pick<ResolvedTarget, 'kind' | 'root'>): Promise<string> {
  const root = path.resolve(target.root);
  if (target.kind !== 'git') return root;
  // a work tree has .git (a directory, or a file for linked worktrees, which isomorphic-git resolves); a bare repo is its own git dir
  const where = existsSync(path.join(root, '.git')) ? { dir: root } : { gitdir: root };
  let url: unknown;
  try {
    url = await git.getConfig({ fs, ...where, path: 'remote.origin.url' });
  } catch {
    return root;
  }
  return typeof url === 'string' && url.trim() ? withoutCredentials(url.trim()) : root;
}

/**
 * `https://user:token@host/x.git` → `https://host/x.git`. An scp-like `git@host:x.git` keeps its user (a login name
 * ssh needs, never a secret); anything that is not a URL is kept as written.
 */
export function withoutCredentials(url: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url;
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.href.replace(/\/$/, '');
  } catch {
    // not parseable: cut whatever sits between the scheme and an '@' of the authority
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
  }
}

export interface LocalScanRecord {
  repo: string;
  runId: number;
  newSecrets: number;
  newLocations: number;
}

/**
 * One run of kind 'scan' for `repo`: the scan recorded by the pipeline's recordScan (secrets sealed, locations,
 * `detected` events, the blobs looked at) in one transaction, the verifications the scan made, then the run closed:
 * 'completed', or 'failed' with why when part of the content could not be scanned (the inventory then holds what was).
 */
export async function recordLocalScan(store: Store, input: { repo: string; result: RepositoryScan; elapsedMs: number }): Promise<LocalScanRecord> {
  const { repo, result } = input;
  const run = await store.beginRun('scan', repo);
  try {
    await store.setRunTotal(run.id, 1);
    await store.upsertRepo({ fullName: repo });
    const rec = await recordScan(result, store, { runId: run.id, repo, elapsedMs: input.elapsedMs });
    for (const f of result.findings) if (f.verification) await store.addVerification(f.fingerprint, f.verification);
    const missed = result.incomplete.map(incompleteMessage);
    await store.finishRun(run.id, missed.length ? 'failed' : 'completed', missed.length ? `${missed.length} item(s) not scanned: ${missed.slice(0, 3).join('; ')}` : undefined);
    return { repo, runId: run.id, newSecrets: rec.newSecrets, newLocations: rec.newLocations };
  } catch (err) {
    await store.finishRun(run.id, 'failed', (err as Error).message).catch(() => undefined);
    throw err;
  }
}
