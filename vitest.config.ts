import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/net-guard.ts', 'test/helpers/git-env.ts'],
    // One PostgreSQL per run, started on first use (test/helpers/postgres.ts).
    globalSetup: ['test/helpers/pg-global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // Hang guards, not speed checks (speed budgets live in `npm run bench:suite`): generous, so a test that is
    // only slow because the machine is busy still passes.
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
