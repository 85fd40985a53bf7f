// Where a key may be sent: https official hosts, operator overrides (https, or loopback http when the operator
// allows it), allowlisted data-derived hosts that resolve to public addresses (the checked address is the one used).
import { promises as dns } from 'node:dns';
import net from 'node:net';
import { ConfigError } from '../core/errors.js';

export type Lookup = (host: string) => Promise<Array<{ address: string; family: number }>>;

export const systemLookup: Lookup = (host) => dns.lookup(host, { all: true, verbatim: true });

const blocked = new net.BlockList();
for (const [addr, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(addr, prefix, 'ipv4');
for (const [addr, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
  ['100::', 64],
] as const)
  blocked.addSubnet(addr, prefix, 'ipv6');

/** True for loopback, private, link-local, CGNAT, multicast, reserved and documentation addresses (v4, v6, v4-mapped). */
export function isNonPublicAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 0) return true; // not an address: refuse rather than guess
  if (family === 4) return blocked.check(address, 'ipv4');
  const lower = address.toLowerCase();
  // IPv4 embedded in v6 (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d, deprecated compat ::a.b.c.d).
  const v4 = /^(?:::ffff:|64:ff9b::|::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower)?.[1];
  if (v4) return isNonPublicAddress(v4);
  const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hexMapped) {
    const hi = parseInt(hexMapped[1]!, 16);
    const lo = parseInt(hexMapped[2]!, 16);
    return isNonPublicAddress(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
  }
  return blocked.check(address, 'ipv6');
}

const loopback = new net.BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 and their v4-mapped forms. */
export function isLoopbackAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 4) return loopback.check(address, 'ipv4');
  if (family !== 6) return false;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  return v4 ? loopback.check(v4, 'ipv4') : loopback.check(address, 'ipv6');
}

/** A URL host that is loopback without asking DNS: a loopback IP literal or `localhost`. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || isLoopbackAddress(h);
}

/**
 * Why an operator's base URL override cannot be used, or null: https only; plain http only to a loopback host and
 * only with --allow-insecure-issuers; never credentials in the URL (they would go with every request).
 */
export function overrideProblem(baseUrl: string, allowInsecure: boolean): string | null {
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch {
    return 'not a URL';
  }
  if (u.username || u.password) return 'credentials in the URL are refused';
  if (u.protocol === 'https:') return null;
  if (u.protocol !== 'http:') return `${u.protocol} is refused (https only)`;
  if (!isLoopbackHost(u.hostname)) return 'plain http is refused (use https; http is accepted only for a loopback host with --allow-insecure-issuers)';
  if (!allowInsecure) return 'plain http to a loopback host needs --allow-insecure-issuers';
  return null;
}

/** Throws a ConfigError naming the first override that cannot be used (see overrideProblem). */
export function checkIssuerOverrides(baseUrls: Record<string, string>, allowInsecure: boolean): void {
  for (const [id, url] of Object.entries(baseUrls)) {
    const problem = overrideProblem(url, allowInsecure);
    if (!problem) continue;
    const [issuer, host] = id.split(':');
    throw new ConfigError(problem, host ? `issuers.${issuer}.hosts.${host}` : id === 'github' ? `issuers.github.baseUrl (or --github-url)` : `issuers.${id}.baseUrl`);
  }
}

/** `*.example.com` matches any host under example.com (not example.com itself); other patterns match exactly. */
export function hostMatches(host: string, patterns: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return patterns.some((p) => {
    const pat = p.toLowerCase();
    if (pat.startsWith('*.')) return h.endsWith(pat.slice(1)) && h.length > pat.length - 1;
    return h === pat;
  });
}

/** The one address a data-derived host resolved to and passed the checks: the connection goes there, nowhere else. */
export interface PinnedAddress {
  address: string;
  family: number;
}

export type HostCheck = { ok: true; pin: PinnedAddress } | { ok: false; reason: string };

/**
 * Checks for a base URL built from scanned data: https, default port, no credentials, allowlisted, resolved ONCE
 * to public addresses (loopback too when `allowLoopback`: --allow-insecure-issuers, as in tests). The caller
 * connects to the returned address, so a second DNS answer (rebinding) is never asked for.
 */
export async function checkDataDerivedUrl(url: URL, allowedHosts: readonly string[], lookup: Lookup, opts: { allowLoopback?: boolean } = {}): Promise<HostCheck> {
  if (url.protocol !== 'https:') return { ok: false, reason: `refused: ${url.protocol} is not https` };
  if (url.username || url.password || url.port) return { ok: false, reason: `refused: unexpected credentials or port in host ${url.host}` };
  const host = url.hostname;
  if (!hostMatches(host, allowedHosts)) return { ok: false, reason: `refused: host ${host} is not in allowed_hosts` };
  if (net.isIP(host.replace(/^\[|\]$/g, ''))) return { ok: false, reason: `refused: host ${host} is an IP literal` };
  let addresses: Array<{ address: string; family: number }>;
  try {
    addresses = await lookup(host);
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'lookup failed';
    return { ok: false, reason: `dns: ${host}: ${code}` };
  }
  if (addresses.length === 0) return { ok: false, reason: `dns: ${host}: no addresses` };
  const bad = addresses.find((a) => isNonPublicAddress(a.address) && !(opts.allowLoopback && isLoopbackAddress(a.address)));
  if (bad) return { ok: false, reason: `refused: host ${host} resolves to non-public address ${bad.address}` };
  const first = addresses[0]!;
  return { ok: true, pin: { address: first.address, family: net.isIP(first.address) } };
}
