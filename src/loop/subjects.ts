// What the issue loop plans on: each (secret, leaking repo) pair from the stored locations, with the issue GitHub or
// the store knows for it, the events that concern it and its verification history.
import type { Verification } from '../core/model.js';
import type { LoopConfig } from '../core/loop-config.js';
import type { TrackedIssue } from '../core/ports.js';
import type { EventRow, IssueRow, LocationRow, RepoRow, SecretRow, Store } from '../core/store.js';
import type { Catalog } from '../detection/types.js';
import { ISSUE_LABEL, locationKey } from '../notify/issue-body.js';
import { issueRepoFor } from './plan.js';
import type { KnownIssue, Subject } from './types.js';

/** One secret in one leaking repo, with its stored locations there. */
export interface Pair {
  secret: SecretRow;
  repo: RepoRow;
  locations: LocationRow[];
}

/** What GitHub holds: keyloop issues by pair, and the repos that could be listed this run. */
export interface KnownIssues {
  remote: Map<string, TrackedIssue[]>;
  listed: Set<string>;
}

export function pairKey(fp: string, repo: string): string {
  return `${fp}\0${repo}`;
}

/** (secret, leaking repo) pairs from the stored locations, by pairKey; only `onlyRepos` when given. */
export async function loadPairs(store: Store, onlyRepos: ReadonlySet<string> | null): Promise<Map<string, Pair>> {
  const secrets = await store.listSecrets();
  const repos = new Map((await store.listRepos()).map((r) => [r.fullName, r]));
  const byPair = new Map<string, Pair>();
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
  return byPair;
}

export interface SubjectSources {
  store: Store;
  config: LoopConfig;
  catalog?: Catalog;
  known: KnownIssues;
  /** Checks of a dry run, which are not stored. */
  overlay: ReadonlyMap<string, Verification>;
}

/** A subject per pair, except pairs whose issues live in a repo that could not be listed this run. */
export async function buildSubjects(pairs: ReadonlyMap<string, Pair>, src: SubjectSources): Promise<Subject[]> {
  const { store, config, known } = src;
  const events = await plannerEvents(store);
  const subjects: Subject[] = [];
  for (const [k, p] of pairs) {
    const target = issueRepoFor({ repo: p.repo.fullName, repoPrivate: p.repo.private }, config);
    const stored = await store.issuesFor(p.secret.fingerprint, p.repo.fullName);
    // Issues in a repo we could not list this run must not be acted on (or duplicated).
    if (config.issues.enabled && (stored.some((i) => !known.listed.has(i.repo)) || (target && !known.listed.has(target)))) continue;
    const issue = pickIssue(known.remote.get(k) ?? [], stored);
    subjects.push(await subjectOf(p, issue, events, src));
  }
  return subjects;
}

/** Only the kinds the planner reads: verification events alone grow by one per secret per run. */
async function plannerEvents(store: Store): Promise<EventRow[]> {
  const kinds = ['issue-opened', 'issue-adopted', 'commented', 'issue-reminded', 'token-revoke-requested', 'revoked-by-keyloop'];
  return (await Promise.all(kinds.map((kind) => store.events({ kind })))).flat().sort((a, b) => a.id - b.id);
}

async function subjectOf(p: Pair, issue: KnownIssue | null, events: EventRow[], src: SubjectSources): Promise<Subject> {
  const fp = p.secret.fingerprint;
  const provider = src.catalog?.providers.get(p.secret.provider);
  const det = src.catalog?.byId.get(p.secret.detector);
  const locations = p.locations.map((l) => {
    const bl = { commit: l.commit, path: l.path, line: l.line, date: l.date, authorName: l.authorName };
    return { ...bl, key: locationKey(bl) };
  });
  const issueEvents = issue ? eventsOfIssue(events, fp, issue) : [];
  const reported = new Set<string>();
  if (issue && !issue.inStore) for (const l of locations) reported.add(l.key);
  for (const e of issueEvents) for (const key of (e.detail?.locations as string[] | undefined) ?? []) reported.add(key);
  const verifications = (await src.store.verifications(fp)).map(({ id: _id, ...v }) => v);
  const overlay = src.overlay.get(fp);
  if (overlay) verifications.push(overlay);
  return {
    fingerprint: fp,
    detector: p.secret.detector,
    name: p.secret.name,
    provider: p.secret.provider,
    providerName: provider?.name ?? p.secret.provider,
    severity: p.secret.severity,
    redacted: p.secret.redacted,
    repo: p.repo.fullName,
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
  };
}

/** The last `keyloop revoke` of this secret, as the subject carries it. */
function revokedBy(events: EventRow[], fp: string): { revokedByKeyloop?: { by: string; at: string } } {
  const e = events.filter((x) => x.kind === 'revoked-by-keyloop' && x.fingerprint === fp).at(-1);
  return e ? { revokedByKeyloop: { by: typeof e.detail?.by === 'string' ? e.detail.by : 'someone', at: e.at } } : {};
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
