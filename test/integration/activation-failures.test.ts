// Activation refused or failed (docs/api.md errors of ActivateConnection, AddAndActivateConnection,
// DeactivateConnection, Device.Disconnect): each a named org.netaudit1.Error with a one-line
// message and a `fail` record with its reason. A failure found before any change is one fail
// record; a kernel refusal after the change started is a success record overturned by a fail
// record with the same tx, and what was changed is taken back. The daemon runs in a namespace
// made for this file; the root namespace's links are never touched.
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBus } from '../helpers/bus.js';
import { SERVICE, variant, type TestClient } from '../helpers/client.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { deviceOnBus, vethOnBus, DEVICE_IFACE, errorOf, nauserUid as lookUpNauser, newRecords, pathOf, type TrailRecord } from '../helpers/devices.js';
import {
  ACTIVE_IFACE, activate, activeConnections, addProfile, deactivate, ipAddrs, ipRoutes, isOneLineMessage, linkDetails, listConnections, manual, method, profile,
} from '../helpers/activation.js';
import { busctl } from '../helpers/exec.js';
import { createNetns, ip, link, linkNames, startDaemonInNetns, stopDaemonInNetns } from '../helpers/netns.js';
import { MANAGER, MANAGER_IFACE, wifi } from '../helpers/profiles.js';

const NS = `na-actf-${process.pid}`;
const PEER = `${NS}-peer`;

let bus: TestBus;
let daemon: TestDaemon;
let client: TestClient;
let nauserUid: number;
let f0: number;
let f1: number;
let brx: number;

/** A veth `name` in NS, its peer in PEER up, `name` left down. */
const veth = (name: string): Promise<number> => vethOnBus(client, NS, PEER, name);

beforeAll(async () => {
  nauserUid = await lookUpNauser();
  await createNetns(NS, PEER);
  ({ bus, daemon, client } = await startDaemonInNetns(NS));
  f0 = await veth('f0');
  f1 = await veth('f1');
  await veth('mp0');
  await ip('-n', NS, 'link', 'add', 'brx', 'type', 'bridge');
  brx = await deviceOnBus(client, NS, 'brx');
});

afterAll(() => stopDaemonInNetns({ bus, client }, NS, PEER));

/**
 * Runs `call`, which must fail with org.netaudit1.Error.`type` and a one-line message, leaving
 * exactly one record: a fail with `reason` and `fields`. Resolves with the error's message.
 */
async function refused(call: () => Promise<unknown>, type: string, reason: string, fields: TrailRecord): Promise<string> {
  const { records, result } = await newRecords(daemon, () => errorOf(call()));
  expect(result.type).toBe(`org.netaudit1.Error.${type}`);
  expect(isOneLineMessage(result.text), result.text).toBe(true);
  expect(records).toHaveLength(1);
  expect(records[0]).toMatchObject({ ...fields, uid: 0, pid: process.pid, result: 'fail', reason });
  return result.text;
}

/** The kernel's state of f0 that no failed attempt may change. */
async function f0State(): Promise<unknown> {
  const l = await link(NS, 'f0');
  return { up: l.flags.includes('UP'), mtu: l.mtu, address: l.address, addrs: await ipAddrs(NS, 'f0'), routes: (await ipRoutes(NS)).filter((r) => r.dev === 'f0') };
}

describe('refused before any change: one fail record', () => {
  it('an unknown connection path is UnknownConnection', async () => {
    await refused(() => activate(client, '/org/netaudit1/Settings/999', pathOf(f0)), 'UnknownConnection', 'unknown-connection', { op: 'connection-activate', ifindex: f0 });
  });

  it('an unknown device path is UnknownDevice', async () => {
    const conn = await addProfile(client, profile('ud-a', 'ethernet', { ipv4: manual(['10.70.0.1/24']) }));
    await refused(() => activate(client, conn, '/org/netaudit1/Devices/99999'), 'UnknownDevice', 'unknown-device', { op: 'connection-activate', name: 'ud-a' });
  });

  it('device "/" with a profile that names no interface, or a name no link has, is UnknownDevice', async () => {
    const none = await addProfile(client, profile('ud-none', 'ethernet', { ipv4: manual(['10.70.1.1/24']) }));
    await refused(() => activate(client, none), 'UnknownDevice', 'unknown-device', { op: 'connection-activate', name: 'ud-none' });
    const missing = await addProfile(client, profile('ud-missing', 'ethernet', { ifname: 'nosuch0', ipv4: manual(['10.70.2.1/24']) }));
    const text = await refused(() => activate(client, missing), 'UnknownDevice', 'unknown-device', { op: 'connection-activate', name: 'ud-missing' });
    expect(text).toContain('nosuch0');
  });

  it('a wifi profile is NotSupported, reason no-wifi-device', async () => {
    const conn = await addProfile(client, wifi('wifi-a', 'correct horse battery'));
    await refused(() => activate(client, conn), 'NotSupported', 'no-wifi-device', { op: 'connection-activate', name: 'wifi-a' });
  });

  it('a macvlan or a vlan whose parent does not exist is UnknownDevice, and no link is created', async () => {
    const mv = await addProfile(client, profile('mv-orphan', 'macvlan', { ifname: 'mvo0', ipv4: manual(['10.70.3.1/24']), extra: { macvlan: { parent: variant('s', 'nosuch1'), mode: variant('u', 2) } } }));
    await refused(() => activate(client, mv), 'UnknownDevice', 'unknown-device', { op: 'connection-activate', name: 'mv-orphan' });
    const vl = await addProfile(client, profile('vlan-orphan', 'vlan', { ifname: 'vlo0', ipv4: manual(['10.70.4.1/24']), extra: { vlan: { id: variant('u', 7), parent: variant('s', 'nosuch2') } } }));
    await refused(() => activate(client, vl), 'UnknownDevice', 'unknown-device', { op: 'connection-activate', name: 'vlan-orphan' });
    expect(await linkNames(NS)).not.toContain('mvo0');
    expect(await linkNames(NS)).not.toContain('vlo0');
  });

  it('a bridge port whose master does not exist (by name, or by the UUID of an inactive bridge profile) is UnknownDevice', async () => {
    const byName = await addProfile(client, profile('port-orphan', 'ethernet', {
      ifname: 'f0', ipv4: null, ipv6: null,
      extra: { connection: { master: variant('s', 'nosuchbr'), 'slave-type': variant('s', 'bridge') }, 'bridge-port': {} },
    }));
    const before = await f0State();
    await refused(() => activate(client, byName), 'UnknownDevice', 'unknown-device', { op: 'connection-activate', name: 'port-orphan' });
    const bridge = await addProfile(client, profile('br-idle', 'bridge', { ifname: 'bri0', ipv4: manual(['10.70.5.1/24']) }));
    const [s] = await client.call(bridge, 'org.netaudit1.Settings.Connection', 'GetSettings');
    const uuid = (s as Record<string, Record<string, { value: string }>>).connection!.uuid!.value;
    const byUuid = await addProfile(client, profile('port-idle', 'ethernet', {
      ifname: 'f0', ipv4: null, ipv6: null,
      extra: { connection: { master: variant('s', uuid), 'slave-type': variant('s', 'bridge') }, 'bridge-port': {} },
    }));
    await refused(() => activate(client, byUuid), 'UnknownDevice', 'unknown-device', { op: 'connection-activate', name: 'port-idle' });
    expect(await f0State()).toEqual(before);
    expect(await linkNames(NS)).not.toContain('bri0');
  });

  it('an ethernet profile on a bridge device is IncompatibleConnection, reason incompatible-device', async () => {
    const conn = await addProfile(client, profile('eth-on-br', 'ethernet', { ipv4: manual(['10.70.6.1/24']) }));
    await refused(() => activate(client, conn, pathOf(brx)), 'IncompatibleConnection', 'incompatible-device', { op: 'connection-activate', name: 'eth-on-br', ifindex: brx, iface: 'brx' });
    expect(await ipAddrs(NS, 'brx')).not.toContain('10.70.6.1/24');
  });

  it('an unmanaged device (Managed false) is UnmanagedDevice, reason device-unmanaged', async () => {
    const conn = await addProfile(client, profile('eth-unmanaged', 'ethernet', { ifname: 'f1', ipv4: manual(['10.70.7.1/24']) }));
    await client.setProperty(pathOf(f1), DEVICE_IFACE, 'Managed', 'b', false);
    try {
      await refused(() => activate(client, conn, pathOf(f1)), 'UnmanagedDevice', 'device-unmanaged', { op: 'connection-activate', name: 'eth-unmanaged', ifindex: f1, iface: 'f1' });
      expect(await ipAddrs(NS, 'f1')).toEqual([]);
    } finally {
      await client.setProperty(pathOf(f1), DEVICE_IFACE, 'Managed', 'b', true);
    }
  });

  it('DeactivateConnection of a stale path is ConnectionNotActive, reason not-active', async () => {
    await refused(() => deactivate(client, '/org/netaudit1/ActiveConnection/999'), 'ConnectionNotActive', 'not-active', { op: 'connection-deactivate' });
  });

  it('Device.Disconnect with nothing active is ConnectionNotActive, reason not-active', async () => {
    await refused(() => client.call(pathOf(f0), DEVICE_IFACE, 'Disconnect'), 'ConnectionNotActive', 'not-active', { op: 'device-disconnect', ifindex: f0, iface: 'f0' });
  });
});

describe('refused by the kernel after the change started: success then fail with the same tx, all taken back', () => {
  /** The two records of an overturned attempt: a success and a fail with the same tx, both with `fields`. */
  function expectOverturned(records: TrailRecord[], fields: TrailRecord): void {
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ ...fields, result: 'success' });
    expect(records[0]!.tx).toEqual(expect.any(Number));
    expect(records[1]).toMatchObject({ ...fields, result: 'fail', reason: 'kernel-error', tx: records[0]!.tx });
  }

  it('a route whose next hop is not on the link (ENETUNREACH): Failed with the kernel\'s errno and text; address, MTU and link state taken back', async () => {
    const conn = await addProfile(client, profile('eth-badroute', 'ethernet', {
      ifname: 'f0',
      ipv4: manual(['10.71.0.1/24'], { routes: [{ dest: '198.51.100.0', prefix: 24, nextHop: '203.0.113.1' }] }),
      extra: { '802-3-ethernet': { mtu: variant('u', 1450) } },
    }));
    const before = await f0State();
    expect(before).toMatchObject({ up: false });
    const { records, result } = await newRecords(daemon, () => errorOf(activate(client, conn, pathOf(f0))));
    expect(result.type).toBe('org.netaudit1.Error.Failed');
    expect(isOneLineMessage(result.text), result.text).toBe(true);
    expect(result.text).toContain('ENETUNREACH');
    expect(result.text).toContain('Nexthop has invalid gateway');
    expectOverturned(records, { op: 'connection-activate', name: 'eth-badroute', ifindex: f0, iface: 'f0', uid: 0, pid: process.pid });
    expect(await f0State()).toEqual(before);
    expect(await activeConnections(client)).toEqual([]);
    expect(await client.getProperty(pathOf(f0), DEVICE_IFACE, 'ActiveConnection')).toBe('/');
  });

  it('a macvlan MTU above its parent\'s (EINVAL) on a created link: Failed, the link deleted again, the record has its ifindex', async () => {
    const conn = await addProfile(client, profile('mv-bigmtu', 'macvlan', {
      ifname: 'mvb0', ipv4: manual(['10.71.1.1/24']),
      extra: { macvlan: { parent: variant('s', 'mp0'), mode: variant('u', 2) }, '802-3-ethernet': { mtu: variant('u', 9000) } },
    }));
    const { records, result } = await newRecords(daemon, () => errorOf(activate(client, conn)));
    expect(result.type).toBe('org.netaudit1.Error.Failed');
    expect(isOneLineMessage(result.text), result.text).toBe(true);
    expect(result.text).toContain('EINVAL');
    expect(result.text).toContain('9000');
    expectOverturned(records, { op: 'connection-activate', name: 'mv-bigmtu', iface: 'mvb0', ifindex: expect.any(Number) });
    expect(await linkNames(NS)).not.toContain('mvb0');
    expect(await activeConnections(client)).toEqual([]);
  });

  it('AddAndActivateConnection refused by the kernel: the profile is removed again (list and file), success then fail', async () => {
    const before = await listConnections(client);
    const files = await readdir(daemon.profilesDir);
    const f0Before = await f0State();
    const dict = profile('aa-badroute', 'ethernet', { ipv4: manual(['10.71.2.1/24'], { routes: [{ dest: '198.51.100.0', prefix: 24, nextHop: '203.0.113.1' }] }) });
    const { records, result } = await newRecords(daemon, () =>
      errorOf(client.call(MANAGER, MANAGER_IFACE, 'AddAndActivateConnection', 'a{sa{sv}}oo', [dict, pathOf(f0), '/'])));
    expect(result.type).toBe('org.netaudit1.Error.Failed');
    expect(result.text).toContain('ENETUNREACH');
    expect(await listConnections(client)).toEqual(before);
    expect(await readdir(daemon.profilesDir)).toEqual(files);
    expect(await f0State()).toEqual(f0Before);
    expectOverturned(records, { op: 'connection-add-activate', name: 'aa-badroute', ifindex: f0, iface: 'f0', uid: 0 });
  });
});

describe('a caller who is not root', () => {
  it('ActivateConnection with busctl as nauser: PermissionDenied, one fail record not-authorized, the kernel unchanged', async () => {
    const conn = await addProfile(client, profile('eth-nauser', 'ethernet', { ifname: 'f0', ipv4: manual(['10.72.0.1/24']) }));
    const before = await f0State();
    const { records, result } = await newRecords(daemon, () =>
      busctl(bus.address, ['call', SERVICE, MANAGER, MANAGER_IFACE, 'ActivateConnection', 'ooo', conn, '/', '/'], { uid: 'nauser' }));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('Not authorized');
    expect(result.stderr).toContain('org.netaudit1.network-control');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(await f0State()).toEqual(before);
    expect(await activeConnections(client)).toEqual([]);
    expect(records).toEqual([expect.objectContaining({ op: 'connection-activate', name: 'eth-nauser', pid: result.pid, uid: nauserUid, result: 'fail', reason: 'not-authorized' })]);
  });

  it('DeactivateConnection as nauser: PermissionDenied, the connection stays active', async () => {
    const conn = await addProfile(client, profile('eth-keep', 'ethernet', { ifname: 'f1', ipv4: manual(['10.72.1.1/24']) }));
    const active = await activate(client, conn);
    try {
      const { records, result } = await newRecords(daemon, () =>
        busctl(bus.address, ['call', SERVICE, MANAGER, MANAGER_IFACE, 'DeactivateConnection', 'o', active], { uid: 'nauser' }));
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('Not authorized');
      expect(await client.getProperty(active, ACTIVE_IFACE, 'State')).toBe(2);
      expect(await ipAddrs(NS, 'f1')).toContain('10.72.1.1/24');
      expect(records).toEqual([expect.objectContaining({ op: 'connection-deactivate', name: 'eth-keep', iface: 'f1', uid: nauserUid, result: 'fail', reason: 'not-authorized' })]);
    } finally {
      await deactivate(client, active);
    }
    expect((await linkDetails(NS, 'f1')).flags).not.toContain('UP');
  });
});
