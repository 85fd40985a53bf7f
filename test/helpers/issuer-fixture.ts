// One loopback fake issuer per test file, reset before each test, with the audit entries of the test's calls.
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { OutboundCall } from '../../src/core/ports.js';
import { FakeIssuer } from '../../testkit/fake-issuer.js';

export interface IssuerFixture {
  readonly fake: FakeIssuer;
  /** Audit entries recorded by this test (pass `audit` to the verifier or client). */
  calls: OutboundCall[];
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
    audit: (c) => void f.calls.push(c),
  };
  beforeAll(async () => {
    fake = await FakeIssuer.start();
  });
  afterAll(async () => fake?.close());
  beforeEach(() => {
    fake!.reset();
    f.calls = [];
  });
  return f;
}
