// SQLite AuditStore: the append-only log of every request keyloop sent with a secret in it (outbound_calls).
import type { AuditStore } from '../../core/store.js';
import { outboundCallValues, outboundCallWhere, toOutboundCall, type Row } from '../rows.js';
import type { SqliteContext } from './context.js';

export function sqliteAudit(c: SqliteContext): AuditStore {
  const recordOutboundCall: AuditStore['recordOutboundCall'] = async (call) => {
    c.q('INSERT INTO outbound_calls (at, purpose, issuer, fingerprint, method, url, status, outcome, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      ...outboundCallValues(call),
    );
  };
  return {
    recordOutboundCall,
    auditSink: () => recordOutboundCall,
    async outboundCalls(filter = {}) {
      const { where, args } = outboundCallWhere(filter, () => '?');
      return (c.q(`SELECT * FROM outbound_calls ${where} ORDER BY at, id`).all(...args) as Row[]).map(toOutboundCall);
    },
  };
}
