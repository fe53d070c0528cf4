// ResolvedDns: DNS mode `resolved` (docs/dns.md). Each link gets its own
// servers, domains and default-route flag in systemd-resolved, which then
// routes each name to the links whose domains match it (split DNS), the
// others to the default-route links. A link's calls are made again only
// when what it should have changed. resolved that fails, or does not
// answer in time, fails nothing: it is logged once per episode and the
// calls are made again at the next change.
import type { DomainLogger } from '../../log/logger.js';
import { quote } from '../errors.js';
import type { DnsBackend } from './dns-manager.js';
import { exclusivePriority, mergeDns } from './dns-order.js';
import type { LinkDns } from './link-dns.js';
import type { ResolvedDomain, ResolvedLinks } from './resolved-links.js';

export interface ResolvedLink {
  readonly ifindex: number;
  readonly iface: string;
  readonly servers: readonly string[];
  readonly domains: readonly ResolvedDomain[];
  readonly defaultRoute: boolean;
}

/**
 * What each link should have in resolved, from every source in order. A
 * link is a default route when a source on it has a default route or `~.`
 * in its search domains. A negative lowest priority is exclusive: the links
 * with a source of that priority are the default routes, with those
 * sources' domains; every other link keeps its servers but gets no domain
 * and no default route, so that no name is asked there.
 */
export function resolvedLinks(ordered: readonly LinkDns[]): ResolvedLink[] {
  const exclusive = exclusivePriority(ordered);
  const byLink = new Map<number, LinkDns[]>();
  for (const s of ordered) byLink.set(s.ifindex, [...(byLink.get(s.ifindex) ?? []), s]);
  return [...byLink].map(([ifindex, sources]) => {
    const used = exclusive === null ? sources : sources.filter((s) => s.priority === exclusive);
    const domains = mergeDns(used).searches.map((d) => (d.startsWith('~') ? { domain: d.slice(1), routeOnly: true } : { domain: d, routeOnly: false }));
    const defaultRoute = exclusive === null ? used.some((s) => s.defaultRoute || s.searches.includes('~.')) : used.length > 0;
    return { ifindex, iface: sources[0]!.iface, servers: mergeDns(sources).servers, domains, defaultRoute };
  });
}

export interface ResolvedDnsOptions {
  readonly links: ResolvedLinks;
  readonly log: DomainLogger;
  /** how long one call may take before it counts as failed; 5 s by default */
  readonly timeoutMs?: number;
}

export class ResolvedDns implements DnsBackend {
  readonly name = 'resolved';
  /** per link resolved was told about: what it has (JSON), or null when a call failed halfway */
  private readonly sent = new Map<number, string | null>();
  private failing = false;

  constructor(private readonly options: ResolvedDnsOptions) {}

  async apply(ordered: readonly LinkDns[]): Promise<void> {
    const wanted = resolvedLinks(ordered);
    let failure: string | null = null;
    for (const link of wanted) {
      const text = JSON.stringify(link);
      if (this.sent.get(link.ifindex) === text) continue;
      this.sent.set(link.ifindex, null);
      try {
        await this.call(() => this.options.links.setLinkDns(link.ifindex, link.servers));
        await this.call(() => this.options.links.setLinkDomains(link.ifindex, link.domains));
        await this.call(() => this.options.links.setLinkDefaultRoute(link.ifindex, link.defaultRoute));
        this.sent.set(link.ifindex, text);
      } catch (e) {
        failure ??= `systemd-resolved did not take the DNS of ${quote(link.iface)} (ifindex ${link.ifindex}): ${(e as Error).message}`;
      }
    }
    for (const ifindex of [...this.sent.keys()]) {
      if (!wanted.some((l) => l.ifindex === ifindex)) await this.revert(ifindex);
    }
    if (failure !== null && !this.failing) this.options.log.warn(`${failure}; netauditd tries again at the next DNS change`);
    else if (failure === null && this.failing) this.options.log.info('systemd-resolved takes the DNS of the active connections again');
    this.failing = failure !== null;
  }

  async close(restore: boolean): Promise<void> {
    // A daemon that stops leaves resolved as it is: the connections stay configured and the next daemon adopts them.
    if (!restore) return;
    for (const ifindex of [...this.sent.keys()]) await this.revert(ifindex);
  }

  /** Forgets the link in resolved; a link that is gone, or a resolved that has gone, has nothing left to forget. */
  private async revert(ifindex: number): Promise<void> {
    this.sent.delete(ifindex);
    await this.call(() => this.options.links.revertLink(ifindex)).catch((e: Error) => this.options.log.debug(`systemd-resolved did not revert ifindex ${ifindex}: ${e.message}`));
  }

  private async call(run: () => Promise<void>): Promise<void> {
    const ms = this.options.timeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        run(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
