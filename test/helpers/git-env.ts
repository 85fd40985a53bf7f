// Hermetic git for tests: no user/system config leaks in.
process.env.GIT_CONFIG_GLOBAL = '/dev/null';
process.env.GIT_CONFIG_NOSYSTEM = '1';
process.env.GIT_AUTHOR_NAME ??= 'Test Author';
process.env.GIT_AUTHOR_EMAIL ??= 'author@example.test';
process.env.GIT_COMMITTER_NAME ??= 'Test Committer';
process.env.GIT_COMMITTER_EMAIL ??= 'committer@example.test';
delete process.env.GITHUB_TOKEN;
delete process.env.GITHUB_API_URL;
