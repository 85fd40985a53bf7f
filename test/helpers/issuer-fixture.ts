// One loopback fake issuer per test file, reset before each test, with the audit entries of the test's calls.
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { AUDIT_SENDING, type OutboundCall } from '../../src/core/ports.js';
import { FakeIssuer } from '../../testkit/fake-issuer.js';

export interface IssuerFixture {
  readonly fake: FakeIssuer;
  /** Audit entries recorded by this test (pass `audit` to the verifier or client): one per request, with its outcome. */
  calls: OutboundCall[];
  /** The `sending` entries written before each request went out. */
  sending: OutboundCall[];
  audit: (c: OutboundCall) => void;
}

export function useFakeIssuer(): IssuerFixture {
  let fake: FakeIssuer | undefined;
  const f: IssuerFixture = {
    get fake() {
      if (!fake) throw new Error('the fake issuer starts in beforeAll');
      return fake;
    },
    calls: [],
    sending: [],
    audit: (c) => void (c.outcome === AUDIT_SENDING ? f.sending : f.calls).push(c),
  };
  beforeAll(async () => {
    fake = await FakeIssuer.start();
  });
  afterAll(async () => fake?.close());
  beforeEach(() => {
    fake!.reset();
    f.calls = [];
    f.sending = [];
  });
  return f;
}
