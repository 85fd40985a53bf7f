// `keyloop where FINGERPRINT`: every repo/commit/path/line where one stored secret appears.
import { escapeControls } from '../../src/util/terminal-safe.js';
import type { CommandContext } from '../context.js';
import { presenceOf, renderTable } from './secrets.js';
import { withCommandStore } from './store.js';

export interface WhereCommandOptions {
  fingerprint: string;
  db?: string;
  format: 'table' | 'json';
}

export async function whereCommand(opts: WhereCommandOptions, ctx: CommandContext): Promise<number> {
  return withCommandStore(opts, ctx, { mode: 'existing' }, async (store) => {
    const fp = await store.resolveFingerprint(opts.fingerprint);
    const secret = (await store.getSecret(fp))!;
    const locations = await store.locations(fp);
    const presence = (await presenceOf(locations)).get(fp) ?? 'unknown';
    const rows = locations.map(({ mirrorPath: _m, fingerprint: _f, ...l }) => l);
    if (opts.format === 'json') {
      const { id: _id, ...s } = secret;
      ctx.stdout.write(JSON.stringify({ ...s, presence, locations: rows }, null, 2) + '\n');
      return 0;
    }
    ctx.stdout.write(`${escapeControls(`${secret.detector} ${secret.redacted} ${fp}`)}\n${escapeControls(secret.name)}; status ${secret.status}; ${presence === 'head' ? 'still at the default branch HEAD' : presence === 'history' ? 'only in history' : 'HEAD presence unknown (no mirror)'}\n\n`);
    ctx.stdout.write(
      renderTable(
        ['REPO', 'COMMIT', 'LOCATION', 'AUTHOR', 'DATE'],
        rows.map((l) => [l.repo, l.commit?.slice(0, 12) ?? '-', `${l.path}:${l.line}:${l.column}`, l.authorName ? `${l.authorName} <${l.authorEmail ?? ''}>` : '-', l.date ?? '-']),
        { maxWidth: { 2: 60, 3: 40 } },
      ),
    );
    return 0;
  });
}
