export { createGitHubClient, resolveGitHubUrl, resolveToken, hostError, DEFAULT_GITHUB_API_URL, type GitHubClient, type GitHubClientOptions } from './client.js';
export { GitHubRepoHost, repoFilter, toHostedRepo, type GitHubRepoHostOptions } from './repo-host.js';
