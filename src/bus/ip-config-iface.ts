// org.netaudit1.IP4Config, IP6Config, DHCP4Config and DHCP6Config at
// /org/netaudit1/IP4Config/IFINDEX, /org/netaudit1/IP6Config/IFINDEX,
// /org/netaudit1/DHCP4Config/IFINDEX and /org/netaudit1/DHCP6Config/IFINDEX: translation of the
// core's view of what runs on a device (core/activation/ip-config.ts), with NetworkManager's
// property names. A device's Ip4Config, Ip6Config, Dhcp4Config and Dhcp6Config properties name
// them, or "/".
import dbus from 'dbus-next';
import type { Manager } from '../core/manager.js';
import type { InterfaceSpec } from './object-tree.js';

const { Variant } = dbus;

export const IP4_CONFIG_PREFIX = '/org/netaudit1/IP4Config/';
export const IP6_CONFIG_PREFIX = '/org/netaudit1/IP6Config/';
export const DHCP4_CONFIG_PREFIX = '/org/netaudit1/DHCP4Config/';
export const DHCP6_CONFIG_PREFIX = '/org/netaudit1/DHCP6Config/';
export const IP4_CONFIG_IFACE = 'org.netaudit1.IP4Config';
export const IP6_CONFIG_IFACE = 'org.netaudit1.IP6Config';
export const DHCP4_CONFIG_IFACE = 'org.netaudit1.DHCP4Config';
export const DHCP6_CONFIG_IFACE = 'org.netaudit1.DHCP6Config';

/** The path of the device's IPv4 or IPv6 configuration, or "/" when it has none. */
export function ipConfigPath(manager: Manager, ifindex: number, family: 4 | 6): string {
  return manager.ipConfig(ifindex, family) ? `${family === 4 ? IP4_CONFIG_PREFIX : IP6_CONFIG_PREFIX}${ifindex}` : '/';
}

/** The path of the device's DHCPv4 or DHCPv6 lease, or "/" when it has none. */
export function dhcpConfigPath(manager: Manager, ifindex: number, family: 4 | 6): string {
  return manager.dhcpOptions(ifindex, family) ? `${family === 4 ? DHCP4_CONFIG_PREFIX : DHCP6_CONFIG_PREFIX}${ifindex}` : '/';
}

export function ipConfigInterface(manager: Manager, ifindex: number, family: 4 | 6): InterfaceSpec {
  const view = () => manager.ipConfig(ifindex, family);
  return {
    name: family === 4 ? IP4_CONFIG_IFACE : IP6_CONFIG_IFACE,
    methods: [],
    properties: [
      {
        name: 'AddressData',
        signature: 'aa{sv}',
        get: () => (view()?.addresses ?? []).map((a) => ({ address: new Variant('s', a.address), prefix: new Variant('u', a.prefix) })),
      },
      { name: 'Gateway', signature: 's', get: () => view()?.gateway ?? '' },
      {
        name: 'RouteData',
        signature: 'aa{sv}',
        get: () =>
          (view()?.routes ?? []).map((r) => ({
            dest: new Variant('s', r.dest),
            prefix: new Variant('u', r.prefix),
            ...(r.nextHop !== null ? { 'next-hop': new Variant('s', r.nextHop) } : {}),
            metric: new Variant('u', r.metric),
            table: new Variant('u', r.table),
          })),
      },
      { name: 'NameserverData', signature: 'aa{sv}', get: () => (view()?.nameservers ?? []).map((address) => ({ address: new Variant('s', address) })) },
      { name: 'Searches', signature: 'as', get: () => [...(view()?.searches ?? [])] },
      // NetworkManager's Domains: the connection's own DNS domains; here the search domains too.
      { name: 'Domains', signature: 'as', get: () => [...(view()?.searches ?? [])] },
    ],
    signals: [],
  };
}

export function dhcpConfigInterface(manager: Manager, ifindex: number, family: 4 | 6): InterfaceSpec {
  return {
    name: family === 4 ? DHCP4_CONFIG_IFACE : DHCP6_CONFIG_IFACE,
    methods: [],
    properties: [
      {
        name: 'Options',
        signature: 'a{sv}',
        get: () => Object.fromEntries(Object.entries(manager.dhcpOptions(ifindex, family) ?? {}).map(([k, v]) => [k, new Variant('s', v)])),
      },
    ],
    signals: [],
  };
}
