// PostgreSQL SecretsStore: sealed secrets, verifications (and the verifier's cache over them), owners, the
// email → login cache, and the inventory/location queries.
import type { SecretsStore, SecretStatus } from '../../core/store.js';
import { fingerprintPrefix, inventorySql, noSecret, onlyMatch, reachSince, statusEventKind, toLocation, toOwner, toSecret, toSummary, toVerification, verificationCacheOver, verificationEvent, verificationValues } from '../rows.js';
import { foldEmail, type PgContext } from './context.js';

const VERIFICATIONS_OF = 'SELECT v.* FROM verifications v JOIN secrets s ON s.id = v.secret_id WHERE s.fingerprint = $1';

export function pgSecrets(c: PgContext): SecretsStore {
  return { ...secretRecords(c), ...verificationRecords(c), ...ownerRecords(c), ...secretQueries(c) };
}

/** Secrets themselves: read, resolved from a prefix, listed, revealed, triaged. */
function secretRecords(c: PgContext): Pick<SecretsStore, 'getSecret' | 'resolveFingerprint' | 'listSecrets' | 'revealSecret' | 'setSecretStatus'> {
  return {
    async getSecret(fingerprint) {
      return readSecret(c, fingerprint);
    },

    async resolveFingerprint(prefix) {
      const p = fingerprintPrefix(prefix);
      const rows = await c.q<{ fingerprint: string }>('SELECT fingerprint FROM secrets WHERE fingerprint >= $1 AND fingerprint < $2 ORDER BY fingerprint LIMIT 2', [p, p + 'g']);
      return onlyMatch(p, rows.map((r) => r.fingerprint));
    },

    async listSecrets() {
      return (await c.q('SELECT * FROM secrets ORDER BY id')).map(toSecret);
    },

    async revealSecret(fingerprint) {
      const row = await c.one<{ secret_enc: Buffer }>('SELECT secret_enc FROM secrets WHERE fingerprint = $1', [fingerprint]);
      if (!row) throw noSecret(fingerprint);
      return c.sealer.reveal(fingerprint, row.secret_enc);
    },

    async setSecretStatus(fingerprint, status, detail) {
      await c.tx(async (db) => {
        const row = await c.one<{ id: number; status: SecretStatus }>('SELECT id, status FROM secrets WHERE fingerprint = $1 FOR UPDATE', [fingerprint], db);
        if (!row) throw noSecret(fingerprint);
        if (row.status === status) return;
        await c.q('UPDATE secrets SET status = $1 WHERE id = $2', [status, row.id], db);
        await c.insertEvent({ kind: statusEventKind(row.status, status), detail: { from: row.status, to: status, ...detail } }, row.id, null, null, c.now(), db);
      });
    },
  };
}

/** A secret's verifications, its latest reach, and the verifier's cache over them. */
function verificationRecords(c: PgContext): Pick<SecretsStore, 'addVerification' | 'verifications' | 'latestVerification' | 'recentReach' | 'verificationCache'> {
  const addVerification: SecretsStore['addVerification'] = async (fingerprint, v, expiresAt) => {
    await c.tx(async (db) => {
      const id = await c.secretId(fingerprint, db);
      await c.q('INSERT INTO verifications (secret_id, status, checked_at, reason, identity, expires_at, reach) VALUES ($1, $2, $3, $4, $5, $6, $7)', verificationValues(id, v, expiresAt), db);
      await c.insertEvent(verificationEvent(v), id, null, null, v.checkedAt, db);
    });
  };
  return {
    addVerification,

    async verifications(fingerprint) {
      return (await c.q(`${VERIFICATIONS_OF} ORDER BY v.checked_at, v.id`, [fingerprint])).map(toVerification);
    },

    async latestVerification(fingerprint) {
      const r = await c.one(`${VERIFICATIONS_OF} ORDER BY v.checked_at DESC, v.id DESC LIMIT 1`, [fingerprint]);
      return r ? toVerification(r) : undefined;
    },

    async recentReach(fingerprint, since) {
      const r = await c.one(`${VERIFICATIONS_OF} AND v.reach IS NOT NULL ORDER BY v.checked_at DESC, v.id DESC LIMIT 1`, [fingerprint]);
      return reachSince(r?.reach, since);
    },

    verificationCache() {
      return verificationCacheOver(
        {
          unexpired: async (fp, now) => {
            const r = await c.one(`${VERIFICATIONS_OF} AND v.expires_at > $2 ORDER BY v.checked_at DESC, v.id DESC LIMIT 1`, [fp, now]);
            return r ? toVerification(r) : undefined;
          },
          exists: async (fp) => !!(await readSecret(c, fp)),
          add: addVerification,
        },
        c.clock,
      );
    },
  };
}

/** Who owns a secret's leak in a repo, and the email → login cache that finds them. */
function ownerRecords(c: PgContext): Pick<SecretsStore, 'setOwner' | 'owners' | 'getEmailLogin' | 'setEmailLogin'> {
  return {
    async setOwner(fingerprint, repo, login, source) {
      const secretId = await c.secretId(fingerprint);
      await c.q(
        `INSERT INTO owners (secret_id, repo_id, login, source, decided_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (secret_id, repo_id, login) DO UPDATE SET source = excluded.source, decided_at = excluded.decided_at`,
        [secretId, await c.repoId(repo), login, source, c.now()],
      );
    },

    async owners(fingerprint) {
      const rows = await c.q(
        `SELECT r.full_name AS repo, o.login, o.source, o.decided_at FROM owners o JOIN secrets s ON s.id = o.secret_id
         JOIN repos r ON r.id = o.repo_id WHERE s.fingerprint = $1 ORDER BY r.full_name, o.login`,
        [fingerprint],
      );
      return rows.map(toOwner);
    },

    async getEmailLogin(email) {
      const r = await c.one<{ login: string | null; checked_at: string }>('SELECT login, checked_at FROM email_logins WHERE email = $1', [foldEmail(email)]);
      return r ? { login: r.login, checkedAt: r.checked_at } : undefined;
    },

    async setEmailLogin(email, login) {
      await c.q(
        `INSERT INTO email_logins (email, login, checked_at) VALUES ($1, $2, $3)
         ON CONFLICT (email) DO UPDATE SET login = excluded.login, checked_at = excluded.checked_at`,
        [foldEmail(email), login, c.now()],
      );
    },
  };
}

/** The inventory and the places each secret appears. */
function secretQueries(c: PgContext): Pick<SecretsStore, 'inventory' | 'locations'> {
  return {
    async inventory() {
      const rows = await c.q(inventorySql({ array: 'json_agg', object: 'json_build_object', json: (col) => col }));
      return rows.map(toSummary);
    },

    async locations(fingerprint) {
      const sql = `SELECT s.fingerprint, r.full_name AS repo, r.mirror_path, l.* FROM locations l
        JOIN secrets s ON s.id = l.secret_id JOIN repos r ON r.id = l.repo_id
        ${fingerprint ? 'WHERE s.fingerprint = $1' : ''} ORDER BY s.fingerprint, r.full_name, l.authored_at NULLS FIRST, l.commit_oid, l.path, l.line, l.col`;
      return (await c.q(sql, fingerprint ? [fingerprint] : [])).map(toLocation);
    },
  };
}

/** A secret by its full fingerprint. */
async function readSecret(c: PgContext, fingerprint: string) {
  const r = await c.one('SELECT * FROM secrets WHERE fingerprint = $1', [fingerprint]);
  return r ? toSecret(r) : undefined;
}
