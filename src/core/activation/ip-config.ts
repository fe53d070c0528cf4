// What a device's IP4Config/IP6Config and DHCP4Config objects show (docs/api.md), as
// NetworkManager's do: the addresses the link has now (the kernel's), and the routes, gateway
// and DNS the running connection applied, its lease's included.
import type { Address } from '../platform/platform.js';
import type { ActiveConnection } from './active-connection.js';
import type { IpPlan } from './plan.js';

export interface IpRouteView {
  readonly dest: string;
  readonly prefix: number;
  /** null for a directly connected route */
  readonly nextHop: string | null;
  readonly metric: number;
  readonly table: number;
}

export interface IpConfigView {
  readonly family: 4 | 6;
  readonly addresses: ReadonlyArray<{ readonly address: string; readonly prefix: number }>;
  /** the default route's next hop; null without one */
  readonly gateway: string | null;
  /** the connection's routes other than the default route */
  readonly routes: readonly IpRouteView[];
  readonly nameservers: readonly string[];
  /** search domains */
  readonly searches: readonly string[];
}

/** The view of `active`'s `family` configuration; null when that family is ignored or disabled. */
export function ipConfigView(
  active: ActiveConnection,
  plan: IpPlan | null,
  linkAddresses: readonly Address[],
  dns: { readonly servers: readonly string[]; readonly searches: readonly string[] },
): IpConfigView | null {
  if (!plan || plan.method === 'ignore' || plan.method === 'disabled') return null;
  const family = plan.family;
  const routes: IpRouteView[] = [];
  let gateway: string | null = null;
  for (const step of active.undo) {
    if (step.kind !== 'remove-route' || step.route.family !== family) continue;
    const r = step.route;
    if (r.prefix === 0 && r.gateway !== null) {
      gateway ??= r.gateway;
      continue;
    }
    routes.push({ dest: r.dest, prefix: r.prefix, nextHop: r.gateway, metric: r.metric, table: r.table ?? 254 });
  }
  return {
    family,
    addresses: linkAddresses.filter((a) => a.family === family && a.ifindex === active.ifindex).map((a) => ({ address: a.address, prefix: a.prefix })),
    gateway,
    routes,
    nameservers: dns.servers.filter((s) => (family === 4 ? !s.includes(':') : s.includes(':'))),
    searches: dns.searches,
  };
}
