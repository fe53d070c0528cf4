// Static DNS: the DNS an active connection's own settings give — ipv4.dns,
// ipv4.dns-search, ipv4.dns-priority and the same of ipv6 — as the DNS
// sources `active:N:static4` and `active:N:static6` (docs/dns.md): one per
// family, since each family has its own priority. Set when the connection
// is activated, adopted or reapplied; the connection's end removes them.
import type { DnsManager } from '../dns/dns-manager.js';
import { ipv4FromU32, ipv6FromBytes } from '../settings/keyfile-writer.js';
import { getProp, type Settings } from '../settings/value.js';
import type { ActivationPlan, IpPlan } from './plan.js';

export interface StaticDns {
  /** IPv4 or IPv6 text, in order */
  readonly servers: string[];
  readonly searches: string[];
  /** as set: 0 is the default */
  readonly priority: number;
}

/** What `setting` of `settings` gives: its servers as text, its search domains and its priority. */
export function staticDnsOf(settings: Settings, setting: 'ipv4' | 'ipv6'): StaticDns {
  const raw = getProp(settings, setting, 'dns')?.value;
  const servers = setting === 'ipv4' ? ((raw as number[] | undefined) ?? []).map(ipv4FromU32) : ((raw as Uint8Array[] | undefined) ?? []).map(ipv6FromBytes);
  return {
    servers,
    searches: [...((getProp(settings, setting, 'dns-search')?.value as string[] | undefined) ?? [])],
    priority: (getProp(settings, setting, 'dns-priority')?.value as number | undefined) ?? 0,
  };
}

/** The prefix of every DNS source of active connection `number`. */
export function activeDnsPrefix(number: number): string {
  return `active:${number}:`;
}

/**
 * Sets the static sources of active connection `number` on link
 * `ifindex`/`iface` from `plan`; a family that gives none (a bridge port,
 * ipv6.method ignore, no servers or domains) has its source removed.
 */
export async function setStaticDns(dns: DnsManager, number: number, plan: ActivationPlan, ifindex: number, iface: string): Promise<void> {
  const family = async (ip: IpPlan | null, setting: 'ipv4' | 'ipv6'): Promise<void> => {
    const key = `${activeDnsPrefix(number)}static${setting === 'ipv4' ? 4 : 6}`;
    if (!ip || ip.method === 'ignore') return dns.remove(key);
    // A family with a default route makes its link a default DNS route.
    return dns.set(key, { ifindex, iface, ...staticDnsOf(plan.settings, setting), defaultRoute: ip.gateway !== null });
  };
  await Promise.all([family(plan.ipv4, 'ipv4'), family(plan.ipv6, 'ipv6')]);
}
