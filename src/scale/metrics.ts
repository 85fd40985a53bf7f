// Observability for a long-running process (`keyloop worker`, `keyloop app`): Prometheus metrics (prom-client) and
// a /healthz that says whether the database answers. Served on their own port, never on the webhook port.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobName, JobQueue } from '../core/jobs.js';
import type { JobOutcome } from './runner.js';

export interface Metrics {
  readonly registry: Registry;
  jobOutcome(name: JobName, outcome: JobOutcome, seconds: number): void;
  scanned(bytes: number, blobs: number): void;
  delivery(outcome: 'queued' | 'ignored' | 'duplicate' | 'rejected'): void;
}

/** `queue`: its depth per queue and state is read at scrape time. */
export function createMetrics(component: 'worker' | 'app', queue?: JobQueue): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry, prefix: 'keyloop_' });
  const jobs = new Counter({
    name: 'keyloop_jobs_total',
    help: 'Job tries by queue and outcome (done, failed: out of tries or permanent, retried, released on shutdown, deferred, lost lease)',
    labelNames: ['queue', 'outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'keyloop_job_duration_seconds',
    help: 'Time a job try held its worker slot',
    labelNames: ['queue'],
    buckets: [0.05, 0.25, 1, 5, 15, 60, 300, 1800],
    registers: [registry],
  });
  const bytes = new Counter({ name: 'keyloop_scan_bytes_total', help: 'Bytes of blobs scanned (rate() gives scan bytes/s)', registers: [registry] });
  const blobs = new Counter({ name: 'keyloop_scan_blobs_total', help: 'Blobs scanned', registers: [registry] });
  const deliveries = new Counter({ name: 'keyloop_webhook_deliveries_total', help: 'Webhook deliveries received, by what became of them', labelNames: ['outcome'], registers: [registry] });
  if (queue) {
    new Gauge({
      name: 'keyloop_queue_jobs',
      help: 'Jobs in the shared queue by queue and state (queued includes retries not yet due)',
      labelNames: ['queue', 'state'],
      registers: [registry],
      async collect() {
        const counts = await queue.counts().catch(() => null);
        if (!counts) return;
        for (const [name, c] of Object.entries(counts)) for (const [state, n] of Object.entries(c) as [string, number][]) this.set({ queue: name, state }, n);
      },
    });
  }
  return {
    registry,
    jobOutcome(name, outcome, seconds) {
      jobs.inc({ queue: name, outcome });
      duration.observe({ queue: name }, seconds);
    },
    scanned(b, n) {
      bytes.inc(b);
      blobs.inc(n);
    },
    delivery(outcome) {
      deliveries.inc({ outcome });
    },
  };
}

/** A handler for /metrics and /healthz; null for any other path (the caller answers it). */
export function observabilityRoutes(metrics: Metrics, health: () => Promise<Record<string, unknown> & { ok: boolean }>) {
  return async (method: string, path: string): Promise<{ status: number; type: string; body: string } | null> => {
    if (method !== 'GET' && method !== 'HEAD') return null;
    if (path === '/metrics') return { status: 200, type: metrics.registry.contentType, body: await metrics.registry.metrics() };
    if (path === '/healthz') {
      const h = await health().catch((err: unknown) => ({ ok: false, error: (err as Error).message }));
      return { status: h.ok ? 200 : 503, type: 'application/json', body: JSON.stringify(h) };
    }
    return null;
  };
}

/** Serves /healthz and /metrics on host:port; resolves with the URL once listening. */
export async function serveObservability(routes: ReturnType<typeof observabilityRoutes>, port: number, host: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    routes(req.method ?? 'GET', path)
      .then((r) => {
        if (!r) {
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
          return;
        }
        res.writeHead(r.status, { 'content-type': r.type }).end(req.method === 'HEAD' ? undefined : r.body);
      })
      .catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as { port: number };
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${a.port}`, server };
}
