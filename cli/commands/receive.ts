// `keyloop receive EVENT.json --event push`: replay a webhook payload through the App's own handler, without a
// server or signature (debugging). Same store, mirrors, scan, verification, issues and check run as `keyloop app`.
// Prints the delivery's result as JSON. Exit 0 done, 1 failed (error on stderr), 2 bad input.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CommandContext } from '../context.js';
import { ConfigError } from '../../src/core/errors.js';
import { appCredentialsFromEnv } from '../../src/adapters/github/app.js';
import { resolveToken } from '../../src/adapters/github/client.js';
import { normalizeEvent } from '../../src/app/events.js';
import { createAppRuntime } from '../../src/app/runtime.js';
import { SecretRegistry } from '../../src/util/redact.js';
import { runtimeOptions, type AppRuntimeFlags } from './app.js';

/** The App's runtime flags (as `keyloop app`; logs always as text), plus the payload to replay. */
export interface ReceiveCommandOptions extends Omit<AppRuntimeFlags, 'logFormat'> {
  file: string;
  event: string;
  /** X-GitHub-Delivery to record; default a fresh one, so a replay always runs. */
  id?: string;
  token?: string;
}

export async function receiveCommand(opts: ReceiveCommandOptions, ctx: CommandContext): Promise<number> {
  let payload: unknown;
  const file = resolve(ctx.cwd, opts.file);
  try {
    payload = JSON.parse(opts.file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`cannot read a JSON payload: ${(e as Error).message}`, opts.file);
  }
  const normalized = normalizeEvent(opts.event, payload);
  const registry = new SecretRegistry();
  // With App credentials in the environment the replay authenticates like the server; otherwise a token (or none).
  const creds = ctx.env.APP_ID ? appCredentialsFromEnv({ WEBHOOK_SECRET: 'unused-by-receive', ...ctx.env }, ctx.cwd) : null;
  const token = creds ? undefined : resolveToken(opts.token, ctx.env);
  if (token) registry.add(token);
  const base = await runtimeOptions(opts, ctx, registry);
  const rt = await createAppRuntime({
    ...base,
    ...(creds ? { app: { appId: creds.appId, privateKey: creds.privateKey } } : {}),
    ...(token ? { token } : {}),
    // One attempt: a debugging replay should show the error, not back off for minutes.
    maxAttempts: 1,
    concurrency: 1,
  });
  const guid = opts.id ?? `receive-${randomUUID()}`;
  try {
    const outcome = await rt.queue.enqueue({ guid, event: opts.event, ...normalized });
    if (outcome === 'duplicate') {
      ctx.stderr.write(`keyloop: delivery ${guid} was already received; pass another --id to run it again\n`);
    }
    await rt.queue.start();
    await rt.queue.drained();
    const row = (await rt.queue.get(guid))!;
    ctx.stdout.write(JSON.stringify({ delivery: guid, event: opts.event, status: row.status, attempts: row.attempts, result: row.result, error: row.error }, null, 2) + '\n');
    if (row.status === 'failed') {
      ctx.stderr.write(`keyloop: delivery failed: ${row.error}\n`);
      return 1;
    }
    return 0;
  } finally {
    await rt.close(1000);
  }
}
