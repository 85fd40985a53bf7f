// Reads a file at a ref of a (bare) mirror with the git CLI: CODEOWNERS comes from the default branch HEAD.
import { execFile } from 'node:child_process';

/** File content at `ref:path`, or null when the ref or path does not exist. */
export function readMirrorFile(gitDir: string, ref: string, path: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['--git-dir', gitDir, 'cat-file', 'blob', `${ref}:${path}`],
      { maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout) => resolve(err ? null : stdout),
    );
  });
}

/** The ref to read: the default branch if the mirror has it, else HEAD. */
export async function defaultRef(gitDir: string, defaultBranch: string | null): Promise<string> {
  if (!defaultBranch) return 'HEAD';
  const ok = await new Promise<boolean>((resolve) =>
    execFile('git', ['--git-dir', gitDir, 'rev-parse', '--verify', '--quiet', `refs/heads/${defaultBranch}^{commit}`], (err) => resolve(!err)),
  );
  return ok ? `refs/heads/${defaultBranch}` : 'HEAD';
}
