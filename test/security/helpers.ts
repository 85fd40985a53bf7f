// Loopback servers that stand where an attacker would: they record every request and answer 401 (the answer that
// would wrongly mark a live key dead). A request carrying a watched secret anywhere is a leak the test fails on.
// Also: an operator config file in its own directory (what --config / KEYLOOP_CONFIG point at).
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../../testkit/git-repo.js';

export interface CapturedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface CaptureServer {
  /** http://127.0.0.1:PORT */
  url: string;
  readonly requests: CapturedRequest[];
  /** Requests in which one of `secrets` appears: URL (raw or decoded), a header, Basic credentials or the body. */
  carrying(secrets: readonly string[]): CapturedRequest[];
  /** Throws naming the leaked secrets' requests (method and path only) when any request carried one. */
  expectNoLeak(secrets: readonly string[]): void;
  close(): Promise<void>;
}

function text(r: CapturedRequest): string {
  const parts = [r.url, safeDecode(r.url), JSON.stringify(r.headers), r.body];
  const auth = r.headers.authorization;
  const basic = typeof auth === 'string' ? /^Basic\s+(\S+)/i.exec(auth)?.[1] : undefined;
  if (basic) parts.push(Buffer.from(basic, 'base64').toString('utf8'));
  return parts.join('\n');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export async function startCaptureServer(): Promise<CaptureServer> {
  const requests: CapturedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"Bad credentials"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const carrying = (secrets: readonly string[]) => requests.filter((r) => secrets.some((s) => s && text(r).includes(s)));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    carrying,
    expectNoLeak(secrets) {
      const leaks = carrying(secrets);
      if (leaks.length) throw new Error(`capture server received ${leaks.length} request(s) carrying a secret: ${leaks.map((r) => `${r.method} ${r.url.split('?')[0]}`).join(', ')}`);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An operator config file with `text`, in a fresh directory; returns its absolute path. */
export async function operatorFile(text: string): Promise<string> {
  const f = join(await tempDir('keyloop-operator-'), 'operator.yaml');
  writeFileSync(f, text);
  return f;
}
