// Global test guard: any connection that is not loopback fails at once, before DNS.
import net from 'node:net';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);
// eslint-disable-next-line @typescript-eslint/unbound-method -- called below with .apply(this), on the socket
const original = net.Socket.prototype.connect;

function hostOf(args: unknown[]): string | undefined {
  const first = args[0];
  if (Array.isArray(first)) return hostOf(first);
  if (first && typeof first === 'object') {
    const o = first as { host?: string; path?: string };
    if (o.path) return undefined; // unix socket
    return o.host ?? 'localhost';
  }
  if (typeof first === 'number') return typeof args[1] === 'string' ? args[1] : 'localhost';
  return undefined; // unix socket path
}

net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
  const host = hostOf(args);
  if (host !== undefined && !LOOPBACK.has(host) && !/^127\./.test(host)) {
    const err = Object.assign(new Error(`test net guard: connection to ${host} refused (tests are offline)`), {
      code: 'ENETUNREACH_TEST_GUARD',
    });
    process.nextTick(() => this.destroy(err));
    return this;
  }
  return (original as (...a: unknown[]) => net.Socket).apply(this, args);
};
