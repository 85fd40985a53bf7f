// What each job carries, checked with zod when a worker takes it: names, run ids, a delivery GUID, fingerprints.
// Never a token or a found secret: workers take credentials from their own flags and secrets from the store.
import { z } from 'zod';
import { RepoFullName } from '../adapters/github/clone-url.js';

const RunId = z.number().int().positive();
const Fingerprint = z.string().regex(/^[0-9a-f]{64}$/);

/** One repository of an enqueued org run, as the host listed it (the clone URL is each worker's own to derive). */
export const ScanRepoPayload = z.object({
  runId: RunId,
  org: z.string().min(1),
  repo: z.object({
    fullName: RepoFullName,
    defaultBranch: z.string().nullable(),
    private: z.boolean(),
    fork: z.boolean(),
    archived: z.boolean(),
    sizeKb: z.number().nonnegative(),
    pushedAt: z.string().nullable(),
  }),
});
export type ScanRepoPayload = z.infer<typeof ScanRepoPayload>;

/** Re-verify these stored secrets (found by one repository's scan of the run). */
export const VerifyPayload = z.object({ runId: RunId, subject: z.string().min(1), fingerprints: z.array(Fingerprint).min(1).max(10_000) });
export type VerifyPayload = z.infer<typeof VerifyPayload>;

/** Open/close/reopen the issues of one leaking repository's secrets. */
export const IssueSyncPayload = z.object({ runId: RunId, repo: RepoFullName });
export type IssueSyncPayload = z.infer<typeof IssueSyncPayload>;

/** One App delivery: the normalized job is in the store's delivery row, found by its GUID. */
export const PushPayload = z.object({ guid: z.string().min(1).max(200) });
export type PushPayload = z.infer<typeof PushPayload>;
