// A LinkDns for the DNS unit tests: link `ifindex` named ethN, priority 0 (the default), no default route.
import type { LinkDns } from '../../../../src/core/dns/link-dns.js';

export function dns(ifindex: number, servers: string[], options: Partial<LinkDns> = {}): LinkDns {
  return { ifindex, iface: `eth${ifindex}`, servers, searches: [], priority: 0, defaultRoute: false, ...options };
}
