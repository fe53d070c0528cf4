// Names of profile properties as people type them (nmcli's): setting
// aliases (`ethernet` for 802-3-ethernet, `wifi-sec` for
// 802-11-wireless-security), nmcli's property names where they differ from
// the D-Bus ones (`ipv4.addresses` for address-data, `ipv4.routes` for
// route-data), and the short words of `connection add` (`con-name`, `ifname`…).
import { propertySpec, settingForGroup, settingSpec, type PropertySpec } from '../core/settings/schema.js';

export interface PropertyRef {
  /** D-Bus setting name, e.g. 802-3-ethernet */
  readonly setting: string;
  /** D-Bus property name, e.g. address-data */
  readonly property: string;
  readonly spec: PropertySpec;
}

const SETTING_ALIASES: ReadonlyMap<string, string> = new Map([
  ['wifi-sec', '802-11-wireless-security'],
  ['eth', '802-3-ethernet'],
]);

// nmcli's name → the D-Bus name, per setting.
const PROPERTY_ALIASES: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map(
  ['ipv4', 'ipv6'].map((s) => [s, new Map([['addresses', 'address-data'], ['routes', 'route-data']])]),
);

/** The words of `connection add` (and modify) that stand for a property. */
export const SHORT_ALIASES: ReadonlyMap<string, string> = new Map([
  ['con-name', 'connection.id'],
  ['ifname', 'connection.interface-name'],
  ['type', 'connection.type'],
  ['autoconnect', 'connection.autoconnect'],
  ['master', 'connection.master'],
  ['slave-type', 'connection.slave-type'],
  ['ip4', 'ipv4.addresses'],
  ['gw4', 'ipv4.gateway'],
  ['ip6', 'ipv6.addresses'],
  ['gw6', 'ipv6.gateway'],
  ['ssid', '802-11-wireless.ssid'],
  ['mac', '802-3-ethernet.mac-address'],
  ['cloned-mac', '802-3-ethernet.cloned-mac-address'],
  ['peer', 'veth.peer'],
  ['dev', 'vlan.parent'],
  ['id', 'vlan.id'],
]);

/** The D-Bus setting name for a name or alias; undefined when unknown. */
export function canonicalSetting(name: string): string | undefined {
  const alias = SETTING_ALIASES.get(name);
  if (alias !== undefined) return alias;
  if (settingSpec(name) !== undefined) return name;
  return settingForGroup(name)?.name;
}

/** `setting.property` (aliases allowed) resolved; undefined when either is unknown. */
export function resolvePropertyName(text: string): PropertyRef | undefined {
  const long = SHORT_ALIASES.get(text) ?? text;
  const dot = long.indexOf('.');
  if (dot <= 0) return undefined;
  const setting = canonicalSetting(long.slice(0, dot));
  if (setting === undefined) return undefined;
  const typed = long.slice(dot + 1);
  const property = PROPERTY_ALIASES.get(setting)?.get(typed) ?? typed;
  const spec = propertySpec(setting, property);
  return spec === undefined ? undefined : { setting, property, spec };
}

/** How a property is shown: `ipv4.addresses`, `802-3-ethernet.mtu`. */
export function displayName(setting: string, property: string): string {
  for (const [shown, real] of PROPERTY_ALIASES.get(setting) ?? []) if (real === property) return `${setting}.${shown}`;
  return `${setting}.${property}`;
}
