// Reads a file at a ref of a (bare) mirror with the git CLI: CODEOWNERS comes from the default branch HEAD.
import { execFile } from 'node:child_process';
import { isBranchName } from '../core/git-names.js';

/** File content at `ref:path`, or null when the ref or path does not exist. */
export function readMirrorFile(gitDir: string, ref: string, path: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['--git-dir', gitDir, 'cat-file', 'blob', '--end-of-options', `${ref}:${path}`],
      { maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout) => resolve(err ? null : stdout),
    );
  });
}

/** The ref to read: the default branch if the mirror has it, else HEAD. */
export async function defaultRef(gitDir: string, defaultBranch: string | null): Promise<string> {
  // The branch name comes from the API or a payload: a name git would not accept is not asked about.
  if (!defaultBranch || !isBranchName(defaultBranch)) return 'HEAD';
  const ok = await new Promise<boolean>((resolve) =>
    // rev-parse takes no `--` before a revision to verify; the refs/heads/ prefix keeps it from reading as an option.
    execFile('git', ['--git-dir', gitDir, 'rev-parse', '--verify', '--quiet', `refs/heads/${defaultBranch}^{commit}`], (err) => resolve(!err)),
  );
  return ok ? `refs/heads/${defaultBranch}` : 'HEAD';
}
