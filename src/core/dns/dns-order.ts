// DNS order: how the DNS of every source is ranked and merged, as
// NetworkManager ranks it by dns-priority (docs/dns.md). Pure: DnsManager
// orders, the backends merge what they use.
import { effectivePriority, type LinkDns } from './link-dns.js';

/**
 * The sources by key in the order they were set, with those of one owner
 * (the key up to its last ':', `active:7:`) together where its first came,
 * and its static ones (`…:static4`) before the rest (`…:dhcp4`): a
 * connection's own servers before those it learned, as NetworkManager
 * lists them.
 */
export function setOrder(entries: Iterable<readonly [string, LinkDns]>): LinkDns[] {
  const owners = new Map<string, Array<readonly [string, LinkDns]>>();
  for (const entry of entries) {
    const owner = entry[0].slice(0, entry[0].lastIndexOf(':') + 1);
    owners.set(owner, [...(owners.get(owner) ?? []), entry]);
  }
  const isStatic = (key: string): boolean => /:static\d*$/.test(key);
  return [...owners.values()].flatMap((group) => [...group.filter(([k]) => isStatic(k)), ...group.filter(([k]) => !isStatic(k))].map(([, dns]) => dns));
}

/**
 * The sources in the order their DNS is used, each with its effective
 * priority (0 read as the default): lowest priority first; among equals a
 * source with a default route first, then in the order given (setOrder's).
 */
export function orderSources(sources: Iterable<LinkDns>): LinkDns[] {
  // Array.prototype.sort is stable: equals keep the order in which they were set.
  return [...sources]
    .map((s) => (s.priority === 0 ? { ...s, priority: effectivePriority(0) } : s))
    .sort((a, b) => a.priority - b.priority || Number(b.defaultRoute) - Number(a.defaultRoute));
}

/**
 * The priority that excludes every higher one, when there is one: a
 * negative priority, the lowest of all (`ordered` as orderSources gives it).
 */
export function exclusivePriority(ordered: readonly LinkDns[]): number | null {
  const first = ordered[0];
  return first !== undefined && first.priority < 0 ? first.priority : null;
}

/** The sources a merged configuration uses: all, or with a negative lowest priority only those that have it. */
export function usedSources(ordered: readonly LinkDns[]): LinkDns[] {
  const exclusive = exclusivePriority(ordered);
  return exclusive === null ? [...ordered] : ordered.filter((s) => s.priority === exclusive);
}

/** The servers and search domains of `sources`, in their order, each once. */
export function mergeDns(sources: readonly LinkDns[]): { servers: string[]; searches: string[] } {
  const servers: string[] = [];
  const searches: string[] = [];
  for (const s of sources) {
    for (const server of s.servers) if (!servers.includes(server)) servers.push(server);
    for (const domain of s.searches) if (!searches.includes(domain)) searches.push(domain);
  }
  return { servers, searches };
}
