// No call with a secret goes unrecorded: the audit log gets a `sending` record before a request leaves and the
// answer after it; a store that cannot write the first keeps the key from being sent (verification unknown, revoke
// refused), one that cannot write the answer makes the answer unusable. Real SQLite stores: a read-only one, and
// one closed between the two records.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AUDIT_SENDING } from '../src/core/ports.js';
import { loadCatalog } from '../src/detection/load.js';
import { revokeKey } from '../src/revoke/revoke.js';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite/index.js';
import { SecretRegistry } from '../src/util/redact.js';
import { createIssuerClient } from '../src/verification/issuer-client.js';
import { createVerifier } from '../src/verification/verify.js';
import { tempDir } from '../testkit/git-repo.js';
import { generateSample, rng } from '../testkit/token-gen.js';
import { useFakeIssuer } from './helpers/issuer-fixture.js';
import { runCli } from './helpers/run-cli.js';

const catalog = loadCatalog(join(import.meta.dirname, '..', 'detectors'));
const rand = rng(2177);
const det = (id: string) => catalog.byId.get(id)!;
const secretOf = (id: string) => generateSample(det(id).def, rand).secret;
const FP = 'e'.repeat(64);

const fx = useFakeIssuer();
const open: SqliteStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) if (s.db.open) await s.close();
});

/** A new, migrated database file (kept open until the test ends). */
async function writableStore(): Promise<{ file: string; store: SqliteStore }> {
  const file = join(await tempDir('keyloop-audit-gate-'), 'keyloop.db');
  const store = openSqliteStore(file);
  open.push(store);
  return { file, store };
}

/** The same, closed and opened again read-only: every write fails as SQLite's "readonly database". */
async function readOnlyStore(): Promise<SqliteStore> {
  const { file, store: rw } = await writableStore();
  await rw.close();
  const store = openSqliteStore(file, { readonly: true });
  open.push(store);
  return store;
}

/** A GitLab token the fake issuer takes for live. */
function liveToken(): string {
  const tok = secretOf('gitlab-pat');
  fx.fake.setKey('gitlab', tok);
  return tok;
}

function verifierOn(sink: (c: Parameters<ReturnType<SqliteStore['auditSink']>>[0]) => Promise<void> | void) {
  const registry = new SecretRegistry();
  const client = createIssuerClient({ registry, audit: sink });
  return { client, registry, verifier: createVerifier({ baseUrls: fx.fake.baseUrls(), allowInsecure: true, registry, client }) };
}

describe('the audit log gates every call made with a secret', () => {
  it('a writable store: each request is recorded as `sending` before it goes out, then with its answer', async () => {
    const { store } = await writableStore();
    const tok = liveToken();
    // the issuer sees the request only after the `sending` record is in the database
    const seenBefore: number[] = [];
    const { verifier } = verifierOn(async (c) => {
      await store.recordOutboundCall(c);
      if (c.outcome === AUDIT_SENDING) seenBefore.push(fx.fake.requestsFor('gitlab').length);
    });
    const v = await verifier.verify({ detector: det('gitlab-pat'), secret: tok, parts: {}, fingerprint: FP });
    expect(v.status).toBe('live');
    const rows = await store.outboundCalls({ fingerprint: FP });
    expect(rows.map((r) => `${r.purpose} ${r.method} ${r.status ?? '-'} ${r.outcome}`)).toEqual(['verify GET - sending', 'verify GET 200 answered']);
    expect(rows[0]!.url).toBe(rows[1]!.url);
    expect(seenBefore).toEqual([0]);
    expect(fx.fake.requestsFor('gitlab')).toHaveLength(1);
  });

  it('a read-only store: the key is not sent, and the verification is unknown with the reason', async () => {
    const store = await readOnlyStore();
    const tok = liveToken();
    const { verifier } = verifierOn(store.auditSink());
    const v = await verifier.verify({ detector: det('gitlab-pat'), secret: tok, parts: {}, fingerprint: FP });
    expect(v).toMatchObject({ status: 'unknown', reason: expect.stringMatching(/^not sent: the audit log cannot record the call \(.*readonly database.*\)$/) });
    expect(fx.fake.requestsFor('gitlab')).toEqual([]);
  });

  it('a read-only store: a revocation is not sent and is reported as not revoked', async () => {
    const store = await readOnlyStore();
    const tok = liveToken();
    const { client } = verifierOn(store.auditSink());
    const r = await revokeKey({ detector: det('gitlab-pat'), secret: tok, parts: {}, fingerprint: FP }, { client, baseUrls: fx.fake.baseUrls() });
    expect(r).toMatchObject({ ok: false, status: null, reason: expect.stringMatching(/^not sent: the audit log cannot record the call/) });
    expect(fx.fake.requests).toEqual([]);
    expect(fx.fake.revocations).toEqual([]);
  });

  it('a store closed between the two records: the answer is not used (unknown), and the log still shows the call went out', async () => {
    const { file, store } = await writableStore();
    const tok = liveToken();
    const { verifier } = verifierOn(async (c) => {
      await store.recordOutboundCall(c);
      if (c.outcome === AUDIT_SENDING) await store.close();
    });
    const v = await verifier.verify({ detector: det('gitlab-pat'), secret: tok, parts: {}, fingerprint: FP });
    expect(v).toMatchObject({ status: 'unknown', reason: expect.stringMatching(/^answer not used: the audit log cannot record it \(.*not open.*\)$/) });
    const again = openSqliteStore(file, { readonly: true });
    open.push(again);
    expect((await again.outboundCalls()).map((r) => `${r.purpose} ${r.status ?? '-'} ${r.outcome}`)).toEqual(['verify - sending']);
    // `keyloop audit` counts it as sent with no answer recorded
    const table = await runCli(['audit', '--db', file]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('0 call(s) with a secret; by issuer and host:\n1 call(s) sent with no answer recorded');
  });

  it('the reason never holds the secret, even when the store error quotes it', async () => {
    const tok = liveToken();
    const { verifier } = verifierOn(() => {
      throw new Error(`disk full while writing ${tok}`);
    });
    const v = await verifier.verify({ detector: det('gitlab-pat'), secret: tok, parts: {}, fingerprint: FP });
    expect(v.status).toBe('unknown');
    expect(v.reason).toMatch(/^not sent: the audit log cannot record the call \(disk full while writing /);
    expect(v.reason).not.toContain(tok);
    expect(fx.fake.requests).toEqual([]);
  });
});
