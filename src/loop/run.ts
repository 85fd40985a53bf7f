// The issue loop, run at the end of every `keyloop org` run (and by the App): re-verify open secrets, rebuild
// what GitHub knows (issues found by marker), attribute owners, plan, then execute the plan and log every action.
import { hostname } from 'node:os';
import type { Verification } from '../core/model.js';
import { riskOf } from '../core/risk.js';
import type { AuditSink, Clock, LoopTracker, TrackedIssue } from '../core/ports.js';
import { HostError } from '../core/errors.js';
import type { Catalog } from '../detection/types.js';
import type { EventRow, IssueRow, LocationRow, RepoRow, SecretRow, Store } from '../core/store.js';
import { Attributor } from '../attribution/owners.js';
import { loadCodeowners, type CodeownersFile } from '../attribution/codeowners.js';
import { defaultRef, readMirrorFile } from '../attribution/mirror-files.js';
import { ACCEPTED_RISK_LABEL, FALSE_POSITIVE_LABEL, ISSUE_LABEL, locationKey, markers, parseMarker, renderTriageComment } from '../notify/issue-body.js';
import { silentLogger, type Logger } from '../util/logger.js';
import type { SecretRegistry } from '../util/redact.js';
import type { LoopConfig } from '../core/loop-config.js';
import { describeAction, issueRepoFor, plan, wantsIssue } from './plan.js';
import type { Action, KnownIssue, Subject } from './types.js';

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

/** A claim whose holder has not recorded its issue after this long is taken over (the holder died meanwhile). */
export const ISSUE_CLAIM_STALE_MS = 10 * 60_000;

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
  let config = deps.config;
  const logger = deps.logger ?? silentLogger;
  const warnings: string[] = [];
  // The security repo receives issues about public leaks: if it is public itself (or missing), it must not.
  if (config.issues.enabled && config.issues.repo) {
    let priv: boolean | null = null;
    try {
      priv = await deps.tracker.repoIsPrivate(config.issues.repo);
    } catch (err) {
      warnings.push(`cannot check issues.repo ${config.issues.repo}: ${(err as Error).message}`);
    }
    if (priv !== true) {
      warnings.push(`issues.repo ${config.issues.repo} is ${priv === false ? 'public' : 'not visible'}: leaks in public repos get no issue this run`);
      config = { ...config, issues: { ...config.issues, repo: undefined } };
    }
  }
  // Dry runs do not store their checks: planning sees them through this overlay.
  const verificationsOverlay = new Map<string, Verification>();
  const ownerSources = new Map<string, Map<string, string>>();
  const secrets = await store.listSecrets();
  const repos = new Map((await store.listRepos()).map((r) => [r.fullName, r]));
  const onlyRepos = deps.repos ? new Set(deps.repos) : null;

  // (secret, leaking repo) pairs from the stored locations.
  const byPair = new Map<string, { secret: SecretRow; repo: RepoRow; locations: LocationRow[] }>();
  const secretByFp = new Map(secrets.map((s) => [s.fingerprint, s]));
  for (const l of await store.locations()) {
    if (onlyRepos && !onlyRepos.has(l.repo)) continue;
    const secret = secretByFp.get(l.fingerprint);
    const repo = repos.get(l.repo);
    if (!secret || !repo) continue;
    const k = pairKey(l.fingerprint, l.repo);
    let p = byPair.get(k);
    if (!p) byPair.set(k, (p = { secret, repo, locations: [] }));
    p.locations.push(l);
  }

  // 1. Re-verify every tracked secret not already checked in this run.
  let reverified = 0;
  if (deps.reverify) {
    const fps = [...new Set([...byPair.values()].filter((p) => p.secret.status === 'open' || p.secret.status === 'revoked').map((p) => p.secret.fingerprint))];
    const r = await reverifySecrets(
      store,
      fps.map((fp) => secretByFp.get(fp)!),
      { reverify: deps.reverify, registry: deps.registry, since: deps.verifiedSince ?? clock.now().toISOString() },
      deps.dryRun ? (fp, v) => void verificationsOverlay.set(fp, v) : undefined,
    );
    reverified = r.reverified;
    warnings.push(...r.warnings);
  }

  // 2. What GitHub knows: every keyloop issue in every repo an issue could live in, matched by marker.
  const issueRepos = new Set<string>();
  for (const p of byPair.values()) {
    const target = issueRepoFor({ repo: p.repo.fullName, repoPrivate: p.repo.private }, config);
    if (target) issueRepos.add(target);
  }
  for (const i of await store.listIssues()) if (!onlyRepos || onlyRepos.has(i.subjectRepo ?? i.repo)) issueRepos.add(i.repo);
  const remote = new Map<string, TrackedIssue[]>();
  const listed = new Set<string>();
  if (config.issues.enabled) {
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
  }

  // 3. Subjects.
  // Only the kinds the planner reads: verification events alone grow by one per secret per run.
  const events = (
    await Promise.all(['issue-opened', 'issue-adopted', 'commented', 'issue-reminded', 'token-revoke-requested', 'revoked-by-keyloop'].map((kind) => store.events({ kind })))
  )
    .flat()
    .sort((a, b) => a.id - b.id);
  const catalogProvider = (id: string) => deps.catalog?.providers.get(id);
  const subjects: Subject[] = [];
  for (const [k, p] of byPair) {
    const fp = p.secret.fingerprint;
    const subjectRepo = p.repo.fullName;
    const target = issueRepoFor({ repo: subjectRepo, repoPrivate: p.repo.private }, config);
    const stored = await store.issuesFor(fp, subjectRepo);
    // Issues in a repo we could not list this run must not be acted on (or duplicated).
    if (config.issues.enabled && (stored.some((i) => !listed.has(i.repo)) || (target && !listed.has(target)))) continue;
    const issue = pickIssue(remote.get(k) ?? [], stored);
    const provider = catalogProvider(p.secret.provider);
    const det = deps.catalog?.byId.get(p.secret.detector);
    const locations = p.locations.map((l) => {
      const bl = { commit: l.commit, path: l.path, line: l.line, date: l.date, authorName: l.authorName };
      return { ...bl, key: locationKey(bl) };
    });
    const issueEvents = issue ? eventsOfIssue(events, fp, issue) : [];
    const reported = new Set<string>();
    if (issue && !issue.inStore) for (const l of locations) reported.add(l.key);
    for (const e of issueEvents) for (const key of (e.detail?.locations as string[] | undefined) ?? []) reported.add(key);
    const verifications = (await store.verifications(fp)).map(({ id: _id, ...v }) => v);
    const overlay = verificationsOverlay.get(fp);
    if (overlay) verifications.push(overlay);
    subjects.push({
      fingerprint: fp,
      detector: p.secret.detector,
      name: p.secret.name,
      provider: p.secret.provider,
      providerName: provider?.name ?? p.secret.provider,
      severity: p.secret.severity,
      redacted: p.secret.redacted,
      repo: subjectRepo,
      detectedAt: p.secret.detectedAt,
      ...(provider?.rotation ? { rotation: provider.rotation } : {}),
      references: [...(provider?.references ?? []), ...(det?.def.references ?? [])].slice(0, 5),
      ...(det?.def.revoke ? { revocable: true } : {}),
      ...(provider?.revoke_page ? { revokePage: provider.revoke_page } : {}),
      secretStatus: p.secret.status,
      confidence: p.secret.confidence,
      repoPrivate: p.repo.private,
      locations,
      verifications,
      issue,
      reportedLocations: reported,
      lastReminderAt: issueEvents.filter((e) => e.kind === 'issue-reminded').at(-1)?.at ?? null,
      revokeRequested: events.some((e) => e.kind === 'token-revoke-requested' && e.fingerprint === fp),
      ...revokedBy(events, fp),
    });
  }

  // 4. Owners, only for subjects about to get an issue (attribution costs API calls).
  const attributor = new Attributor(
    deps.tracker,
    { get: (e) => store.getEmailLogin(e), set: (e, login) => (deps.dryRun ? undefined : store.setEmailLogin(e, login)) },
    config.owners,
    clock,
  );
  const codeownersCache = new Map<string, Promise<CodeownersFile | null>>();
  const codeownersOf = (repo: RepoRow) => {
    let c = codeownersCache.get(repo.fullName);
    if (!c) {
      c = (deps.codeowners ?? mirrorCodeowners)(repo).catch(() => null);
      codeownersCache.set(repo.fullName, c);
    }
    return c;
  };
  for (const s of subjects) {
    if (s.issue || !config.issues.enabled || !wantsIssue(s, config)) continue;
    const issueRepo = issueRepoFor(s, config);
    if (!issueRepo) continue;
    const pair = byPair.get(pairKey(s.fingerprint, s.repo))!;
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

  // 5. Plan, highest risk first (issues open, and the run spends its API budget, in that order); 6. execute.
  const reposOf = new Map<string, number>();
  for (const p of byPair.values()) reposOf.set(p.secret.fingerprint, (reposOf.get(p.secret.fingerprint) ?? 0) + 1);
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
  const actions = plan(subjects, config, clock.now());
  const lines = actions.map((a) => deps.registry.scrub(describeAction(a)));
  for (const a of actions) if (a.kind === 'warn') warnings.push(a.message);
  if (deps.dryRun) return { actions, executed: [], lines, reverified, warnings };

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
  for (const w of warnings) logger.warn(deps.registry.scrub(w));
  return { actions, executed, lines, reverified, warnings };
}

/** The last `keyloop revoke` of this secret, as the subject carries it. */
function revokedBy(events: EventRow[], fp: string): { revokedByKeyloop?: { by: string; at: string } } {
  const e = events.filter((x) => x.kind === 'revoked-by-keyloop' && x.fingerprint === fp).at(-1);
  return e ? { revokedByKeyloop: { by: typeof e.detail?.by === 'string' ? e.detail.by : 'someone', at: e.at } } : {};
}

function pairKey(fp: string, repo: string): string {
  return `${fp}\0${repo}`;
}

/** GitHub's view wins over the store's; several issues for one pair (a past duplicate): the open one, else the newest. */
function pickIssue(remote: TrackedIssue[], stored: IssueRow[]): KnownIssue | null {
  const inStore = (t: TrackedIssue) => stored.find((s) => s.repo === t.repo && s.number === t.number);
  const sorted = [...remote].sort((a, b) => (a.state === b.state ? b.number - a.number : a.state === 'open' ? -1 : 1));
  const t = sorted.find((x) => inStore(x)) ?? sorted[0];
  if (t) {
    const s = inStore(t);
    return {
      repo: t.repo,
      number: t.number,
      state: t.state,
      stateReason: t.stateReason,
      labels: t.labels,
      assignees: t.assignees,
      url: t.url,
      inStore: !!s,
      ...(s && s.state !== t.state ? { storeState: s.state } : {}),
    };
  }
  const s = stored.at(-1);
  if (!s) return null;
  // Known only to the store (deleted on GitHub, or listing filtered it out): keep what we recorded.
  return { repo: s.repo, number: s.number, state: s.state, stateReason: s.stateReason, labels: [ISSUE_LABEL], assignees: s.assignees, url: s.url, inStore: true };
}

function eventsOfIssue(events: EventRow[], fp: string, issue: { repo: string; number: number }): EventRow[] {
  const tag = `${issue.repo}#${issue.number}`;
  return events.filter((e) => e.fingerprint === fp && e.detail?.issue === tag);
}

async function mirrorCodeowners(repo: RepoRow): Promise<CodeownersFile | null> {
  if (!repo.mirrorPath) return null;
  const ref = await defaultRef(repo.mirrorPath, repo.defaultBranch);
  return (await loadCodeowners((p) => readMirrorFile(repo.mirrorPath!, ref, p)))?.file ?? null;
}

async function execute(a: Action, deps: LoopDeps, sources: Map<string, string> | undefined): Promise<string | undefined> {
  const { store, tracker, registry } = deps;
  const scrub = (s: string) => registry.scrub(s);
  const ev = (kind: string, issue: { repo: string; number: number } | null, detail: Record<string, unknown> = {}) =>
    store.addEvent({
      kind,
      fingerprint: a.fingerprint,
      repo: a.subjectRepo,
      ...(issue ? { issue: { repo: issue.repo, number: issue.number } } : {}),
      ...(deps.runId !== undefined ? { runId: deps.runId } : {}),
      detail: { ...(issue ? { issue: `${issue.repo}#${issue.number}` } : {}), ...detail },
    });
  const record = async (i: { repo: string; number: number; state: 'open' | 'closed'; stateReason?: string | null; url?: string | null; assignees: string[] }) =>
    void (await store.upsertIssue({ repo: i.repo, number: i.number, fingerprint: a.fingerprint, subjectRepo: a.subjectRepo, state: i.state, stateReason: i.stateReason ?? null, url: i.url ?? null, assignees: i.assignees }));

  switch (a.kind) {
    case 'open': {
      // One issue per (secret, leaking repo) even when workers race on it: the claim decides who opens it, the
      // others leave it (the next run finds it by its marker). ensureIssue looks for the marker before it creates,
      // which covers a claim taken over from a holder that died after creating the issue.
      const claim = await store.claimIssue(a.fingerprint, a.subjectRepo, deps.claimant ?? `${hostname()}:${process.pid}`, { staleMs: ISSUE_CLAIM_STALE_MS });
      if (!claim.won) return `left to ${claim.claimant}, opening it since ${claim.claimedAt}`;
      const tried = new Set<string>();
      let assignees = [...a.assignees];
      const rejected: string[] = [];
      for (;;) {
        try {
          const { issue, action } = await tracker.ensureIssue(a.issueRepo, {
            title: scrub(a.title),
            body: scrub(a.body),
            labels: a.labels,
            assignees,
            // Both marker lines: a security repo holds one issue per (secret, leaking repo).
            marker: markers(a.fingerprint, a.subjectRepo),
          });
          await record({ ...issue, assignees: issue.assignees });
          for (const login of issue.assignees) await store.setOwner(a.fingerprint, a.subjectRepo, login, (sources?.get(login) as 'commit-author' | 'codeowners' | 'fallback' | undefined) ?? 'manual');
          for (const team of a.teams) await store.setOwner(a.fingerprint, a.subjectRepo, team, (sources?.get(team) as 'codeowners' | 'fallback' | undefined) ?? 'fallback');
          await ev(action === 'created' ? 'issue-opened' : 'issue-adopted', issue, { locations: a.locations, assignees: issue.assignees, teams: a.teams, rejected });
          return `${issue.repo}#${issue.number}`;
        } catch (err) {
          if (!(err instanceof HostError) || err.status !== 422 || assignees.length === 0) throw err;
          // Not assignable after all (permissions changed since the check): fall back to the next owner.
          const bad = assignees[0]!;
          tried.add(bad);
          rejected.push(bad);
          assignees = assignees.slice(1);
          if (assignees.length === 0) {
            const next = a.candidates.find((c) => !tried.has(c) && !a.assignees.includes(c));
            if (next) assignees = [next];
          }
        }
      }
    }
    case 'adopt':
      await record({ ...a.issue });
      await ev('issue-adopted', a.issue, { state: a.issue.state });
      return;
    case 'sync-issue':
      await record({ ...a.issue });
      await ev('issue-state-synced', a.issue, { state: a.issue.state, stateReason: a.issue.stateReason });
      return;
    case 'comment-locations':
      await tracker.comment(a.issue.repo, a.issue.number, scrub(a.body));
      await ev('commented', a.issue, { reason: 'new-locations', locations: a.locations });
      return;
    case 'close-revoked':
      await tracker.ensureIssueClosed(a.issue.repo, a.issue.number, { comment: scrub(a.body), reason: 'completed' });
      await record({ ...a.issue, state: 'closed', stateReason: 'completed' });
      await store.setSecretStatus(a.fingerprint, 'revoked', { at: a.revokedAt });
      await ev('closed', a.issue, { reason: 'revoked', revokedAt: a.revokedAt });
      return;
    case 'reopen':
      await tracker.reopenIssue(a.issue.repo, a.issue.number, scrub(a.body));
      await record({ ...a.issue, state: 'open', stateReason: 'reopened' });
      await store.setSecretStatus(a.fingerprint, 'open', { reason: 'live again' });
      await ev('reopened', a.issue, { reason: 'live-again' });
      return;
    case 'remind':
      await tracker.comment(a.issue.repo, a.issue.number, scrub(a.body));
      await ev('issue-reminded', a.issue, { mentions: a.mentions });
      return;
    case 'triage-from-github': {
      await store.setSecretStatus(a.fingerprint, a.verdict === 'false-positive' ? 'false-positive' : 'ignored', { source: 'github', issue: `${a.issue.repo}#${a.issue.number}` });
      await record({ ...a.issue });
      await ev('triaged', a.issue, { verdict: a.verdict, source: 'github' });
      return;
    }
    case 'close-triaged': {
      await tracker.addLabels(a.issue.repo, a.issue.number, [a.verdict === 'false-positive' ? FALSE_POSITIVE_LABEL : ACCEPTED_RISK_LABEL]);
      await tracker.ensureIssueClosed(a.issue.repo, a.issue.number, { comment: renderTriageComment(a.verdict), reason: 'not_planned' });
      await record({ ...a.issue, state: 'closed', stateReason: 'not_planned' });
      await ev('closed', a.issue, { reason: a.verdict });
      return;
    }
    case 'warn':
      return;
    case 'revoke-token':
      return;
  }
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
  const out: ExecutedAction[] = [];
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
  try {
    await deps.tracker.revokeCredentials(tokens.map((t) => t.token));
    await audited(202, `answered (batch of ${tokens.length})`);
    for (const t of tokens) {
      await deps.store.addEvent({ kind: 'token-revoke-requested', fingerprint: t.fp, ...(deps.runId !== undefined ? { runId: deps.runId } : {}), detail: { api: 'POST /credentials/revoke' } });
    }
    for (const a of actions) out.push({ action: a, ok: tokens.some((t) => t.fp === a.fingerprint) });
  } catch (err) {
    const msg = deps.registry.scrub((err as Error).message);
    await audited(err instanceof HostError ? (err.status ?? null) : null, msg);
    warnings.push(`revocation failed: ${msg}`);
    for (const a of actions) out.push({ action: a, ok: false, detail: msg });
  }
  return out;
}

/** Re-verification through the verifier for detectors of `catalog`; secrets of unknown detectors are not checked. */
export function catalogReverify(verifier: { verify(req: { detector: NonNullable<ReturnType<Catalog['byId']['get']>>; secret: string; parts: Record<string, string>; fingerprint: string }): Promise<Verification> }, catalog: Catalog): Reverify {
  return async (req) => {
    const detector = catalog.byId.get(req.detector);
    if (!detector?.def.verify) return null;
    return verifier.verify({ detector, secret: req.secret, parts: req.parts, fingerprint: req.fingerprint });
  };
}
