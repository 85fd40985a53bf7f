// `keyloop report`: open/closed/live/dead counts, time to rotate, exposure windows, per-repo and per-owner tables,
// oldest live keys and detector precision, as Markdown, JSON or one self-contained HTML file.
import { writeOutputFile } from '../../src/util/private-fs.js';
import { resolve } from 'node:path';
import type { CommandContext } from '../context.js';
import { ConfigError } from '../../src/core/errors.js';
import { systemClock, type Clock } from '../../src/core/ports.js';
import { buildReport } from '../../src/notify/report.js';
import { renderReportHtml } from '../../src/notify/report-html.js';
import { renderReportMarkdown } from '../../src/notify/report-md.js';
import { withCommandStore } from './store.js';

export interface ReportCommandOptions {
  format: 'md' | 'json' | 'html';
  db?: string;
  output?: string;
}

export async function reportCommand(opts: ReportCommandOptions, ctx: CommandContext, clock: Clock = systemClock): Promise<number> {
  if (!['md', 'json', 'html'].includes(opts.format)) throw new ConfigError(`unknown format "${opts.format}" (md, json, html)`, '--format');
  const data = await withCommandStore(opts, ctx, { mode: 'existing' }, (store) => buildReport(store, clock.now()));
  const text = opts.format === 'json' ? JSON.stringify(data, null, 2) + '\n' : opts.format === 'html' ? renderReportHtml(data) : renderReportMarkdown(data);
  if (opts.output) {
    const path = resolve(ctx.cwd, opts.output);
    writeOutputFile(path, text);
    ctx.stderr.write(`report written to ${path}\n`);
  } else ctx.stdout.write(text);
  return 0;
}
