import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOperatorConfig } from '../src/config/load.js';
import { CONFIG_SECTIONS } from '../src/config/fields.js';
import { normalizeOperator } from '../src/config/operator.js';
import { ConfigFile } from '../src/config/schema.js';
import { ConfigError } from '../src/core/errors.js';
import { DEFAULT_FINGERPRINT_KEY } from '../src/core/fingerprint.js';
import { tempDir } from '../testkit/git-repo.js';

/** An operator config file `op.yaml` in a fresh directory; returns the directory. */
async function withConfig(text: string) {
  const dir = await tempDir();
  writeFileSync(join(dir, 'op.yaml'), text);
  return dir;
}
const load = (cwd: string, env: Record<string, string | undefined> = {}) => loadOperatorConfig({ explicit: 'op.yaml', cwd, env });

describe('loadOperatorConfig', () => {
  it('defaults when there is no file; env key wins over the file', async () => {
    const dir = await tempDir();
    const c = await loadOperatorConfig({ cwd: dir, env: { XDG_CONFIG_HOME: join(dir, 'none') } });
    expect(c.source).toBeNull();
    expect(c.fingerprintKey).toBe(DEFAULT_FINGERPRINT_KEY);
    expect(c.loop.policy.maxLiveDays).toBe(7);
    const d = await withConfig('fingerprint:\n  key: from-the-file-123\n');
    expect((await load(d)).fingerprintKey).toBe('from-the-file-123');
    expect((await load(d, { KEYLOOP_FINGERPRINT_KEY: 'from-env-4567' })).fingerprintKey).toBe('from-env-4567');
  });

  it('with no file, the defaults are what the schema fills in for an empty file (no zod loaded for them)', async () => {
    const dir = await tempDir();
    const env = { XDG_CONFIG_HOME: join(dir, 'none'), KEYLOOP_FINGERPRINT_KEY: 'from-env-4567' };
    expect(await loadOperatorConfig({ cwd: dir, env })).toStrictEqual(normalizeOperator(undefined, null, env));
    expect(Object.keys(ConfigFile.shape).sort()).toStrictEqual([...CONFIG_SECTIONS].sort());
  });

  it.each([
    ['unknown top-level key', 'pathz:\n  exclude: []\n', '(root)'],
    ['wrong type deep inside', 'paths:\n  exclude: "src/**"\n', 'paths.exclude'],
    ['regex RE2 cannot compile', 'allow:\n  regexes: ["(?<=x)y"]\n', 'allow.regexes.0'],
    ['issuer id not lowercase', 'issuers:\n  GitHub: { baseUrl: "https://x.test" }\n', 'issuers'],
    ['loop policy validated at load', 'policy:\n  maxLiveDays: -3\n', 'policy.maxLiveDays'],
    ['not YAML', 'paths: [\n', 'op.yaml'],
  ])('%s → ConfigError naming the field', async (_name, text, field) => {
    const dir = await withConfig(text);
    let err: unknown;
    try {
      await load(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(field);
    expect((err as Error).message.split('\n')).toHaveLength(1);
  });
});

describe('issue loop enablement for keyloop org', () => {
  const ctx = (cwd: string) => ({ cwd, env: {}, stdout: { write: () => true }, stderr: { write: () => true } });
  it('on when the operator config has an issues: section or --issues/--dry-run; off otherwise and with --no-issues', async () => {
    const { orgIssueLoop } = await import('../src/loop/org-hook.js');
    const none = await tempDir();
    expect(await orgIssueLoop({}, ctx(none))).toBeUndefined();
    expect(typeof (await orgIssueLoop({ issues: true }, ctx(none)))).toBe('function');
    expect(typeof (await orgIssueLoop({ dryRun: true }, ctx(none)))).toBe('function');
    const configured = await withConfig('issues:\n  openOn: live\n');
    expect(typeof (await orgIssueLoop({ config: 'op.yaml' }, ctx(configured)))).toBe('function');
    expect(await orgIssueLoop({ config: 'op.yaml', issues: false }, ctx(configured))).toBeUndefined();
    expect(await orgIssueLoop({ config: 'op.yaml' }, ctx(await withConfig('issues:\n  enabled: false\n')))).toBeUndefined();
  });
});
