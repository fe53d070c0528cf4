// Device.Delete and Manager.Enable (issue 5, items 3 and 4). Delete removes a software link (veth,
// bridge, macvlan, vxlan) from the kernel as one audited device-delete; the loopback (a link without
// kind) is NotSupported, a non-root caller PermissionDenied, a vanished device UnknownDevice, each a
// failed record. Enable(b) switches NetworkingEnabled (networking-control, args on/off); asking for
// the state networking is in is AlreadyEnabledOrDisabled, as in NetworkManager. The daemon runs in
// a network namespace made for this file; the root namespace's links are never touched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBus } from '../helpers/bus.js';
import { SERVICE, type TestClient } from '../helpers/client.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { deviceGone, deviceOnBus, devicePaths, DEVICE_IFACE, errorOf, nauserUid as lookUpNauser, newRecords, pathOf, propertiesChanged } from '../helpers/devices.js';
import { busctl } from '../helpers/exec.js';
import { createNetns, ip, linkNames, startDaemonInNetns, stopDaemonInNetns } from '../helpers/netns.js';
import { auditLines, MANAGER, MANAGER_IFACE } from '../helpers/profiles.js';
import { waitFor } from '../helpers/wait.js';

const NS = `na-devdel-${process.pid}`;
const PEER = `${NS}-peer`;

let bus: TestBus;
let daemon: TestDaemon;
let client: TestClient;
let nauserUid: number;

beforeAll(async () => {
  nauserUid = await lookUpNauser();
  await createNetns(NS, PEER);
  await ip('-n', NS, 'link', 'set', 'lo', 'up');
  await ip('-n', NS, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1', 'netns', PEER);
  await ip('-n', NS, 'link', 'add', 'br0', 'type', 'bridge');
  // A macvlan cannot sit on a bridge port: it gets a veth of its own (ENVIRONMENT.md §0).
  await ip('-n', NS, 'link', 'add', 'w0', 'type', 'veth', 'peer', 'name', 'w1', 'netns', PEER);
  await ip('-n', NS, 'link', 'add', 'mv0', 'link', 'w0', 'type', 'macvlan', 'mode', 'bridge');
  await ip('-n', NS, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789');
  ({ bus, daemon, client } = await startDaemonInNetns(NS));
});

afterAll(() => stopDaemonInNetns({ bus, client }, NS, PEER));

describe('Device.Delete', () => {
  it('is introspected as a method of the device', async () => {
    const [xml] = (await client.call(pathOf(await deviceOnBus(client, NS, 'v0')), 'org.freedesktop.DBus.Introspectable', 'Introspect')) as [string];
    expect(xml).toContain('<method name="Delete">');
  });

  it('refused to nauser with PermissionDenied: the link stays, one failed record', async () => {
    const ifindex = await deviceOnBus(client, NS, 'br0');
    let pid = 0;
    const { records } = await newRecords(daemon, async () => {
      const r = await busctl(bus.address, ['call', SERVICE, pathOf(ifindex), DEVICE_IFACE, 'Delete'], { uid: 'nauser' });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('Not authorized');
      expect(r.stderr).toContain('org.netaudit1.network-control');
      pid = r.pid;
    });
    expect(await linkNames(NS)).toContain('br0');
    expect(records).toEqual([
      expect.objectContaining({ op: 'device-delete', ifindex, iface: 'br0', pid, uid: nauserUid, result: 'fail', reason: 'not-authorized' }),
    ]);
  });

  for (const { name, kind } of [
    { name: 'br0', kind: 'bridge' },
    { name: 'mv0', kind: 'macvlan' },
    { name: 'vx0', kind: 'vxlan' },
  ]) {
    it(`deletes the ${kind} ${name} as root: gone from the kernel and the bus, DeviceRemoved, one device-delete record`, async () => {
      const ifindex = await deviceOnBus(client, NS, name);
      const path = pathOf(ifindex);
      expect(await client.getProperty(path, DEVICE_IFACE, 'DeviceType')).toBe(kind);
      const removed: string[] = [];
      const off = await client.onSignal(MANAGER, MANAGER_IFACE, 'DeviceRemoved', (body) => removed.push(body[0] as string));
      try {
        let pid = 0;
        const { records } = await newRecords(daemon, async () => {
          const r = await busctl(bus.address, ['call', SERVICE, path, DEVICE_IFACE, 'Delete']);
          expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: '', stderr: '' });
          pid = r.pid;
        });
        expect(await linkNames(NS)).not.toContain(name);
        await waitFor(() => removed.includes(path), { timeoutMs: 5_000, what: `DeviceRemoved(${path})` });
        expect(await devicePaths(client)).not.toContain(path);
        expect(records).toHaveLength(1);
        expect(records[0]).toMatchObject({ op: 'device-delete', ifindex, iface: name, pid, uid: 0, result: 'success' });
        expect(records[0]).not.toHaveProperty('reason');
        expect(auditLines(daemon.log())).toContainEqual(`op="device-delete" origin="caller" ifindex=${ifindex} iface="${name}" pid=${pid} uid=0 result="success"`);
      } finally {
        await off();
      }
    });
  }

  it('deletes the veth v0 with dbus-next as root, and its peer in the other namespace with it: one record', async () => {
    const ifindex = await deviceOnBus(client, NS, 'v0');
    const path = pathOf(ifindex);
    const removed: string[] = [];
    const off = await client.onSignal(MANAGER, MANAGER_IFACE, 'DeviceRemoved', (body) => removed.push(body[0] as string));
    try {
      const { records } = await newRecords(daemon, () => client.call(path, DEVICE_IFACE, 'Delete'));
      expect(await linkNames(NS)).not.toContain('v0');
      expect(await linkNames(PEER)).not.toContain('v1');
      await waitFor(() => removed.includes(path), { timeoutMs: 5_000, what: `DeviceRemoved(${path})` });
      expect(records).toEqual([expect.objectContaining({ op: 'device-delete', ifindex, iface: 'v0', pid: process.pid, uid: 0, result: 'success' })]);
    } finally {
      await off();
    }
  });

  it('refuses the loopback, a link without kind, with NotSupported and a failed record', async () => {
    const ifindex = await deviceOnBus(client, NS, 'lo');
    const { records, result } = await newRecords(daemon, () => errorOf(client.call(pathOf(ifindex), DEVICE_IFACE, 'Delete')));
    expect(result.type).toBe('org.netaudit1.Error.NotSupported');
    expect(result.text).toContain('"lo"');
    expect(result.text).toContain('only software links');
    expect(await linkNames(NS)).toContain('lo');
    expect(records).toEqual([expect.objectContaining({ op: 'device-delete', ifindex, iface: 'lo', pid: process.pid, uid: 0, result: 'fail', reason: 'not-supported' })]);
  });

  it('refuses a device that vanished with UnknownDevice and a failed record with its ifindex', async () => {
    await ip('-n', NS, 'link', 'add', 'x0', 'type', 'veth', 'peer', 'name', 'x1', 'netns', PEER);
    const ifindex = await deviceOnBus(client, NS, 'x0');
    const path = pathOf(ifindex);
    await ip('-n', NS, 'link', 'del', 'x0');
    await deviceGone(client, path, 'x0');
    const { records, result } = await newRecords(daemon, () => errorOf(client.call(path, DEVICE_IFACE, 'Delete')));
    expect(result.type).toBe('org.netaudit1.Error.UnknownDevice');
    expect(result.text).toContain(String(ifindex));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ op: 'device-delete', ifindex, uid: 0, result: 'fail', reason: 'unknown-device' });
    expect(records[0]).not.toHaveProperty('iface');
  });

  it('with arguments is InvalidArgument and a failed record', async () => {
    const ifindex = await deviceOnBus(client, NS, 'w0');
    const { records, result } = await newRecords(daemon, () => errorOf(client.call(pathOf(ifindex), DEVICE_IFACE, 'Delete', 's', ['now'])));
    expect(result.type).toBe('org.netaudit1.Error.InvalidArgument');
    expect(await linkNames(NS)).toContain('w0');
    expect(records).toEqual([expect.objectContaining({ op: 'device-delete', uid: 0, result: 'fail', reason: 'invalid-argument' })]);
  });
});

describe('Manager.Enable', () => {
  it('NetworkingEnabled is true at start and read-only', async () => {
    expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'NetworkingEnabled')).toBe(true);
    const [xml] = (await client.call(MANAGER, 'org.freedesktop.DBus.Introspectable', 'Introspect')) as [string];
    expect(xml).toContain('<property name="NetworkingEnabled" type="b" access="read"/>');
    expect(xml).toContain('<method name="Enable">');
    const { records, result } = await newRecords(daemon, () => errorOf(client.setProperty(MANAGER, MANAGER_IFACE, 'NetworkingEnabled', 'b', false)));
    expect(result.type).toBe('org.netaudit1.Error.PropertyReadOnly');
    expect(records).toEqual([]);
  });

  it('refused to nauser: networking stays on, one failed record', async () => {
    const { records, result } = await newRecords(daemon, () => busctl(bus.address, ['call', SERVICE, MANAGER, MANAGER_IFACE, 'Enable', 'b', 'false'], { uid: 'nauser' }));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('org.netaudit1.enable-disable-network');
    expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'NetworkingEnabled')).toBe(true);
    expect(records).toEqual([expect.objectContaining({ op: 'networking-control', args: 'off', pid: result.pid, uid: nauserUid, result: 'fail', reason: 'not-authorized' })]);
  });

  it('Enable(false) turns networking off: NetworkingEnabled false and State 10 announced, StateChanged, one networking-control record', async () => {
    const states: number[] = [];
    const off = await client.onSignal(MANAGER, MANAGER_IFACE, 'StateChanged', (body) => states.push(body[0] as number));
    try {
      let pid = 0;
      const { records } = await newRecords(daemon, async () => {
        const changed = await propertiesChanged(client, MANAGER, MANAGER_IFACE, async () => {
          const r = await busctl(bus.address, ['call', SERVICE, MANAGER, MANAGER_IFACE, 'Enable', 'b', 'false']);
          expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
          pid = r.pid;
        });
        expect(changed).toEqual({ NetworkingEnabled: false, State: 10 });
      });
      await waitFor(() => states.length > 0, { timeoutMs: 5_000, what: 'StateChanged' });
      expect(states).toEqual([10]);
      expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'NetworkingEnabled')).toBe(false);
      expect(records).toEqual([expect.objectContaining({ op: 'networking-control', args: 'off', pid, uid: 0, result: 'success' })]);
      expect(auditLines(daemon.log())).toContainEqual(`op="networking-control" origin="caller" args="off" pid=${pid} uid=0 result="success"`);
    } finally {
      await off();
    }
  });

  it('Enable(false) while off is AlreadyEnabledOrDisabled, as in NetworkManager, and a failed record', async () => {
    const { records, result } = await newRecords(daemon, () => errorOf(client.call(MANAGER, MANAGER_IFACE, 'Enable', 'b', [false])));
    expect(result.type).toBe('org.netaudit1.Error.AlreadyEnabledOrDisabled');
    expect(result.text).toContain('already disabled');
    expect(records).toEqual([expect.objectContaining({ op: 'networking-control', args: 'off', uid: 0, result: 'fail', reason: 'already-enabled-or-disabled' })]);
    expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'NetworkingEnabled')).toBe(false);
  });

  it('Enable(true) turns it on again: NetworkingEnabled true, State 20, recorded with args=on', async () => {
    const { records } = await newRecords(daemon, async () => {
      expect(await propertiesChanged(client, MANAGER, MANAGER_IFACE, () => client.call(MANAGER, MANAGER_IFACE, 'Enable', 'b', [true]))).toEqual({ NetworkingEnabled: true, State: 20 });
    });
    expect(await client.getAllProperties(MANAGER, MANAGER_IFACE)).toMatchObject({ NetworkingEnabled: true, State: 20 });
    expect(records).toEqual([expect.objectContaining({ op: 'networking-control', args: 'on', pid: process.pid, uid: 0, result: 'success' })]);
  });

  it('Enable(true) while on is AlreadyEnabledOrDisabled too', async () => {
    const { records, result } = await newRecords(daemon, () => errorOf(client.call(MANAGER, MANAGER_IFACE, 'Enable', 'b', [true])));
    expect(result.type).toBe('org.netaudit1.Error.AlreadyEnabledOrDisabled');
    expect(records).toEqual([expect.objectContaining({ op: 'networking-control', args: 'on', result: 'fail', reason: 'already-enabled-or-disabled' })]);
  });

  it('Enable with the wrong signature is InvalidArgument and a failed record', async () => {
    const { records, result } = await newRecords(daemon, () => errorOf(client.call(MANAGER, MANAGER_IFACE, 'Enable', 'u', [0])));
    expect(result.type).toBe('org.netaudit1.Error.InvalidArgument');
    expect(records).toEqual([expect.objectContaining({ op: 'networking-control', uid: 0, result: 'fail', reason: 'invalid-argument' })]);
  });
});
