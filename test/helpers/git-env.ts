// Vitest setup: hermetic git, no GitHub credentials from the developer's shell. And git must be there: fixtures
// are built with `git fast-import` and served with `git http-backend`, so without it every file fails here, with
// the reason, rather than in a hundred places with ENOENT (no test skips for want of git, on CI or off it).
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useHermeticGit } from '../../testkit/git-env.js';

try {
  execFileSync('git', ['--version'], { stdio: 'ignore' });
} catch (err) {
  throw new Error('git not found on PATH; the test suite needs it (install: apt-get install -y git)', { cause: err });
}
useHermeticGit();
delete process.env.GITHUB_TOKEN;
delete process.env.GITHUB_API_URL;
// Hermetic keyloop operator config as well: nothing from the machine's ~/.config/keyloop or $KEYLOOP_CONFIG.
delete process.env.KEYLOOP_CONFIG;
process.env.XDG_CONFIG_HOME = join(tmpdir(), `keyloop-test-config-${process.pid}`);
