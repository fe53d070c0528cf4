// Schema: the settings and properties a profile may hold (docs/api.md), each with
// its NetworkManager D-Bus signature and keyfile group, and which properties
// are secrets. Secrets are marked here and nowhere else: every filter of
// secrets (GetSettings, the log, the writer) asks this table.

export type Signature = 's' | 'b' | 'y' | 'u' | 'i' | 'ay' | 'as' | 'au' | 'aay' | 'aa{sv}' | 'a{ss}';

// What a property holds beyond its signature: validation and the keyfile
// codec both dispatch on it, so a new property needs no code of its own.
export type PropertyKind =
  | 'plain'
  | 'id'
  | 'uuid'
  | 'connection-type'
  | 'ifname'
  | 'parent'
  | 'mac'
  | 'cloned-mac'
  | 'mtu'
  | 'ssid'
  | 'cert'
  | 'address-data'
  | 'route-data'
  | 'gateway'
  | 'dns'
  | 'dns-search'
  | 'ip'
  | 'permissions'
  | 'routing-rules'
  | 'string-dict'
  // an int32 whose keyfile form is a name: choices[value] (NetworkManager writes enums by nick)
  | 'enum';

export interface PropertySpec {
  readonly name: string;
  readonly signature: Signature;
  readonly kind: PropertyKind;
  readonly range?: readonly [number, number];
  readonly choices?: readonly string[];
  readonly secret: boolean;
  // The property whose bits say who owns this secret and whether it is saved.
  readonly secretFlags?: string;
  // A string-dict's keyfile form: its items are the keys of this group
  // (the setting's own group for vpn.data, "vpn-secrets" for vpn.secrets).
  readonly keyfileGroup?: string;
}

export interface SettingSpec {
  readonly name: string;
  readonly keyfileGroup: string;
  readonly properties: ReadonlyMap<string, PropertySpec>;
}

// NetworkManager's secret flags (nm-setting.h NMSettingSecretFlags).
export const SECRET_FLAG_AGENT_OWNED = 0x1;
export const SECRET_FLAG_NOT_SAVED = 0x2;
export const SECRET_FLAGS_MAX = 0xf;

/** ipv6.addr-gen-mode's names, by value (NMSettingIP6ConfigAddrGenMode). */
export const ADDR_GEN_MODES = ['eui64', 'stable-privacy', 'default-or-eui64', 'default'] as const;

const U32: readonly [number, number] = [0, 0xffffffff];
const U16: readonly [number, number] = [0, 0xffff];
const FLAGS: readonly [number, number] = [0, SECRET_FLAGS_MAX];

interface Declared {
  readonly signature: Signature;
  readonly kind?: PropertyKind;
  readonly range?: readonly [number, number];
  readonly choices?: readonly string[];
  readonly secret?: boolean;
  readonly secretFlags?: string;
  readonly keyfileGroup?: string;
}

const s = (kind: PropertyKind = 'plain', choices?: readonly string[]): Declared => ({ signature: 's', kind, ...(choices ? { choices } : {}) });
const b: Declared = { signature: 'b' };
const u = (range: readonly [number, number] = U32): Declared => ({ signature: 'u', range });
const secretString = (secretFlags: string): Declared => ({ signature: 's', secret: true, secretFlags });
const flags: Declared = { signature: 'u', range: FLAGS };
const mac: Declared = { signature: 'ay', kind: 'mac' };
const clonedMac: Declared = { signature: 'ay', kind: 'cloned-mac' };
const mtu: Declared = { signature: 'u', kind: 'mtu' };
const cert: Declared = { signature: 'ay', kind: 'cert' };

/** The properties in name order, as the other settings declare theirs. */
function sortedKeys(props: Record<string, Declared>): Record<string, Declared> {
  return Object.fromEntries(Object.entries(props).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function ipSetting(methods: readonly string[], dns: Declared, family: Record<string, Declared>): Record<string, Declared> {
  return sortedKeys({
    'address-data': { signature: 'aa{sv}', kind: 'address-data' },
    dns,
    // NetworkManager's int32: 0 for the default (100), lower preferred, negative exclusive (docs/dns.md).
    'dns-priority': { signature: 'i' },
    'dns-search': { signature: 'as', kind: 'dns-search' },
    gateway: s('gateway'),
    ...family,
    'may-fail': b,
    method: s('plain', methods),
    'never-default': b,
    'route-data': { signature: 'aa{sv}', kind: 'route-data' },
    // NetworkManager's route-metric is an int64 with -1 for "the device's default"; here the
    // default is the property left out, so a metric is an unsigned 32-bit number as the kernel's.
    'route-metric': u(),
    'route-table': u(),
    'routing-rules': { signature: 'aa{sv}', kind: 'routing-rules' },
  });
}

// The order of settings is the order of groups in a profile file and of
// normalized settings; that of properties, of normalized properties.
const DECLARED: ReadonlyArray<readonly [name: string, keyfileGroup: string, properties: Record<string, Declared>]> = [
  [
    'connection',
    'connection',
    {
      id: s('id'),
      uuid: s('uuid'),
      type: s('connection-type'),
      autoconnect: b,
      'autoconnect-priority': { signature: 'i', range: [-999, 999] },
      'interface-name': s('ifname'),
      master: s('parent'),
      permissions: { signature: 'as', kind: 'permissions' },
      'slave-type': s('plain', ['bridge']),
      zone: s(),
    },
  ],
  ['802-3-ethernet', 'ethernet', { 'cloned-mac-address': clonedMac, 'mac-address': mac, mtu }],
  [
    '802-11-wireless',
    'wifi',
    {
      band: s('plain', ['a', 'bg', '6GHz']),
      channel: u(),
      'cloned-mac-address': clonedMac,
      hidden: b,
      mode: s('plain', ['infrastructure', 'adhoc', 'ap', 'mesh']),
      mtu,
      ssid: { signature: 'ay', kind: 'ssid' },
    },
  ],
  [
    '802-11-wireless-security',
    'wifi-security',
    {
      'auth-alg': s('plain', ['open', 'shared', 'leap']),
      'key-mgmt': s('plain', ['none', 'ieee8021x', 'owe', 'wpa-psk', 'sae', 'wpa-eap', 'wpa-eap-suite-b-192']),
      'leap-password': secretString('leap-password-flags'),
      'leap-password-flags': flags,
      psk: secretString('psk-flags'),
      'psk-flags': flags,
      'wep-key-flags': flags,
      'wep-key0': secretString('wep-key-flags'),
      'wep-key1': secretString('wep-key-flags'),
      'wep-key2': secretString('wep-key-flags'),
      'wep-key3': secretString('wep-key-flags'),
    },
  ],
  [
    '802-1x',
    '802-1x',
    {
      'ca-cert': cert,
      'client-cert': cert,
      eap: { signature: 'as', choices: ['leap', 'md5', 'tls', 'peap', 'ttls', 'pwd', 'fast', 'sim', 'aka', "aka'", 'external'] },
      identity: s(),
      password: secretString('password-flags'),
      'password-flags': flags,
      'private-key': cert,
      'private-key-password': secretString('private-key-password-flags'),
      'private-key-password-flags': flags,
    },
  ],
  // Ranges from NetworkManager's libnm-base/nm-base.h (NM_BRIDGE_*).
  ['bridge', 'bridge', { 'forward-delay': u([0, 30]), 'hello-time': u([1, 10]), 'mac-address': mac, 'max-age': u([6, 40]), priority: u(U16), stp: b }],
  ['bridge-port', 'bridge-port', { 'path-cost': u(U16), priority: u([0, 63]) }],
  ['vlan', 'vlan', { flags: u([0, 15]), id: u([0, 4094]), parent: s('parent') }],
  ['veth', 'veth', { peer: s('ifname') }],
  // macvlan.mode: NMSettingMacvlanMode, 1 vepa … 5 source.
  ['macvlan', 'macvlan', { mode: u([1, 5]), parent: s('parent'), promiscuous: b, tap: b }],
  ['vxlan', 'vxlan', { 'destination-port': u(U16), id: u([0, 0xffffff]), local: s('ip'), parent: s('parent'), remote: s('ip') }],
  ['dummy', 'dummy', {}],
  // NetworkManager's vpn setting (nm-setting-vpn.h): the plugin's options in
  // `data`, its secrets in `secrets`, every value of which is a secret. In a
  // keyfile the data items are the [vpn] keys that are not properties, the
  // secrets the keys of [vpn-secrets]; a secret KEY is saved unless the data
  // item "KEY-flags" says an agent owns it or it is not to be saved.
  [
    'vpn',
    'vpn',
    {
      data: { signature: 'a{ss}', kind: 'string-dict', keyfileGroup: 'vpn' },
      persistent: b,
      secrets: { signature: 'a{ss}', kind: 'string-dict', keyfileGroup: 'vpn-secrets', secret: true },
      'service-type': s(),
      timeout: u(),
      'user-name': s(),
    },
  ],
  // ipv4.dhcp-client-id: NetworkManager's forms, "mac", "perm-mac", "duid", "ipv6-duid",
  // "stable", "none", or hex bytes "01:aa:bb:…" (checked where it is used, plan.ts).
  // DHCPv4 (ipv4.method auto), NetworkManager's properties and meanings: dhcp-timeout 0 is the
  // default, 45 s; dhcp-send-hostname defaults to true. IPv6 has ignore-auto-dns (the DNS of
  // router advertisements and of DHCPv6) and dhcp-timeout (ipv6.method dhcp, docs/dhcp6.md);
  // DHCPv6 sends no host name, so the other DHCP properties would be stored and not applied.
  [
    'ipv4',
    'ipv4',
    ipSetting(['auto', 'link-local', 'manual', 'disabled'], { signature: 'au', kind: 'dns' }, {
      // ipv4.dad-timeout, NetworkManager's: -1 (or left out) the default, 200 ms here; 0 no
      // probe; else the probe's length in ms (at most 30 s).
      'dad-timeout': { signature: 'i', range: [-1, 30_000] },
      'dhcp-client-id': s(),
      'dhcp-hostname': s(),
      'dhcp-send-hostname': b,
      'dhcp-timeout': { signature: 'i', range: [0, 0x7fffffff] },
      'ignore-auto-dns': b,
      'ignore-auto-routes': b,
    }),
  ],
  // ipv6.ip6-privacy, NetworkManager's: -1 (or left out) leaves the kernel's use_tempaddr as it
  // is, 0 no temporary addresses, 1 temporary ones beside, 2 temporary ones preferred (RFC 8981).
  // ipv6.addr-gen-mode, NetworkManager's enum: 0 eui64, 1 stable-privacy, 2 default-or-eui64,
  // 3 default; keyfiles hold the names, the bus the numbers (docs/dhcp.md says how each applies).
  // ipv6.ra-timeout: seconds to wait for a router advertisement when ipv6.may-fail is false;
  // 0 (or left out) the default, 30 s.
  [
    'ipv6',
    'ipv6',
    ipSetting(['auto', 'dhcp', 'link-local', 'manual', 'disabled', 'ignore'], { signature: 'aay', kind: 'dns' }, {
      'addr-gen-mode': { signature: 'i', kind: 'enum', choices: ADDR_GEN_MODES, range: [0, ADDR_GEN_MODES.length - 1] },
      'dhcp-timeout': { signature: 'i', range: [0, 0x7fffffff] },
      'ignore-auto-dns': b,
      'ip6-privacy': { signature: 'i', range: [-1, 2] },
      'ra-timeout': { signature: 'i', range: [0, 0x7fffffff] },
    }),
  ],
];

function build(): ReadonlyMap<string, SettingSpec> {
  const out = new Map<string, SettingSpec>();
  for (const [name, keyfileGroup, declared] of DECLARED) {
    const properties = new Map<string, PropertySpec>();
    for (const [prop, d] of Object.entries(declared)) {
      // Generic rule (docs/api.md): a property with a "-flags" sibling is a secret.
      const flagsProp = d.secretFlags ?? (`${prop}-flags` in declared ? `${prop}-flags` : undefined);
      properties.set(prop, {
        name: prop,
        signature: d.signature,
        kind: d.kind ?? 'plain',
        ...(d.range ? { range: d.range } : {}),
        ...(d.choices ? { choices: d.choices } : {}),
        secret: d.secret === true || flagsProp !== undefined,
        ...(flagsProp !== undefined ? { secretFlags: flagsProp } : {}),
        ...(d.keyfileGroup !== undefined ? { keyfileGroup: d.keyfileGroup } : {}),
      });
    }
    out.set(name, { name, keyfileGroup, properties });
  }
  return out;
}

const SETTINGS = build();
const BY_GROUP = new Map([...SETTINGS.values()].flatMap((spec) => [[spec.keyfileGroup, spec], [spec.name, spec]] as const));

// Settings any connection may carry besides its base setting.
const COMMON = ['connection', 'ipv4', 'ipv6', 'bridge-port'];
// Software links are ethernet-like: NetworkManager lets them carry an
// 802-3-ethernet setting for their mtu and MAC address.
const VIRTUAL = ['bridge', 'vlan', 'veth', 'macvlan', 'vxlan', 'dummy'];

const TYPES: ReadonlyMap<string, readonly string[]> = new Map<string, readonly string[]>([
  ['802-3-ethernet', ['802-3-ethernet', '802-1x', ...COMMON]],
  ['802-11-wireless', ['802-11-wireless', '802-11-wireless-security', '802-1x', ...COMMON]],
  ...VIRTUAL.map((t): [string, readonly string[]] => [t, [t, '802-3-ethernet', ...COMMON]]),
  ['vpn', ['vpn', 'connection', 'ipv4', 'ipv6']],
]);

// nmcli's aliases for connection.type; NetworkManager's keyfile writes the same words.
const TYPE_ALIASES: ReadonlyMap<string, string> = new Map([
  ['ethernet', '802-3-ethernet'],
  ['wifi', '802-11-wireless'],
]);

export function settingNames(): string[] {
  return [...SETTINGS.keys()];
}

export function settingSpec(name: string): SettingSpec | undefined {
  return SETTINGS.get(name);
}

export function propertySpec(setting: string, prop: string): PropertySpec | undefined {
  return SETTINGS.get(setting)?.properties.get(prop);
}

export function isSecret(setting: string, prop: string): boolean {
  return propertySpec(setting, prop)?.secret === true;
}

/** The setting a keyfile group holds: NetworkManager accepts the alias and the D-Bus name. */
export function settingForGroup(group: string): SettingSpec | undefined {
  return BY_GROUP.get(group);
}

export function connectionTypes(): string[] {
  return [...TYPES.keys()];
}

/** The D-Bus type name for a connection.type value or alias; undefined when unknown. */
export function canonicalType(type: string): string | undefined {
  const t = TYPE_ALIASES.get(type) ?? type;
  return TYPES.has(t) ? t : undefined;
}

/** The word NetworkManager's keyfile writes for a type ("ethernet", "wifi", or the name itself). */
export function keyfileTypeName(type: string): string {
  for (const [alias, name] of TYPE_ALIASES) if (name === type) return alias;
  return type;
}

// In NetworkManager the base setting of a connection is named as its type.
export function baseSettingOf(type: string): string | undefined {
  return canonicalType(type);
}

export function allowedSettingsOf(type: string): readonly string[] {
  const t = canonicalType(type);
  return t === undefined ? [] : (TYPES.get(t) ?? []);
}
