// SQLite SecretsStore: sealed secrets, verifications (and the verifier's cache over them), owners, the email →
// login cache, and the inventory/location queries.
import type { SecretsStore, SecretStatus } from '../../core/store.js';
import { fingerprintPrefix, inventorySql, noSecret, onlyMatch, reachSince, statusEventKind, toLocation, toOwner, toSecret, toSummary, toVerification, verificationCacheOver, verificationEvent, verificationValues, type Row } from '../rows.js';
import type { SqliteContext } from './context.js';

const VERIFICATIONS_OF = 'SELECT v.* FROM verifications v JOIN secrets s ON s.id = v.secret_id WHERE s.fingerprint = ?';

export function sqliteSecrets(c: SqliteContext): SecretsStore {
  return { ...secretRecords(c), ...verificationRecords(c), ...ownerRecords(c), ...secretQueries(c) };
}

/** Secrets themselves: read, resolved from a prefix, listed, revealed, triaged. */
function secretRecords(c: SqliteContext): Pick<SecretsStore, 'getSecret' | 'resolveFingerprint' | 'listSecrets' | 'revealSecret' | 'setSecretStatus'> {
  return {
    async getSecret(fingerprint) {
      return readSecret(c, fingerprint);
    },

    async resolveFingerprint(prefix) {
      const p = fingerprintPrefix(prefix);
      return onlyMatch(p, c.q('SELECT fingerprint FROM secrets WHERE fingerprint >= ? AND fingerprint < ? ORDER BY fingerprint LIMIT 2').pluck().all(p, p + 'g') as string[]);
    },

    async listSecrets() {
      return (c.q('SELECT * FROM secrets ORDER BY id').all() as Row[]).map(toSecret);
    },

    async revealSecret(fingerprint) {
      const row = c.q('SELECT secret_enc FROM secrets WHERE fingerprint = ?').get(fingerprint) as { secret_enc: Buffer } | undefined;
      if (!row) throw noSecret(fingerprint);
      return c.sealer.reveal(fingerprint, row.secret_enc);
    },

    async setSecretStatus(fingerprint, status, detail) {
      c.tx(() => {
        const id = c.secretId(fingerprint);
        const before = c.q('SELECT status FROM secrets WHERE id = ?').pluck().get(id) as SecretStatus;
        if (before === status) return;
        c.q('UPDATE secrets SET status = ? WHERE id = ?').run(status, id);
        c.insertEvent({ kind: statusEventKind(before, status), detail: { from: before, to: status, ...detail } }, id, null, null, c.now());
      });
    },
  };
}

/** A secret's verifications, its latest reach, and the verifier's cache over them. */
function verificationRecords(c: SqliteContext): Pick<SecretsStore, 'addVerification' | 'verifications' | 'latestVerification' | 'recentReach' | 'verificationCache'> {
  const addVerification: SecretsStore['addVerification'] = async (fingerprint, v, expiresAt) => {
    c.tx(() => {
      const id = c.secretId(fingerprint);
      c.q('INSERT INTO verifications (secret_id, status, checked_at, reason, identity, expires_at, reach) VALUES (?, ?, ?, ?, ?, ?, ?)').run(...verificationValues(id, v, expiresAt));
      c.insertEvent(verificationEvent(v), id, null, null, v.checkedAt);
    });
  };
  return {
    addVerification,

    async verifications(fingerprint) {
      return (c.q(`${VERIFICATIONS_OF} ORDER BY v.checked_at, v.id`).all(fingerprint) as Row[]).map(toVerification);
    },

    async latestVerification(fingerprint) {
      const r = c.q(`${VERIFICATIONS_OF} ORDER BY v.checked_at DESC, v.id DESC LIMIT 1`).get(fingerprint) as Row | undefined;
      return r ? toVerification(r) : undefined;
    },

    async recentReach(fingerprint, since) {
      const r = c.q(`${VERIFICATIONS_OF} AND v.reach IS NOT NULL ORDER BY v.checked_at DESC, v.id DESC LIMIT 1`).get(fingerprint) as Row | undefined;
      return reachSince(r?.reach, since);
    },

    verificationCache() {
      return verificationCacheOver(
        {
          unexpired: async (fp, now) => {
            const r = c.q(`${VERIFICATIONS_OF} AND v.expires_at > ? ORDER BY v.checked_at DESC, v.id DESC LIMIT 1`).get(fp, now) as Row | undefined;
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
function ownerRecords(c: SqliteContext): Pick<SecretsStore, 'setOwner' | 'owners' | 'getEmailLogin' | 'setEmailLogin'> {
  return {
    async setOwner(fingerprint, repo, login, source) {
      c.q(
        `INSERT INTO owners (secret_id, repo_id, login, source, decided_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (secret_id, repo_id, login) DO UPDATE SET source = excluded.source, decided_at = excluded.decided_at`,
      ).run(c.secretId(fingerprint), c.repoId(repo), login, source, c.now());
    },

    async owners(fingerprint) {
      const rows = c
        .q(
          `SELECT r.full_name AS repo, o.login, o.source, o.decided_at FROM owners o JOIN secrets s ON s.id = o.secret_id
           JOIN repos r ON r.id = o.repo_id WHERE s.fingerprint = ? ORDER BY r.full_name, o.login`,
        )
        .all(fingerprint) as Row[];
      return rows.map(toOwner);
    },

    async getEmailLogin(email) {
      const r = c.q('SELECT login, checked_at FROM email_logins WHERE email = ?').get(email) as { login: string | null; checked_at: string } | undefined;
      return r ? { login: r.login, checkedAt: r.checked_at } : undefined;
    },

    async setEmailLogin(email, login) {
      c.q(
        `INSERT INTO email_logins (email, login, checked_at) VALUES (?, ?, ?)
         ON CONFLICT (email) DO UPDATE SET login = excluded.login, checked_at = excluded.checked_at`,
      ).run(email, login, c.now());
    },
  };
}

/** The inventory and the places each secret appears. */
function secretQueries(c: SqliteContext): Pick<SecretsStore, 'inventory' | 'locations'> {
  return {
    async inventory() {
      const rows = c.q(inventorySql({ array: 'json_group_array', object: 'json_object', json: (col) => `json(${col})` })).all() as Row[];
      return rows.map(toSummary);
    },

    async locations(fingerprint) {
      const sql = `SELECT s.fingerprint, r.full_name AS repo, r.mirror_path, l.* FROM locations l
        JOIN secrets s ON s.id = l.secret_id JOIN repos r ON r.id = l.repo_id
        ${fingerprint ? 'WHERE s.fingerprint = ?' : ''} ORDER BY s.fingerprint, r.full_name, l.authored_at, l.commit_oid, l.path, l.line, l.col`;
      const rows = (fingerprint ? c.q(sql).all(fingerprint) : c.q(sql).all()) as Row[];
      return rows.map(toLocation);
    },
  };
}

/** A secret by its full fingerprint. */
async function readSecret(c: SqliteContext, fingerprint: string) {
  const r = c.q('SELECT * FROM secrets WHERE fingerprint = ?').get(fingerprint) as Row | undefined;
  return r ? toSecret(r) : undefined;
}
