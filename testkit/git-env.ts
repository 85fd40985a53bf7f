// Hermetic git for tests and benchmarks: no user or system git config leaks into the repos they build.
export function useHermeticGit(env: NodeJS.ProcessEnv = process.env): void {
  env.GIT_CONFIG_GLOBAL = '/dev/null';
  env.GIT_CONFIG_NOSYSTEM = '1';
  env.GIT_AUTHOR_NAME ??= 'Test Author';
  env.GIT_AUTHOR_EMAIL ??= 'author@example.test';
  env.GIT_COMMITTER_NAME ??= 'Test Committer';
  env.GIT_COMMITTER_EMAIL ??= 'committer@example.test';
}
