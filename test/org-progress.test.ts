// Progress of `keyloop org`: the cli-progress bar on a (fake) TTY, the plain periodic lines otherwise (driven with
// fake timers, so "every 15 s" is tested without waiting), and both through a real org run against the fake GitHub.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOrgProgress, DEFAULT_PROGRESS_INTERVAL_MS } from '../src/notify/org-progress.js';
import { startFakeGitHub, type FakeGitHub } from '../testkit/fake-github.js';
import { buildRepo, tempDir } from '../testkit/git-repo.js';
import { runCli } from './helpers/run-cli.js';

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g;

function fakeStream(tty: boolean, columns = 100) {
  const chunks: string[] = [];
  return { chunks, text: () => chunks.join(''), stream: { isTTY: tty, columns, write: (s: string) => chunks.push(s) } };
}

const done = (repo: string, bytesScanned = 0, status: 'done' | 'failed' | 'resumed' = 'done') => ({
  repo,
  status,
  blobsScanned: 1,
  blobsSkipped: 0,
  bytesScanned,
  findings: 0,
  newSecrets: 0,
  suppressedByRepoConfig: 0,
  elapsedMs: 1,
});

afterEach(() => {
  vi.useRealTimers();
});

describe('on a TTY: a cli-progress bar', () => {
  it('shows repos done/total, bytes, ETA and the repository in work; log lines go above it; stop clears it', () => {
    vi.useFakeTimers();
    const out = fakeStream(true, 100);
    const p = createOrgProgress({ org: 'acme', stream: out.stream });
    const frame = () => {
      vi.advanceTimersByTime(250); // one frame at 5 fps
      const frames = out.text().split(/\r|\x1b\[1G/);
      return frames.at(-1)!.replace(ANSI, '');
    };
    p.listed(4, 1);
    expect(frame()).toMatch(/^acme [█░]{24} 1\/4 repos \| 0\.0 MB \| ETA …$/);
    p.started('acme/api');
    p.bytes('acme/api', 2_500_000);
    expect(frame()).toMatch(/1\/4 repos \| 2\.5 MB \| ETA … \| acme\/api$/);
    p.started('acme/web');
    vi.advanceTimersByTime(60_000);
    p.finished(done('acme/api', 3_000_000));
    // one repo in a minute of this run, two to go: two minutes
    expect(frame()).toMatch(/2\/4 repos \| 3\.0 MB \| ETA 2m \| acme\/web$/);
    p.log('warn acme/web: fetch failed');
    expect(out.text()).toContain('\r\x1b[2Kwarn acme/web: fetch failed\n');
    // the bar is drawn again right after the log line
    expect(out.text().split('warn acme/web: fetch failed\n').at(-1)!.replace(ANSI, '')).toMatch(/2\/4 repos/);
    p.finished(done('acme/web', 0, 'failed'));
    expect(frame()).toMatch(/3\/4 repos \| 1 failed \| 3\.0 MB/);
    p.stop();
    p.stop();
    const tail = out.text().slice(-40);
    expect(tail).toContain('\x1b[?25h'); // cursor shown again
    expect(tail.endsWith('\x1b[2K')).toBe(true); // the bar's line cleared for what follows
    expect(vi.getTimerCount()).toBe(0);
  });

  it('never wider than the terminal (a wrapped line would be redrawn one row too low)', () => {
    vi.useFakeTimers();
    const out = fakeStream(true, 60);
    const p = createOrgProgress({ org: 'acme', stream: out.stream });
    p.listed(1000, 0);
    p.started('acme/' + 'very-long-repository-name-'.repeat(4));
    vi.advanceTimersByTime(250);
    p.stop();
    const frames = out.text().split(/\r|\x1b\[1G|\n/).map((f) => f.replace(ANSI, ''));
    expect(frames.some((f) => f.includes('0/1000 repos'))).toBe(true);
    for (const f of frames) expect(f.length).toBeLessThanOrEqual(59);
  });

  it('control characters in a repository name are shown as escapes', () => {
    vi.useFakeTimers();
    const out = fakeStream(true);
    const p = createOrgProgress({ org: 'acme', stream: out.stream });
    p.listed(1, 0);
    p.started('acme/x\x1b]0;pwned\x07');
    vi.advanceTimersByTime(250);
    p.stop();
    expect(out.text()).toContain('acme/x\\x1b]0;pwned\\x07');
    expect(out.text()).not.toContain('\x1b]0;');
  });
});

describe('not a TTY: plain lines', () => {
  it('a line each tenth of the repositories, a heartbeat every interval while repos are in work, a last line at the end', () => {
    vi.useFakeTimers();
    const out = fakeStream(false);
    const p = createOrgProgress({ org: 'acme', stream: out.stream });
    const lines = () => out.text().trimEnd().split('\n');
    p.listed(20, 0);
    expect(lines()).toEqual(['keyloop org acme: 20 repositories']);
    p.started('acme/r00');
    p.finished(done('acme/r00', 1_000_000));
    expect(lines()).toHaveLength(1); // 5 %: no line
    p.started('acme/r01');
    vi.advanceTimersByTime(10_000);
    p.finished(done('acme/r01', 1_000_000, 'failed'));
    expect(lines()).toHaveLength(2);
    // 2 repos in 10 s, 18 to go: 90 s
    expect(lines()[1]).toBe('keyloop org acme: 2/20 repos (10%), 1 failed, 2.0 MB scanned, ETA 2m');
    // a long repository: a heartbeat every interval, naming it, with the bytes it has read so far
    p.started('acme/r02');
    p.bytes('acme/r02', 4_000_000);
    vi.advanceTimersByTime(DEFAULT_PROGRESS_INTERVAL_MS - 1_000);
    expect(lines()).toHaveLength(2);
    vi.advanceTimersByTime(1_000);
    expect(lines()).toHaveLength(3);
    expect(lines()[2]).toMatch(/^keyloop org acme: 2\/20 repos \(10%\), 1 failed, 6\.0 MB scanned, ETA \S+; scanning acme\/r02$/);
    vi.advanceTimersByTime(DEFAULT_PROGRESS_INTERVAL_MS);
    expect(lines()).toHaveLength(4);
    for (let i = 2; i < 20; i++) {
      if (i > 2) p.started(`acme/r${String(i).padStart(2, '0')}`);
      p.finished(done(`acme/r${String(i).padStart(2, '0')}`, i === 2 ? 4_000_000 : 0));
    }
    // 10 % steps: 20 %, 30 % … 100 %
    expect(lines()).toHaveLength(4 + 9);
    expect(lines().at(-1)).toMatch(/^keyloop org acme: 20\/20 repos \(100%\), 1 failed, 6\.0 MB scanned in \S+/);
    p.stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(out.text()).not.toMatch(ANSI);
  });

  it('a resumed run counts what the interrupted run finished, and paces its ETA on this run only', () => {
    vi.useFakeTimers();
    const out = fakeStream(false);
    const p = createOrgProgress({ org: 'acme', stream: out.stream, intervalMs: 5_000 });
    p.listed(10, 4);
    for (const r of ['a', 'b', 'c', 'd']) p.finished(done(`acme/${r}`, 0, 'resumed'));
    p.started('acme/e');
    vi.advanceTimersByTime(30_000);
    p.finished(done('acme/e'));
    const lines = out.text().trimEnd().split('\n');
    expect(lines[0]).toBe('keyloop org acme: 10 repositories (4 finished by the interrupted run this one resumes)');
    // 1 repo in 30 s here, 5 left: 2.5 min, shown in whole minutes
    expect(lines.at(-1)).toBe('keyloop org acme: 5/10 repos (50%), 0.0 MB scanned, ETA 3m');
    p.stop();
  });
});

describe('keyloop org with progress, end to end', () => {
  let fake: FakeGitHub;
  const TOKEN = 'fake-progress-' + randomBytes(6).toString('hex');
  beforeAll(async () => {
    fake = await startFakeGitHub({ tokens: { [TOKEN]: 'crawler' } });
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const repo = await buildRepo({ bare: true, commits: [{ id: 'c1', files: { 'README.md': `# r${i}\n`, 'src/a.js': `export const n = ${i};\n`.repeat(50) } }] });
        fake.addRepo(`acme/r${i}`, { gitDir: repo.gitDir });
      }),
    );
  });
  afterAll(async () => fake?.close());

  const org = async (extra: string[], tty: boolean) => {
    const dir = await tempDir('keyloop-progress-');
    const env = { GITHUB_TOKEN: TOKEN, KEYLOOP_KEY: randomBytes(32).toString('hex') };
    const args = ['org', 'acme', '--github-url', fake.url, '--db', path.join(dir, 'k.db'), '--cache-dir', path.join(dir, 'c'), '--format', 'json', '--concurrency', '2', ...extra];
    return runCli(args, { cwd: dir, env, tty });
  };

  it('not a TTY: plain lines on stderr, one per tenth of 10 repos; stdout is the JSON summary alone', async () => {
    const r = await org([], false);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { run: { reposDone: number } }).run.reposDone).toBe(10);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('keyloop org acme: '));
    expect(lines[0]).toBe('keyloop org acme: 10 repositories');
    const counts = lines.slice(1).map((l) => Number(/: (\d+)\/10 repos/.exec(l)?.[1]));
    expect(counts).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(lines.at(-1)).toMatch(/10\/10 repos \(100%\), \d+\.\d MB scanned in /);
    expect(r.stderr).not.toMatch(ANSI);
  });

  it('on a TTY: the bar, ending at 10/10 and cleared; --no-progress prints neither', async () => {
    const r = await org([], true);
    expect(r.code).toBe(0);
    const frames = r.stderr.split(/\r|\x1b\[1G|\n/).map((f) => f.replace(ANSI, ''));
    expect(frames.some((f) => /^acme [█░]+ 0\/10 repos/.test(f))).toBe(true);
    expect(frames.some((f) => /^acme [█░]+ 10\/10 repos \| \d+\.\d MB/.test(f))).toBe(true);
    expect(r.stderr.endsWith('\x1b[2K')).toBe(true);

    const quiet = await org(['--no-progress'], false);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain('keyloop org acme:');
    const quietTty = await org(['--no-progress'], true);
    expect(quietTty.stderr).not.toContain('/10 repos');
    expect(quietTty.stderr).not.toMatch(ANSI);
  });
});
