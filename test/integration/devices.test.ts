// Devices from the kernel (issue 5, item 1): the daemon runs inside a network namespace made for
// this file, sees its links on start and follows them as `ip` changes them behind its back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBus } from '../helpers/bus.js';
import { SERVICE, type TestClient } from '../helpers/client.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { deviceOnBus, devicePaths, DEVICE_IFACE, errorOf, pathOf, PROPERTIES } from '../helpers/devices.js';
import { busctl, run } from '../helpers/exec.js';
import { createNetns, ip, link, listLinks, startDaemonInNetns, stopDaemonInNetns } from '../helpers/netns.js';
import { MANAGER, MANAGER_IFACE } from '../helpers/profiles.js';
import { waitFor } from '../helpers/wait.js';

const NS = `na-dev-${process.pid}`;
const PEER = `${NS}-peer`;

let bus: TestBus;
let daemon: TestDaemon;
let client: TestClient;

/**
 * Subscribes to a signal, runs `action`, and resolves with the body of the first signal that
 * `match` accepts; rejects when none came within 5 s.
 */
async function signalAfter(
  path: string | null,
  iface: string,
  member: string,
  action: () => Promise<unknown>,
  match: (body: unknown[], path: string) => boolean = () => true,
): Promise<unknown[]> {
  let resolve!: (body: unknown[]) => void;
  const got = new Promise<unknown[]>((r) => { resolve = r; });
  const off = await client.onSignal(path, iface, member, (body, message) => {
    if (match(body, message.path ?? '')) resolve(body);
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await action();
    return await Promise.race([
      got,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no ${iface}.${member} on ${path ?? 'any path'} within 5 s`)), 5_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await off();
  }
}

/** PropertiesChanged of the Device at `path` naming `property`; resolves with its new value. */
async function deviceChange(path: string, property: string, action: () => Promise<unknown>): Promise<unknown> {
  const [, changed] = (await signalAfter(path, PROPERTIES, 'PropertiesChanged', action, (body) =>
    body[0] === DEVICE_IFACE && property in (body[1] as Record<string, unknown>))) as [string, Record<string, { value: unknown }>];
  return changed[property]!.value;
}

async function byIface(name: string): Promise<string> {
  const [path] = (await client.call(MANAGER, MANAGER_IFACE, 'GetDeviceByIpIface', 's', [name])) as [string];
  return path;
}

beforeAll(async () => {
  await createNetns(NS, PEER);
  await ip('-n', NS, 'link', 'set', 'lo', 'up');
  await ip('-n', NS, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1', 'netns', PEER);
  await ip('-n', NS, 'link', 'add', 'br0', 'type', 'bridge');
  ({ bus, daemon, client } = await startDaemonInNetns(NS));
});

afterAll(() => stopDaemonInNetns({ bus, client }, NS, PEER));

describe('devices at start', () => {
  it('are the links of the daemon\'s namespace, one object per ifindex, and none of the root namespace\'s', async () => {
    const links = await listLinks(NS);
    expect((await devicePaths(client)).sort()).toEqual(links.map((l) => pathOf(l.ifindex)).sort());
    expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'Devices')).toEqual(await devicePaths(client));
    expect(daemon.log()).toMatch(/started: .* 3 device\(s\)/);
  });

  it('show every property of a veth as the kernel has it', async () => {
    const v0 = await link(NS, 'v0');
    expect(await client.getAllProperties(pathOf(v0.ifindex), DEVICE_IFACE)).toEqual({
      Interface: 'v0',
      Ifindex: v0.ifindex,
      DeviceType: 'veth',
      State: 20, // unavailable: down, no carrier
      Mtu: 1500,
      HwAddress: v0.address.toUpperCase(),
      ActiveConnection: '/',
      Managed: true,
      Autoconnect: true,
      // Nothing runs on it: no IP configuration, no lease.
      Ip4Config: '/',
      Ip6Config: '/',
      Dhcp4Config: '/',
      Dhcp6Config: '/',
    });
  });

  it('show the loopback as unmanaged and the bridge by its kind', async () => {
    const lo = await client.getAllProperties(pathOf(1), DEVICE_IFACE);
    expect(lo).toMatchObject({ Interface: 'lo', Ifindex: 1, DeviceType: 'loopback', State: 10, Mtu: 65536, HwAddress: '00:00:00:00:00:00', Managed: false });
    const br0 = await link(NS, 'br0');
    expect(await client.getAllProperties(pathOf(br0.ifindex), DEVICE_IFACE)).toMatchObject({ Interface: 'br0', DeviceType: 'bridge', HwAddress: br0.address.toUpperCase() });
  });

  it('are found by interface name, and an unknown name is UnknownDevice', async () => {
    expect(await byIface('v0')).toBe(pathOf((await link(NS, 'v0')).ifindex));
    const e = await errorOf(byIface('nope0'));
    expect(e.type).toBe('org.netaudit1.Error.UnknownDevice');
    expect(e.text).toContain('"nope0"');
  });

  it('are listed by busctl, with their properties', async () => {
    const v0 = await link(NS, 'v0');
    const tree = await busctl(bus.address, ['tree', '--list', SERVICE]);
    expect(tree.stdout.split('\n')).toContain(pathOf(v0.ifindex));
    const name = await busctl(bus.address, ['get-property', SERVICE, pathOf(v0.ifindex), DEVICE_IFACE, 'Interface']);
    expect(name.stdout.trim()).toBe('s "v0"');
    const xml = await busctl(bus.address, ['introspect', '--xml-interface', SERVICE, '/org/netaudit1/Devices']);
    expect(xml.stdout).toContain(`<node name="${v0.ifindex}"/>`);
  });
});

describe('kernel changes behind the daemon\'s back', () => {
  it('announce a new macvlan with DeviceAdded and Devices invalidated, and show it', async () => {
    const invalidated = signalAfter(MANAGER, PROPERTIES, 'PropertiesChanged', async () => undefined, (body) =>
      body[0] === MANAGER_IFACE && (body[2] as string[]).includes('Devices'));
    const [path] = (await signalAfter(MANAGER, MANAGER_IFACE, 'DeviceAdded', () =>
      ip('-n', NS, 'link', 'add', 'link', 'v0', 'name', 'mv0', 'type', 'macvlan', 'mode', 'bridge'))) as [string];
    const mv0 = await link(NS, 'mv0');
    expect(path).toBe(pathOf(mv0.ifindex));
    await invalidated;
    expect(await devicePaths(client)).toContain(path);
    expect(await client.getAllProperties(path, DEVICE_IFACE)).toMatchObject({ Interface: 'mv0', DeviceType: 'macvlan', HwAddress: mv0.address.toUpperCase() });
  });

  it('announce a vxlan, typed as one', async () => {
    const [path] = (await signalAfter(MANAGER, MANAGER_IFACE, 'DeviceAdded', () =>
      ip('-n', NS, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789'))) as [string];
    expect(await client.getProperty(path, DEVICE_IFACE, 'DeviceType')).toBe('vxlan');
    expect(await client.getProperty(path, DEVICE_IFACE, 'Interface')).toBe('vx0');
  });

  it('keep a renamed link at its object path, under its new name', async () => {
    const path = await byIface('mv0');
    expect(await deviceChange(path, 'Interface', () => ip('-n', NS, 'link', 'set', 'mv0', 'name', 'mv1'))).toBe('mv1');
    expect(await byIface('mv1')).toBe(path);
    expect((await errorOf(byIface('mv0'))).type).toBe('org.netaudit1.Error.UnknownDevice');
    expect(await client.getProperty(path, DEVICE_IFACE, 'Interface')).toBe('mv1');
  });

  it('show a veth going up with carrier as disconnected (30) and down as unavailable (20)', async () => {
    await ip('-n', PEER, 'link', 'set', 'v1', 'up');
    const path = await byIface('v0');
    expect(await deviceChange(path, 'State', () => ip('-n', NS, 'link', 'set', 'v0', 'up'))).toBe(30);
    expect((await link(NS, 'v0')).flags).toContain('LOWER_UP');
    expect(await deviceChange(path, 'State', () => ip('-n', NS, 'link', 'set', 'v0', 'down'))).toBe(20);
    expect(await client.getProperty(path, DEVICE_IFACE, 'State')).toBe(20);
  });

  it('announce a new MTU', async () => {
    const path = await byIface('v0');
    expect(await deviceChange(path, 'Mtu', () => ip('-n', NS, 'link', 'set', 'v0', 'mtu', '1400'))).toBe(1400);
    expect((await link(NS, 'v0')).mtu).toBe(1400);
    expect(await client.getProperty(path, DEVICE_IFACE, 'Mtu')).toBe(1400);
  });

  it('announce a new hardware address, upper-case as NetworkManager shows it', async () => {
    const path = await byIface('v0');
    expect(await deviceChange(path, 'HwAddress', () => ip('-n', NS, 'link', 'set', 'v0', 'address', '02:00:5e:aa:bb:0c'))).toBe('02:00:5E:AA:BB:0C');
    expect((await link(NS, 'v0')).address).toBe('02:00:5e:aa:bb:0c');
  });

  it('keep a bridge port that leaves its bridge (the kernel\'s AF_BRIDGE deletion is not the link\'s)', async () => {
    await ip('-n', NS, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1', 'netns', PEER);
    const path = pathOf(await deviceOnBus(client, NS, 'p0'));
    await ip('-n', NS, 'link', 'set', 'p0', 'master', 'br0');
    await ip('-n', NS, 'link', 'set', 'p0', 'nomaster');
    // A change after the port's messages: once it is seen, they were seen too.
    expect(await deviceChange(path, 'Mtu', () => ip('-n', NS, 'link', 'set', 'p0', 'mtu', '1300'))).toBe(1300);
    expect(await devicePaths(client)).toContain(path);
    expect(await client.getProperty(path, DEVICE_IFACE, 'Interface')).toBe('p0');
  });

  it('announce a deleted link with DeviceRemoved, and its object is gone', async () => {
    const path = await byIface('mv1');
    const [removed] = (await signalAfter(MANAGER, MANAGER_IFACE, 'DeviceRemoved', () => ip('-n', NS, 'link', 'del', 'mv1'))) as [string];
    expect(removed).toBe(path);
    expect(await devicePaths(client)).not.toContain(path);
    const e = await errorOf(client.getProperty(path, DEVICE_IFACE, 'Interface'));
    expect(e.type).toBe('org.netaudit1.Error.UnknownObject');
    expect((await errorOf(byIface('mv1'))).type).toBe('org.netaudit1.Error.UnknownDevice');
  });

  it('announce both ends of a veth pair made and deleted in the namespace', async () => {
    const added: string[] = [];
    const removed: string[] = [];
    const offAdded = await client.onSignal(MANAGER, MANAGER_IFACE, 'DeviceAdded', (body) => added.push(body[0] as string));
    const offRemoved = await client.onSignal(MANAGER, MANAGER_IFACE, 'DeviceRemoved', (body) => removed.push(body[0] as string));
    try {
      await ip('-n', NS, 'link', 'add', 'q0', 'type', 'veth', 'peer', 'name', 'q1');
      const paths = [pathOf((await link(NS, 'q0')).ifindex), pathOf((await link(NS, 'q1')).ifindex)].sort();
      await waitFor(() => added.length >= 2, { timeoutMs: 5_000, what: 'DeviceAdded for q0 and q1' });
      expect(added.sort()).toEqual(paths);
      await ip('-n', NS, 'link', 'del', 'q0');
      await waitFor(() => removed.length >= 2, { timeoutMs: 5_000, what: 'DeviceRemoved for q0 and q1' });
      expect(removed.sort()).toEqual(paths);
    } finally {
      await offAdded();
      await offRemoved();
    }
  });
});

// Last: it leaves thousands of links in the namespace (deleting them one by one takes minutes; the namespace goes at the end).
describe('events the kernel dropped', () => {
  it('are made up for by a full re-list: links added, renamed and deleted after the queue overflowed show as they are', async () => {
    await ip('-n', NS, 'link', 'add', 'gone0', 'type', 'veth', 'peer', 'name', 'gone1', 'netns', PEER);
    await ip('-n', NS, 'link', 'add', 'old0', 'type', 'veth', 'peer', 'name', 'old1', 'netns', PEER);
    const renamedPath = pathOf(await deviceOnBus(client, NS, 'old0'));
    await deviceOnBus(client, NS, 'gone0');
    daemon.signal('SIGSTOP');
    try {
      // 3,000 veth pairs: more events than the daemon's 4 MiB receive queue holds (about 1,700 do here).
      const flood = Array.from({ length: 3000 }, (_, i) => `link add f${i}a type veth peer name f${i}b`).join('\n');
      const batch = await run('ip', ['-n', NS, '-batch', '-'], { input: `${flood}\n`, timeoutMs: 60_000 });
      expect(batch.stderr).toBe('');
      // After the overflow: only a re-list can show these.
      await ip('-n', NS, 'link', 'del', 'gone0');
      await ip('-n', NS, 'link', 'set', 'old0', 'name', 'new0');
      await ip('-n', NS, 'link', 'add', 'late0', 'type', 'veth', 'peer', 'name', 'late1', 'netns', PEER);
    } finally {
      daemon.signal('SIGCONT');
    }
    await daemon.waitForLog(/dropped link, address or route events \(ENOBUFS\): listing them all again/);
    const links = await listLinks(NS);
    const expected = links.map((l) => pathOf(l.ifindex)).sort();
    await waitFor(async () => JSON.stringify((await devicePaths(client)).sort()) === JSON.stringify(expected), {
      timeoutMs: 20_000,
      what: `the ${expected.length} links of ${NS} as devices`,
    });
    expect(await byIface('new0')).toBe(renamedPath);
    expect((await errorOf(byIface('gone0'))).type).toBe('org.netaudit1.Error.UnknownDevice');
    expect(await byIface('late0')).toBe(pathOf((await link(NS, 'late0')).ifindex));
  }, 90_000);
});
