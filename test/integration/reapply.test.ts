// Device.Reapply and Device.GetAppliedConnection (docs/reapply.md) through the real daemon, on a
// veth of a namespace made for this file: a changed address, route, default route and MTU applied
// in place while `ip monitor link` and the Device's StateChanged show the link never going down;
// the applied settings and their version id before and after; the refusals, each recorded; and
// `connection down` afterwards leaving the kernel exactly as it was before the activation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBus } from '../helpers/bus.js';
import { SERVICE, unwrap, variant, type TestClient } from '../helpers/client.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { deviceOnBus, DEVICE_IFACE, errorOf, newRecords, pathOf } from '../helpers/devices.js';
import { activate, addProfile, deactivate, ipAddrs, ipRoutes, manual, profile, watchSignals } from '../helpers/activation.js';
import { pythonCall, run } from '../helpers/exec.js';
import { monitorLinks } from '../helpers/link-monitor.js';
import { createNetns, ip, link, startDaemonInNetns, stopDaemonInNetns } from '../helpers/netns.js';

const NS = `na-reapply-${process.pid}`;
const PEER = `${NS}-peer`;
const CONNECTION_IFACE = 'org.netaudit1.Settings.Connection';

let bus: TestBus;
let daemon: TestDaemon;
let client: TestClient;
let r0: number;
/** the kernel's view of r0 and the namespace's routes before any activation */
let pristine: unknown;

type Dict = Record<string, Record<string, unknown>>;

/** What `connection down` must give back: r0's flags, MTU, MAC and addresses, and every route of the namespace. */
async function kernelState(): Promise<unknown> {
  const l = await link(NS, 'r0');
  return { flags: [...l.flags].sort(), mtu: l.mtu, address: l.address, addrs: (await ipAddrs(NS, 'r0')).sort(), v4: await ipRoutes(NS), v6: await ipRoutes(NS, 6) };
}

function reapply(dict: Dict, versionId: bigint, flags = 0): Promise<unknown[]> {
  return client.call(pathOf(r0), DEVICE_IFACE, 'Reapply', 'a{sa{sv}}tu', [dict, versionId, flags]);
}

async function applied(): Promise<{ settings: { connection: Record<string, unknown>; ipv4: Record<string, unknown>; '802-3-ethernet'?: Record<string, unknown> }; versionId: bigint }> {
  const [settings, versionId] = await client.call(pathOf(r0), DEVICE_IFACE, 'GetAppliedConnection', 'u', [0]);
  return { settings: unwrap(settings) as never, versionId: versionId as bigint };
}

const addressesOf = (s: { ipv4: Record<string, unknown> }): string[] => (s.ipv4['address-data'] as Array<{ address: string; prefix: number }>).map((a) => `${a.address}/${a.prefix}`);

const FIRST = (): Dict =>
  profile('re-lan', '802-3-ethernet', {
    ifname: 'r0',
    ipv4: manual(['192.0.2.10/24'], { gateway: '192.0.2.1', routes: [{ dest: '198.51.100.0', prefix: 24, nextHop: '192.0.2.254', metric: 50 }] }),
    extra: { '802-3-ethernet': { mtu: variant('u', 1400) } },
  });

const SECOND = (): Dict =>
  profile('re-lan', '802-3-ethernet', {
    ifname: 'r0',
    ipv4: manual(['192.0.2.20/24', '192.0.2.21/24'], { gateway: '192.0.2.2', routes: [{ dest: '203.0.113.0', prefix: 24, nextHop: '192.0.2.254', metric: 60 }] }),
    extra: { '802-3-ethernet': { mtu: variant('u', 1300) } },
  });

beforeAll(async () => {
  await createNetns(NS, PEER);
  await ip('-n', NS, 'link', 'set', 'lo', 'up');
  ({ bus, daemon, client } = await startDaemonInNetns(NS));
  await ip('-n', NS, 'link', 'add', 'r0', 'type', 'veth', 'peer', 'name', 'r0p', 'netns', PEER);
  await ip('-n', PEER, 'link', 'set', 'r0p', 'up');
  r0 = await deviceOnBus(client, NS, 'r0');
  pristine = await kernelState();
});

afterAll(() => stopDaemonInNetns({ bus, client }, NS, PEER));

describe('Reapply on an activated ethernet connection', () => {
  let conn: string;
  let uuid: string;
  let active: string;
  let firstVersion: bigint;

  beforeAll(async () => {
    conn = await addProfile(client, FIRST());
    const [settings] = await client.call(conn, CONNECTION_IFACE, 'GetSettings');
    uuid = (unwrap(settings) as { connection: { uuid: string } }).connection.uuid;
  });

  it('a device with nothing active: GetAppliedConnection and Reapply are ConnectionNotActive, the attempt recorded', async () => {
    expect((await errorOf(applied())).type).toBe('org.netaudit1.Error.ConnectionNotActive');
    const { records } = await newRecords(daemon, () => errorOf(reapply({}, 0n)).then((e) => expect(e.type).toBe('org.netaudit1.Error.ConnectionNotActive')));
    expect(records).toEqual([expect.objectContaining({ op: 'device-reapply', ifindex: r0, iface: 'r0', result: 'fail', reason: 'not-active', uid: 0 })]);
  });

  it('GetAppliedConnection returns the settings activated, without change when the profile is updated, and a version id', async () => {
    active = await activate(client, conn, pathOf(r0));
    const first = await applied();
    expect(addressesOf(first.settings)).toEqual(['192.0.2.10/24']);
    expect(first.settings.connection).toMatchObject({ id: 're-lan', uuid, 'interface-name': 'r0' });
    expect(first.versionId).toBeGreaterThan(0n);
    firstVersion = first.versionId;
    await client.call(conn, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [SECOND()]);
    const still = await applied();
    expect(addressesOf(still.settings)).toEqual(['192.0.2.10/24']);
    expect(still.versionId).toBe(firstVersion);
  });

  it('Reapply {} applies the saved addresses, routes, default route and MTU with the link up throughout and one record', async () => {
    const monitor = await monitorLinks(NS);
    const deviceStates = await watchSignals(client, pathOf(r0), DEVICE_IFACE, 'StateChanged');
    let events: string[];
    let records: Array<Record<string, unknown>>;
    try {
      ({ records } = await newRecords(daemon, () => reapply({}, firstVersion)));
    } finally {
      events = await monitor.stop();
      await deviceStates.off();
    }
    const l = await link(NS, 'r0');
    expect(l.flags).toContain('UP');
    expect(l.mtu).toBe(1300);
    // Every event the kernel sent about r0 meanwhile shows it up (and none shows it deleted).
    const r0Events = events.filter((e) => /^\d+: r0[@:]/.test(e) || e.startsWith('Deleted'));
    expect(r0Events.length).toBeGreaterThan(0); // the MTU change at least
    for (const e of r0Events) expect(e, 'a link event during Reapply').toMatch(/<[^>]*\bUP\b[^>]*>/);
    expect(deviceStates.seen, 'Device StateChanged during Reapply').toEqual([]);
    expect(await client.getProperty(pathOf(r0), DEVICE_IFACE, 'State')).toBe(100);

    expect((await ipAddrs(NS, 'r0')).sort()).toEqual(['192.0.2.20/24', '192.0.2.21/24']);
    const routes = (await ipRoutes(NS)).filter((r) => r.dev === 'r0' && r.protocol !== 'kernel');
    expect(routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '192.0.2.2', metric: 100 }));
    expect(routes).toContainEqual(expect.objectContaining({ dst: '203.0.113.0/24', gateway: '192.0.2.254', metric: 60 }));
    expect(routes.find((r) => r.dst === '198.51.100.0/24' || r.gateway === '192.0.2.1')).toBeUndefined();

    const now = await applied();
    expect(addressesOf(now.settings)).toEqual(['192.0.2.20/24', '192.0.2.21/24']);
    expect(now.versionId).not.toBe(firstVersion);

    expect(records).toHaveLength(1);
    const record = records[0]!;
    expect(record).toMatchObject({ op: 'device-reapply', uuid, name: 're-lan', ifindex: r0, iface: 'r0', result: 'success', uid: 0, pid: process.pid });
    expect(record.tx).toEqual(expect.any(Number));
    expect(String(record.changed).split(',').sort()).toEqual(['802-3-ethernet.mtu', 'ipv4.address-data', 'ipv4.gateway', 'ipv4.route-data']);
    expect(record.before).toMatchObject({ ifname: 'r0', mtu: 1400, ipv4: { addresses: ['192.0.2.10/24'], routes: [{ dst: 'default', gateway: '192.0.2.1' }, { dst: '198.51.100.0/24' }] } });
    expect(record.after).toMatchObject({ ifname: 'r0', mtu: 1300, ipv4: { addresses: ['192.0.2.20/24', '192.0.2.21/24'], routes: [{ dst: 'default', gateway: '192.0.2.2' }, { dst: '203.0.113.0/24' }] } });
  });

  it('a stale version id is VersionIdMismatch, recorded, and nothing changes', async () => {
    const before = await kernelState();
    const { records, result } = await newRecords(daemon, () => errorOf(reapply({}, firstVersion)));
    expect(result.type).toBe('org.netaudit1.Error.VersionIdMismatch');
    expect(records).toEqual([expect.objectContaining({ op: 'device-reapply', iface: 'r0', result: 'fail', reason: 'version-id-mismatch' })]);
    expect(await kernelState()).toEqual(before);
  });

  it('a changed interface-name is IncompatibleConnection naming the key; unknown flags are InvalidArgument', async () => {
    const before = await kernelState();
    const moved = SECOND();
    moved.connection!['interface-name'] = variant('s', 'r9');
    const { records, result } = await newRecords(daemon, () => errorOf(reapply(moved, 0n)));
    expect(result.type).toBe('org.netaudit1.Error.IncompatibleConnection');
    expect(result.text).toMatch(/^connection\.interface-name: /);
    expect(records).toEqual([expect.objectContaining({ op: 'device-reapply', result: 'fail', reason: 'incompatible-device' })]);
    expect((await errorOf(reapply({}, 0n, 4))).type).toBe('org.netaudit1.Error.InvalidArgument');
    expect(await kernelState()).toEqual(before);
  });

  it('settings passed to Reapply are applied, and the stored profile stays as it was', async () => {
    const given = SECOND();
    given.ipv4 = manual(['192.0.2.30/24'], { gateway: '192.0.2.2' });
    await reapply(given, 0n);
    expect(await ipAddrs(NS, 'r0')).toEqual(['192.0.2.30/24']);
    expect((await ipRoutes(NS)).filter((r) => r.dev === 'r0' && r.protocol !== 'kernel').map((r) => r.dst)).toEqual(['default']);
    const [stored] = await client.call(conn, CONNECTION_IFACE, 'GetSettings');
    expect(addressesOf(unwrap(stored) as never)).toEqual(['192.0.2.20/24', '192.0.2.21/24']);
    expect(addressesOf((await applied()).settings)).toEqual(['192.0.2.30/24']);
  });

  it('a caller other than root is refused before anything is looked at, and the refusal is recorded with its uid', async () => {
    const uid = Number((await run('id', ['-u', 'nauser'])).stdout.trim());
    const before = await kernelState();
    const { records, result } = await newRecords(daemon, () =>
      pythonCall(bus.address, { dest: SERVICE, path: pathOf(r0), iface: DEVICE_IFACE, member: 'Reapply', signature: 'a{sa{sv}}tu', args: [{}, 0, 0] }, { uid: 'nauser' }),
    );
    expect(result.error).toBe('org.netaudit1.Error.PermissionDenied');
    expect(records).toEqual([expect.objectContaining({ op: 'device-reapply', iface: 'r0', result: 'fail', reason: 'not-authorized', uid })]);
    expect(await kernelState()).toEqual(before);
  });

  it('connection down after the Reapplies leaves the kernel exactly as it was before the activation', async () => {
    await deactivate(client, active);
    expect(await kernelState()).toEqual(pristine);
  });
});

describe('Reapply, then the daemon killed and started again', () => {
  it('the next daemon adopts the connection with its applied settings, and connection down still restores the kernel exactly', async () => {
    const conn = await addProfile(client, { ...FIRST(), connection: { ...FIRST().connection, id: variant('s', 're-restart') } });
    await activate(client, conn, pathOf(r0));
    await reapply(SECOND(), 0n);
    const reapplied = await kernelState();
    await daemon.kill('SIGKILL');
    await daemon.start();
    const { settings, versionId } = await applied();
    expect(addressesOf(settings)).toEqual(['192.0.2.20/24', '192.0.2.21/24']);
    expect(settings['802-3-ethernet']).toMatchObject({ mtu: 1300 });
    expect(versionId).toBeGreaterThan(0n);
    expect(await kernelState()).toEqual(reapplied);
    expect((await daemon.trail()).filter((r) => r.op === 'connection-adopt').at(-1)).toMatchObject({ args: 'adopted', iface: 'r0', result: 'success' });
    const active = (await client.getProperty(pathOf(r0), DEVICE_IFACE, 'ActiveConnection')) as string;
    await deactivate(client, active);
    expect(await kernelState()).toEqual(pristine);
  });
});
