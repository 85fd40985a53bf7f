// One check of one key with its own issuer, uncached and never throwing: which base URL it may go to, the request
// (declarative or code) in the issuer's queue, and, when asked, what the key can reach.
import type { Reach } from '../core/model.js';
import type { HttpVerify, VerifySpec } from '../core/verify-spec.js';
import type { LoadedDetector } from '../detection/types.js';
import { askReach, type ApprovedBase, type ReachAsker } from './ask-reach.js';
import { Inconclusive } from './http-client.js';
import { buildRequest, judge, type Outcome } from './http.js';
import { type CodeVerifier, verifyWith } from './issuers/types.js';
import { checkDataDerivedUrl, type Lookup } from './net.js';
import { encodeHostValue, placeholders, render, UnsafeValueError } from './template.js';

/** A check's answer, with what the key can do when reach ran. */
export type Checked = Outcome & { reach?: Reach };

export interface Checker extends ReachAsker {
  lookup: Lookup;
  /** --allow-insecure-issuers: loopback answers for data-derived hosts (tests). */
  allowInsecure: boolean;
  /** --verify-unsafe: also run checks whose request has a side effect. */
  allowUnsafe: boolean;
}

/** The key to check, as the detector found it. */
export interface CheckedKey {
  detector: LoadedDetector;
  secret: string;
  parts: Record<string, string>;
  fingerprint?: string;
}

/** One check, no cache. Never throws. */
export async function checkKey(checker: Checker, key: CheckedKey): Promise<Checked> {
  const { detector, secret, parts, fingerprint } = key;
  // a hash proves nothing to an issuer and is never sent anywhere, whatever a catalog file says
  if (detector.def.class === 'password-hash') return { status: 'unknown', reason: 'not verifiable: a password hash' };
  const spec: VerifySpec | undefined = detector.def.verify;
  if (!spec) return { status: 'unknown', reason: 'not verifiable: detector has no verify block' };
  if (spec.unsafe && !checker.allowUnsafe) {
    const skipped: Outcome = { status: 'unknown', reason: `skipped: side effects (${spec.unsafe})` };
    const reach = await askReach(checker, { detector, secret, parts, outcome: skipped, approved: null, fingerprint });
    return reach ? { ...skipped, reach } : skipped;
  }
  let code: CodeVerifier | undefined;
  if (spec.kind === 'code') {
    code = checker.verifiers.get(spec.verifier);
    if (!code) return { status: 'unknown', reason: `not verifiable: no code verifier named ${spec.verifier}` };
  }
  const template = spec.kind === 'http' ? spec.base_url : (spec.base_url ?? code!.baseUrl);
  const allowed = spec.kind === 'http' ? spec.allowed_hosts : code!.allowedHosts;
  let approved: ApprovedBase;
  let outcome: Outcome;
  try {
    const resolved = await resolveBase(checker, spec.issuer, template, allowed, parts);
    if ('status' in resolved) return resolved;
    approved = resolved;
    outcome = await askIssuer(checker, spec, code, approved, key);
  } catch (err) {
    // A bug or bad key material (e.g. a PEM that does not parse) is not an answer from the issuer.
    const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { status: 'unknown', reason: `error: ${msg}` };
  }
  if (outcome.status === 'dead') return outcome;
  const reach = await askReach(checker, { detector, secret, parts, outcome, approved, fingerprint });
  return reach ? withReach(detector, outcome, reach) : outcome;
}

/** The approved base URL, or an Outcome saying why nothing will be sent. */
async function resolveBase(
  checker: Checker,
  issuer: string,
  template: string,
  allowedHosts: readonly string[] | undefined,
  parts: Record<string, string>,
): Promise<ApprovedBase | Outcome> {
  const override = checker.baseUrls[issuer];
  if (override) return { base: override };
  const ph = placeholders(template);
  if (ph.secret) return { status: 'unknown', reason: 'refused: base URL may not contain the secret' };
  if (ph.parts.length === 0) {
    if (!template.startsWith('https://')) return { status: 'unknown', reason: 'refused: official base URL is not https' };
    return { base: template };
  }
  let rendered;
  try {
    rendered = render(template, { secret: '', parts }, encodeHostValue);
  } catch (err) {
    if (err instanceof UnsafeValueError) return { status: 'unknown', reason: `refused: ${err.message}` };
    throw err;
  }
  if (!rendered.ok) return { status: 'unknown', reason: `missing part ${rendered.missing}` };
  let url: URL;
  try {
    url = new URL(rendered.value);
  } catch {
    return { status: 'unknown', reason: 'refused: base URL from scanned data is not a URL' };
  }
  if (!allowedHosts?.length) return { status: 'unknown', reason: 'refused: data-derived host without allowed_hosts' };
  const check = await checkDataDerivedUrl(url, allowedHosts, checker.lookup, { allowLoopback: checker.allowInsecure });
  if (!check.ok) return { status: 'unknown', reason: check.reason };
  return { base: rendered.value, pin: check.pin };
}

/** The issuer's answer to the verify request (declarative or code), sent in its queue. Inconclusive is unknown. */
function askIssuer(checker: Checker, spec: VerifySpec, code: CodeVerifier | undefined, approved: ApprovedBase, key: CheckedKey): Promise<Outcome> {
  const { client, clock, registry } = checker;
  const { secret, parts, fingerprint } = key;
  const { issuer } = spec;
  const { base, pin } = approved;
  const call = { purpose: 'verify' as const, ...(fingerprint ? { fingerprint } : {}), ...(pin ? { pin } : {}) };
  return client.schedule(
    issuer,
    async (): Promise<Outcome> => {
      try {
        if (spec.kind === 'http') {
          const built = buildRequest(spec, base, { secret, parts });
          if (!built.ok) return { status: 'unknown', reason: built.reason };
          const res = await client.send(issuer, base, built.request, { ...call, passServerErrors: true });
          if (res.status < 500) return judge(spec, res);
          // A 5xx is an outage unless a rule names it together with a body (Mandrill answers 500 Invalid_Key).
          const o = judge(serverErrorRules(spec), res);
          return o.status === 'unknown' ? { status: 'unknown', reason: `issuer error: HTTP ${res.status}` } : o;
        }
        return await verifyWith(code!, {
          secret,
          parts,
          baseUrl: base,
          send: (req) => client.send(issuer, base, req, call),
          now: () => clock.now(),
          sensitive: (v) => registry.add(v),
        });
      } catch (err) {
        if (err instanceof Inconclusive) return { status: 'unknown', reason: err.reason };
        throw err;
      }
    },
    (seconds) => ({ status: 'unknown', reason: `not sent: ${issuer} rate limited for ${seconds} s more` }),
  );
}

function serverErrorRules(spec: HttpVerify): HttpVerify {
  const bodyRules = (rules: HttpVerify['live']) => rules.filter((r) => r.body_contains !== undefined || r.json !== undefined);
  return { ...spec, live: bodyRules(spec.live), dead: bodyRules(spec.dead) };
}

/** The outcome with its reach; a reach that located the key on another host of its issuer makes it live. */
function withReach(detector: LoadedDetector, outcome: Outcome, reach: Reach): Checked {
  const rs = detector.def.reach;
  const located = rs?.kind === 'http' && rs.locate ? reach.facts[rs.locate.fact] : undefined;
  if (outcome.status === 'unknown' && typeof located === 'string') {
    // The key answered on another host of its issuer (a Datadog key of the EU site): it is live there.
    return { status: 'live', reason: `the key is valid on ${located} (found by reach; the verify host said: ${outcome.reason})`, ...(outcome.identity ? { identity: outcome.identity } : {}), reach };
  }
  return { ...outcome, reach };
}
