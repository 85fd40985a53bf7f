// A loopback HTTP server that records every request an attacker would receive: a hostile clone URL, a redirect
// target. It answers 404 (or proxies to `forward`, to look like a working git host) and says which requests
// carried a credential. Tests assert it saw no token, not merely that keyloop failed.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TrappedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface TrapServer {
  url: string;
  requests: TrappedRequest[];
  /** Requests with an Authorization header, or whose headers contain any of `secrets` (raw or in Basic auth). */
  bearing(secrets: string[]): TrappedRequest[];
  close(): Promise<void>;
}

export async function startTrap(opts: { forward?: string; redirectTo?: string } = {}): Promise<TrapServer> {
  const requests: TrappedRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (opts.redirectTo) {
      req.resume();
      res.writeHead(302, { location: opts.redirectTo + (req.url ?? '/') });
      return void res.end();
    }
    if (opts.forward) {
      const up = http.request(opts.forward + (req.url ?? '/'), { method: req.method, headers: { ...req.headers, host: new URL(opts.forward).host } }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => (res.headersSent ? res.destroy() : (res.writeHead(502), res.end())));
      return void req.pipe(up);
    }
    req.resume();
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not here');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    bearing(secrets) {
      const forms = secrets.flatMap((s) => [s, Buffer.from(`x-access-token:${s}`).toString('base64'), Buffer.from(s).toString('base64')]);
      return requests.filter((r) => {
        if (r.headers.authorization) return true;
        const all = JSON.stringify(r.headers) + r.url;
        return forms.some((f) => all.includes(f));
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
