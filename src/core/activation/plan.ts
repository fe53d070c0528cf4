// Activation plan: what applying a profile to a link means, worked out from
// its settings before anything is changed (docs/api.md, types that activate on
// real links). Pure: the devices it needs are looked up through a function,
// and every profile the daemon cannot apply is a named error here, before
// the attempt's record and before the kernel is asked anything.
import { NetauditError, quote } from '../errors.js';
import type { BridgeOptions, BridgePortOptions, LinkSpec, Rule } from '../platform/platform.js';
import { unappliedProperty } from '../settings/applicable.js';
import { ADDR_GEN_MODES } from '../settings/schema.js';
import { ruleFromDict } from '../settings/routing-rule.js';
import { getProp, getString, type Settings, type Value } from '../settings/value.js';

export type IpMethod = 'manual' | 'disabled' | 'link-local' | 'ignore' | 'auto' | 'dhcp';

/** What ipv4.method auto asks of DHCPv4 (NetworkManager's properties and defaults). */
export interface DhcpPlan {
  /** ipv4.dhcp-timeout, 45 s when 0 or left out */
  readonly timeoutMs: number;
  /** ipv4.may-fail (default true): the activation may succeed without a lease when the other family is configured */
  readonly mayFail: boolean;
  readonly ignoreAutoDns: boolean;
  readonly ignoreAutoRoutes: boolean;
  /** ipv4.never-default: no default route from the lease's router */
  readonly neverDefault: boolean;
  /** ipv4.dhcp-client-id as the profile has it ("mac", "duid", hex bytes…); null: type 1 and the MAC */
  readonly clientId: string | null;
  /** the host name to send (dhcp-hostname, else the system's), null when dhcp-send-hostname is false */
  readonly sendHostname: boolean;
  readonly hostname: string | null;
  /** ipv4.dad-timeout: how long the offered address is probed (ARP, RFC 5227) before it is taken; 0 no probe */
  readonly dadTimeoutMs: number;
}

/** What IPv6 asks of DHCPv6: method dhcp always, method auto when a router advertisement asks (docs/dhcp6.md). */
export interface Dhcp6Plan {
  /** ipv6.dhcp-timeout, 45 s when 0 or left out: how long method dhcp waits for a lease */
  readonly timeoutMs: number;
  /** ipv6.may-fail (default true): method dhcp may succeed without a lease when IPv4 is configured */
  readonly mayFail: boolean;
}

export interface PlannedAddress {
  readonly address: string;
  readonly prefix: number;
}

export interface PlannedRoute {
  readonly dest: string;
  readonly prefix: number;
  readonly gateway: string | null;
  readonly metric: number;
  /** the routing table: the route's own, else route-table, else main (254) */
  readonly table: number;
}

export interface IpPlan {
  readonly family: 4 | 6;
  readonly method: IpMethod;
  readonly addresses: readonly PlannedAddress[];
  /** the default route's next hop, from `gateway`; null with never-default */
  readonly gateway: string | null;
  readonly routes: readonly PlannedRoute[];
  /** the metric of the default route and of routes that name none: route-metric, else the type's default */
  readonly metric: number;
  /** the table of the default route and of routes that name none: route-table, else main (254) */
  readonly table: number;
  readonly rules: readonly Rule[];
  /** method auto, IPv4: the DHCP client's settings; null otherwise (IPv6 auto is the kernel's SLAAC) */
  readonly dhcp: DhcpPlan | null;
  /** IPv6 method auto or dhcp: the DHCPv6 client's settings; null otherwise */
  readonly dhcp6: Dhcp6Plan | null;
  /** IPv6 auto: ipv6.ip6-privacy as the kernel's use_tempaddr (0, 1, 2); null leaves the link's as it is */
  readonly privacy: 0 | 1 | 2 | null;
  /** IPv6 on: how the kernel forms the link's interface identifiers (ipv6.addr-gen-mode); null leaves the link's as it is */
  readonly addrGen: AddrGenMode | null;
  /** IPv6 auto: what router advertisements may do, and how long the activation waits for one */
  readonly ra: RaPlan | null;
}

/** The kernel's ways of forming an interface identifier that a profile can ask for (docs/dhcp.md). */
export type AddrGenMode = 'eui64' | 'stable-privacy';

/** What ipv6.method auto asks of router advertisements (NetworkManager's properties and defaults). */
export interface RaPlan {
  /** ipv6.may-fail (default true): false makes the activation wait for an address from an advertisement */
  readonly mayFail: boolean;
  /** ipv6.ra-timeout, 30 s when 0 or left out: how long it waits */
  readonly timeoutMs: number;
  /** ipv6.never-default: no default route through the advertising router */
  readonly neverDefault: boolean;
  /** ipv6.ignore-auto-routes: no routes from the advertisements' route information options */
  readonly ignoreAutoRoutes: boolean;
}

/** The default of ipv6.ra-timeout. */
export const RA_TIMEOUT_DEFAULT_S = 30;

export interface ActivationPlan {
  /** the normalised connection type: 802-3-ethernet, bridge, veth, macvlan, vxlan, dummy, vlan */
  readonly type: string;
  /** the interface the profile names (connection.interface-name), if any */
  readonly ifname: string | null;
  /** the software link the type creates, without its name and parent resolved; null for ethernet */
  readonly softwareKind: LinkSpec['kind'] | null;
  /** connection.master for a bridge port: an interface name or a profile's UUID */
  readonly master: string | null;
  /** the parent (vlan, macvlan, vxlan): an interface name or a profile's UUID */
  readonly parent: string | null;
  readonly mtu: number | null;
  /** lower-case colon hex: 802-3-ethernet.cloned-mac-address, else bridge.mac-address */
  readonly clonedMac: string | null;
  /** 802-3-ethernet.mac-address, lower-case colon hex: the profile applies only to the link with this MAC */
  readonly boundMac: string | null;
  /** a bridge's STP options (kernel units), NetworkManager's defaults for those left out */
  readonly bridge: BridgeOptions | null;
  /** a bridge port's options, NetworkManager's defaults for those left out */
  readonly port: BridgePortOptions | null;
  /** null for a bridge port: a port has no IP configuration of its own */
  readonly ipv4: IpPlan | null;
  readonly ipv6: IpPlan | null;
  /** the type's own settings, for the LinkSpec */
  readonly settings: Settings;
}

const SOFTWARE: ReadonlySet<string> = new Set(['bridge', 'veth', 'macvlan', 'vxlan', 'dummy', 'vlan']);

/** True for a profile type whose activation creates its link. */
export function isSoftware(type: string): boolean {
  return SOFTWARE.has(type);
}

/**
 * NetworkManager's default route metric per device type (nm_device_get_route_metric_default),
 * used for the default route and for routes that name no metric.
 */
const DEFAULT_METRIC: Readonly<Record<string, number>> = {
  '802-3-ethernet': 100,
  veth: 100,
  vlan: 400,
  macvlan: 410,
  bridge: 425,
  vxlan: 500,
  dummy: 550,
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `ref` (connection.master, a parent) names a profile by UUID rather than an interface. */
export function isUuidRef(ref: string): boolean {
  return UUID.test(ref);
}

function macText(v: Value | undefined): string | null {
  if (!v || !(v.value instanceof Uint8Array)) return null;
  return [...v.value].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function entries(v: Value | undefined): Map<string, Value>[] {
  return Array.isArray(v?.value) ? (v.value as Map<string, Value>[]) : [];
}

/** RT_TABLE_MAIN: NetworkManager's table 0, "the main table unless policy routing says otherwise" */
const MAIN = 254;

/** The daemon's probe length when the profile leaves ipv4.dad-timeout at -1, its default. */
export const DEFAULT_DAD_TIMEOUT_MS = 200;

function dadTimeout(value: number): number {
  return value < 0 ? DEFAULT_DAD_TIMEOUT_MS : value;
}

function ipPlan(settings: Settings, setting: 'ipv4' | 'ipv6', typeMetric: number): IpPlan {
  const family = setting === 'ipv6' ? 6 : 4;
  // A profile without the setting has NetworkManager's default method, auto.
  const method = getString(settings, setting, 'method') ?? 'auto';
  if (method === 'shared' || (method === 'dhcp' && family === 4)) {
    throw new NetauditError(
      'NotSupported',
      `${setting}.method ${quote(method)} ${method === 'shared' ? 'shares the connection with NAT and a DHCP server' : 'is not an IPv4 method'}, which netauditd does not do: set ${setting}.method to "auto", "manual" (with ${setting}.address-data), "link-local" or "disabled"${family === 6 ? ', "dhcp" or "ignore"' : ''}.`,
    );
  }
  const bool = (prop: string, fallback: boolean): boolean => (getProp(settings, setting, prop)?.value as boolean | undefined) ?? fallback;
  const neverDefault = bool('never-default', false);
  const dhcp: DhcpPlan | null =
    method === 'auto' && family === 4
      ? {
          timeoutMs: ((getProp(settings, setting, 'dhcp-timeout')?.value as number | undefined) || 45) * 1000,
          mayFail: bool('may-fail', true),
          ignoreAutoDns: bool('ignore-auto-dns', false),
          ignoreAutoRoutes: bool('ignore-auto-routes', false),
          neverDefault,
          clientId: getString(settings, setting, 'dhcp-client-id') ?? null,
          sendHostname: bool('dhcp-send-hostname', true),
          hostname: getString(settings, setting, 'dhcp-hostname') ?? null,
          dadTimeoutMs: dadTimeout((getProp(settings, setting, 'dad-timeout')?.value as number | undefined) ?? -1),
        }
      : null;
  const dhcp6: Dhcp6Plan | null =
    family === 6 && (method === 'auto' || method === 'dhcp')
      ? {
          timeoutMs: ((getProp(settings, setting, 'dhcp-timeout')?.value as number | undefined) || 45) * 1000,
          mayFail: bool('may-fail', true),
        }
      : null;
  const addresses = entries(getProp(settings, setting, 'address-data')).map((e) => ({
    address: e.get('address')!.value as string,
    prefix: e.get('prefix')!.value as number,
  }));
  const metric = (getProp(settings, setting, 'route-metric')?.value as number | undefined) ?? typeMetric;
  const table = (getProp(settings, setting, 'route-table')?.value as number | undefined) || MAIN;
  const routes = entries(getProp(settings, setting, 'route-data')).map((e) => ({
    dest: e.get('dest')!.value as string,
    prefix: e.get('prefix')!.value as number,
    gateway: (e.get('next-hop')?.value as string | undefined) ?? null,
    metric: (e.get('metric')?.value as number | undefined) ?? metric,
    table: (e.get('table')?.value as number | undefined) || table,
  }));
  const rules = entries(getProp(settings, setting, 'routing-rules')).map((e, i) => ruleFromDict(`${setting}.routing-rules[${i}]`, family, e));
  const gateway = neverDefault ? null : (getString(settings, setting, 'gateway') ?? null);
  const privacyValue = family === 6 && method === 'auto' ? (getProp(settings, setting, 'ip6-privacy')?.value as number | undefined) : undefined;
  const privacy = privacyValue === 0 || privacyValue === 1 || privacyValue === 2 ? privacyValue : null;
  const ipv6On = family === 6 && method !== 'ignore' && method !== 'disabled';
  const addrGen = ipv6On ? addrGenMode(getProp(settings, setting, 'addr-gen-mode')?.value as number | undefined) : null;
  const ra: RaPlan | null =
    family === 6 && method === 'auto'
      ? {
          mayFail: bool('may-fail', true),
          timeoutMs: ((getProp(settings, setting, 'ra-timeout')?.value as number | undefined) || RA_TIMEOUT_DEFAULT_S) * 1000,
          neverDefault,
          ignoreAutoRoutes: bool('ignore-auto-routes', false),
        }
      : null;
  return { family, method: method as IpMethod, addresses, gateway, routes, metric, table, rules, dhcp, dhcp6, privacy, addrGen, ra };
}

/**
 * ipv6.addr-gen-mode as the kernel can apply it: left out, the link's own; "default-or-eui64"
 * is eui64 and "default" stable-privacy, NetworkManager's fallbacks when its configuration names no
 * default (this daemon's names none).
 */
function addrGenMode(value: number | undefined): AddrGenMode | null {
  if (value === undefined) return null;
  return ADDR_GEN_MODES[value] === 'eui64' || ADDR_GEN_MODES[value] === 'default-or-eui64' ? 'eui64' : 'stable-privacy';
}

/**
 * The plan for a validated profile; a type that never activates on this
 * daemon (wifi without Wi-Fi hardware) or a method it does not implement
 * (shared) is NotSupported.
 */
export function planActivation(settings: Settings): ActivationPlan {
  const type = getString(settings, 'connection', 'type') ?? '';
  if (type === '802-11-wireless') {
    throw new NetauditError(
      'NotSupported',
      'This is a wifi profile and the daemon has no Wi-Fi device to activate it on: netauditd stores, checks and audits wifi profiles, but it activates ethernet, bridge, veth, macvlan, vxlan, dummy and vlan profiles only.',
      'no-wifi-device',
    );
  }
  if (type !== '802-3-ethernet' && !SOFTWARE.has(type)) {
    throw new NetauditError('NotSupported', `Profiles of type ${quote(type)} cannot be activated.`);
  }
  const unapplied = unappliedProperty(settings);
  if (unapplied) throw unapplied;
  const master = getString(settings, 'connection', 'master') ?? null;
  const metric = DEFAULT_METRIC[type] ?? 20000;
  const mtu = getProp(settings, '802-3-ethernet', 'mtu')?.value as number | undefined;
  const num = (setting: string, prop: string): number | undefined => getProp(settings, setting, prop)?.value as number | undefined;
  return {
    type,
    ifname: getString(settings, 'connection', 'interface-name') ?? null,
    softwareKind: SOFTWARE.has(type) ? (type as LinkSpec['kind']) : null,
    master,
    parent: type === 'vlan' || type === 'macvlan' || type === 'vxlan' ? (getString(settings, type, 'parent') ?? null) : null,
    mtu: mtu !== undefined && mtu > 0 ? mtu : null,
    clonedMac: macText(getProp(settings, '802-3-ethernet', 'cloned-mac-address')) ?? (type === 'bridge' ? macText(getProp(settings, 'bridge', 'mac-address')) : null),
    boundMac: macText(getProp(settings, '802-3-ethernet', 'mac-address')),
    // NetworkManager applies every bridge option at activation, its default for one left out
    // (nm-device-bridge.c, NM_BRIDGE_* of libnm-base/nm-base.h); the kernel counts in centiseconds.
    bridge:
      type === 'bridge'
        ? {
            stp: (getProp(settings, 'bridge', 'stp')?.value as boolean | undefined) ?? true,
            priority: num('bridge', 'priority') ?? 32768,
            forwardDelay: (num('bridge', 'forward-delay') ?? 15) * 100,
            helloTime: (num('bridge', 'hello-time') ?? 2) * 100,
            maxAge: (num('bridge', 'max-age') ?? 20) * 100,
          }
        : null,
    // The same for a port: NM_BRIDGE_PORT_PRIORITY_DEFAULT 32, NM_BRIDGE_PORT_PATH_COST_DEFAULT 100.
    port: master ? { priority: num('bridge-port', 'priority') ?? 32, cost: num('bridge-port', 'path-cost') ?? 100 } : null,
    ipv4: master ? null : ipPlan(settings, 'ipv4', metric),
    ipv6: master ? null : ipPlan(settings, 'ipv6', metric),
    settings,
  };
}

/** NetworkManager's macvlan.mode (1 vepa, 2 bridge, 3 private, 4 passthru, 5 source) as the kernel numbers it. */
const MACVLAN_MODE: Readonly<Record<number, number>> = { 1: 2, 2: 4, 3: 1, 4: 8, 5: 16 };

/** The LinkSpec that creates the plan's software link named `name`, its parent resolved to `parent`. */
export function linkSpec(plan: ActivationPlan, name: string, parent: number | null): LinkSpec {
  const s = plan.settings;
  const num = (setting: string, prop: string): number | undefined => getProp(s, setting, prop)?.value as number | undefined;
  switch (plan.softwareKind) {
    case 'bridge':
      return { kind: 'bridge', name };
    case 'dummy':
      return { kind: 'dummy', name };
    case 'veth':
      return { kind: 'veth', name, peer: getString(s, 'veth', 'peer')! };
    case 'macvlan':
      return {
        kind: 'macvlan',
        name,
        parent: parent!,
        mode: MACVLAN_MODE[num('macvlan', 'mode') ?? 2] ?? 4,
        // NetworkManager's defaults: promiscuous true, tap false
        ...(getProp(s, 'macvlan', 'tap')?.value === true ? { tap: true } : {}),
        ...(getProp(s, 'macvlan', 'promiscuous')?.value === false ? { noPromisc: true } : {}),
      };
    case 'vlan':
      // vlan.flags: NetworkManager's default is reorder-headers (1), its bits are the kernel's
      return { kind: 'vlan', name, parent: parent!, id: num('vlan', 'id') ?? 0, flags: num('vlan', 'flags') ?? 1 };
    case 'vxlan':
      return {
        kind: 'vxlan',
        name,
        id: num('vxlan', 'id') ?? 0,
        parent,
        local: getString(s, 'vxlan', 'local') ?? null,
        remote: getString(s, 'vxlan', 'remote') ?? null,
        port: num('vxlan', 'destination-port') ?? 8472,
      };
    default:
      throw new Error(`no software link for a profile of type ${plan.type}`);
  }
}

/** The device types a profile of `type` applies to when the link exists already. */
export function compatibleDeviceType(type: string, deviceType: string): boolean {
  if (type === '802-3-ethernet') return deviceType === 'ethernet' || deviceType === 'veth';
  return deviceType === type;
}
