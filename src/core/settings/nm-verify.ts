// NetworkManager's verdict on a profile file: the connection type it infers
// when the file names none (nm-connection.c _normalize_connection_type()),
// and the verify() failures that make NetworkManager 1.42 refuse the whole
// profile. A profile NetworkManager refuses is skipped; one it loads is
// loaded here too, whatever netauditd thinks of its values.
import { quote } from '../errors.js';
import { validateInterfaceName, validateUuid } from './validate.js';
import type { ExtraKeys } from './keyfile-reader.js';
import { getString, type Settings, type Value } from './value.js';

// Keyfile group aliases (nm-keyfile-utils.c alias_list).
const ALIASES: ReadonlyMap<string, string> = new Map([
  ['ethernet', '802-3-ethernet'],
  ['wifi', '802-11-wireless'],
  ['wifi-security', '802-11-wireless-security'],
]);

// Settings that can be a connection's base type, by the priority that
// _nm_connection_find_base_type_setting() compares (lower wins):
// NM_SETTING_PRIORITY_HW_BASE, then HW_NON_BASE (bluetooth), then pppoe.
const HW_BASE = [
  '6lowpan', '802-11-olpc-mesh', '802-11-wireless', '802-3-ethernet', 'adsl', 'bond', 'bridge', 'cdma', 'dummy', 'generic', 'gsm',
  'infiniband', 'ip-tunnel', 'loopback', 'macsec', 'macvlan', 'ovs-bridge', 'ovs-dpdk', 'ovs-interface', 'ovs-patch', 'ovs-port',
  'team', 'tun', 'veth', 'vlan', 'vpn', 'vrf', 'vxlan', 'wifi-p2p', 'wimax', 'wireguard', 'wpan',
];
const BASE_PRIORITY: ReadonlyMap<string, number> = new Map([...HW_BASE.map((n) => [n, 2] as const), ['bluetooth', 3], ['pppoe', 5]]);

// Types whose verify() needs connection.interface-name (virtual links NetworkManager creates by that name).
const NEEDS_IFNAME = new Set(['bond', 'bridge', 'dummy', 'ovs-bridge', 'ovs-interface', 'ovs-port', 'team', 'vrf', 'wireguard']);

// Keys of settings netauditd keeps without reading them that verify() requires of their type.
const REQUIRED_KEYS: ReadonlyMap<string, string> = new Map([
  ['bluetooth', 'bdaddr'],
  ['pppoe', 'username'],
  ['adsl', 'username'],
  ['6lowpan', 'parent'],
  ['ip-tunnel', 'mode'],
]);

const IP_METHODS: Readonly<Record<'ipv4' | 'ipv6', readonly string[]>> = {
  ipv4: ['auto', 'link-local', 'manual', 'shared', 'disabled'],
  ipv6: ['ignore', 'auto', 'dhcp', 'link-local', 'manual', 'shared', 'disabled'],
};

/** The setting a keyfile group holds, by NetworkManager's name. */
export function nmSettingOfGroup(group: string): string {
  if (group.startsWith('wireguard-peer.')) return 'wireguard';
  return ALIASES.get(group) ?? group;
}

/** The connection type NetworkManager infers from the settings a file holds; undefined when none or two tie. */
export function inferType(settingNames: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestPriority = Infinity;
  let tie = false;
  for (const name of new Set([...settingNames].map(nmSettingOfGroup))) {
    const priority = BASE_PRIORITY.get(name);
    if (priority === undefined || priority > bestPriority) continue;
    tie = priority === bestPriority;
    best = name;
    bestPriority = priority;
  }
  return tie ? undefined : best;
}

/** The canonical form of a connection.type value as NetworkManager reads it (aliases resolved). */
export function nmTypeName(type: string): string {
  return ALIASES.get(type) ?? type;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Why NetworkManager 1.42 would refuse the profile, or undefined when it
 * loads it. `settings` are the properties read (D-Bus names), `extra` the
 * groups and keys kept as they are. Messages name the property and never
 * quote a secret.
 */
export function nmRefusal(settings: Settings, extra: ExtraKeys): string | undefined {
  const groups = [...extra.keys()];
  const has = (setting: string): boolean => settings.has(setting) || groups.some((g) => nmSettingOfGroup(g) === setting);
  const str = (setting: string, prop: string): string | undefined => getString(settings, setting, prop);
  const prop = (setting: string, p: string): Value | undefined => settings.get(setting)?.get(p);

  const rawType = str('connection', 'type');
  if (rawType === undefined) return 'connection.type: missing, and the groups of the file name no single base setting to infer it from';
  const type = nmTypeName(rawType);
  if (!BASE_PRIORITY.has(type)) return `connection.type: ${quote(rawType)} is not a connection type NetworkManager knows`;
  const uuid = str('connection', 'uuid');
  if (uuid !== undefined) {
    try {
      validateUuid(uuid);
    } catch (e) {
      return message(e);
    }
  }
  const ifname = str('connection', 'interface-name');
  if (ifname !== undefined) {
    try {
      validateInterfaceName(ifname);
    } catch (e) {
      return message(e);
    }
  } else if (NEEDS_IFNAME.has(type)) {
    return `connection.interface-name: missing; NetworkManager needs it for a profile of type ${quote(type)}`;
  }
  const port = str('connection', 'slave-type');
  const master = str('connection', 'master');
  if (port !== undefined && master === undefined) return 'connection.master: missing; a port needs its controller';
  const portSetting = ['bond-port', 'bridge-port', 'team-port'].some(has);
  if (master !== undefined && port === undefined && !portSetting) return 'connection.slave-type: missing; a profile with connection.master needs it';

  // A port has no IP configuration of its own: NetworkManager drops it, whatever it holds.
  if (port === undefined) {
    for (const family of ['ipv4', 'ipv6'] as const) {
      const method = str(family, 'method');
      if (method === undefined) continue;
      if (!IP_METHODS[family].includes(method)) return `${family}.method: ${quote(method)} is not a method NetworkManager knows`;
      const addresses = prop(family, 'address-data');
      if (method === 'manual' && addresses === undefined) return `${family}.address-data: empty, and ${family}.method "manual" needs an address`;
      if (addresses !== undefined && ['disabled', 'link-local', 'ignore', 'shared'].includes(method) && !(method === 'shared' && family === 'ipv4')) {
        return `${family}.address-data: not allowed with ${family}.method ${quote(method)}`;
      }
      if (prop(family, 'gateway') !== undefined && addresses === undefined) return `${family}.gateway: set, but ${family} has no address`;
    }
  }

  const parentOrMac = (setting: string): boolean => str(setting, 'parent') !== undefined || prop('802-3-ethernet', 'mac-address') !== undefined;
  if ((type === 'vlan' || type === 'macvlan') && !parentOrMac(type)) return `${type}.parent: missing, and so is 802-3-ethernet.mac-address`;
  if (type === 'veth' && str('veth', 'peer') === undefined) return 'veth.peer: missing';
  if (type === '802-11-wireless') {
    const ssid = prop('802-11-wireless', 'ssid')?.value as Uint8Array | undefined;
    if (ssid === undefined) return '802-11-wireless.ssid: missing';
    if (ssid.length < 1 || ssid.length > 32) return `802-11-wireless.ssid: ${ssid.length} bytes; an SSID has 1 to 32`;
  }
  if (type === 'vpn' && !str('vpn', 'service-type')) return 'vpn.service-type: missing';
  const required = REQUIRED_KEYS.get(type);
  const keys = groups.filter((g) => nmSettingOfGroup(g) === type).flatMap((g) => extra.get(g)!.map((e) => e.key));
  if (required !== undefined && !keys.includes(required)) return `${type}.${required}: missing`;
  return undefined;
}
