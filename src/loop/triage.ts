// Triage verdicts: false positive, accepted risk, or back to tracked. The store is updated first; GitHub issues
// follow when a tracker is at hand (otherwise the next loop run closes them, see plan.ts close-triaged).
import type { SecretStatus, Store } from '../core/store.js';
import { ACCEPTED_RISK_LABEL, FALSE_POSITIVE_LABEL, renderTriageComment } from '../notify/issue-body.js';
import type { SecretRegistry } from '../util/redact.js';
import type { LoopTracker } from '../core/ports.js';

export type Verdict = 'false-positive' | 'accepted-risk' | 'reopen';

export interface TriageResult {
  fingerprint: string;
  from: SecretStatus;
  to: SecretStatus;
  issues: { repo: string; number: number; action: 'closed' | 'reopened' | 'unchanged' | 'failed'; detail?: string }[];
}

const STATUS: Record<Verdict, SecretStatus> = { 'false-positive': 'false-positive', 'accepted-risk': 'ignored', reopen: 'open' };

/** Fingerprints later scans drop: every secret triaged as a false positive. */
export async function suppressedFingerprints(store: Store): Promise<Set<string>> {
  return new Set((await store.listSecrets()).filter((s) => s.status === 'false-positive').map((s) => s.fingerprint));
}

export async function triage(
  store: Store,
  fingerprintOrPrefix: string,
  verdict: Verdict,
  opts: { note?: string; tracker?: LoopTracker; registry?: SecretRegistry } = {},
): Promise<TriageResult> {
  const fingerprint = await store.resolveFingerprint(fingerprintOrPrefix);
  const before = (await store.getSecret(fingerprint))!.status;
  const to = STATUS[verdict];
  const note = opts.note && opts.registry ? opts.registry.scrub(opts.note) : opts.note;
  await store.setSecretStatus(fingerprint, to, { source: 'cli', ...(note ? { note } : {}) });
  await store.addEvent({ kind: 'triaged', fingerprint, detail: { verdict, source: 'cli', ...(note ? { note } : {}) } });

  const result: TriageResult = { fingerprint, from: before, to, issues: [] };
  if (!opts.tracker) return result;
  const label = verdict === 'accepted-risk' ? ACCEPTED_RISK_LABEL : FALSE_POSITIVE_LABEL;
  for (const issue of await store.issuesFor(fingerprint)) {
    const ref = { repo: issue.repo, number: issue.number };
    try {
      if (verdict === 'reopen') {
        // Drop both verdict labels, or the next run would read the closed issue as triaged again.
        await opts.tracker.removeLabels(issue.repo, issue.number, [FALSE_POSITIVE_LABEL, ACCEPTED_RISK_LABEL]);
        await opts.tracker.reopenIssue(issue.repo, issue.number, renderTriageComment('reopen', note));
        await store.upsertIssue({ ...ref, fingerprint, subjectRepo: issue.subjectRepo ?? issue.repo, state: 'open', stateReason: 'reopened', url: issue.url, assignees: issue.assignees });
        await store.addEvent({ kind: 'reopened', fingerprint, issue: ref, detail: { issue: `${issue.repo}#${issue.number}`, reason: 'triage' } });
        result.issues.push({ ...ref, action: 'reopened' });
      } else {
        await opts.tracker.addLabels(issue.repo, issue.number, [label]);
        const r = await opts.tracker.ensureIssueClosed(issue.repo, issue.number, { comment: renderTriageComment(verdict, note), reason: 'not_planned' });
        await store.upsertIssue({ ...ref, fingerprint, subjectRepo: issue.subjectRepo ?? issue.repo, state: 'closed', stateReason: 'not_planned', url: issue.url, assignees: issue.assignees });
        if (r === 'closed') await store.addEvent({ kind: 'closed', fingerprint, issue: ref, detail: { issue: `${issue.repo}#${issue.number}`, reason: verdict } });
        result.issues.push({ ...ref, action: r === 'closed' ? 'closed' : 'unchanged' });
      }
    } catch (err) {
      result.issues.push({ ...ref, action: 'failed', detail: (err as Error).message });
    }
  }
  return result;
}
