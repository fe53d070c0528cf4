// The daemon's objects as netauditctl lists them: profiles, devices and
// active connections, each fetched with calls made in parallel (one
// ListConnections, then every GetSettings at once), never one round trip
// after another.
import { CliError, ExitCode } from '../exit-codes.js';
import { escapeControls } from '../format/escape.js';
import type { ProfileSettings } from '../settings-value.js';
import { DaemonError } from './daemon-error.js';
import type { DaemonClient } from './daemon-client.js';
import { ACTIVE_IFACE, CONNECTION_IFACE, DEVICE_IFACE, ERROR_PREFIX, MANAGER_IFACE, MANAGER_PATH, NO_OBJECT, SETTINGS_IFACE, SETTINGS_PATH } from './names.js';
import { profileFromWire } from './wire.js';

export interface Profile {
  readonly path: string;
  readonly settings: ProfileSettings;
}

export interface Active {
  readonly path: string;
  readonly connection: string;
  readonly id: string;
  readonly uuid: string;
  readonly devices: readonly string[];
  readonly state: number;
}

export interface DeviceInfo {
  readonly path: string;
  readonly iface: string;
  readonly ifindex: number;
  readonly type: string;
  readonly state: number;
  readonly mtu: number;
  readonly hwAddress: string;
  readonly activeConnection: string;
  readonly managed: boolean;
  readonly autoconnect: boolean;
  /** its IP4Config, IP6Config, DHCP4Config and DHCP6Config objects, or "/" */
  readonly ip4Config: string;
  readonly ip6Config: string;
  readonly dhcp4Config: string;
  readonly dhcp6Config: string;
}

/** An IP4Config or IP6Config object's values (NetworkManager's property names). */
export interface IpConfigInfo {
  readonly addresses: string[];
  readonly gateway: string;
  readonly routes: Array<{ dest: string; prefix: number; nextHop: string | null; metric: number }>;
  readonly nameservers: string[];
  readonly domains: string[];
}

type Dict = Record<string, unknown>;

/** A dict's value as it is, whether the client left it in its variant or not. */
function plain(v: unknown): unknown {
  return v !== null && typeof v === 'object' && 'signature' in v && 'value' in v ? (v as { value: unknown }).value : v;
}

/** The IP configuration at `path`; null for "/" or one that vanished. */
export async function getIpConfig(client: DaemonClient, path: string, family: 4 | 6): Promise<IpConfigInfo | null> {
  if (path === NO_OBJECT) return null;
  const p = await present(client.getAll(path, family === 4 ? 'org.netaudit1.IP4Config' : 'org.netaudit1.IP6Config'));
  if (!p) return null;
  return {
    addresses: ((p['AddressData'] as Dict[]) ?? []).map((a) => `${plain(a['address']) as string}/${plain(a['prefix']) as number}`),
    gateway: (p['Gateway'] as string) ?? '',
    routes: ((p['RouteData'] as Dict[]) ?? []).map((r) => ({
      dest: plain(r['dest']) as string,
      prefix: plain(r['prefix']) as number,
      nextHop: (plain(r['next-hop']) as string | undefined) ?? null,
      metric: plain(r['metric']) as number,
    })),
    nameservers: ((p['NameserverData'] as Dict[]) ?? []).map((n) => plain(n['address']) as string),
    domains: (p['Domains'] as string[]) ?? [],
  };
}

/** The DHCP options at `path`, sorted by name; null for "/" or one that vanished. */
export async function getDhcpOptions(client: DaemonClient, path: string, family: 4 | 6): Promise<Array<[string, string]> | null> {
  if (path === NO_OBJECT) return null;
  const p = await present(client.getAll(path, family === 4 ? 'org.netaudit1.DHCP4Config' : 'org.netaudit1.DHCP6Config'));
  if (!p) return null;
  const options = (p['Options'] as Dict | undefined) ?? {};
  return Object.entries(options).map(([k, v]) => [k, String(plain(v) ?? '')] as [string, string]).sort(([a], [b]) => a.localeCompare(b));
}

/** An object that vanished between listing and reading it is left out. */
function gone(error: unknown): boolean {
  return error instanceof DaemonError && (error.errorName === 'org.freedesktop.DBus.Error.UnknownObject' || error.errorName.startsWith(`${ERROR_PREFIX}Unknown`));
}

async function present<T>(work: Promise<T>): Promise<T | undefined> {
  try {
    return await work;
  } catch (error) {
    if (gone(error)) return undefined;
    throw error;
  }
}

export async function getProfile(client: DaemonClient, path: string): Promise<Profile> {
  const [settings] = await client.call(path, CONNECTION_IFACE, 'GetSettings');
  return { path, settings: profileFromWire(settings) };
}

export async function listProfiles(client: DaemonClient): Promise<Profile[]> {
  const [paths] = (await client.call(SETTINGS_PATH, SETTINGS_IFACE, 'ListConnections')) as [string[]];
  const profiles = await Promise.all(paths.map((path) => present(getProfile(client, path))));
  return profiles.filter((p): p is Profile => p !== undefined);
}

function activeOf(path: string, p: Record<string, unknown>): Active {
  return {
    path,
    connection: p['Connection'] as string,
    id: p['Id'] as string,
    uuid: p['Uuid'] as string,
    devices: (p['Devices'] as string[]) ?? [],
    state: p['State'] as number,
  };
}

export async function listActives(client: DaemonClient): Promise<Active[]> {
  const paths = (await client.get(MANAGER_PATH, MANAGER_IFACE, 'ActiveConnections')) as string[];
  const actives = await Promise.all(paths.map(async (path) => {
    const props = await present(client.getAll(path, ACTIVE_IFACE));
    return props === undefined ? undefined : activeOf(path, props);
  }));
  return actives.filter((a): a is Active => a !== undefined);
}

export async function getDevice(client: DaemonClient, path: string): Promise<DeviceInfo> {
  const p = await client.getAll(path, DEVICE_IFACE);
  return {
    path,
    iface: p['Interface'] as string,
    ifindex: p['Ifindex'] as number,
    type: p['DeviceType'] as string,
    state: p['State'] as number,
    mtu: p['Mtu'] as number,
    hwAddress: p['HwAddress'] as string,
    activeConnection: (p['ActiveConnection'] as string) ?? NO_OBJECT,
    managed: p['Managed'] as boolean,
    autoconnect: p['Autoconnect'] as boolean,
    ip4Config: (p['Ip4Config'] as string) ?? NO_OBJECT,
    ip6Config: (p['Ip6Config'] as string) ?? NO_OBJECT,
    dhcp4Config: (p['Dhcp4Config'] as string) ?? NO_OBJECT,
    dhcp6Config: (p['Dhcp6Config'] as string) ?? NO_OBJECT,
  };
}

export async function listDevices(client: DaemonClient): Promise<DeviceInfo[]> {
  const [paths] = (await client.call(MANAGER_PATH, MANAGER_IFACE, 'GetDevices')) as [string[]];
  const devices = await Promise.all(paths.map((path) => present(getDevice(client, path))));
  return devices.filter((d): d is DeviceInfo => d !== undefined).sort((a, b) => a.ifindex - b.ifindex);
}

/** The device path of interface `name`; exit 10 when there is none. */
export async function devicePathByName(client: DaemonClient, name: string): Promise<string> {
  try {
    const [path] = (await client.call(MANAGER_PATH, MANAGER_IFACE, 'GetDeviceByIpIface', 's', [name])) as [string];
    return path;
  } catch (error) {
    if (error instanceof DaemonError && error.errorName === `${ERROR_PREFIX}UnknownDevice`) {
      throw new CliError(`Device '${escapeControls(name)}' not found.`, ExitCode.NotFound);
    }
    throw error;
  }
}
