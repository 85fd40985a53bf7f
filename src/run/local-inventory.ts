// `keyloop scan --db`: what a local scan found goes into the store as a run of kind 'scan', so `secrets`, `where`,
// `triage` and `report` work for a user who never crawls an org. The repository is named by its origin URL (with
// any credentials cut out) or, without one, by its absolute path.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';
import type { Store } from '../core/store.js';
import type { RawFinding } from '../core/model.js';
import type { ScanStats } from '../core/model.js';
import type { ResolvedTarget } from '../sources/resolve.js';

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
 * One run of kind 'scan' for `repo`: the findings (secrets sealed, locations, `detected` events, verifications the
 * scan made) recorded in one transaction, then the run closed: 'completed', or 'failed' with why when part of the
 * content could not be read (the inventory then holds what was read).
 */
export async function recordLocalScan(
  store: Store,
  input: { repo: string; findings: readonly RawFinding[]; stats: ScanStats; incomplete: readonly string[]; elapsedMs: number },
): Promise<LocalScanRecord> {
  const run = await store.beginRun('scan', input.repo);
  try {
    await store.setRunTotal(run.id, 1);
    await store.upsertRepo({ fullName: input.repo });
    const rec = await store.recordRepoScan(run.id, input.repo, {
      findings: [...input.findings],
      blobs: [],
      bytesScanned: input.stats.bytes,
      elapsedMs: input.elapsedMs,
    });
    for (const f of input.findings) if (f.verification) await store.addVerification(f.fingerprint, f.verification);
    const failed = input.incomplete.length > 0;
    await store.finishRun(run.id, failed ? 'failed' : 'completed', failed ? `${input.incomplete.length} item(s) not scanned: ${input.incomplete.slice(0, 3).join('; ')}` : undefined);
    return { repo: input.repo, runId: run.id, newSecrets: rec.newSecrets, newLocations: rec.newLocations };
  } catch (err) {
    await store.finishRun(run.id, 'failed', (err as Error).message).catch(() => undefined);
    throw err;
  }
}
