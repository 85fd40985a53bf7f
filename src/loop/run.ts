// The issue loop, run at the end of every `keyloop org` run (and by the App): re-verify open secrets, rebuild
// what GitHub knows (issues found by marker), attribute owners, plan, then execute the plan and log every action.
import type { Verification } from '../core/model.js';
import { riskOf } from '../core/risk.js';
import { AUDIT_SENDING, type AuditSink, type Clock, type LoopTracker, type TrackedIssue } from '../core/ports.js';
import { HostError } from '../core/errors.js';
import type { Catalog } from '../detection/types.js';
import type { RepoRow, SecretRow, Store } from '../core/store.js';
import { Attributor } from '../attribution/owners.js';
import { loadCodeowners, type CodeownersFile } from '../attribution/codeowners.js';
import { defaultRef, readMirrorFile } from '../attribution/mirror-files.js';
import { ISSUE_LABEL, parseMarker } from '../notify/issue-body.js';
import { silentLogger, type Logger } from '../util/logger.js';
import type { SecretRegistry } from '../util/redact.js';
import type { LoopConfig } from '../core/loop-config.js';
import { execute } from './execute.js';
import { describeAction, issueRepoFor, plan, wantsIssue } from './plan.js';
import { buildSubjects, loadPairs, pairKey, type KnownIssues, type Pair } from './subjects.js';
import type { Action, Subject } from './types.js';

export { ISSUE_CLAIM_STALE_MS } from './execute.js';

/** Re-checks one stored secret with its issuer; null when it cannot be checked (no detector / no verify block). */
export type Reverify = (req: { fingerprint: string; detector: string; secret: string; parts: Record<string, string> }) => Promise<Verification | null>;

export interface LoopDeps {
  store: Store;
  tracker: LoopTracker;
  config: LoopConfig;
  clock: Clock;
  registry: SecretRegistry;
  logger?: Logger;
  /** Omit to plan on the verifications already stored (e.g. `--no-verify`). */
  reverify?: Reverify;
  /** Checks at or after this instant count as this run's: such secrets are not checked again. */
  verifiedSince?: string;
  /** Provider names and rotation steps for issue bodies. */
  catalog?: Catalog;
  /** CODEOWNERS of a repo; default: read from its mirror at the default branch. */
  codeowners?: (repo: RepoRow) => Promise<CodeownersFile | null>;
  dryRun?: boolean;
  runId?: number;
  /** Only these leaking repos (owner/name); default every repo with findings. */
  repos?: string[];
  /**
   * Who claims the issues this run opens (default host:pid). A job's retries use the same name, so a retry may
   * finish what its killed predecessor claimed; another job racing on the same (secret, repo) leaves it alone.
   */
  claimant?: string;
  /** The audit log: the policy's POST /credentials/revoke is recorded here (revokeUrl: where it goes). */
  audit?: AuditSink;
  revokeUrl?: string;
}

export interface ExecutedAction {
  action: Action;
  ok: boolean;
  detail?: string;
}

export interface LoopResult {
  actions: Action[];
  executed: ExecutedAction[];
  /** One line per planned action (what --dry-run prints). */
  lines: string[];
  reverified: number;
  warnings: string[];
}

const TOKEN_REVOCABLE = /^(ghp_|gho_|ghu_|ghr_|github_pat_)/;

/**
 * Checks each secret with its issuer unless it was checked at or after `since`, and stores the result (or hands
 * it to `record`, for a dry run). Plaintext is registered with the redactor before anything can print it. A secret
 * that cannot be revealed or whose check throws gets a warning, not a failure.
 */
export async function reverifySecrets(
  store: Store,
  secrets: Pick<SecretRow, 'fingerprint' | 'detector'>[],
  deps: { reverify: Reverify; registry: SecretRegistry; since: string },
  record?: (fingerprint: string, v: Verification) => void,
): Promise<{ reverified: number; warnings: string[] }> {
  const warnings: string[] = [];
  let reverified = 0;
  await Promise.all(
    secrets.map(async ({ fingerprint: fp, detector }) => {
      const last = await store.latestVerification(fp);
      if (last && last.checkedAt >= deps.since) return;
      let plain: { secret: string; parts: Record<string, string> };
      try {
        plain = await store.revealSecret(fp);
      } catch (err) {
        warnings.push(`cannot re-verify ${fp.slice(0, 12)}: ${(err as Error).message}`);
        return;
      }
      deps.registry.add(plain.secret);
      for (const v of Object.values(plain.parts)) deps.registry.add(v);
      let v: Verification | null;
      try {
        v = await deps.reverify({ fingerprint: fp, detector, secret: plain.secret, parts: plain.parts });
      } catch (err) {
        // A verifier bug must not stop the loop: this secret simply gets no check this run.
        warnings.push(`re-verifying ${fp.slice(0, 12)} failed: ${deps.registry.scrub((err as Error).message)}`);
        return;
      }
      if (!v) return;
      if (record) record(fp, v);
      else await store.addVerification(fp, v);
      reverified++;
    }),
  );
  return { reverified, warnings };
}

export async function runIssueLoop(deps: LoopDeps): Promise<LoopResult> {
  const { store, clock } = deps;
  const logger = deps.logger ?? silentLogger;
  const warnings: string[] = [];
  const config = await withVisibleIssuesRepo(deps, warnings);
  // Dry runs do not store their checks: planning sees them through this overlay.
  const overlay = new Map<string, Verification>();
  const onlyRepos = deps.repos ? new Set(deps.repos) : null;
  const pairs = await loadPairs(store, onlyRepos);
  // 1. Re-verify every tracked secret not already checked in this run.
  const reverified = deps.reverify ? await reverifyPairs(pairs, deps, deps.reverify, overlay, warnings) : 0;
  // 2. What GitHub knows: every keyloop issue in every repo an issue could live in, matched by marker.
  const known = await listKnownIssues(pairs, deps, config, onlyRepos, warnings);
  // 3. Subjects.
  const subjects = await buildSubjects(pairs, { store, config, ...(deps.catalog ? { catalog: deps.catalog } : {}), known, overlay });
  // 4. Owners, only for subjects about to get an issue (attribution costs API calls).
  const ownerSources = await attributeOwners(subjects, pairs, deps, config, warnings);
  // 5. Plan, highest risk first (issues open, and the run spends its API budget, in that order); 6. execute.
  rankByRisk(subjects, pairs, clock);
  const actions = plan(subjects, config, clock.now());
  const lines = actions.map((a) => deps.registry.scrub(describeAction(a)));
  for (const a of actions) if (a.kind === 'warn') warnings.push(a.message);
  if (deps.dryRun) return { actions, executed: [], lines, reverified, warnings };
  const executed = await executeActions(actions, deps, ownerSources, warnings);
  for (const w of warnings) logger.warn(deps.registry.scrub(w));
  return { actions, executed, lines, reverified, warnings };
}

/** The config to plan with: the security repo receives issues about public leaks, so if it is public itself (or missing), it must not. */
async function withVisibleIssuesRepo(deps: LoopDeps, warnings: string[]): Promise<LoopConfig> {
  const config = deps.config;
  if (!config.issues.enabled || !config.issues.repo) return config;
  let priv: boolean | null = null;
  try {
    priv = await deps.tracker.repoIsPrivate(config.issues.repo);
  } catch (err) {
    warnings.push(`cannot check issues.repo ${config.issues.repo}: ${(err as Error).message}`);
  }
  if (priv === true) return config;
  warnings.push(`issues.repo ${config.issues.repo} is ${priv === false ? 'public' : 'not visible'}: leaks in public repos get no issue this run`);
  return { ...config, issues: { ...config.issues, repo: undefined } };
}

/** Re-verifies the open and revoked secrets of the pairs (a dry run's checks go to `overlay`); how many were checked. */
async function reverifyPairs(pairs: ReadonlyMap<string, Pair>, deps: LoopDeps, reverify: Reverify, overlay: Map<string, Verification>, warnings: string[]): Promise<number> {
  const tracked = new Map<string, SecretRow>();
  for (const p of pairs.values()) if ((p.secret.status === 'open' || p.secret.status === 'revoked') && !tracked.has(p.secret.fingerprint)) tracked.set(p.secret.fingerprint, p.secret);
  const r = await reverifySecrets(
    deps.store,
    [...tracked.values()],
    { reverify, registry: deps.registry, since: deps.verifiedSince ?? deps.clock.now().toISOString() },
    deps.dryRun ? (fp, v) => void overlay.set(fp, v) : undefined,
  );
  warnings.push(...r.warnings);
  return r.reverified;
}

/** Every keyloop issue in every repo an issue of these pairs could live in (or already lives in), by marker. */
async function listKnownIssues(pairs: ReadonlyMap<string, Pair>, deps: LoopDeps, config: LoopConfig, onlyRepos: ReadonlySet<string> | null, warnings: string[]): Promise<KnownIssues> {
  const issueRepos = new Set<string>();
  for (const p of pairs.values()) {
    const target = issueRepoFor({ repo: p.repo.fullName, repoPrivate: p.repo.private }, config);
    if (target) issueRepos.add(target);
  }
  for (const i of await deps.store.listIssues()) if (!onlyRepos || onlyRepos.has(i.subjectRepo ?? i.repo)) issueRepos.add(i.repo);
  const remote = new Map<string, TrackedIssue[]>();
  const listed = new Set<string>();
  if (!config.issues.enabled) return { remote, listed };
  for (const repo of [...issueRepos].sort()) {
    try {
      for (const t of await deps.tracker.listIssues(repo, [ISSUE_LABEL])) {
        const m = parseMarker(t.body);
        if (!m) continue;
        const k = pairKey(m.fingerprint, m.repo ?? repo);
        remote.set(k, [...(remote.get(k) ?? []), t]);
      }
      listed.add(repo);
    } catch (err) {
      warnings.push(`${(err as Error).message}; issues in ${repo} are left alone this run`);
    }
  }
  return { remote, listed };
}

/** Owners of the subjects about to get a new issue (set on each subject); who named each owner, by pairKey. */
async function attributeOwners(subjects: Subject[], pairs: ReadonlyMap<string, Pair>, deps: LoopDeps, config: LoopConfig, warnings: string[]): Promise<Map<string, Map<string, string>>> {
  const { store } = deps;
  const ownerSources = new Map<string, Map<string, string>>();
  const attributor = new Attributor(
    deps.tracker,
    { get: (e) => store.getEmailLogin(e), set: (e, login) => (deps.dryRun ? undefined : store.setEmailLogin(e, login)) },
    config.owners,
    deps.clock,
  );
  const codeownersOf = codeownersReader(deps.codeowners ?? mirrorCodeowners);
  for (const s of subjects) {
    if (s.issue || !config.issues.enabled || !wantsIssue(s, config)) continue;
    const issueRepo = issueRepoFor(s, config);
    if (!issueRepo) continue;
    const pair = pairs.get(pairKey(s.fingerprint, s.repo))!;
    try {
      const a = await attributor.attribute({
        repo: s.repo,
        issueRepo,
        locations: pair.locations.map((l) => ({ commit: l.commit, author: l.authorEmail !== null ? { name: l.authorName ?? '', email: l.authorEmail } : null, date: l.date, path: l.path })),
        codeowners: await codeownersOf(pair.repo),
      });
      s.owners = {
        assignees: a.assignees.map((x) => x.login),
        candidates: a.candidates.map((x) => x.login),
        teams: a.teams.map((t) => t.team),
        notes: a.notes,
      };
      ownerSources.set(pairKey(s.fingerprint, s.repo), new Map([...a.candidates.map((c) => [c.login, c.source] as const), ...a.teams.map((t) => [t.team, t.source] as const)]));
    } catch (err) {
      warnings.push(`owners of ${s.fingerprint.slice(0, 12)} in ${s.repo}: ${(err as Error).message}`);
    }
  }
  return ownerSources;
}

/** CODEOWNERS once per repo; a repo whose file cannot be read has none. */
function codeownersReader(read: (repo: RepoRow) => Promise<CodeownersFile | null>): (repo: RepoRow) => Promise<CodeownersFile | null> {
  const cache = new Map<string, Promise<CodeownersFile | null>>();
  return (repo) => {
    let c = cache.get(repo.fullName);
    if (!c) {
      c = read(repo).catch(() => null);
      cache.set(repo.fullName, c);
    }
    return c;
  };
}

/** Each subject's risk, then the subjects sorted by it, highest first (ties by fingerprint, then repo). */
function rankByRisk(subjects: Subject[], pairs: ReadonlyMap<string, Pair>, clock: Clock): void {
  const reposOf = new Map<string, number>();
  for (const p of pairs.values()) reposOf.set(p.secret.fingerprint, (reposOf.get(p.secret.fingerprint) ?? 0) + 1);
  for (const s of subjects) {
    const v = s.verifications.at(-1) ?? null;
    const dates = s.locations.map((l) => l.date).filter((d): d is string => !!d).sort();
    s.risk = riskOf({
      status: v?.status ?? null,
      reach: v?.reach ?? null,
      confidence: v?.status === 'live' ? 'high' : s.confidence,
      triage: s.secretStatus,
      publicRepo: !s.repoPrivate,
      firstSeen: dates[0] ?? null,
      locations: s.locations.length,
      repos: reposOf.get(s.fingerprint) ?? 1,
      now: clock.now(),
    });
  }
  subjects.sort((a, b) => b.risk!.score - a.risk!.score || a.fingerprint.localeCompare(b.fingerprint) || a.repo.localeCompare(b.repo));
}

/** Every action in plan order, each logged or warned about; token revocations last, in one batch. */
async function executeActions(actions: Action[], deps: LoopDeps, ownerSources: Map<string, Map<string, string>>, warnings: string[]): Promise<ExecutedAction[]> {
  const logger = deps.logger ?? silentLogger;
  const executed: ExecutedAction[] = [];
  const revoke: Action[] = [];
  for (const a of actions) {
    if (a.kind === 'revoke-token') {
      revoke.push(a);
      continue;
    }
    try {
      const detail = await execute(a, deps, ownerSources.get(pairKey(a.fingerprint, a.subjectRepo)));
      executed.push({ action: a, ok: true, ...(detail ? { detail } : {}) });
      logger.info(deps.registry.scrub(describeAction(a)));
    } catch (err) {
      const msg = deps.registry.scrub((err as Error).message);
      executed.push({ action: a, ok: false, detail: msg });
      warnings.push(`${describeAction(a)} failed: ${msg}`);
    }
  }
  if (revoke.length) executed.push(...(await executeRevocations(revoke, deps, warnings)));
  return executed;
}

async function mirrorCodeowners(repo: RepoRow): Promise<CodeownersFile | null> {
  if (!repo.mirrorPath) return null;
  const ref = await defaultRef(repo.mirrorPath, repo.defaultBranch);
  return (await loadCodeowners((p) => readMirrorFile(repo.mirrorPath!, ref, p)))?.file ?? null;
}

async function executeRevocations(actions: Action[], deps: LoopDeps, warnings: string[]): Promise<ExecutedAction[]> {
  const fps = [...new Set(actions.map((a) => a.fingerprint))];
  const tokens: { fp: string; token: string }[] = [];
  for (const fp of fps) {
    try {
      const { secret } = await deps.store.revealSecret(fp);
      deps.registry.add(secret);
      if (TOKEN_REVOCABLE.test(secret)) tokens.push({ fp, token: secret });
    } catch (err) {
      warnings.push(`cannot read ${fp.slice(0, 12)} for revocation: ${(err as Error).message}`);
    }
  }
  if (tokens.length === 0) return actions.map((action) => ({ action, ok: false, detail: 'not a token format GitHub revokes' }));
  const audited = async (status: number | null, outcome: string) => {
    for (const t of tokens)
      await deps.audit?.({
        at: deps.clock.now().toISOString(),
        purpose: 'revoke',
        issuer: 'github',
        fingerprint: t.fp,
        method: 'POST',
        url: deps.revokeUrl ?? '/credentials/revoke',
        status,
        outcome: deps.registry.scrub(outcome),
        durationMs: 0,
      });
  };
  const failed = (msg: string) => {
    warnings.push(`revocation failed: ${msg}`);
    return actions.map((action) => ({ action, ok: false, detail: msg }));
  };
  const why = (err: unknown) => deps.registry.scrub(err instanceof Error ? err.message : String(err));
  // Recorded before the tokens go out; if the log cannot say so, they are not sent.
  try {
    await audited(null, AUDIT_SENDING);
  } catch (err) {
    return failed(`not sent: the audit log cannot record the call (${why(err)})`);
  }
  let answer: { status: number | null; outcome: string; error?: string } = { status: 202, outcome: `answered (batch of ${tokens.length})` };
  try {
    await deps.tracker.revokeCredentials(tokens.map((t) => t.token));
  } catch (err) {
    answer = { status: err instanceof HostError ? (err.status ?? null) : null, outcome: why(err), error: why(err) };
  }
  try {
    await audited(answer.status, answer.outcome);
  } catch (err) {
    answer.error ??= `answer not used: the audit log cannot record it (${why(err)})`;
  }
  if (answer.error) return failed(answer.error);
  for (const t of tokens) {
    await deps.store.addEvent({ kind: 'token-revoke-requested', fingerprint: t.fp, ...(deps.runId !== undefined ? { runId: deps.runId } : {}), detail: { api: 'POST /credentials/revoke' } });
  }
  return actions.map((a) => ({ action: a, ok: tokens.some((t) => t.fp === a.fingerprint) }));
}

/** Re-verification through the verifier for detectors of `catalog`; secrets of unknown detectors are not checked. */
export function catalogReverify(verifier: { verify(req: { detector: NonNullable<ReturnType<Catalog['byId']['get']>>; secret: string; parts: Record<string, string>; fingerprint: string }): Promise<Verification> }, catalog: Catalog): Reverify {
  return async (req) => {
    const detector = catalog.byId.get(req.detector);
    if (!detector?.def.verify) return null;
    return verifier.verify({ detector, secret: req.secret, parts: req.parts, fingerprint: req.fingerprint });
  };
}
