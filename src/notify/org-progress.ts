// Progress of a `keyloop org` run, on stderr. On a TTY: one cli-progress bar redrawn in place (repos done/total,
// bytes scanned, ETA, the repository in work), with log lines printed above it. Otherwise (a log file, CI): a plain
// line each tenth of the repositories and at least every `intervalMs`, so the run is seen moving without control codes.
import cliProgress from 'cli-progress';
import { humanDuration } from './report.js';
import type { OrgScanProgress } from '../sources/github-org.js';
import { escapeControls } from '../util/terminal-safe.js';

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface OrgProgress extends OrgScanProgress {
  /** A log line, printed so the bar is not torn (above it on a TTY). */
  log(line: string): void;
  /** Ends the display: the bar is cleared, the timer stopped. Idempotent. */
  stop(): void;
}

export interface OrgProgressOptions {
  org: string;
  stream: ProgressStream;
  /** Plain mode: a line at least this often while repositories are in work (default 15 s). */
  intervalMs?: number;
  now?: () => number;
}

export const DEFAULT_PROGRESS_INTERVAL_MS = 15_000;

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const eta = (ms: number | null) => (ms === null ? '…' : ms < 60_000 ? `${Math.max(1, Math.round(ms / 1000))}s` : humanDuration(ms));

/** Counts shared by both displays. */
class Tally {
  total = 0;
  done = 0;
  failed = 0;
  private resumed = 0;
  private bytesDone = 0;
  private readonly inFlight = new Map<string, number>();
  private startedAt = 0;
  constructor(private readonly now: () => number) {}

  listed(total: number, alreadyDone: number): void {
    this.total = total;
    this.startedAt = this.now();
    this.resumed = alreadyDone;
  }
  started(repo: string): void {
    this.inFlight.set(repo, 0);
  }
  bytes(repo: string, n: number): void {
    if (this.inFlight.has(repo)) this.inFlight.set(repo, n);
  }
  finished(o: { repo: string; status: string; bytesScanned: number }): void {
    this.inFlight.delete(o.repo);
    // resumed repos are counted by listed(), before any is reported
    if (o.status === 'resumed') return;
    this.done += 1;
    if (o.status === 'failed') this.failed += 1;
    this.bytesDone += o.bytesScanned;
  }
  get completed(): number {
    return this.resumed + this.done;
  }
  get scannedBytes(): number {
    let b = this.bytesDone;
    for (const n of this.inFlight.values()) b += n;
    return b;
  }
  /** The repository most recently started, and how many others are in work with it. */
  get current(): string {
    const names = [...this.inFlight.keys()];
    const last = names.at(-1);
    return last ? escapeControls(last) + (names.length > 1 ? ` (+${names.length - 1})` : '') : '';
  }
  /** From this process's pace: repositories resumed from an earlier run took no time here. */
  get etaMs(): number | null {
    if (this.done === 0) return null;
    return ((this.now() - this.startedAt) / this.done) * Math.max(0, this.total - this.completed);
  }
  get elapsedMs(): number {
    return this.now() - this.startedAt;
  }
}

export function createOrgProgress(opts: OrgProgressOptions): OrgProgress {
  return opts.stream.isTTY ? barProgress(opts) : plainProgress(opts);
}

// ---- TTY: a cli-progress bar -------------------------------------------------------------------------------------

interface Payload {
  failed: number;
  bytes: string;
  eta: string;
  current: string;
}

/**
 * cli-progress draws through this instead of its own terminal: a single line, so no cursor save/restore (restoring a
 * position saved before log lines scrolled the screen would land on a stale row and erase it).
 */
function lineTerminal(stream: ProgressStream) {
  return {
    isTTY: () => true,
    getWidth: () => stream.columns || 80,
    cursorSave() {},
    cursorRestore() {},
    cursorRelative() {},
    cursorRelativeReset() {},
    cursor: (on: boolean) => stream.write(on ? '\x1b[?25h' : '\x1b[?25l'),
    cursorTo: (x: number | null) => void (x !== null && stream.write(`\x1b[${x + 1}G`)),
    clearRight: () => stream.write('\x1b[0K'),
    clearLine: () => stream.write('\x1b[2K'),
    clearBottom: () => stream.write('\x1b[0J'),
    newline: () => stream.write('\n'),
    write: (s: string) => stream.write(s),
    lineWrapping: (on: boolean) => stream.write(on ? '\x1b[?7h' : '\x1b[?7l'),
  };
}

function barProgress(opts: OrgProgressOptions): OrgProgress {
  const tally = new Tally(opts.now ?? Date.now);
  const org = escapeControls(opts.org);
  const format: cliProgress.GenericFormatter = (o, params, p: Payload) => {
    const bar = cliProgress.Format.BarFormat(params.progress, o);
    const parts = [`${params.value}/${params.total} repos`, p.failed ? `${p.failed} failed` : '', p.bytes, `ETA ${p.eta}`, p.current].filter(Boolean);
    const line = `${org} ${bar} ${parts.join(' | ')}`;
    // never wrap: a wrapped line would be redrawn one row too low each time
    return line.length > params.maxWidth - 1 ? line.slice(0, Math.max(0, params.maxWidth - 2)) + '…' : line;
  };
  const options: cliProgress.Options & { terminal: ReturnType<typeof lineTerminal> } = {
    format,
    barsize: 24,
    barCompleteChar: '█',
    barIncompleteChar: '░',
    hideCursor: true,
    clearOnComplete: true,
    // redrawn on every frame: a log line printed above clears it
    forceRedraw: true,
    fps: 5,
    terminal: lineTerminal(opts.stream),
  };
  const bar = new cliProgress.SingleBar(options);
  let active = false;
  const payload = (): Payload => ({ failed: tally.failed, bytes: mb(tally.scannedBytes), eta: eta(tally.etaMs), current: tally.current });
  const refresh = () => active && bar.update(tally.completed, payload());
  return {
    listed(total, alreadyDone) {
      tally.listed(total, alreadyDone);
      bar.start(total, alreadyDone, payload());
      active = true;
    },
    started: (repo) => (tally.started(repo), refresh()),
    bytes: (repo, n) => (tally.bytes(repo, n), refresh()),
    finished: (o) => (tally.finished(o), refresh()),
    log(line) {
      if (!active) return void opts.stream.write(line + '\n');
      opts.stream.write('\r\x1b[2K' + line + '\n');
      bar.render();
    },
    stop() {
      if (!active) return;
      active = false;
      bar.stop();
    },
  };
}

// ---- not a TTY: plain lines -------------------------------------------------------------------------------------

function plainProgress(opts: OrgProgressOptions): OrgProgress {
  const now = opts.now ?? Date.now;
  const tally = new Tally(now);
  const interval = opts.intervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
  const org = escapeControls(opts.org);
  let lastAt = 0;
  let lastTenth = -1;
  let timer: NodeJS.Timeout | undefined;
  const line = (text: string) => {
    lastAt = now();
    opts.stream.write(`keyloop org ${org}: ${text}\n`);
  };
  const status = () => {
    const pct = tally.total ? Math.floor((tally.completed / tally.total) * 100) : 100;
    const head = `${tally.completed}/${tally.total} repos (${pct}%)${tally.failed ? `, ${tally.failed} failed` : ''}, ${mb(tally.scannedBytes)} scanned`;
    if (tally.completed >= tally.total) return `${head} in ${eta(tally.elapsedMs)}`;
    return `${head}, ETA ${eta(tally.etaMs)}${tally.current ? `; scanning ${tally.current}` : ''}`;
  };
  const tick = () => {
    if (now() - lastAt >= interval) line(status());
  };
  return {
    listed(total, alreadyDone) {
      tally.listed(total, alreadyDone);
      lastTenth = Math.floor((alreadyDone / Math.max(1, total)) * 10);
      line(`${total} repositories${alreadyDone ? ` (${alreadyDone} finished by the interrupted run this one resumes)` : ''}`);
      if (total > alreadyDone) (timer = setInterval(tick, Math.min(interval, 1000))).unref();
    },
    started: (repo) => tally.started(repo),
    bytes: (repo, n) => tally.bytes(repo, n),
    finished(o) {
      tally.finished(o);
      if (o.status === 'resumed') return;
      const tenth = Math.floor((tally.completed / Math.max(1, tally.total)) * 10);
      if (tenth > lastTenth || tally.completed >= tally.total) {
        lastTenth = tenth;
        line(status());
      }
    },
    log: (l) => void opts.stream.write(l + '\n'),
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
