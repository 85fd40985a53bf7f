// PostgreSQL AuditStore: the append-only log of every request keyloop sent with a secret in it (outbound_calls).
import type { AuditStore } from '../../core/store.js';
import { outboundCallValues, outboundCallWhere, toOutboundCall } from '../rows.js';
import type { PgContext } from './context.js';

export function pgAudit(c: PgContext): AuditStore {
  const recordOutboundCall: AuditStore['recordOutboundCall'] = async (call) => {
    await c.q('INSERT INTO outbound_calls (at, purpose, issuer, fingerprint, method, url, status, outcome, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', outboundCallValues(call));
  };
  return {
    recordOutboundCall,
    auditSink: () => recordOutboundCall,
    async outboundCalls(filter = {}) {
      const { where, args } = outboundCallWhere(filter, (i) => `$${i}`);
      return (await c.q(`SELECT * FROM outbound_calls ${where} ORDER BY at, id`, args)).map(toOutboundCall);
    },
  };
}
