// External programs some tests need (a browser, say). On a developer's machine a missing one skips those tests
// with a warning; under CI=true the suite must not quietly lose coverage, so the tests run and fail with the reason.
import { existsSync } from 'node:fs';

export interface Tool {
  /** The first candidate path that exists, if any. */
  path: string | undefined;
  /** For describe.skipIf / it.skipIf: missing, and not on CI. */
  skip: boolean;
  /** Call first in each test that needs the tool: throws the reason when it is missing (the CI case). */
  need(): string;
}

export function tool(name: string, candidates: string[], install: string, env: NodeJS.ProcessEnv = process.env): Tool {
  const found = candidates.find((p) => existsSync(p));
  const reason = `${name} not found at ${candidates.join(' or ')} (install: ${install})`;
  const onCi = env.CI === 'true' || env.CI === '1';
  if (!found && !onCi) console.warn(`SKIPPED: tests that need ${reason}`);
  return {
    path: found,
    skip: !found && !onCi,
    need() {
      if (!found) throw new Error(`${reason}; CI=true requires it`);
      return found;
    },
  };
}
