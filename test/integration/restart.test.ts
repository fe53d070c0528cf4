// Restarts (docs/active-state.md, docs/commit.md): the daemon stopped by SIGTERM or SIGKILL with
// connections active, then started again. It adopts what it left without touching the links, records
// what others changed meanwhile, overturns an activation it never finished, and `connection down`
// afterwards takes back exactly what the activation added. Device settings and switches survive.
// After each scenario the kernel (`ip -j`), the bus and the trail's replayed story agree.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBus } from '../helpers/bus.js';
import { variant, type TestClient } from '../helpers/client.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { vethOnBus, DEVICE_IFACE, pathOf } from '../helpers/devices.js';
import { ACTIVE_IFACE, activate, activeConnections, addProfile, deactivate, ipAddrs, linkDetails, manual, profile } from '../helpers/activation.js';
import { createNetns, ip, linkNames, startDaemonInNetns, stopDaemonInNetns } from '../helpers/netns.js';
import { MANAGER, MANAGER_IFACE } from '../helpers/profiles.js';
import { disagreements, type TrailRecord } from '../helpers/replay.js';
import { waitFor } from '../helpers/wait.js';

const NS = `na-rst-${process.pid}`;
const PEER = `${NS}-peer`;

let bus: TestBus;
let daemon: TestDaemon;
let client: TestClient;

/** A veth `name` in NS, its peer in PEER up, `name` left down. */
const veth = (name: string): Promise<number> => vethOnBus(client, NS, PEER, name);

/** What `connection down` must bring the link back to: its addresses, its routes in every table, up or down, master. */
async function kernelState(dev: string): Promise<unknown> {
  const routes = JSON.parse(await ip('-n', NS, '-j', 'route', 'show', 'table', 'all', 'dev', dev)) as Array<Record<string, unknown>>;
  const details = await linkDetails(NS, dev);
  return {
    addresses: (await ipAddrs(NS, dev)).sort(),
    routes: routes.filter((r) => !String(r.dst).startsWith('fe80') && !String(r.dst).startsWith('ff') && r.type !== 'local' && r.type !== 'broadcast' && r.type !== 'multicast').map((r) => `${String(r.dst)} ${String(r.gateway ?? '')} ${String(r.table ?? 'main')} ${String(r.metric ?? '')}`).sort(),
    up: details.flags.includes('UP'),
    master: details.master,
    mtu: details.mtu,
  };
}

async function restart(how: 'SIGTERM' | 'SIGKILL', whileStopped?: () => Promise<void>): Promise<TrailRecord[]> {
  if (how === 'SIGTERM') await daemon.stop();
  else await daemon.kill('SIGKILL');
  await whileStopped?.();
  const before = (await daemon.trail()).length;
  await daemon.start();
  return (await daemon.trail()).slice(before);
}

async function activeByName(name: string): Promise<string | undefined> {
  for (const p of await activeConnections(client)) if ((await client.getProperty(p, ACTIVE_IFACE, 'Id')) === name) return p;
  return undefined;
}

async function expectAgreement(): Promise<void> {
  expect(await disagreements(await daemon.trail(), client, NS)).toEqual([]);
}

const fields = (r: TrailRecord) => [r.op, r.origin, r.cause, r.args, r.name, r.result];

beforeAll(async () => {
  await createNetns(NS, PEER);
  await ip('-n', NS, 'link', 'set', 'lo', 'up');
  ({ bus, daemon, client } = await startDaemonInNetns(NS));
});

afterAll(() => stopDaemonInNetns({ bus, client }, NS, PEER));

describe.each(['SIGTERM', 'SIGKILL'] as const)('an ethernet profile with an address, a gateway and a route, then %s', (how) => {
  const dev = how === 'SIGTERM' ? 'et0' : 'ek0';
  const net = how === 'SIGTERM' ? 61 : 62;

  it('is adopted as it stands, autoconnect leaves it alone, and connection down restores the link exactly', async () => {
    await veth(dev);
    const before = await kernelState(dev);
    const conn = await addProfile(client, profile(`adopt-${dev}`, '802-3-ethernet', {
      ifname: dev,
      autoconnect: true,
      ipv4: manual([`10.${net}.0.10/24`], { gateway: `10.${net}.0.1`, routes: [{ dest: '198.51.100.0', prefix: 24, nextHop: `10.${net}.0.254`, metric: 50 }] }),
    }));
    await activate(client, conn);
    const applied = await kernelState(dev);
    expect((applied as { addresses: string[] }).addresses).toContain(`10.${net}.0.10/24`);

    const records = await restart(how);
    const adopt = records.filter((r) => r.name === `adopt-${dev}`);
    expect(adopt.map(fields)).toEqual([['connection-adopt', 'daemon', 'restart', 'adopted', `adopt-${dev}`, 'success']]);
    expect(adopt[0]).not.toHaveProperty('pid');
    // Nothing was re-applied: the kernel is as the first daemon left it.
    expect(await kernelState(dev)).toEqual(applied);
    const active = await waitFor(() => activeByName(`adopt-${dev}`), { timeoutMs: 5_000, what: 'the adopted connection on the bus' });
    expect(await client.getProperty(active, ACTIVE_IFACE, 'State')).toBe(2);
    await expectAgreement();

    await deactivate(client, active);
    expect(await kernelState(dev)).toEqual(before);
    await expectAgreement();
  });
});

describe('a bridge with a port, a macvlan and a vxlan, then SIGKILL', () => {
  it('are adopted; taking the bridge down takes its port with it as the daemon\'s own record', async () => {
    await veth('bp0');
    await veth('mvp0');
    const portBefore = await kernelState('bp0');
    const bridge = await addProfile(client, profile('rst-br', 'bridge', { ifname: 'rbr0', ipv4: manual(['10.63.0.1/24']), extra: { bridge: { stp: variant('b', true) } } }));
    const port = await addProfile(client, profile('rst-port', '802-3-ethernet', {
      ifname: 'bp0', ipv4: null, ipv6: null,
      extra: { connection: { master: variant('s', 'rbr0'), 'slave-type': variant('s', 'bridge') }, 'bridge-port': { 'path-cost': variant('u', 7) } },
    }));
    const macvlan = await addProfile(client, profile('rst-mv', 'macvlan', { ifname: 'rmv0', ipv4: manual(['10.64.0.1/24']), extra: { macvlan: { parent: variant('s', 'mvp0'), mode: variant('u', 2) } } }));
    const vxlan = await addProfile(client, profile('rst-vx', 'vxlan', { ifname: 'rvx0', ipv4: manual(['10.65.0.1/24']), extra: { vxlan: { id: variant('u', 42), remote: variant('s', '192.0.2.99'), 'destination-port': variant('u', 4789) } } }));
    const bridgeActive = await activate(client, bridge);
    await activate(client, port);
    await activate(client, macvlan);
    await activate(client, vxlan);
    const stp = (await linkDetails(NS, 'rbr0')).linkinfo?.info_data?.stp_state;

    const records = await restart('SIGKILL');
    const mine = (r: TrailRecord): boolean => String(r.name).startsWith('rst-');
    expect(records.filter((r) => r.op === 'connection-adopt' && mine(r)).map((r) => [r.name, r.args]).sort()).toEqual([
      ['rst-br', 'adopted'], ['rst-mv', 'adopted'], ['rst-port', 'adopted'], ['rst-vx', 'adopted'],
    ]);
    expect(records.filter((r) => r.op === 'connection-activate' && mine(r))).toEqual([]);
    expect((await linkDetails(NS, 'rbr0')).linkinfo?.info_data?.stp_state).toBe(stp);
    expect((await linkDetails(NS, 'bp0')).master).toBe('rbr0');
    await expectAgreement();

    const adoptedBridge = await waitFor(() => activeByName('rst-br'), { timeoutMs: 5_000, what: 'the adopted bridge' });
    expect(adoptedBridge).not.toBe(bridgeActive);
    const before = (await daemon.trail()).length;
    await deactivate(client, adoptedBridge);
    const down = (await daemon.trail()).slice(before);
    expect(down.map(fields)).toEqual([
      ['connection-deactivate', 'caller', undefined, undefined, 'rst-br', 'success'],
      ['connection-deactivate', 'daemon', 'master-deactivated', undefined, 'rst-port', 'success'],
    ]);
    expect(down[1]!.tx).toBe(down[0]!.tx);
    expect(await linkNames(NS)).not.toContain('rbr0');
    expect(await kernelState('bp0')).toEqual(portBefore);

    for (const name of ['rst-mv', 'rst-vx']) await deactivate(client, (await activeByName(name))!);
    expect(await linkNames(NS)).not.toContain('rmv0');
    expect(await linkNames(NS)).not.toContain('rvx0');
    await expectAgreement();
  });
});

describe('differences made while the daemon was stopped', () => {
  it('an address removed, an address and a route added: external while-stopped records; down leaves what it did not add', async () => {
    await veth('dw0');
    const conn = await addProfile(client, profile('rst-diff', '802-3-ethernet', { ifname: 'dw0', ipv4: manual(['10.66.0.10/24', '10.66.1.10/24']) }));
    await activate(client, conn);
    const records = await restart('SIGTERM', async () => {
      await ip('-n', NS, 'addr', 'del', '10.66.1.10/24', 'dev', 'dw0');
      await ip('-n', NS, 'addr', 'add', '10.66.9.9/24', 'dev', 'dw0');
      await ip('-n', NS, 'route', 'add', '203.0.113.0/24', 'dev', 'dw0');
    });
    const external = records.filter((r) => r.origin === 'external' && r.iface === 'dw0');
    expect(external.map((r) => [r.op, r.cause, r.iface, r.result])).toEqual([
      ['address-delete', 'while-stopped', 'dw0', 'success'],
      ['address-add', 'while-stopped', 'dw0', 'success'],
      ['route-add', 'while-stopped', 'dw0', 'success'],
    ]);
    expect(external[0]!.before).toMatchObject({ local: '10.66.1.10', prefixlen: 24 });
    expect(external[1]!.after).toMatchObject({ local: '10.66.9.9', prefixlen: 24 });
    expect(external[2]!.after).toMatchObject({ dst: '203.0.113.0/24', dev: 'dw0' });
    expect(external[0]).toMatchObject({ actor: { attribution: 'none' } });
    expect(external[0]).not.toHaveProperty('pid');
    expect(records.filter((r) => r.op === 'connection-adopt' && r.name === 'rst-diff').map((r) => [r.name, r.args])).toEqual([['rst-diff', 'adopted']]);
    await expectAgreement();

    await deactivate(client, (await activeByName('rst-diff'))!);
    // Its own address goes; the other tool's address and route stay, and so does the link, up.
    expect(await ipAddrs(NS, 'dw0')).toEqual(['10.66.9.9/24']);
    expect((await linkDetails(NS, 'dw0')).flags).toContain('UP');
    const routes = JSON.parse(await ip('-n', NS, '-j', 'route', 'show', 'dev', 'dw0')) as Array<{ dst: string }>;
    expect(routes.map((r) => r.dst)).toContain('203.0.113.0/24');
  });

  it('a link deleted while stopped: an external link-delete, and the connection is torn down, not adopted', async () => {
    await veth('gw0');
    const conn = await addProfile(client, profile('rst-gone', '802-3-ethernet', { ifname: 'gw0', ipv4: manual(['10.67.0.10/24']) }));
    await activate(client, conn);
    const records = await restart('SIGKILL', () => ip('-n', NS, 'link', 'del', 'gw0').then(() => undefined));
    expect(records.filter((r) => r.iface === 'gw0').map((r) => [r.op, r.origin, r.cause, r.args])).toEqual([
      ['link-delete', 'external', 'while-stopped', undefined],
      ['connection-adopt', 'daemon', 'restart', 'torn-down'],
    ]);
    expect(await activeByName('rst-gone')).toBeUndefined();
    await expectAgreement();
  });

  it('a profile file deleted while stopped: its connection is torn down and its address removed', async () => {
    await veth('pf0');
    const conn = await addProfile(client, profile('rst-file', '802-3-ethernet', { ifname: 'pf0', ipv4: manual(['10.68.0.10/24']) }));
    const fileName = (await client.getProperty(conn, 'org.netaudit1.Settings.Connection', 'Filename')) as string;
    await activate(client, conn);
    const records = await restart('SIGTERM', async () => rmSync(fileName));
    expect(records.filter((r) => r.name === 'rst-file' && r.op === 'connection-adopt').map((r) => [r.args, r.result])).toEqual([['torn-down', 'success']]);
    expect(await ipAddrs(NS, 'pf0')).toEqual([]);
    await expectAgreement();
  });

  it('an activation the daemon never finished is overturned at start with its tx, and what it did is taken back', async () => {
    await veth('ia0');
    const conn = await addProfile(client, profile('rst-cut', '802-3-ethernet', { ifname: 'ia0', ipv4: manual(['10.69.0.10/24']) }));
    await activate(client, conn);
    const activation = (await daemon.trail()).filter((r) => r.name === 'rst-cut' && r.op === 'connection-activate').at(-1)!;
    const records = await restart('SIGKILL', async () => {
      // As if the daemon had died before the kernel's last answer: the state it keeps says "activating".
      const file = join(daemon.runDir, 'active', `${activation.boot as string}-${activation.tx as number}.json`);
      const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      writeFileSync(file, JSON.stringify({ ...saved, state: 'activating' }));
    });
    const overturn = records.filter((r) => r.name === 'rst-cut');
    expect(overturn.map((r) => [r.op, r.origin, r.cause, r.result, r.reason, r.tx, r.args])).toEqual([
      ['connection-activate', 'daemon', 'restart', 'fail', 'interrupted', activation.tx, activation.boot],
    ]);
    expect(await ipAddrs(NS, 'ia0')).toEqual([]);
    expect(await activeByName('rst-cut')).toBeUndefined();
    await expectAgreement();
  });
});

describe('SIGKILL while an activation is under way', () => {
  it('wherever the kill lands, the next start leaves the kernel, the bus and the trail in agreement', async () => {
    await veth('kw0');
    const before = await kernelState('kw0');
    const conn = await addProfile(client, profile('rst-kill', '802-3-ethernet', {
      ifname: 'kw0',
      ipv4: manual(['10.72.0.10/24', '10.72.1.10/24', '10.72.2.10/24'], { gateway: '10.72.0.1', routes: [{ dest: '198.51.100.0', prefix: 24, nextHop: '10.72.0.254' }] }),
      extra: { '802-3-ethernet': { mtu: variant('u', 1400) } },
    }));
    for (const delayMs of [0, 1, 2, 3, 4, 6, 8, 12, 16]) {
      const call = activate(client, conn).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      await daemon.kill('SIGKILL');
      await call;
      await daemon.start();
      await expectAgreement();
      const active = await activeByName('rst-kill');
      if (active) await deactivate(client, active);
      // Adopted and taken down, or overturned and taken back: either way the link is as it was.
      expect(await kernelState('kw0')).toEqual(before);
      await expectAgreement();
    }
  });
});

describe('device settings and switches', () => {
  it('Managed, Autoconnect and WirelessEnabled survive SIGKILL; an unmanaged or non-autoconnect device is not autoconnected', async () => {
    const x = await veth('ms0');
    const y = await veth('as0');
    await addProfile(client, profile('rst-auto-y', '802-3-ethernet', { ifname: 'as0', autoconnect: true, ipv4: manual(['10.70.0.10/24']) }));
    await waitFor(() => activeByName('rst-auto-y'), { timeoutMs: 5_000, what: 'rst-auto-y autoconnected' });
    await deactivate(client, (await activeByName('rst-auto-y'))!);
    await client.setProperty(pathOf(x), DEVICE_IFACE, 'Managed', 'b', false);
    await client.setProperty(pathOf(y), DEVICE_IFACE, 'Autoconnect', 'b', false);
    await client.setProperty(MANAGER, MANAGER_IFACE, 'WirelessEnabled', 'b', false);
    await restart('SIGKILL');
    expect(await client.getProperty(pathOf(x), DEVICE_IFACE, 'Managed')).toBe(false);
    expect(await client.getProperty(pathOf(y), DEVICE_IFACE, 'Autoconnect')).toBe(false);
    expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'WirelessEnabled')).toBe(false);
    expect(await activeByName('rst-auto-y')).toBeUndefined();
    // A new link with the same name inherits the setting kept for the name.
    await ip('-n', NS, 'link', 'del', 'ms0');
    const again = await veth('ms0');
    expect(again).not.toBe(x);
    expect(await client.getProperty(pathOf(again), DEVICE_IFACE, 'Managed')).toBe(false);
    await client.setProperty(MANAGER, MANAGER_IFACE, 'WirelessEnabled', 'b', true);
    await expectAgreement();
  });

  it('networking off survives SIGKILL; sleep survives SIGTERM, both kept until a caller changes them', async () => {
    await client.call(MANAGER, MANAGER_IFACE, 'Enable', 'b', [false]);
    await restart('SIGKILL');
    expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'NetworkingEnabled')).toBe(false);
    await client.call(MANAGER, MANAGER_IFACE, 'Enable', 'b', [true]);
    await client.call(MANAGER, MANAGER_IFACE, 'Sleep', 'b', [true]);
    await restart('SIGTERM');
    // Asleep: NetworkManager's NMState 10, and activation refused.
    expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'State')).toBe(10);
    await client.call(MANAGER, MANAGER_IFACE, 'Sleep', 'b', [false]);
    expect(await client.getProperty(MANAGER, MANAGER_IFACE, 'State')).not.toBe(10);
    await expectAgreement();
  });
});
