// `keyloop revoke FINGERPRINT [--yes]`: revoke a stored key through its issuer's own API (the detector's revoke
// block), after a confirmation; record who revoked what and when; re-verify. The issue loop then closes the
// key's issues as rotated. Never runs without this explicit command.
import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { CommandContext } from '../context.js';
import { ConfigError, ExitError } from '../../src/core/errors.js';
import { loadOperatorConfig, unusedCwdConfigHint } from '../../src/config/load.js';
import { issuerOverrides } from '../../src/config/normalize.js';
import { defaultDetectorsDir, loadCatalog } from '../../src/detection/load.js';
import { describeRevoke, revokeKey, type RevokeResult } from '../../src/revoke/revoke.js';
import { createLogger } from '../../src/util/logger.js';
import { SecretRegistry } from '../../src/util/redact.js';
import { escapeControls } from '../../src/util/terminal-safe.js';
import { createIssuerClient } from '../../src/verification/issuer-client.js';
import { checkIssuerOverrides } from '../../src/verification/net.js';
import { createVerifier, type Verifier, type VerifyRequest } from '../../src/verification/verify.js';
import type { Store } from '../../src/core/store.js';
import { withCommandStore } from './store.js';

export interface RevokeCommandOptions {
  fingerprint: string;
  /** Do not ask: the operator already decided (scripts, CI). */
  yes: boolean;
  /** Print what would be sent, send nothing. */
  dryRun: boolean;
  note?: string;
  db?: string;
  keyFile?: string;
  config?: string;
  githubUrl?: string;
  detectors?: string;
  allowInsecureIssuers?: boolean;
  format: 'text' | 'json';
}

/** Who is revoking: the OS account and host (the audit trail's "who"). */
function operator(env: Record<string, string | undefined>): string {
  let user = env.USER ?? env.LOGNAME ?? '';
  try {
    user ||= userInfo().username;
  } catch {
    user ||= 'unknown';
  }
  return `${user}@${hostname()}`;
}

/** Records what the issuer says of the key now; dead after a revocation that went through (`by`): revoked. */
async function reverify(store: Store, verifier: Verifier, req: VerifyRequest, by: string | null): Promise<{ status: string; reason: string }> {
  const v = await verifier.verify(req);
  await store.addVerification(req.fingerprint, v);
  if (v.status === 'dead' && by) await store.setSecretStatus(req.fingerprint, 'revoked', { by, via: 'keyloop revoke' });
  return { status: v.status, reason: v.reason };
}

/** What a revocation did, for a person: the request and its answer, then what the issuer says of the key now. */
function revokeText(
  what: string,
  provider: string,
  out: { revoked: boolean; request: string; status: number | null; reason?: string; verification: string | null },
  reason: string,
  pending: string | undefined,
): string {
  const lines = [out.revoked ? `revoked ${what} with ${provider}: ${out.request} answered HTTP ${out.status}` : `NOT revoked ${what}: ${escapeControls(out.reason ?? '')}`];
  if (out.verification) lines.push(`re-verified: ${out.verification}${reason ? ` (${reason})` : ''}`);
  if (out.revoked && out.verification === 'dead') lines.push('the next `keyloop issues` / `keyloop org` run closes its issues as rotated');
  if (out.revoked && out.verification === 'live') lines.push(`the issuer accepted the request but the key still works: check again later${pending ? ` (${pending})` : ''}`);
  return lines.map((l) => l + '\n').join('');
}

export async function revokeCommand(opts: RevokeCommandOptions, ctx: CommandContext): Promise<number> {
  const registry = new SecretRegistry();
  const logger = createLogger({ registry, write: (l) => ctx.stderr.write(l + '\n') });
  const config = await loadOperatorConfig({ explicit: opts.config, cwd: ctx.cwd, env: ctx.env });
  const hint = unusedCwdConfigHint(ctx.cwd, config);
  if (hint) logger.warn(hint);
  const baseUrls = issuerOverrides(config, { flag: opts.githubUrl, env: ctx.env });
  checkIssuerOverrides(baseUrls, !!opts.allowInsecureIssuers);
  const catalog = loadCatalog(opts.detectors ? resolve(ctx.cwd, opts.detectors) : defaultDetectorsDir());
  return withCommandStore(opts, ctx, { mode: 'existing', key: 'load' }, async (store) => {
    const fp = await store.resolveFingerprint(opts.fingerprint);
    const row = (await store.getSecret(fp))!;
    const detector = catalog.byId.get(row.detector);
    if (!detector) throw new ConfigError(`detector ${row.detector} is not in the catalog`, '--detectors');
    const provider = catalog.providers.get(row.provider)?.name ?? row.provider;
    const plan = describeRevoke({ detector, secret: '', parts: {}, fingerprint: fp }, baseUrls);
    if ('error' in plan) {
      const steps = catalog.providers.get(row.provider)?.rotation;
      throw new ConfigError(`${plan.error}${steps ? `\nRotate it by hand:\n${steps}` : ''}`, 'FINGERPRINT');
    }
    const what = `${row.detector} ${row.redacted} (${fp.slice(0, 12)})`;
    const action = `${plan.method} ${plan.endpoint}`;
    if (opts.dryRun) {
      ctx.stdout.write(`would revoke ${what} with ${provider}: ${action}\n`);
      return 0;
    }
    if (!opts.yes) {
      if (!ctx.prompt) throw new ConfigError('revoking needs a confirmation: run it in a terminal, or pass --yes', '--yes');
      const note = detector.def.revoke?.note ? ` ${detector.def.revoke.note}` : '';
      const answer = await ctx.prompt(`Revoke ${escapeControls(what)} with ${provider} (${action})? This cannot be undone.${note} Type "yes" to revoke: `);
      if (answer.trim().toLowerCase() !== 'yes') throw new ExitError(1, 'not revoked');
    }

    const plain = await store.revealSecret(fp);
    registry.add(plain.secret);
    for (const v of Object.values(plain.parts)) registry.add(v);
    const client = createIssuerClient({ registry, timeoutMs: config.verify.timeoutMs, audit: store.auditSink() });
    const by = operator(ctx.env);
    const result: RevokeResult = await revokeKey({ detector, secret: plain.secret, parts: plain.parts, fingerprint: fp }, { client, baseUrls });
    await store.addEvent({
      kind: result.ok ? 'revoked-by-keyloop' : 'revoke-failed',
      fingerprint: fp,
      detail: {
        by,
        issuer: result.issuer,
        method: result.method,
        endpoint: registry.scrub(result.endpoint),
        status: result.status,
        ...(result.ok ? {} : { reason: registry.scrub(result.reason) }),
        ...(opts.note ? { note: opts.note } : {}),
      },
    });

    // Whatever the issuer answered, ask again now: the answer is what closes (or keeps open) the issue.
    let status: string | null = null;
    let reason = '';
    if (detector.def.verify) {
      const verifier = createVerifier({ baseUrls, allowInsecure: !!opts.allowInsecureIssuers, registry, logger, client, timeoutMs: config.verify.timeoutMs });
      ({ status, reason } = await reverify(store, verifier, { detector, secret: plain.secret, parts: plain.parts, fingerprint: fp }, result.ok ? by : null));
    }
    const out = {
      fingerprint: fp,
      detector: row.detector,
      revoked: result.ok,
      issuer: result.issuer,
      request: `${result.method} ${registry.scrub(result.endpoint)}`,
      status: result.status,
      ...(result.ok ? {} : { reason: registry.scrub(result.reason) }),
      by,
      verification: status,
    };
    if (opts.format === 'json') ctx.stdout.write(JSON.stringify(out, null, 2) + '\n');
    else ctx.stdout.write(revokeText(escapeControls(what), provider, out, reason ? escapeControls(registry.scrub(reason)) : '', detector.def.revoke?.pending));
    return result.ok ? 0 : 1;
  });
}
