// Where a key may be sent: https official hosts, allowlisted data-derived hosts that resolve to public addresses.
import { promises as dns } from 'node:dns';
import net from 'node:net';

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

/** `*.example.com` matches any host under example.com (not example.com itself); other patterns match exactly. */
export function hostMatches(host: string, patterns: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return patterns.some((p) => {
    const pat = p.toLowerCase();
    if (pat.startsWith('*.')) return h.endsWith(pat.slice(1)) && h.length > pat.length - 1;
    return h === pat;
  });
}

export type HostCheck = { ok: true } | { ok: false; reason: string };

/** Checks for a base URL built from scanned data: https, default port, no credentials, allowlisted, public DNS. */
export async function checkDataDerivedUrl(url: URL, allowedHosts: readonly string[], lookup: Lookup): Promise<HostCheck> {
  if (url.protocol !== 'https:') return { ok: false, reason: `refused: ${url.protocol} is not https` };
  if (url.username || url.password || url.port) return { ok: false, reason: `refused: unexpected credentials or port in host ${url.host}` };
  const host = url.hostname;
  if (!hostMatches(host, allowedHosts)) return { ok: false, reason: `refused: host ${host} is not in allowed_hosts` };
  if (net.isIP(host.replace(/^\[|\]$/g, ''))) return { ok: false, reason: `refused: host ${host} is an IP literal` };
  let addresses: Array<{ address: string }>;
  try {
    addresses = await lookup(host);
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'lookup failed';
    return { ok: false, reason: `dns: ${host}: ${code}` };
  }
  if (addresses.length === 0) return { ok: false, reason: `dns: ${host}: no addresses` };
  const bad = addresses.find((a) => isNonPublicAddress(a.address));
  if (bad) return { ok: false, reason: `refused: host ${host} resolves to non-public address ${bad.address}` };
  return { ok: true };
}
