// The repository's own history must scan clean with its .keyloop.yaml: no credential-looking string is committed
// outside detectors/ samples, corpus/ and test fixtures (which the config excludes). Only HEAD's history counts
// (`--range HEAD`): a clone has just that, while a checkout with worktrees or unmerged branches has other refs.
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.js';
import { scanReport } from './helpers/scan-report.js';

it('keyloop scan of keyloop itself finds nothing', async () => {
  const root = join(import.meta.dirname, '..');
  const r = await runCli(['scan', root, '--range', 'HEAD', '--format', 'json', '--no-progress']);
  const report = scanReport(r.stdout);
  expect(report.incomplete).toEqual([]);
  const findings = report.findings;
  expect(findings.map((f) => `${f.detector} ${f.redacted} ${f.locations[0]!.path}:${f.locations[0]!.line}`)).toEqual([]);
  expect(r.code).toBe(0);
});
