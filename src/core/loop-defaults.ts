// The issue loop's config (core/loop-config.ts) when a file leaves it out: no zod here, so a scan without a config
// file never loads it (start-up). The schemas in loop-config.ts take their defaults from these.
import type { LoopConfig } from './loop-config.js';

export const LOOP_DEFAULTS = {
  owners: { bots: [] as string[], codeowners: true, commitAuthors: true, unknownEmailTtlDays: 30 },
  issues: {
    enabled: true,
    openOn: 'live' as const,
    minConfidence: 'medium' as const,
    labels: [] as string[],
    closeAfterDeadChecks: 2,
    webUrl: 'https://github.com',
  },
  policy: { maxLiveDays: 7, remindEveryDays: 7, revokeGitHubTokens: false },
};

/** The loop config of an operator file with no owners, issues or policy section (a fresh copy). */
export function defaultLoopConfig(): LoopConfig {
  const config: LoopConfig = structuredClone(LOOP_DEFAULTS);
  return config;
}
