// The CLI as it ships (tsc, then scripts/postbuild.mjs, which bundles it: scripts/bundle.mjs), run as a new process:
// start-up reads the bundle's files instead of ~200 modules (zod's 95 among them), and every file a module finds
// beside itself (compiled catalog, migrations, uPlot, the scan worker) is still found from the bundle.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRepo, tempDir, type BuiltRepo } from '../testkit/git-repo.js';
import { buildCli } from './helpers/built-product.js';
import { cliEnv, runCli } from './helpers/run-cli.js';

let tmp: string;
let bin: string;
let distUrl: string;
let repo: BuiltRepo;

/** The bundle run as `npx keyloop` runs it; with `trace`, every module URL it loads is listed. */
async function keyloop(args: string[], opts: { cwd?: string; trace?: boolean } = {}) {
  const hooks = join(tmp, 'trace-hooks.mjs');
  const pre = opts.trace ? ['--import', pathToFileURL(join(tmp, 'trace.mjs')).href] : [];
  writeFileSync(hooks, `export async function load(url, context, next) { process.stderr.write('LOADED ' + url + '\\n'); return next(url, context); }\n`);
  writeFileSync(join(tmp, 'trace.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  const r = spawnSync(process.execPath, [...pre, bin, ...args], { cwd: opts.cwd ?? tmp, env: await cliEnv(), encoding: 'utf8' });
  const lines = r.stderr.split('\n');
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: lines.filter((l) => !l.startsWith('LOADED ')).join('\n'),
    loaded: lines.filter((l) => l.startsWith('LOADED file:')).map((l) => l.slice('LOADED '.length)),
  };
}

beforeAll(async () => {
  tmp = await tempDir('keyloop-bundle-');
  const pkg = join(tmp, 'pkg');
  mkdirSync(pkg);
  bin = buildCli(pkg);
  distUrl = pathToFileURL(join(pkg, 'dist')).href + '/';
  // the detectors' own examples: hundreds of findings across many detectors, in a git history
  const files: Record<string, string> = {};
  for (const f of ['github.yaml', 'aws.yaml', 'stripe.yaml', 'slack.yaml', 'openai.yaml']) files[f] = readFileSync(join('detectors', f), 'utf8');
  repo = await buildRepo({ commits: [{ id: 'a', files }] });
});

describe('the bundled CLI', () => {
  it('scans an empty folder loading its own files and no zod (neither from node_modules nor bundled), no unbundled module', async () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    const r = await keyloop(['scan', empty, '--format', 'json'], { trace: true });
    expect(r.stderr).toContain('0 findings');
    expect(r.code).toBe(0);
    expect(r.loaded[0]).toBe(pathToFileURL(bin).href);
    expect(r.loaded.filter((u) => u.includes('/node_modules/zod/'))).toEqual([]);
    // nor the bundle's own copy of zod: nothing to validate (no config file, the compiled catalog), so no zod at all
    const zodChunks = readdirSync(join(tmp, 'pkg', 'dist', 'cli', 'chunks')).filter((f) =>
      readFileSync(join(tmp, 'pkg', 'dist', 'cli', 'chunks', f), 'utf8').includes('$ZodType'),
    );
    expect(zodChunks.length).toBeGreaterThan(0);
    expect(r.loaded.filter((u) => zodChunks.some((f) => u.endsWith(`/chunks/${f}`)))).toEqual([]);
    // everything of keyloop's own comes from the bundle (cli/main.js, cli/chunks/); dist/src is the worker's
    const own = r.loaded.filter((u) => u.startsWith(distUrl));
    expect(own.filter((u) => !u.startsWith(distUrl + 'cli/chunks/') && u !== pathToFileURL(bin).href)).toEqual([]);
    // the rest: the packages it keeps external (commander, re2 and its addon)
    const packages = new Set(r.loaded.filter((u) => !u.startsWith(distUrl)).map((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? u));
    expect([...packages].sort()).toEqual(['commander', 're2']);
  });

  it('reports what the in-process CLI reports, with the scan worker threads of dist/src', async () => {
    const shipped = await keyloop(['scan', repo.dir, '--jobs', '2', '--format', 'json'], { trace: true });
    expect(shipped.code, shipped.stderr).toBe(1);
    expect(shipped.loaded).toContain(distUrl + 'src/scan/worker.js');
    const inProcess = await runCli(['scan', repo.dir, '--format', 'json']);
    expect(inProcess.code).toBe(1);
    const fingerprints = (out: string) => (JSON.parse(out) as { findings: { fingerprint: string }[] }).findings.map((f) => f.fingerprint);
    expect(fingerprints(shipped.stdout).length).toBeGreaterThan(20);
    expect(shipped.stdout).toBe(inProcess.stdout);
  });

  it('reads the compiled catalog beside dist/src/detection', async () => {
    const compiled = join(tmp, 'pkg', 'dist', 'src', 'detection', 'catalog.generated.json');
    const original = readFileSync(compiled, 'utf8');
    // a marker only the compiled file holds shows which one was read
    const c = JSON.parse(original) as { providers: { file: string; data: { detectors: { name: string }[] } }[] };
    for (const d of c.providers.find((p) => p.file === 'github.yaml')!.data.detectors) d.name = 'from the compiled catalog';
    writeFileSync(compiled, JSON.stringify(c));
    try {
      const r = await keyloop(['scan', repo.dir, '--format', 'json']);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toContain('"name": "from the compiled catalog"');
    } finally {
      writeFileSync(compiled, original);
    }
  });

  it('records a scan in a store (its migrations) and draws the HTML report (uPlot)', async () => {
    const db = join(tmp, 'inventory.db');
    const scan = await keyloop(['scan', repo.dir, '--db', db, '--format', 'json']);
    expect(scan.code, scan.stderr).toBe(1);
    expect(scan.stderr).toContain('recorded in the store');
    const out = join(tmp, 'report.html');
    const report = await keyloop(['report', '--db', db, '--format', 'html', '-o', out]);
    expect(report.code, report.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('uPlot');
  });

  it('validates configuration with the bundled zod: the field and its English message', async () => {
    const config = join(tmp, 'bad.yaml');
    writeFileSync(config, 'verify:\n  timeoutMs: -1\n');
    const r = await keyloop(['scan', tmp, '--config', config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.yaml: verify\.timeoutMs.*(too small|>0)/);
    const same = await runCli(['scan', tmp, '--config', config]);
    expect(r.stderr).toBe(same.stderr);
  });
});
