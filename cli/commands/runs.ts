// `keyloop runs`: each run (newest first) with its repositories queued / running / done / failed, findings, start
// and end, which worker holds which job, and the jobs that failed with their error.
import type { CommandContext } from '../context.js';
import { runStatus, type RunStatusView } from '../../src/scale/run-status.js';
import { escapeControls } from '../../src/util/terminal-safe.js';
import { renderTable } from './secrets.js';
import { withCommandStore } from './store.js';

export interface RunsCommandOptions {
  db?: string;
  format: 'table' | 'json';
  limit: number;
}

export async function runsCommand(opts: RunsCommandOptions, ctx: CommandContext): Promise<number> {
  const views = await withCommandStore(opts, ctx, { mode: 'existing' }, async (store) => Promise.all((await store.listRuns(opts.limit)).map((r) => runStatus(store, r))));
  ctx.stdout.write(opts.format === 'json' ? JSON.stringify({ runs: views }, null, 2) + '\n' : runsTable(views));
  return 0;
}

const time = (iso: string | null) => (iso ? iso.replace('T', ' ').slice(0, 19) : '-');

function runsTable(views: RunStatusView[]): string {
  if (views.length === 0) return 'no runs yet\n';
  const rows = views.map((v) => [
    String(v.run.id),
    v.run.kind + (v.queued ? ' (workers)' : ''),
    v.run.target,
    v.run.status,
    time(v.run.startedAt),
    time(v.run.finishedAt),
    String(v.repos.total),
    String(v.repos.queued),
    String(v.repos.running),
    String(v.repos.done),
    String(v.repos.failed),
    String(v.run.status === 'running' ? '-' : v.run.findings),
  ]);
  let out = renderTable(['RUN', 'KIND', 'TARGET', 'STATUS', 'STARTED', 'FINISHED', 'REPOS', 'QUEUED', 'RUNNING', 'DONE', 'FAILED', 'FINDINGS'], rows, { maxWidth: { 2: 40 } });
  for (const v of views) {
    const lines: string[] = [];
    for (const f of v.followUps) lines.push(`${f.kind}: ${f.queued} queued, ${f.running} running, ${f.done} done, ${f.failed} failed`);
    for (const h of v.holding) lines.push(`${h.worker} holds ${h.kind} ${h.subject} (try ${h.attempt}, since ${time(h.since)})`);
    for (const f of v.failures) lines.push(`failed: ${f.kind} ${f.subject} after ${f.attempts} tr${f.attempts === 1 ? 'y' : 'ies'}: ${f.error}`);
    if (v.run.error) lines.push(`error: ${v.run.error}`);
    // worker names, repo names and errors come from hosts and scanned repositories: one visible line each
    if (lines.length) out += `\nrun ${v.run.id}:\n` + lines.map((l) => `  ${escapeControls(l)}\n`).join('');
  }
  return out;
}
