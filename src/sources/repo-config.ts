// A hosted repository's own .keyloop.yaml, read from its mirror's default branch (reviewed content, not whatever a
// push just added) as a repository config: it can only narrow the report, and what it drops is counted.
import { defaultRef, readMirrorFile } from '../attribution/mirror-files.js';
import { CONFIG_FILE_NAME, parseRepositoryConfig } from '../config/load.js';
import { checkDetectorIds, type RepositoryConfig } from '../config/normalize.js';

/** null when the default branch has no .keyloop.yaml (or it cannot be read: nothing is then suppressed). */
export async function mirrorRepositoryConfig(
  gitDir: string,
  repo: { fullName: string; defaultBranch?: string | null },
  detectorIds: ReadonlySet<string>,
): Promise<RepositoryConfig | null> {
  const ref = await defaultRef(gitDir, repo.defaultBranch ?? null);
  const text = await readMirrorFile(gitDir, ref, CONFIG_FILE_NAME);
  if (text === null) return null;
  const config = parseRepositoryConfig(text, `${repo.fullName}:${CONFIG_FILE_NAME}`);
  config.warnings.push(...checkDetectorIds(config, detectorIds));
  return config;
}
