// Activation (docs/api.md, Manager.ActivateConnection / AddAndActivateConnection / DeactivateConnection,
// Connection.Active, Device.Disconnect): a profile applied to a link of the daemon's namespace and
// taken back exactly, checked three ways — the kernel's state (`ip -n NS -j …`), the D-Bus view
// (properties and signals, subscribed before acting) and the trail. The failure paths are in
// activation-failures.test.ts. The daemon runs in a namespace made for this file; veth peers go
// to a second one; the root namespace's links are never touched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBus } from '../helpers/bus.js';
import { SERVICE, variant, type TestClient } from '../helpers/client.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { vethOnBus, DEVICE_IFACE, errorOf, newRecords, pathOf } from '../helpers/devices.js';
import {
  ACTIVE_IFACE, ACTIVE_PATH, activate, activeConnections, addProfile, deactivate, disableIpv6, ipAddrs, ipRoutes, isOneLineMessage,
  kernelHasLinkKind, linkDetails, listConnections, manual, method, profile, watchActiveStates, watchSignals,
} from '../helpers/activation.js';
import { busctl, python } from '../helpers/exec.js';
import { createNetns, ifindexOf, ip, link, linkNames, startDaemonInNetns, stopDaemonInNetns } from '../helpers/netns.js';
import { MANAGER, MANAGER_IFACE } from '../helpers/profiles.js';
import { waitFor } from '../helpers/wait.js';

const NS = `na-act-${process.pid}`;
const PEER = `${NS}-peer`;

// Decided once, before the tests are defined: this machine's kernel may lack the dummy and 8021q drivers.
const hasDummy = await kernelHasLinkKind('dummy');
const hasVlan = await kernelHasLinkKind('vlan');

let bus: TestBus;
let daemon: TestDaemon;
let client: TestClient;

/** A veth `name` in NS, its peer in PEER up, `name` left down. */
const veth = (name: string): Promise<number> => vethOnBus(client, NS, PEER, name);

beforeAll(async () => {
  await createNetns(NS, PEER);
  await ip('-n', NS, 'link', 'set', 'lo', 'up');
  ({ bus, daemon, client } = await startDaemonInNetns(NS));
});

afterAll(() => stopDaemonInNetns({ bus, client }, NS, PEER));

describe('an ethernet profile on a veth that starts down', () => {
  let e0: number;
  let before: { mtu: number; address: string };
  let conn: string;
  let uuid: string;
  let active: string;

  beforeAll(async () => {
    e0 = await veth('e0');
    const l = await link(NS, 'e0');
    before = { mtu: l.mtu, address: l.address };
    conn = await addProfile(client, profile('eth-full', '802-3-ethernet', {
      ifname: 'e0',
      ipv4: manual(['192.0.2.10/24'], { gateway: '192.0.2.1', routes: [{ dest: '198.51.100.0', prefix: 24, nextHop: '192.0.2.254', metric: 50 }] }),
      ipv6: manual(['2001:db8:1::10/64']),
      extra: { '802-3-ethernet': { mtu: variant('u', 1400), 'cloned-mac-address': variant('ay', Buffer.from([0x02, 0x11, 0x22, 0x33, 0x44, 0x55])) } },
    }));
    uuid = (await client.call(conn, 'org.netaudit1.Settings.Connection', 'GetSettings').then(([s]) => (s as Record<string, Record<string, { value: string }>>).connection!.uuid!.value));
  });

  it('ActivateConnection: activated (1 then 2), link up with MTU, MAC, addresses and routes, Device 100, Manager 70, one record', async () => {
    expect((await link(NS, 'e0')).flags).not.toContain('UP');
    const states = await watchActiveStates(client);
    const managerStates = await watchSignals(client, MANAGER, MANAGER_IFACE, 'StateChanged');
    const deviceStates = await watchSignals(client, pathOf(e0), DEVICE_IFACE, 'StateChanged');
    try {
      const { records, result } = await newRecords(daemon, () => activate(client, conn, pathOf(e0)));
      active = result;
      expect(active).toMatch(ACTIVE_PATH);
      expect(await client.getAllProperties(active, ACTIVE_IFACE)).toEqual({ Connection: conn, Id: 'eth-full', Uuid: uuid, Devices: [pathOf(e0)], State: 2 });
      await waitFor(() => states.statesOf(active).includes(2), { timeoutMs: 5_000, what: 'StateChanged(2) of the active connection' });
      // Soft: the rest of the activation is still checked when only the signals are wrong.
      expect.soft(states.statesOf(active), 'Connection.Active StateChanged states').toEqual([1, 2]);

      const l = await link(NS, 'e0');
      expect(l.flags).toContain('UP');
      expect(l.mtu).toBe(1400);
      expect(l.address).toBe('02:11:22:33:44:55');
      expect(await ipAddrs(NS, 'e0')).toEqual(expect.arrayContaining(['192.0.2.10/24', '2001:db8:1::10/64']));
      const routes = await ipRoutes(NS);
      expect(routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '192.0.2.1', dev: 'e0', metric: 100 }));
      expect(routes).toContainEqual(expect.objectContaining({ dst: '198.51.100.0/24', gateway: '192.0.2.254', dev: 'e0', metric: 50 }));

      expect(await client.getAllProperties(pathOf(e0), DEVICE_IFACE)).toMatchObject({ State: 100, ActiveConnection: active, Mtu: 1400, HwAddress: '02:11:22:33:44:55' });
      await waitFor(() => deviceStates.seen.some((b) => b[0] === 100), { timeoutMs: 5_000, what: 'Device.StateChanged(100)' });
      expect(deviceStates.seen.at(-1)!.slice(0, 1)).toEqual([100]);
      expect(await client.getAllProperties(MANAGER, MANAGER_IFACE)).toMatchObject({ ActiveConnections: [active], State: 70 });
      await waitFor(() => managerStates.seen.some((b) => b[0] === 70), { timeoutMs: 5_000, what: 'Manager.StateChanged(70)' });

      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ op: 'connection-activate', uuid, name: 'eth-full', ifindex: e0, iface: 'e0', pid: process.pid, uid: 0, result: 'success' });
      expect(records[0]).not.toHaveProperty('reason');
    } finally {
      await states.off();
      await managerStates.off();
      await deviceStates.off();
    }
  });

  it('DeactivateConnection takes back exactly that: addresses, routes, MTU, MAC, link down; object gone; Manager 20; one record', async () => {
    const states = await watchActiveStates(client);
    try {
      const { records } = await newRecords(daemon, () => deactivate(client, active));
      await waitFor(() => states.statesOf(active).includes(4), { timeoutMs: 5_000, what: 'StateChanged(4) of the active connection' });
      expect(states.statesOf(active)).toEqual([3, 4]);
      const l = await link(NS, 'e0');
      expect(l.flags).not.toContain('UP');
      expect(l.mtu).toBe(before.mtu);
      expect(l.address).toBe(before.address);
      const addrs = await ipAddrs(NS, 'e0');
      expect(addrs).not.toContain('192.0.2.10/24');
      expect(addrs).not.toContain('2001:db8:1::10/64');
      expect((await ipRoutes(NS)).filter((r) => r.dev === 'e0')).toEqual([]);
      expect((await ipRoutes(NS, 6)).filter((r) => r.dev === 'e0')).toEqual([]);
      expect((await errorOf(client.getProperty(active, ACTIVE_IFACE, 'State'))).type).toMatch(/UnknownObject|UnknownMethod|UnknownInterface/);
      expect(await client.getAllProperties(MANAGER, MANAGER_IFACE)).toMatchObject({ ActiveConnections: [], State: 20 });
      await waitFor(async () => (await client.getProperty(pathOf(e0), DEVICE_IFACE, 'ActiveConnection')) === '/', { timeoutMs: 5_000, what: 'e0 ActiveConnection "/"' });
      expect(await client.getProperty(pathOf(e0), DEVICE_IFACE, 'State')).not.toBe(100);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ op: 'connection-deactivate', uuid, name: 'eth-full', ifindex: e0, iface: 'e0', pid: process.pid, uid: 0, result: 'success' });
    } finally {
      await states.off();
    }
  });
});

describe('software links created by activation', () => {
  it('a bridge with an address: created (kind bridge), up, addressed; a port joins; deactivating the bridge frees the port and deletes the bridge', async () => {
    const p0 = await veth('p0');
    const p2 = await veth('p2');
    const bridgeConn = await addProfile(client, profile('br-a', 'bridge', { ifname: 'br0', ipv4: manual(['10.10.0.1/24']) }));
    const [bridgeSettings] = await client.call(bridgeConn, 'org.netaudit1.Settings.Connection', 'GetSettings');
    const bridgeUuid = (bridgeSettings as Record<string, Record<string, { value: string }>>).connection!.uuid!.value;
    const { records, result: bridgeActive } = await newRecords(daemon, () => activate(client, bridgeConn));
    const br0 = await ifindexOf(NS, 'br0');
    const details = await linkDetails(NS, 'br0');
    expect(details.linkinfo?.info_kind).toBe('bridge');
    expect(details.flags).toContain('UP');
    expect(await ipAddrs(NS, 'br0')).toContain('10.10.0.1/24');
    expect(await client.getProperty(bridgeActive, ACTIVE_IFACE, 'Devices')).toEqual([pathOf(br0)]);
    // No gateway: connected-site.
    expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'State')).toBe(60);
    // The record carries the ifindex the daemon created the link with.
    expect(records).toEqual([expect.objectContaining({ op: 'connection-activate', uuid: bridgeUuid, name: 'br-a', ifindex: br0, iface: 'br0', uid: 0, result: 'success' })]);

    const portConn = await addProfile(client, profile('port-p0', '802-3-ethernet', {
      ifname: 'p0', ipv4: null, ipv6: null,
      extra: { connection: { master: variant('s', 'br0'), 'slave-type': variant('s', 'bridge') }, 'bridge-port': {} },
    }));
    const portActive = await activate(client, portConn);
    expect((await link(NS, 'p0') as unknown as { master?: string }).master).toBe('br0');
    expect(await client.getProperty(portActive, ACTIVE_IFACE, 'State')).toBe(2);
    // A port may name its bridge by the bridge profile's UUID, which is active.
    const port2Conn = await addProfile(client, profile('port-p2', '802-3-ethernet', {
      ifname: 'p2', ipv4: null, ipv6: null,
      extra: { connection: { master: variant('s', bridgeUuid), 'slave-type': variant('s', 'bridge') }, 'bridge-port': {} },
    }));
    const port2Active = await activate(client, port2Conn, pathOf(p2));
    expect((await linkDetails(NS, 'p2')).master).toBe('br0');

    const states = await watchActiveStates(client);
    try {
      const deact = await newRecords(daemon, () => deactivate(client, bridgeActive));
      expect(await linkNames(NS)).not.toContain('br0');
      expect((await linkDetails(NS, 'p0')).master).toBeUndefined();
      expect((await linkDetails(NS, 'p2')).master).toBeUndefined();
      await waitFor(() => [portActive, port2Active, bridgeActive].every((p) => states.statesOf(p).includes(4)), { timeoutMs: 5_000, what: 'the ports and the bridge deactivated' });
      expect(await activeConnections(client)).toEqual([]);
      // The caller's record first, then the ports' teardowns: the daemon's own records, carrying the caller's tx.
      const [callers, ...ports] = deact.records;
      expect(callers).toEqual(expect.objectContaining({ op: 'connection-deactivate', origin: 'caller', uuid: bridgeUuid, ifindex: br0, iface: 'br0', result: 'success' }));
      expect(ports.map((r) => [r.op, r.origin, r.cause, r.iface, r.tx, r.pid, r.result]).sort()).toEqual([
        ['connection-deactivate', 'daemon', 'master-deactivated', 'p0', callers!.tx, undefined, 'success'],
        ['connection-deactivate', 'daemon', 'master-deactivated', 'p2', callers!.tx, undefined, 'success'],
      ]);
      expect(await client.getProperty(pathOf(p0), DEVICE_IFACE, 'ActiveConnection')).toBe('/');
    } finally {
      await states.off();
    }
  });

  it('a bridge activated again while active keeps its link: the new activation takes it over, and deletes it when it ends', async () => {
    const conn = await addProfile(client, profile('br-again', 'bridge', { ifname: 'br-again', ipv4: manual(['10.12.0.1/24']) }));
    const first = await activate(client, conn);
    const ifindex = await ifindexOf(NS, 'br-again');
    const { records, result: second } = await newRecords(daemon, () => activate(client, conn));
    expect(second).not.toBe(first);
    // The same link, never deleted in between, up and addressed by the new activation.
    expect(await ifindexOf(NS, 'br-again')).toBe(ifindex);
    expect(await ipAddrs(NS, 'br-again')).toContain('10.12.0.1/24');
    expect(await client.getProperty(second, ACTIVE_IFACE, 'State')).toBe(2);
    expect(await activeConnections(client)).toEqual([second]);
    expect(records.map((r) => [r.op, r.origin, r.cause, r.ifindex, r.result])).toEqual([
      ['connection-activate', 'caller', undefined, ifindex, 'success'],
      ['connection-deactivate', 'daemon', 'new-activation', ifindex, 'success'],
    ]);
    await deactivate(client, second);
    expect(await linkNames(NS)).not.toContain('br-again');
  });

  it('a veth profile creates both ends; ipv6 disabled sets disable_ipv6; deactivation deletes the pair', async () => {
    const conn = await addProfile(client, profile('veth-a', 'veth', { ifname: 've0', ipv4: manual(['10.20.0.1/24']), ipv6: method('disabled'), extra: { veth: { peer: variant('s', 've1') } } }));
    const { records, result: active } = await newRecords(daemon, () => activate(client, conn));
    expect(await linkNames(NS)).toEqual(expect.arrayContaining(['ve0', 've1']));
    const ve0 = await linkDetails(NS, 've0');
    expect(ve0.linkinfo?.info_kind).toBe('veth');
    expect(ve0.flags).toContain('UP');
    expect(await ipAddrs(NS, 've0')).toEqual(['10.20.0.1/24']);
    expect(await disableIpv6(NS, 've0')).toBe('1');
    expect(records).toEqual([expect.objectContaining({ op: 'connection-activate', name: 'veth-a', ifindex: ve0.ifindex, iface: 've0', result: 'success' })]);
    await deactivate(client, active);
    expect(await linkNames(NS)).not.toContain('ve0');
    expect(await linkNames(NS)).not.toContain('ve1');
  });

  it('a macvlan on a veth parent (mode bridge) with a gateway: created, default route metric 410, deleted at deactivation', async () => {
    await veth('m0');
    const conn = await addProfile(client, profile('mv-a', 'macvlan', {
      ifname: 'mv0', ipv4: manual(['10.30.0.2/24'], { gateway: '10.30.0.1' }),
      extra: { macvlan: { parent: variant('s', 'm0'), mode: variant('u', 2) } },
    }));
    const active = await activate(client, conn);
    const mv0 = await linkDetails(NS, 'mv0');
    expect(mv0.linkinfo?.info_kind).toBe('macvlan');
    expect(mv0.linkinfo?.info_data?.mode).toBe('bridge');
    expect(mv0.link).toBe('m0');
    expect(mv0.flags).toContain('UP');
    expect(await ipAddrs(NS, 'mv0')).toEqual(['10.30.0.2/24']);
    expect(await ipRoutes(NS)).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.30.0.1', dev: 'mv0', metric: 410 }));
    expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'State')).toBe(70);
    await deactivate(client, active);
    expect(await linkNames(NS)).not.toContain('mv0');
    expect(await linkNames(NS)).toContain('m0');
    expect((await ipRoutes(NS)).filter((r) => r.dst === 'default')).toEqual([]);
  });

  it('a vxlan (id 42, remote, destination-port 4789) with ipv4 link-local: created with those, 169.254.x.y/16, deleted at deactivation', async () => {
    const conn = await addProfile(client, profile('vx-a', 'vxlan', {
      ifname: 'vx0', ipv4: method('link-local'),
      extra: { vxlan: { id: variant('u', 42), remote: variant('s', '192.0.2.77'), 'destination-port': variant('u', 4789) } },
    }));
    const active = await activate(client, conn);
    const vx0 = await linkDetails(NS, 'vx0');
    expect(vx0.linkinfo?.info_kind).toBe('vxlan');
    expect(vx0.linkinfo?.info_data).toMatchObject({ id: 42, remote: '192.0.2.77', port: 4789 });
    expect(vx0.flags).toContain('UP');
    const addrs = (await ipAddrs(NS, 'vx0')).filter((a) => a.includes('.'));
    expect(addrs).toHaveLength(1);
    expect(addrs[0]).toMatch(/^169\.254\.\d{1,3}\.\d{1,3}\/16$/);
    await deactivate(client, active);
    expect(await linkNames(NS)).not.toContain('vx0');
  });

  it.skipIf(!hasDummy)('a dummy profile creates its link and deletes it at deactivation (skipped: this kernel has no dummy driver)', async () => {
    const conn = await addProfile(client, profile('dummy-a', 'dummy', { ifname: 'dm0', ipv4: manual(['10.50.0.1/24']) }));
    const active = await activate(client, conn);
    expect((await linkDetails(NS, 'dm0')).linkinfo?.info_kind).toBe('dummy');
    expect(await ipAddrs(NS, 'dm0')).toEqual(['10.50.0.1/24']);
    await deactivate(client, active);
    expect(await linkNames(NS)).not.toContain('dm0');
  });

  it.skipIf(hasDummy)('a dummy profile on a kernel without the dummy driver is NotSupported with EOPNOTSUPP: success then fail record, same tx, nothing left', async () => {
    const conn = await addProfile(client, profile('dummy-b', 'dummy', { ifname: 'dm1', ipv4: manual(['10.50.1.1/24']) }));
    const { records, result } = await newRecords(daemon, () => errorOf(activate(client, conn)));
    expect(result.type).toBe('org.netaudit1.Error.NotSupported');
    expect(result.text).toContain('EOPNOTSUPP');
    expect(isOneLineMessage(result.text)).toBe(true);
    expect(await linkNames(NS)).not.toContain('dm1');
    expect(await activeConnections(client)).toEqual([]);
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ op: 'connection-activate', name: 'dummy-b', iface: 'dm1', result: 'success' });
    expect(records[1]).toMatchObject({ op: 'connection-activate', name: 'dummy-b', iface: 'dm1', result: 'fail', reason: 'not-supported', tx: records[0]!.tx });
    expect(records[0]!.tx).toEqual(expect.any(Number));
  });

  it.skipIf(!hasVlan)('a vlan (id 10 on a veth parent) creates its link and deletes it at deactivation (skipped: this kernel has no 8021q driver)', async () => {
    await veth('q0');
    const conn = await addProfile(client, profile('vlan-a', 'vlan', { ifname: 'q0.10', ipv4: manual(['10.51.0.1/24']), extra: { vlan: { id: variant('u', 10), parent: variant('s', 'q0') } } }));
    const active = await activate(client, conn);
    const d = await linkDetails(NS, 'q0.10');
    expect(d.linkinfo?.info_kind).toBe('vlan');
    expect(d.linkinfo?.info_data).toMatchObject({ id: 10 });
    await deactivate(client, active);
    expect(await linkNames(NS)).not.toContain('q0.10');
  });

  it.skipIf(hasVlan)('a vlan profile on a kernel without the 8021q driver is NotSupported with EOPNOTSUPP: success then fail record, same tx, nothing left', async () => {
    await veth('q1');
    const conn = await addProfile(client, profile('vlan-b', 'vlan', { ifname: 'q1.10', ipv4: manual(['10.51.1.1/24']), extra: { vlan: { id: variant('u', 10), parent: variant('s', 'q1') } } }));
    const { records, result } = await newRecords(daemon, () => errorOf(activate(client, conn)));
    expect(result.type).toBe('org.netaudit1.Error.NotSupported');
    expect(result.text).toContain('EOPNOTSUPP');
    expect(await linkNames(NS)).not.toContain('q1.10');
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ op: 'connection-activate', name: 'vlan-b', iface: 'q1.10', result: 'success' });
    expect(records[1]).toMatchObject({ op: 'connection-activate', name: 'vlan-b', iface: 'q1.10', result: 'fail', reason: 'not-supported', tx: records[0]!.tx });
  });
});

describe('AddAndActivateConnection', () => {
  it('adds the profile and activates it: both paths, one connection-add-activate record and no connection-add', async () => {
    const a0 = await veth('a0');
    const before = await listConnections(client);
    const dict = profile('aa-a', '802-3-ethernet', { ipv4: manual(['10.40.0.1/24']) });
    const { records, result } = await newRecords(daemon, () => client.call(MANAGER, MANAGER_IFACE, 'AddAndActivateConnection', 'a{sa{sv}}oo', [dict, pathOf(a0), '/']));
    const [connPath, active] = result as [string, string];
    expect(await listConnections(client)).toEqual([...before, connPath]);
    expect(active).toMatch(ACTIVE_PATH);
    expect(await client.getAllProperties(active, ACTIVE_IFACE)).toMatchObject({ Connection: connPath, Id: 'aa-a', Devices: [pathOf(a0)], State: 2 });
    expect(await ipAddrs(NS, 'a0')).toContain('10.40.0.1/24');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ op: 'connection-add-activate', name: 'aa-a', uuid: expect.any(String), ifindex: a0, iface: 'a0', pid: process.pid, uid: 0, result: 'success' });
    await deactivate(client, active);
    // The profile stays, saved.
    expect(await listConnections(client)).toContain(connPath);
  });

  it('on an unknown device path: UnknownDevice, no profile left, one failed record', async () => {
    const before = await listConnections(client);
    const dict = profile('aa-b', '802-3-ethernet', { ipv4: manual(['10.40.1.1/24']) });
    const { records, result } = await newRecords(daemon, () =>
      errorOf(client.call(MANAGER, MANAGER_IFACE, 'AddAndActivateConnection', 'a{sa{sv}}oo', [dict, '/org/netaudit1/Devices/99999', '/'])));
    expect(result.type).toBe('org.netaudit1.Error.UnknownDevice');
    expect(isOneLineMessage(result.text)).toBe(true);
    expect(await listConnections(client)).toEqual(before);
    expect(records).toEqual([expect.objectContaining({ op: 'connection-add-activate', name: 'aa-b', uid: 0, result: 'fail', reason: 'unknown-device' })]);
  });
});

describe('clients we did not write', () => {
  it('busctl call ActivateConnection ooo CONN / / and DeactivateConnection: recorded with busctl\'s pid', async () => {
    await veth('b0');
    const conn = await addProfile(client, profile('busctl-a', 'ethernet', { ifname: 'b0', ipv4: manual(['10.41.0.1/24']) }));
    const act = await newRecords(daemon, () => busctl(bus.address, ['call', SERVICE, MANAGER, MANAGER_IFACE, 'ActivateConnection', 'ooo', conn, '/', '/']));
    expect({ code: act.result.code, stderr: act.result.stderr }).toEqual({ code: 0, stderr: '' });
    const m = /^o "(\/org\/netaudit1\/ActiveConnection\/\d+)"\n$/.exec(act.result.stdout);
    expect(m, act.result.stdout).not.toBeNull();
    const active = m![1]!;
    expect(await ipAddrs(NS, 'b0')).toContain('10.41.0.1/24');
    expect(act.records).toEqual([expect.objectContaining({ op: 'connection-activate', name: 'busctl-a', iface: 'b0', pid: act.result.pid, uid: 0, result: 'success' })]);
    const de = await newRecords(daemon, () => busctl(bus.address, ['call', SERVICE, MANAGER, MANAGER_IFACE, 'DeactivateConnection', 'o', active]));
    expect({ code: de.result.code, stderr: de.result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(await ipAddrs(NS, 'b0')).not.toContain('10.41.0.1/24');
    expect(de.records).toEqual([expect.objectContaining({ op: 'connection-deactivate', name: 'busctl-a', iface: 'b0', pid: de.result.pid, result: 'success' })]);
  });

  it('python3-dbus ActivateConnection: the Active path back, recorded with python\'s pid', async () => {
    await veth('y0');
    const conn = await addProfile(client, profile('py-a', 'ethernet', { ifname: 'y0', ipv4: manual(['10.42.0.1/24']) }));
    const script = [
      'import dbus, json, os',
      'bus = dbus.SystemBus()',
      `m = dbus.Interface(bus.get_object("${SERVICE}", "${MANAGER}"), "${MANAGER_IFACE}")`,
      `a = m.ActivateConnection(dbus.ObjectPath("${conn}"), dbus.ObjectPath("/"), dbus.ObjectPath("/"))`,
      'print(json.dumps({"pid": os.getpid(), "active": str(a)}))',
    ].join('\n');
    const { records, result } = await newRecords(daemon, () => python(bus.address, script));
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const out = JSON.parse(result.stdout) as { pid: number; active: string };
    expect(out.active).toMatch(ACTIVE_PATH);
    expect(await client.getProperty(out.active, ACTIVE_IFACE, 'State')).toBe(2);
    expect(await ipAddrs(NS, 'y0')).toContain('10.42.0.1/24');
    expect(records).toEqual([expect.objectContaining({ op: 'connection-activate', name: 'py-a', iface: 'y0', pid: out.pid, uid: 0, result: 'success' })]);
    await deactivate(client, out.active);
  });
});

describe('Device.Disconnect, Enable and Sleep', () => {
  let d0: number;
  let d0Conn: string;

  beforeAll(async () => {
    d0 = await veth('d0');
    d0Conn = await addProfile(client, profile('disc-a', 'ethernet', { ifname: 'd0', ipv4: manual(['10.43.0.1/24']) }));
  });

  it('Disconnect ends what runs on the device: taken back, ActiveConnection "/", one device-disconnect record', async () => {
    const active = await activate(client, d0Conn);
    expect(await client.getProperty(pathOf(d0), DEVICE_IFACE, 'ActiveConnection')).toBe(active);
    const states = await watchActiveStates(client);
    try {
      const { records } = await newRecords(daemon, () => client.call(pathOf(d0), DEVICE_IFACE, 'Disconnect'));
      await waitFor(() => states.statesOf(active).includes(4), { timeoutMs: 5_000, what: 'StateChanged(4)' });
      expect(await ipAddrs(NS, 'd0')).not.toContain('10.43.0.1/24');
      expect((await link(NS, 'd0')).flags).not.toContain('UP');
      expect(await client.getProperty(pathOf(d0), DEVICE_IFACE, 'ActiveConnection')).toBe('/');
      expect(await activeConnections(client)).toEqual([]);
      expect(records).toEqual([expect.objectContaining({ op: 'device-disconnect', ifindex: d0, iface: 'd0', name: 'disc-a', pid: process.pid, uid: 0, result: 'success' })]);
    } finally {
      await states.off();
    }
  });

  it('Enable(false) deactivates everything (one networking-control record), then refuses activation with NetworkingDisabled; Enable(true) allows it again', async () => {
    await activate(client, d0Conn);
    const bridgeConn = await addProfile(client, profile('br-off', 'bridge', { ifname: 'br9', ipv4: manual(['10.44.0.1/24']) }));
    await activate(client, bridgeConn);
    expect(await activeConnections(client)).toHaveLength(2);
    const off = await newRecords(daemon, () => client.call(MANAGER, MANAGER_IFACE, 'Enable', 'b', [false]));
    expect(await activeConnections(client)).toEqual([]);
    expect(await linkNames(NS)).not.toContain('br9');
    expect(await ipAddrs(NS, 'd0')).not.toContain('10.43.0.1/24');
    const [switched, ...teardowns] = off.records;
    expect(switched).toEqual(expect.objectContaining({ op: 'networking-control', origin: 'caller', args: 'off', result: 'success' }));
    expect(teardowns.map((r) => [r.op, r.origin, r.cause, r.iface, r.tx, r.result]).sort()).toEqual([
      ['connection-deactivate', 'daemon', 'networking-off', 'br9', switched!.tx, 'success'],
      ['connection-deactivate', 'daemon', 'networking-off', 'd0', switched!.tx, 'success'],
    ]);

    const refused = await newRecords(daemon, () => errorOf(activate(client, d0Conn)));
    expect(refused.result.type).toBe('org.netaudit1.Error.NetworkingDisabled');
    expect(isOneLineMessage(refused.result.text)).toBe(true);
    expect(refused.records).toEqual([expect.objectContaining({ op: 'connection-activate', name: 'disc-a', uid: 0, result: 'fail', reason: 'networking-disabled' })]);
    expect(await ipAddrs(NS, 'd0')).not.toContain('10.43.0.1/24');

    await client.call(MANAGER, MANAGER_IFACE, 'Enable', 'b', [true]);
    const active = await activate(client, d0Conn);
    expect(await ipAddrs(NS, 'd0')).toContain('10.43.0.1/24');
    await deactivate(client, active);
  });

  it('Sleep(true) deactivates everything and refuses activation (NetworkingDisabled, reason asleep); Sleep(false) allows it again', async () => {
    await activate(client, d0Conn);
    await client.call(MANAGER, MANAGER_IFACE, 'Sleep', 'b', [true]);
    expect(await activeConnections(client)).toEqual([]);
    expect(await ipAddrs(NS, 'd0')).not.toContain('10.43.0.1/24');
    const refused = await newRecords(daemon, () => errorOf(activate(client, d0Conn)));
    expect(refused.result.type).toBe('org.netaudit1.Error.NetworkingDisabled');
    expect(refused.records).toEqual([expect.objectContaining({ op: 'connection-activate', result: 'fail', reason: 'asleep' })]);
    await client.call(MANAGER, MANAGER_IFACE, 'Sleep', 'b', [false]);
    const active = await activate(client, d0Conn);
    await deactivate(client, active);
  });
});

describe('changes the daemon makes on its own: each a daemon record, never a caller\'s', () => {
  it('a link deleted with ip under an active connection: deactivated (StateChanged 4), ActiveConnections empty, a device-removed record', async () => {
    await veth('x0');
    const conn = await addProfile(client, profile('gone-a', 'ethernet', { ifname: 'x0', ipv4: manual(['10.45.0.1/24']) }));
    const active = await activate(client, conn);
    const states = await watchActiveStates(client);
    try {
      const { records } = await newRecords(daemon, async () => {
        await ip('-n', NS, 'link', 'del', 'x0');
        await waitFor(async () => (await activeConnections(client)).length === 0, { timeoutMs: 5_000, what: 'ActiveConnections empty' });
        await waitFor(() => states.statesOf(active).includes(4), { timeoutMs: 5_000, what: 'StateChanged(4)' });
      });
      await waitFor(async () => (await daemon.trail()).some((r) => r.cause === 'device-removed' && r.name === 'gone-a'), { timeoutMs: 5_000, what: 'the teardown record' });
      const teardown = (await daemon.trail()).filter((r) => r.cause === 'device-removed' && r.name === 'gone-a');
      expect(teardown).toEqual([expect.objectContaining({ op: 'connection-deactivate', origin: 'daemon', iface: 'x0', result: 'success' })]);
      expect(teardown[0]).not.toHaveProperty('pid');
      expect(teardown[0]).not.toHaveProperty('uid');
      expect(records.filter((r) => r.origin !== 'daemon')).toEqual([]);
      expect(daemon.log()).toMatch(/"x0".*disappeared under "gone-a"/);
      expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'State')).toBe(20);
    } finally {
      await states.off();
    }
  });

  it('autoconnect: a link created later with the name an autoconnect profile names is activated: one daemon record, cause autoconnect', async () => {
    const conn = await addProfile(client, profile('auto-late', 'ethernet', { ifname: 'late0', autoconnect: true, ipv4: manual(['10.46.0.1/24']) }));
    expect(await activeConnections(client)).toEqual([]);
    const { records } = await newRecords(daemon, async () => {
      await ip('-n', NS, 'link', 'add', 'late0', 'type', 'veth', 'peer', 'name', 'late0p', 'netns', PEER);
      await waitFor(async () => (await activeConnections(client)).length === 1, { timeoutMs: 10_000, what: 'auto-late activated' });
      await waitFor(async () => (await ipAddrs(NS, 'late0')).includes('10.46.0.1/24'), { timeoutMs: 5_000, what: '10.46.0.1/24 on late0' });
    });
    const [active] = await activeConnections(client);
    expect(await client.getAllProperties(active!, ACTIVE_IFACE)).toMatchObject({ Connection: conn, Id: 'auto-late', State: 2 });
    expect(records).toEqual([expect.objectContaining({ op: 'connection-activate', origin: 'daemon', cause: 'autoconnect', name: 'auto-late', iface: 'late0', result: 'success' })]);
    expect(records[0]).not.toHaveProperty('pid');
    expect((records[0]!.after as { ipv4: { addresses: string[] } }).ipv4.addresses).toEqual(['10.46.0.1/24']);
    expect(daemon.log()).toMatch(/autoconnect: activating "auto-late"/);
    await deactivate(client, active!);
  });

  it('autoconnect at start: a saved autoconnect profile whose link appeared while the daemon was stopped is activated when it starts, a daemon record', async () => {
    // Added while its link is missing, so that nothing activates it before the restart (a new
    // profile whose link is there comes up at once).
    await addProfile(client, profile('auto-boot', 'ethernet', { ifname: 'boot0', autoconnect: true, ipv4: manual(['10.47.0.1/24']) }));
    await daemon.stop();
    await ip('-n', NS, 'link', 'add', 'boot0', 'type', 'veth', 'peer', 'name', 'boot0p', 'netns', PEER);
    await ip('-n', PEER, 'link', 'set', 'boot0p', 'up');
    expect(await ipAddrs(NS, 'boot0')).not.toContain('10.47.0.1/24');
    const before = (await daemon.trail()).length;
    await daemon.start();
    // Born activating: waited for until activated.
    await waitFor(async () => {
      for (const p of await activeConnections(client)) {
        if ((await client.getProperty(p, ACTIVE_IFACE, 'Id')) === 'auto-boot' && (await client.getProperty(p, ACTIVE_IFACE, 'State')) === 2) return p;
      }
      return undefined;
    }, { timeoutMs: 10_000, what: 'auto-boot activated at start' });
    expect(await ipAddrs(NS, 'boot0')).toContain('10.47.0.1/24');
    expect(daemon.log()).toMatch(/autoconnect: activating "auto-boot"/);
    expect((await daemon.trail()).slice(before).filter((r) => r.op === 'connection-activate' && r.name === 'auto-boot')).toEqual([
      expect.objectContaining({ origin: 'daemon', cause: 'autoconnect', name: 'auto-boot', iface: 'boot0', result: 'success' }),
    ]);
  });
});
