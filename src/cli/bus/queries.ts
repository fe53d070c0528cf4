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
