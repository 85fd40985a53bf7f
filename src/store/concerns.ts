// What a Store is made of, the same on every engine: one object per concern of the port, each built over the
// engine's shared context (its connection, clock and sealer).
import type { AuditStore, DeliveriesStore, IssuesStore, ReposStore, RunJobsStore, RunsStore, SecretsStore, Store } from '../core/store.js';

/** An engine's builder for each concern, in this order; the compiler checks that none is missing. */
export type ConcernBuilders<C> = [
  repos: (c: C) => ReposStore,
  runs: (c: C) => RunsStore,
  runJobs: (c: C) => RunJobsStore,
  secrets: (c: C) => SecretsStore,
  issues: (c: C) => IssuesStore,
  deliveries: (c: C) => DeliveriesStore,
  audit: (c: C) => AuditStore,
];

/** Every concern of a Store over the context `c`: what an engine adds is only its kind, location and close. */
export function concernsOver<C>(c: C, builders: ConcernBuilders<C>): Omit<Store, 'kind' | 'location' | 'close'> {
  return Object.assign({}, ...builders.map((build) => build(c))) as Omit<Store, 'kind' | 'location' | 'close'>;
}
