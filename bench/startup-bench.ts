// `npm run bench:startup [-- --runs N] [--cli PATH]`: how long `keyloop` takes to start, on the two cases where
// start-up is all of it: `keyloop scan` of an empty directory (target ≤ 0.3 s) and `keyloop scan --staged` with
// one changed file, the pre-commit case (target ≤ 0.5 s); `keyloop --version` shows node's own floor. Each is
// run N times as a user runs it (a new process, wall time), median and fastest. `--cli` times another build
// (e.g. a copy of an older dist/cli/main.js) on the same inputs.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable, median } from './real-corpus.js';

const argv = process.argv.slice(2);
const value = (n: string, d: string) => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : d;
};
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = path.resolve(value('cli', path.join(root, 'dist', 'cli', 'main.js')));
const runs = Number(value('runs', '10'));

function time(args: string[], cwd: string): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  // 0: clean; 1: findings (the staged file holds none, but a catalog change could make it so)
  if (r.status !== 0 && r.status !== 1) throw new Error(`keyloop ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return s;
}

function main() {
  const tmp = mkdtempSync(path.join(tmpdir(), 'keyloop-startup-'));
  try {
    const empty = path.join(tmp, 'empty');
    const repo = path.join(tmp, 'repo');
    execFileSync('mkdir', ['-p', empty, repo]);
    const git = (args: string[]) =>
      execFileSync('git', args, {
        cwd: repo,
        env: {
          ...process.env,
          GIT_CONFIG_GLOBAL: '/dev/null',
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_AUTHOR_NAME: 'b',
          GIT_AUTHOR_EMAIL: 'b@example.invalid',
          GIT_COMMITTER_NAME: 'b',
          GIT_COMMITTER_EMAIL: 'b@example.invalid',
        },
        stdio: 'ignore',
      });
    git(['init', '-q']);
    // a small project: 50 source files committed, then one of them changed and staged
    for (let i = 0; i < 50; i++)
      writeFileSync(path.join(repo, `m${i}.js`), `// module ${i}\nexport const config${i} = { token: process.env.TOKEN_${i}, retries: ${i} };\n`.repeat(20));
    git(['add', '.']);
    git(['commit', '-q', '-m', 'init']);
    writeFileSync(path.join(repo, 'm0.js'), `export const password = process.env.DB_PASSWORD;\nexport const apiKey = readKey('api');\n`);
    git(['add', 'm0.js']);

    const cases: [string, string[], string, string][] = [
      ['`keyloop --version` (node + commander floor)', ['--version'], empty, ''],
      ['`keyloop scan EMPTY_DIR --format json`', ['scan', empty, '--format', 'json'], empty, '≤ 0.3 s'],
      ['`keyloop scan --staged --format json` (1 changed file)', ['scan', '--staged', '--format', 'json'], repo, '≤ 0.5 s'],
    ];
    const load0 = loadavg()[0]!;
    const rows = cases.map(([name, args, cwd, target]) => {
      time(args, cwd); // warm the page cache
      const ts = Array.from({ length: runs }, () => time(args, cwd));
      return [name, `${median(ts).toFixed(3)} s`, `${Math.min(...ts).toFixed(3)} s`, target];
    });
    console.log(markdownTable(['command', `median of ${runs}`, 'fastest', 'target'], rows));
    console.log(`\nload average (1 min): ${load0.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end; 2 cores; ${cli}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main();
