// Reapply's diff (docs/reapply.md): which changes to a running connection's
// settings can be applied in place, without a new link and without taking
// the link down, and which kernel objects that means adding or removing.
// Pure: it compares two activation plans and the changed keys of two
// profiles; reapply.ts makes the kernel requests.
import { NetauditError, quote } from '../errors.js';
import type { Address, Route, Rule } from '../platform/platform.js';
import { getProp, type Settings } from '../settings/value.js';
import type { ActivationPlan, IpPlan } from './plan.js';

/** NMDeviceReapplyFlags: the only one NetworkManager knows, PRESERVE_EXTERNAL_IP. */
export const REAPPLY_PRESERVE_EXTERNAL_IP = 1;

/**
 * The keys that may differ between the applied settings and the new ones,
 * per setting ('all': any key of it). Anything else needs a new link (its
 * name, its type, its kind's own parameters, its bridge) or names a device
 * (802-3-ethernet.mac-address), as NetworkManager's can_reapply_change()
 * has it. DNS keys (ipv4/ipv6 dns, dns-search, dns-priority) are applied in
 * place too, through the DNS sources (docs/dns.md).
 */
const IN_PLACE: Readonly<Record<string, ReadonlySet<string> | 'all'>> = {
  connection: new Set(['id', 'uuid', 'autoconnect', 'autoconnect-priority', 'zone']),
  ipv4: 'all',
  ipv6: 'all',
  '802-3-ethernet': new Set(['mtu', 'cloned-mac-address']),
  bridge: new Set(['stp', 'priority', 'forward-delay', 'hello-time', 'max-age', 'mac-address']),
  'bridge-port': new Set(['priority', 'path-cost']),
};

/** The first of `changed` (setting.property, or a bare setting name) that Reapply cannot apply in place; null when there is none. */
export function incompatibleKey(changed: readonly string[]): string | null {
  for (const key of changed) {
    const dot = key.indexOf('.');
    const setting = dot < 0 ? key : key.slice(0, dot);
    const allowed = IN_PLACE[setting];
    if (allowed === undefined) return key;
    if (allowed === 'all' || dot < 0) continue;
    if (!allowed.has(key.slice(dot + 1))) return key;
  }
  return null;
}

/** Throws IncompatibleConnection naming the first key of `changed` that needs a new link. */
export function refuseIncompatible(changed: readonly string[], iface: string): void {
  const key = incompatibleKey(changed);
  if (key === null) return;
  throw new NetauditError(
    'IncompatibleConnection',
    `${key}: this change cannot be reapplied to ${quote(iface)} in place (it needs a new link or another device); deactivate and activate the connection to apply it.`,
  );
}

/** The ipv4 properties a running DHCP client was started with (dhcp4-session.ts). */
const DHCP_KEYS = ['method', 'dhcp-timeout', 'may-fail', 'never-default', 'ignore-auto-dns', 'ignore-auto-routes', 'dhcp-client-id', 'dhcp-hostname', 'dhcp-send-hostname'];
/** The ipv6 properties of ipv6.method dhcp that only an activation applies (dhcp6-session.ts). */
const DHCP6_KEYS = ['method', 'dhcp-timeout', 'may-fail'];

/** The ipv6 properties that decide what router advertisements may do on the link (apply.ts). */
const RA_KEYS = ['method', 'may-fail', 'ra-timeout', 'never-default', 'ignore-auto-routes', 'route-metric'];

/** What the link's IPv6 addresses and routes from advertisements were formed with. */
function ipv6Formed(plan: ActivationPlan): unknown {
  const ip = plan.ipv6;
  return { method: ip?.method, privacy: ip?.privacy ?? null, addrGen: ip?.addrGen ?? null, ra: ip?.ra ?? null, metric: ip?.ra ? ip.metric : null };
}

/**
 * Throws IncompatibleConnection when a Reapply would start or stop DHCPv4 (ipv4.method to or
 * from auto) or DHCPv6 alone (ipv6.method to or from dhcp), or change what the running client
 * was started with: the lease would then disagree with the profile. A new activation applies
 * such a change (docs/dhcp.md, docs/dhcp6.md).
 */
export function refuseDhcpChange(changed: readonly string[], before: ActivationPlan, after: ActivationPlan, iface: string): void {
  // SLAAC forms its addresses and routes with the settings the link had when the advertisement
  // came (use_tempaddr, addr_gen_mode, accept_ra_*): a change now would not reach the ones it has.
  const slaacKey = changed.find((k) => k === 'ipv6.ip6-privacy' || k === 'ipv6.addr-gen-mode' || ((before.ipv6?.ra || after.ipv6?.ra) && (k === 'ipv6' || RA_KEYS.some((p) => k === `ipv6.${p}`))));
  if (slaacKey !== undefined && JSON.stringify(ipv6Formed(before)) !== JSON.stringify(ipv6Formed(after))) {
    throw new NetauditError(
      'IncompatibleConnection',
      `${slaacKey}: the IPv6 addresses and routes of ${quote(iface)} were formed with the settings it was activated with, so this change cannot be reapplied in place; deactivate and activate the connection to apply it.`,
    );
  }
  const refused = (family: 'ipv4' | 'ipv6', keys: readonly string[], what: string): void => {
    const key = changed.find((k) => k === family || keys.some((p) => k === `${family}.${p}`));
    if (key === undefined) return;
    throw new NetauditError(
      'IncompatibleConnection',
      `${key}: ${what} on ${quote(iface)} runs with the settings it was activated with, so this change cannot be reapplied in place; deactivate and activate the connection to apply it.`,
    );
  };
  if (before.ipv4?.dhcp || after.ipv4?.dhcp) refused('ipv4', DHCP_KEYS, 'DHCP');
  // ipv6.method dhcp waits for its lease at activation (docs/dhcp6.md); ignore-auto-dns and
  // dns-priority follow a Reapply, as for the DNS of router advertisements.
  if (before.ipv6?.method === 'dhcp' || after.ipv6?.method === 'dhcp') refused('ipv6', DHCP6_KEYS, 'DHCPv6');
}

/**
 * The settings to apply: `next` with the applied connection's id, uuid and
 * autoconnect, as NetworkManager keeps them on Reapply (they name the
 * profile, not what runs on the link).
 */
export function keepIdentity(applied: Settings, next: Settings): Settings {
  const out = new Map([...next].map(([name, props]) => [name, new Map(props)]));
  const connection = out.get('connection') ?? new Map();
  out.set('connection', connection);
  for (const prop of ['id', 'uuid', 'autoconnect']) {
    const kept = getProp(applied, 'connection', prop);
    if (kept) connection.set(prop, kept);
    else connection.delete(prop);
  }
  return out;
}

/** The addresses an IP plan puts on link `ifindex`; `linkLocal` gives the IPv4 link-local address when the method asks for one. */
export function plannedAddresses(ip: IpPlan | null, ifindex: number, linkLocal: () => string): Address[] {
  if (!ip) return [];
  const out: Address[] = ip.addresses.map((a) => ({ ifindex, family: ip.family, address: a.address, prefix: a.prefix }));
  if (ip.method === 'link-local' && ip.family === 4) out.push({ ifindex, family: 4, address: linkLocal(), prefix: 16 });
  return out;
}

/** The routes an IP plan adds through link `ifindex`: the default route via its gateway first. */
export function plannedRoutes(ip: IpPlan | null, ifindex: number): Route[] {
  if (!ip) return [];
  const routes: Route[] = ip.routes.map((r) => ({ family: ip.family, dest: r.dest, prefix: r.prefix, gateway: r.gateway, ifindex, metric: r.metric, table: r.table }));
  if (ip.gateway) routes.unshift({ family: ip.family, dest: ip.family === 4 ? '0.0.0.0' : '::', prefix: 0, gateway: ip.gateway, ifindex, metric: ip.metric, table: ip.table });
  return routes;
}

export function addressKey(a: Address): string {
  return `${a.family} ${a.address}/${a.prefix}`;
}

/** What tells two routes apart for the kernel's delete and EEXIST: a changed next hop is another route. */
export function routeKey(r: Route): string {
  return `${r.family} ${r.dest}/${r.prefix} via ${r.gateway ?? '-'} metric ${r.metric} table ${r.table ?? 254}`;
}

export function ruleKey(r: Rule): string {
  return JSON.stringify([r.family, r.priority, r.table, r.invert, r.from, r.fromLen, r.to, r.toLen, r.fwmark, r.fwmask, r.iifname, r.oifname]);
}

export interface Delta<T> {
  /** in the old plan only */
  readonly remove: T[];
  /** in the new plan only */
  readonly add: T[];
  /** in both */
  readonly keep: T[];
}

/** What goes and what comes between `before` and `after`, told apart by `key`. */
export function delta<T>(before: readonly T[], after: readonly T[], key: (t: T) => string): Delta<T> {
  const old = new Set(before.map(key));
  const next = new Set(after.map(key));
  return {
    remove: before.filter((t) => !next.has(key(t))),
    add: after.filter((t) => !old.has(key(t))),
    keep: after.filter((t) => old.has(key(t))),
  };
}

export interface IpDelta {
  readonly addresses: Delta<Address>;
  readonly routes: Delta<Route>;
  readonly rules: Delta<Rule>;
}

/** The addresses, routes and rules that Reapply of `after` over `before` removes, adds and keeps on link `ifindex`. */
export function ipDelta(before: ActivationPlan, after: ActivationPlan, ifindex: number, linkLocal: { before: () => string; after: () => string }): IpDelta {
  const ips = (plan: ActivationPlan): Array<IpPlan | null> => [plan.ipv4, plan.ipv6];
  return {
    addresses: delta(
      ips(before).flatMap((ip) => plannedAddresses(ip, ifindex, linkLocal.before)),
      ips(after).flatMap((ip) => plannedAddresses(ip, ifindex, linkLocal.after)),
      addressKey,
    ),
    routes: delta(
      ips(before).flatMap((ip) => plannedRoutes(ip, ifindex)),
      ips(after).flatMap((ip) => plannedRoutes(ip, ifindex)),
      routeKey,
    ),
    rules: delta(
      ips(before).flatMap((ip) => ip?.rules ?? []),
      ips(after).flatMap((ip) => ip?.rules ?? []),
      ruleKey,
    ),
  };
}

/** True when `settings` is NetworkManager's "no settings given": an empty dictionary. */
export function isEmptySettings(settings: Settings): boolean {
  return settings.size === 0;
}

