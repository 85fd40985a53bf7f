// A hosted repository's own .keyloop.yaml, read from its mirror's default branch (reviewed content, not whatever a
// push just added) as a repository config: it can only narrow the report, and what it drops is counted. With the
// operator's suppression and triaged false positives, it is how every scan of a mirror is narrowed (mirrorNarrowing).
import { spawn } from 'node:child_process';
import { CONFIG_FILE_NAME, MAX_REPOSITORY_CONFIG_BYTES, parseRepositoryConfig } from '../config/load.js';
import { checkDetectorIds, normalizeRepository, type RepositoryConfig, type Suppression } from '../config/normalize.js';
import { suppress } from '../config/suppress.js';
import type { RawFinding } from '../core/model.js';
import type { ScanPorts } from '../core/pipeline.js';

type Read = { kind: 'blob'; data: Buffer } | { kind: 'too-large' } | { kind: 'missing' };

/**
 * Looks `names` up with ONE `git cat-file --batch` (it runs once per repository of an org crawl) and returns what
 * each resolved to, in order; stops reading at the first object larger than `max`. null when git could not run.
 */
function catFileBatch(gitDir: string, names: string[], max: number): Promise<Array<Read | { kind: 'object' }> | null> {
  return new Promise((resolve) => {
    const child = spawn('git', ['--git-dir', gitDir, 'cat-file', '--batch'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const out: Array<Read | { kind: 'object' }> = [];
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (v: typeof out | null) => {
      if (done) return;
      done = true;
      child.kill();
      resolve(v);
    };
    child.on('error', () => finish(null));
    child.stdout.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const nl = buf.indexOf(10);
        if (nl < 0) return;
        const header = buf.subarray(0, nl).toString('utf8');
        const m = /^[0-9a-f]{40,64} (\w+) (\d+)$/.exec(header);
        if (!m) {
          out.push({ kind: 'missing' }); // `<name> missing` / `ambiguous`
          buf = buf.subarray(nl + 1);
        } else {
          const size = Number(m[2]);
          if (m[1] === 'blob' && size > max) {
            out.push({ kind: 'too-large' });
            return finish(out);
          }
          if (buf.length < nl + 1 + size + 1) return; // wait for the whole object
          out.push(m[1] === 'blob' ? { kind: 'blob', data: Buffer.from(buf.subarray(nl + 1, nl + 1 + size)) } : { kind: 'object' });
          buf = buf.subarray(nl + 1 + size + 1);
        }
        if (out.length === names.length) return finish(out);
      }
    });
    child.on('close', () => finish(out.length === names.length ? out : null));
    child.stdin.on('error', () => {});
    child.stdin.end(names.map((n) => n + '\n').join(''));
  });
}

/** null when the default branch has no .keyloop.yaml (or git cannot read the mirror: nothing is then suppressed). */
export async function mirrorRepositoryConfig(
  gitDir: string,
  repo: { fullName: string; defaultBranch?: string | null },
  detectorIds: ReadonlySet<string>,
): Promise<RepositoryConfig | null> {
  const file = `${repo.fullName}:${CONFIG_FILE_NAME}`;
  // The default branch when the mirror has it, else HEAD. Object names go on stdin, never on the command line.
  const branch = repo.defaultBranch && !/[\s\n]/.test(repo.defaultBranch) ? `refs/heads/${repo.defaultBranch}` : null;
  const names = [...(branch ? [`${branch}^{commit}`, `${branch}:${CONFIG_FILE_NAME}`] : []), `HEAD:${CONFIG_FILE_NAME}`];
  const reads = await catFileBatch(gitDir, names, MAX_REPOSITORY_CONFIG_BYTES);
  if (!reads) return null;
  const read = branch && reads[0]?.kind === 'object' ? reads[1] : reads.at(-1);
  if (!read || read.kind === 'missing' || read.kind === 'object') return null;
  if (read.kind === 'too-large') return { ...normalizeRepository(undefined, file), warnings: [`${file}: larger than ${MAX_REPOSITORY_CONFIG_BYTES} bytes; ignored`] };
  const config = parseRepositoryConfig(read.data.toString('utf8'), file);
  config.warnings.push(...checkDetectorIds(config, detectorIds));
  return config;
}

export interface MirrorNarrowingOptions {
  /** Apply the repository's own .keyloop.yaml (--no-repo-config: false). */
  repoConfig: boolean;
  detectorIds: ReadonlySet<string>;
  /** The operator config's allowlists, excluded paths and disabled detectors. */
  operator: Suppression | null;
  /** Fingerprints never recorded (triaged false positives). */
  fingerprints: ReadonlySet<string> | null;
  /** Told each problem of the repository's config. */
  warn: (message: string) => void;
}

/** The pipeline's `narrow` port for a mirror's scan (org runs, workers, the App): one policy wherever a mirror is scanned. */
export function mirrorNarrowing(gitDir: string, repo: { fullName: string; defaultBranch?: string | null }, o: MirrorNarrowingOptions): Required<ScanPorts>['narrow'] {
  return async (findings: RawFinding[]) => {
    const config = o.repoConfig ? await mirrorRepositoryConfig(gitDir, repo, o.detectorIds) : null;
    for (const w of config?.warnings ?? []) o.warn(w);
    return suppress(findings, { operator: o.operator, repository: config?.suppression ?? null, fingerprints: o.fingerprints });
  };
}
