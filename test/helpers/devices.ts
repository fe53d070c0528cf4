// The daemon's devices as a bus client sees them, and what a call leaves in the trail: shared by the device tests.
import { DBusError, type TestClient } from './client.js';
import type { TestDaemon } from './daemon.js';
import { run } from './exec.js';
import { ifindexOf, ip } from './netns.js';
import { MANAGER, MANAGER_IFACE } from './profiles.js';
import { waitFor } from './wait.js';

export const DEVICE_IFACE = 'org.netaudit1.Device';
export const PROPERTIES = 'org.freedesktop.DBus.Properties';

export type TrailRecord = Record<string, unknown>;

export const pathOf = (ifindex: number): string => `/org/netaudit1/Devices/${ifindex}`;

export async function devicePaths(client: TestClient): Promise<string[]> {
  const [paths] = (await client.call(MANAGER, MANAGER_IFACE, 'GetDevices')) as [string[]];
  return paths;
}

/** The ifindex of link `name` of namespace `ns` once the daemon shows it as a device (it comes with the kernel's event). */
export async function deviceOnBus(client: TestClient, ns: string, name: string): Promise<number> {
  const ifindex = await ifindexOf(ns, name);
  const path = pathOf(ifindex);
  await waitFor(async () => (await devicePaths(client)).includes(path), { timeoutMs: 5_000, what: `${name} (${path}) on the bus` });
  return ifindex;
}

/**
 * A veth `name` in namespace `ns`, its peer `name`p in `peerNs` and up (so `name` has carrier when
 * up), `name` left down; resolves with its ifindex once the daemon lists it.
 */
export async function vethOnBus(client: TestClient, ns: string, peerNs: string, name: string): Promise<number> {
  await ip('-n', ns, 'link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`, 'netns', peerNs);
  await ip('-n', peerNs, 'link', 'set', `${name}p`, 'up');
  return deviceOnBus(client, ns, name);
}

/** Resolves once the device at `path`, link `name`, is no longer on the bus. */
export async function deviceGone(client: TestClient, path: string, name: string): Promise<void> {
  await waitFor(async () => !(await devicePaths(client)).includes(path), { timeoutMs: 5_000, what: `${name} (${path}) gone from the bus` });
}

/** The D-Bus error `promise` rejects with; fails when it resolves or rejects with anything else. */
export async function errorOf(promise: Promise<unknown>): Promise<InstanceType<typeof DBusError>> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof DBusError) return e;
    throw e;
  }
  throw new Error('the call succeeded');
}

/** The records appended to the daemon's trail while `action` ran, and what `action` returned. */
export async function newRecords<T>(daemon: TestDaemon, action: () => Promise<T>): Promise<{ records: TrailRecord[]; result: T }> {
  const before = (await daemon.trail()).length;
  const result = await action();
  // A test's own `ip` commands are recorded as external changes, a moment later: not the daemon's records of the action.
  return { records: (await daemon.trail()).slice(before).filter((r) => r['origin'] !== 'external'), result };
}

/** The changed properties of the first PropertiesChanged for `iface` on `path` while `action` ran. */
export async function propertiesChanged(
  client: TestClient,
  path: string,
  iface: string,
  action: () => Promise<unknown>,
): Promise<Record<string, unknown>> {
  const seen: Array<Record<string, unknown>> = [];
  const off = await client.onSignal(path, PROPERTIES, 'PropertiesChanged', (body) => {
    if (body[0] !== iface) return;
    seen.push(Object.fromEntries(Object.entries(body[1] as Record<string, { value: unknown }>).map(([k, v]) => [k, v.value])));
  });
  try {
    await action();
    await waitFor(() => seen.length > 0, { timeoutMs: 5_000, what: `PropertiesChanged of ${iface} on ${path}` });
    return seen[0]!;
  } finally {
    await off();
  }
}

/** The uid of the unprivileged user `nauser` the tests call as; fails with how to make it when it is missing. */
export async function nauserUid(): Promise<number> {
  const id = await run('id', ['-u', 'nauser']);
  if (id.code !== 0) throw new Error(`user nauser is missing (useradd -M -s /usr/sbin/nologin -U nauser): ${id.stderr}`);
  return Number(id.stdout.trim());
}
