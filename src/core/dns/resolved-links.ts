// ResolvedLinks: what DNS mode `resolved` needs of systemd-resolved, the
// per-link calls of its org.freedesktop.resolve1.Manager (docs/dns.md). The
// bus layer implements it (src/bus/resolved-client.ts); the core never
// speaks D-Bus itself.

export interface ResolvedDomain {
  /** a DNS name, or '.' for every name */
  readonly domain: string;
  /** true: used to pick the link's servers only, never to complete a short name */
  readonly routeOnly: boolean;
}

export interface ResolvedLinks {
  /** SetLinkDNS: the link's servers, IPv4 or IPv6 text, in order */
  setLinkDns(ifindex: number, servers: readonly string[]): Promise<void>;
  /** SetLinkDomains */
  setLinkDomains(ifindex: number, domains: readonly ResolvedDomain[]): Promise<void>;
  /** SetLinkDefaultRoute: whether names no link's domain matches may be asked on this link */
  setLinkDefaultRoute(ifindex: number, defaultRoute: boolean): Promise<void>;
  /** RevertLink: forgets everything set on the link */
  revertLink(ifindex: number): Promise<void>;
}
