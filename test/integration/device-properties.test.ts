// Property writes and Sleep (issue 5, items 3 and 4): a Device's Managed and Autoconnect and the
// Manager's WirelessEnabled are writable, each write authorized like a method and recorded as one
// audited change (device-managed, device-autoconnect, radio-control); Sleep(b) is sleep-control
// and puts the Manager's State at NetworkManager's 10 (asleep). The daemon runs in a network
// namespace made for this file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBus } from '../helpers/bus.js';
import { SERVICE, type TestClient } from '../helpers/client.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { deviceGone, deviceOnBus, DEVICE_IFACE, errorOf, nauserUid as lookUpNauser, newRecords, pathOf, PROPERTIES, propertiesChanged } from '../helpers/devices.js';
import { busctl } from '../helpers/exec.js';
import { createNetns, ifindexOf, ip, startDaemonInNetns, stopDaemonInNetns } from '../helpers/netns.js';
import { auditLines, MANAGER, MANAGER_IFACE } from '../helpers/profiles.js';
import { waitFor } from '../helpers/wait.js';

const NS = `na-devprop-${process.pid}`;
const PEER = `${NS}-peer`;

let bus: TestBus;
let daemon: TestDaemon;
let client: TestClient;
let nauserUid: number;
let v0: { ifindex: number; path: string };

beforeAll(async () => {
  nauserUid = await lookUpNauser();
  await createNetns(NS, PEER);
  await ip('-n', NS, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1', 'netns', PEER);
  ({ bus, daemon, client } = await startDaemonInNetns(NS));
  const ifindex = await ifindexOf(NS, 'v0');
  v0 = { ifindex, path: pathOf(ifindex) };
});

afterAll(() => stopDaemonInNetns({ bus, client }, NS, PEER));

describe('Device.Managed and Autoconnect', () => {
  it('are introspected as readwrite, the other properties as read', async () => {
    const [xml] = (await client.call(v0.path, 'org.freedesktop.DBus.Introspectable', 'Introspect')) as [string];
    expect(xml).toContain('<property name="Managed" type="b" access="readwrite"/>');
    expect(xml).toContain('<property name="Autoconnect" type="b" access="readwrite"/>');
    expect(xml).toContain('<property name="Mtu" type="u" access="read"/>');
  });

  it('written with busctl set-property as root: the value changes, PropertiesChanged says so, one device-managed record', async () => {
    let pid = 0;
    const { records } = await newRecords(daemon, async () => {
      const changed = await propertiesChanged(client, v0.path, DEVICE_IFACE, async () => {
        const r = await busctl(bus.address, ['set-property', SERVICE, v0.path, DEVICE_IFACE, 'Managed', 'b', 'false']);
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
        pid = r.pid;
      });
      // An unmanaged device is in state 10 (unmanaged), as in NetworkManager.
      expect(changed).toEqual({ Managed: false, State: 10 });
    });
    expect(await client.getProperty(v0.path, DEVICE_IFACE, 'Managed')).toBe(false);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ op: 'device-managed', ifindex: v0.ifindex, iface: 'v0', args: 'off', pid, uid: 0, result: 'success' });
    expect(records[0]).not.toHaveProperty('reason');
    expect(auditLines(daemon.log())).toContainEqual(expect.stringMatching(new RegExp(`^op="device-managed" origin="caller" ifindex=${v0.ifindex} iface="v0" args="off" pid=${pid} uid=0 result="success"$`)));
  });

  it('written with dbus-next Properties.Set as root: Managed back on, Autoconnect off, each recorded', async () => {
    const { records } = await newRecords(daemon, async () => {
      expect(await propertiesChanged(client, v0.path, DEVICE_IFACE, () => client.setProperty(v0.path, DEVICE_IFACE, 'Managed', 'b', true))).toEqual({ Managed: true, State: 20 });
      expect(await propertiesChanged(client, v0.path, DEVICE_IFACE, () => client.setProperty(v0.path, DEVICE_IFACE, 'Autoconnect', 'b', false))).toEqual({ Autoconnect: false });
    });
    expect(await client.getAllProperties(v0.path, DEVICE_IFACE)).toMatchObject({ Managed: true, Autoconnect: false, State: 20 });
    expect(records).toEqual([
      expect.objectContaining({ op: 'device-managed', ifindex: v0.ifindex, iface: 'v0', args: 'on', pid: process.pid, uid: 0, result: 'success' }),
      expect.objectContaining({ op: 'device-autoconnect', ifindex: v0.ifindex, iface: 'v0', args: 'off', pid: process.pid, uid: 0, result: 'success' }),
    ]);
  });

  it('writing the value it has already succeeds, is recorded, and announces nothing', async () => {
    const seen: unknown[] = [];
    const off = await client.onSignal(v0.path, PROPERTIES, 'PropertiesChanged', (body) => seen.push(body));
    try {
      const { records } = await newRecords(daemon, () => client.setProperty(v0.path, DEVICE_IFACE, 'Autoconnect', 'b', false));
      expect(records).toEqual([expect.objectContaining({ op: 'device-autoconnect', args: 'off', result: 'success' })]);
      // The daemon sends a write's signal before its reply, and the bus keeps that order.
      expect(seen).toEqual([]);
    } finally {
      await off();
    }
  });

  it('refused to nauser with PermissionDenied, unchanged, recorded with reason not-authorized', async () => {
    let pid = 0;
    const { records } = await newRecords(daemon, async () => {
      const r = await busctl(bus.address, ['set-property', SERVICE, v0.path, DEVICE_IFACE, 'Autoconnect', 'b', 'true'], { uid: 'nauser' });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('Not authorized');
      expect(r.stderr).toContain('org.netaudit1.network-control');
      pid = r.pid;
    });
    expect(await client.getProperty(v0.path, DEVICE_IFACE, 'Autoconnect')).toBe(false);
    expect(records).toEqual([
      expect.objectContaining({ op: 'device-autoconnect', ifindex: v0.ifindex, iface: 'v0', args: 'on', pid, uid: nauserUid, result: 'fail', reason: 'not-authorized' }),
    ]);
  });

  it('a variant of the wrong type is InvalidArgument and a failed attempt on record', async () => {
    const { records, result } = await newRecords(daemon, () => errorOf(client.setProperty(v0.path, DEVICE_IFACE, 'Managed', 's', 'no')));
    expect(result.type).toBe('org.netaudit1.Error.InvalidArgument');
    expect(result.text).toContain('"b"');
    expect(await client.getProperty(v0.path, DEVICE_IFACE, 'Managed')).toBe(true);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ op: 'device-managed', ifindex: v0.ifindex, iface: 'v0', uid: 0, result: 'fail', reason: 'invalid-argument' });
    expect(records[0]).not.toHaveProperty('args');
  });

  it('nauser with the wrong type meets PermissionDenied first (the order of docs/api.md)', async () => {
    const { records, result } = await newRecords(daemon, () =>
      busctl(bus.address, ['set-property', SERVICE, v0.path, DEVICE_IFACE, 'Managed', 's', 'no'], { uid: 'nauser' }));
    expect(result.stderr).toContain('Not authorized');
    expect(records).toEqual([expect.objectContaining({ op: 'device-managed', uid: nauserUid, result: 'fail', reason: 'not-authorized' })]);
  });

  it('a read-only property is PropertyReadOnly and nothing is recorded', async () => {
    const { records, result } = await newRecords(daemon, () => errorOf(client.setProperty(v0.path, DEVICE_IFACE, 'Mtu', 'u', 1400)));
    expect(result.type).toBe('org.netaudit1.Error.PropertyReadOnly');
    expect(records).toEqual([]);
    const unknown = await errorOf(client.setProperty(v0.path, DEVICE_IFACE, 'Colour', 'b', true));
    expect(unknown.type).toBe('org.netaudit1.Error.InvalidArgument');
  });

  it('on a device that vanished is UnknownDevice and a failed record with its ifindex', async () => {
    await ip('-n', NS, 'link', 'add', 'x0', 'type', 'veth', 'peer', 'name', 'x1', 'netns', PEER);
    const ifindex = await deviceOnBus(client, NS, 'x0');
    const path = pathOf(ifindex);
    await ip('-n', NS, 'link', 'del', 'x0');
    await deviceGone(client, path, 'x0');
    const { records, result } = await newRecords(daemon, () => errorOf(client.setProperty(path, DEVICE_IFACE, 'Managed', 'b', false)));
    expect(result.type).toBe('org.netaudit1.Error.UnknownDevice');
    expect(result.text).toContain(String(ifindex));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ op: 'device-managed', ifindex, args: 'off', uid: 0, result: 'fail', reason: 'unknown-device' });
    expect(records[0]).not.toHaveProperty('iface');
    // Reads of the vanished object are refused as before.
    expect((await errorOf(client.getProperty(path, DEVICE_IFACE, 'Managed'))).type).toBe('org.netaudit1.Error.UnknownObject');
  });
});

describe('Manager.WirelessEnabled', () => {
  it('is true at start and introspected as readwrite', async () => {
    expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'WirelessEnabled')).toBe(true);
    const [xml] = (await client.call(MANAGER, 'org.freedesktop.DBus.Introspectable', 'Introspect')) as [string];
    expect(xml).toContain('<property name="WirelessEnabled" type="b" access="readwrite"/>');
  });

  it('written with busctl as root: stored without Wi-Fi hardware, announced, one radio-control record', async () => {
    let pid = 0;
    const { records } = await newRecords(daemon, async () => {
      const changed = await propertiesChanged(client, MANAGER, MANAGER_IFACE, async () => {
        const r = await busctl(bus.address, ['set-property', SERVICE, MANAGER, MANAGER_IFACE, 'WirelessEnabled', 'b', 'false']);
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
        pid = r.pid;
      });
      expect(changed).toEqual({ WirelessEnabled: false });
    });
    expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'WirelessEnabled')).toBe(false);
    expect(records).toEqual([expect.objectContaining({ op: 'radio-control', args: 'off', pid, uid: 0, result: 'success' })]);
  });

  it('written with dbus-next back on, recorded with args=on', async () => {
    const { records } = await newRecords(daemon, () => client.setProperty(MANAGER, MANAGER_IFACE, 'WirelessEnabled', 'b', true));
    expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'WirelessEnabled')).toBe(true);
    expect(records).toEqual([expect.objectContaining({ op: 'radio-control', args: 'on', pid: process.pid, uid: 0, result: 'success' })]);
  });

  it('refused to nauser, and a wrong type refused to root, each recorded', async () => {
    const refused = await newRecords(daemon, () =>
      busctl(bus.address, ['set-property', SERVICE, MANAGER, MANAGER_IFACE, 'WirelessEnabled', 'b', 'false'], { uid: 'nauser' }));
    expect(refused.result.stderr).toContain('org.netaudit1.enable-disable-wifi');
    expect(refused.records).toEqual([expect.objectContaining({ op: 'radio-control', args: 'off', uid: nauserUid, result: 'fail', reason: 'not-authorized' })]);
    const wrong = await newRecords(daemon, () => errorOf(client.setProperty(MANAGER, MANAGER_IFACE, 'WirelessEnabled', 'u', 0)));
    expect(wrong.result.type).toBe('org.netaudit1.Error.InvalidArgument');
    expect(wrong.records).toEqual([expect.objectContaining({ op: 'radio-control', uid: 0, result: 'fail', reason: 'invalid-argument' })]);
    expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'WirelessEnabled')).toBe(true);
  });

  it('the Manager\'s read-only properties stay read-only, unrecorded', async () => {
    const { records, result } = await newRecords(daemon, () => errorOf(client.setProperty(MANAGER, MANAGER_IFACE, 'State', 'u', 70)));
    expect(result.type).toBe('org.netaudit1.Error.PropertyReadOnly');
    expect(records).toEqual([]);
  });
});

describe('Manager.Sleep', () => {
  it('Sleep(true) puts State at 10 (asleep) with StateChanged, recorded as sleep-control args=sleep', async () => {
    const states: number[] = [];
    const off = await client.onSignal(MANAGER, MANAGER_IFACE, 'StateChanged', (body) => states.push(body[0] as number));
    try {
      const { records } = await newRecords(daemon, async () => {
        expect(await propertiesChanged(client, MANAGER, MANAGER_IFACE, () => client.call(MANAGER, MANAGER_IFACE, 'Sleep', 'b', [true]))).toEqual({ State: 10 });
      });
      await waitFor(() => states.length > 0, { timeoutMs: 5_000, what: 'StateChanged' });
      expect(states).toEqual([10]);
      expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'State')).toBe(10);
      expect(records).toEqual([expect.objectContaining({ op: 'sleep-control', args: 'sleep', pid: process.pid, uid: 0, result: 'success' })]);
    } finally {
      await off();
    }
  });

  it('Sleep(true) while asleep is AlreadyAsleepOrAwake, as in NetworkManager, and a failed record', async () => {
    const { records, result } = await newRecords(daemon, () => errorOf(client.call(MANAGER, MANAGER_IFACE, 'Sleep', 'b', [true])));
    expect(result.type).toBe('org.netaudit1.Error.AlreadyAsleepOrAwake');
    expect(records).toEqual([expect.objectContaining({ op: 'sleep-control', args: 'sleep', result: 'fail', reason: 'already-asleep-or-awake' })]);
    expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'State')).toBe(10);
  });

  it('refused to nauser while asleep, which stays asleep', async () => {
    const { records, result } = await newRecords(daemon, () => busctl(bus.address, ['call', SERVICE, MANAGER, MANAGER_IFACE, 'Sleep', 'b', 'false'], { uid: 'nauser' }));
    expect(result.stderr).toContain('org.netaudit1.sleep-wake');
    expect(records).toEqual([expect.objectContaining({ op: 'sleep-control', args: 'wake', uid: nauserUid, result: 'fail', reason: 'not-authorized' })]);
    expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'State')).toBe(10);
  });

  it('Sleep(false) wakes: State 20 again, recorded as args=wake', async () => {
    let pid = 0;
    const { records } = await newRecords(daemon, async () => {
      const r = await busctl(bus.address, ['call', SERVICE, MANAGER, MANAGER_IFACE, 'Sleep', 'b', 'false']);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      pid = r.pid;
    });
    expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'State')).toBe(20);
    expect(records).toEqual([expect.objectContaining({ op: 'sleep-control', args: 'wake', pid, uid: 0, result: 'success' })]);
  });

  it('Sleep with the wrong signature is InvalidArgument and a failed record', async () => {
    const { records, result } = await newRecords(daemon, () => errorOf(client.call(MANAGER, MANAGER_IFACE, 'Sleep', 's', ['yes'])));
    expect(result.type).toBe('org.netaudit1.Error.InvalidArgument');
    expect(records).toEqual([expect.objectContaining({ op: 'sleep-control', uid: 0, result: 'fail', reason: 'invalid-argument' })]);
  });
});
