// LinkDns: the DNS one source (an active connection's static settings of
// one family, a DHCP lease…) gives one link, as DnsManager takes it and the
// backends receive it (docs/dns.md). What a backend writes must never be
// able to break out of its line or its argument, so a server or a domain
// that is not plainly one is dropped here, before any backend sees it.
import { isIPv4, isIPv6 } from 'node:net';

export interface LinkDns {
  readonly ifindex: number;
  readonly iface: string;
  /** IPv4 or IPv6 text, in order */
  readonly servers: readonly string[];
  /** search domains, in order; `~name` is a routing-only domain, `~.` makes the link a default DNS route */
  readonly searches: readonly string[];
  /** NetworkManager's dns-priority: 0 is the default (100); lower is preferred; a negative value excludes higher ones */
  readonly priority: number;
  /** whether this link is a default DNS route (resolved's SetLinkDefaultRoute): the source has a default route */
  readonly defaultRoute: boolean;
}

/** NetworkManager's default for dns-priority 0 on a connection that is not a VPN. */
export const DEFAULT_DNS_PRIORITY = 100;

/** The priority that orders a source: its own, or the default for 0. */
export function effectivePriority(priority: number): number {
  return priority === 0 ? DEFAULT_DNS_PRIORITY : priority;
}

// A DNS name as resolvers take it: labels of letters, digits, '-' and '_', dot-separated, an optional
// final dot; or '.' (the root) after '~'.
const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const DOMAIN = new RegExp(`^~?(?:${LABEL}(?:\\.${LABEL})*\\.?|(?<=~)\\.)$`);

export function isDnsServer(text: string): boolean {
  return isIPv4(text) || (isIPv6(text) && !text.includes('%'));
}

export function isSearchDomain(text: string): boolean {
  return text.length <= 254 && DOMAIN.test(text);
}

/** True when `dns` gives nothing: no server and no domain. */
export function isEmptyDns(dns: Pick<LinkDns, 'servers' | 'searches'>): boolean {
  return dns.servers.length === 0 && dns.searches.length === 0;
}

/** `dns` with what is not a server or a domain left out, and each value once; `dropped` names what went. */
export function cleanLinkDns(dns: LinkDns): { dns: LinkDns; dropped: string[] } {
  const dropped: string[] = [];
  const keep = (values: readonly string[], valid: (v: string) => boolean): string[] => {
    const out: string[] = [];
    for (const v of values) {
      if (!valid(v)) dropped.push(v);
      else if (!out.includes(v)) out.push(v);
    }
    return out;
  };
  return {
    dns: {
      ifindex: dns.ifindex,
      iface: dns.iface,
      servers: keep(dns.servers, isDnsServer),
      searches: keep(dns.searches, isSearchDomain),
      priority: Number.isInteger(dns.priority) ? dns.priority : 0,
      defaultRoute: dns.defaultRoute,
    },
    dropped,
  };
}

export function sameLinkDns(a: LinkDns, b: LinkDns): boolean {
  const same = (x: readonly string[], y: readonly string[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return a.ifindex === b.ifindex && a.iface === b.iface && a.priority === b.priority && a.defaultRoute === b.defaultRoute && same(a.servers, b.servers) && same(a.searches, b.searches);
}
