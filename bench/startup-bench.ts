// `npm run bench:startup [-- --runs N] [--cli PATH ...]`: how long `keyloop` takes to start, on the two cases where
// start-up is all of it: `keyloop scan` of an empty directory (target ≤ 0.3 s) and `keyloop scan --staged` with
// one changed file, the pre-commit case (target ≤ 0.5 s); `keyloop --version` shows node's own floor. Each is
// run N times as a user runs it (a new process), wall time and CPU time (user + system, less sensitive to a busy
// machine), median and fastest. `--cli` (repeatable) times other builds (e.g. a copy of an older
// dist/cli/main.js) on the same inputs, their runs interleaved with this build's so that load falls on all alike.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable, median } from './real-corpus.js';

const argv = process.argv.slice(2);
const value = (n: string, d: string) => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : d;
};
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const clis = [path.join(root, 'dist', 'cli', 'main.js'), ...argv.flatMap((a, i) => (a === '--cli' && argv[i + 1] ? [path.resolve(argv[i + 1]!)] : []))];
const runs = Number(value('runs', '10'));

// sh's `times` prints the CPU time its children used (user, then system) after keyloop exits
const SH = 'node "$@"; s=$?; times >&2; exit $s';
const seconds = (t: string) =>
  t
    .split(/m|s/)
    .slice(0, 2)
    .reduce((m, x) => m * 60 + Number(x), 0);

/** Wall seconds of one run (a new process, as a user runs it) and the CPU seconds it used (user + system). */
function time(cli: string, args: string[], cwd: string): { wall: number; cpu: number } {
  const t = process.hrtime.bigint();
  const r = spawnSync('sh', ['-c', SH, 'sh', cli, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t) / 1e9;
  // 0: clean; 1: findings (the staged file holds none, but a catalog change could make it so)
  if (r.status !== 0 && r.status !== 1) throw new Error(`keyloop ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const children = r.stderr.trim().split('\n').at(-1)!.split(/\s+/);
  return { wall, cpu: seconds(children[0]!) + seconds(children[1]!) };
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
    const s = (x: number) => `${x.toFixed(3)} s`;
    const rows = cases.flatMap(([name, args, cwd, target]) => {
      for (const cli of clis) time(cli, args, cwd); // warm the page cache
      const ts = clis.map(() => [] as { wall: number; cpu: number }[]);
      for (let i = 0; i < runs; i++) clis.forEach((cli, c) => ts[c]!.push(time(cli, args, cwd)));
      return ts.map((t, c) => {
        const wall = t.map((x) => x.wall);
        const cpu = t.map((x) => x.cpu);
        return [name, clis.length > 1 ? String(c + 1) : '', s(median(wall)), s(Math.min(...wall)), s(median(cpu)), s(Math.min(...cpu)), target];
      });
    });
    console.log(markdownTable(['command', 'build', `wall, median of ${runs}`, 'fastest', 'CPU, median', 'least', 'target'], rows));
    console.log(`\nload average (1 min): ${load0.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end; ${cpus().length} cores`);
    clis.forEach((cli, c) => console.log(`build ${c + 1}: ${cli}`));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main();
