// DHCPv4 for ipv4.method auto (docs/dhcp.md), against the real dnsmasq in the veth peer's
// namespace: the lease applied by the daemon (address with its lifetime, default route proto
// dhcp, DNS), read back with ip, the bus and netauditctl, and each lease change one daemon record
// (op dhcp4-lease, cause lease) carrying the activation's tx, in all four backends. The daemon and
// dnsmasq run in namespaces made for this file; the root namespace's links are never touched.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBus } from '../helpers/bus.js';
import type { TestClient } from '../helpers/client.js';
import { variant } from '../helpers/client.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { startDaemon } from '../helpers/daemon.js';
import { startBus } from '../helpers/bus.js';
import { connect } from '../helpers/client.js';
import { ACTIVE_IFACE, activate, activeConnections, addProfile, deactivate, ipAddrs, method, profile } from '../helpers/activation.js';
import { DEVICE_IFACE, pathOf } from '../helpers/devices.js';
import { startDnsmasq, type Dnsmasq } from '../helpers/dnsmasq.js';
import { run } from '../helpers/exec.js';
import { createNetns, deleteNetns, ifindexOf, ip } from '../helpers/netns.js';
import { repoPath } from '../helpers/repo.js';
import { recordInJournalAndAuditLog } from '../helpers/readers.js';
import { ensureAuditd, ensureJournald } from '../helpers/system-services.js';
import { waitFor } from '../helpers/wait.js';

const NS = `na-dhcp-${process.pid}`;
const PEER = `${NS}-p`;
const cliMain = repoPath('dist', 'cli', 'main.js');

let bus: TestBus;
let daemon: TestDaemon;
let client: TestClient;
let server: Dnsmasq;

/** netauditctl against the test bus. */
function netauditctl(...args: string[]) {
  return run(process.execPath, [cliMain, '--bus-address', bus.address, ...args], { env: { NO_COLOR: '' } });
}

/** A veth `name` in NS whose peer `name`p in PEER has `peerAddress`, both up. */
async function veth(name: string, peerAddress: string): Promise<number> {
  await ip('-n', NS, 'link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`, 'netns', PEER);
  await ip('-n', PEER, 'addr', 'add', peerAddress, 'dev', `${name}p`);
  await ip('-n', PEER, 'link', 'set', `${name}p`, 'up');
  await ip('-n', NS, 'link', 'set', name, 'up');
  return ifindexOf(NS, name);
}

interface IpRouteJson {
  dst: string;
  gateway?: string;
  dev: string;
  protocol?: string;
  metric?: number;
}

async function routes(dev: string): Promise<IpRouteJson[]> {
  return JSON.parse(await ip('-n', NS, '-j', 'route', 'show', 'dev', dev)) as IpRouteJson[];
}

async function addrDetails(dev: string): Promise<Array<{ local: string; prefixlen: number; valid_life_time: number; dynamic?: boolean }>> {
  const [l] = JSON.parse(await ip('-n', NS, '-j', 'addr', 'show', 'dev', dev)) as Array<{ addr_info: Array<{ family: string; local: string; prefixlen: number; valid_life_time: number; dynamic?: boolean }> }>;
  return (l?.addr_info ?? []).filter((a) => a.family === 'inet');
}

const leases = async (): Promise<Array<Record<string, unknown>>> => (await daemon.trail()).filter((r) => r['op'] === 'dhcp4-lease');

beforeAll(async () => {
  await ensureJournald();
  await ensureAuditd();
  await createNetns(NS, PEER);
  await ip('-n', NS, 'link', 'set', 'lo', 'up');
  bus = await startBus();
  daemon = await startDaemon(bus, { netns: NS, config: { audit: { backends: 'libaudit,journal,log,file' } } });
  client = await connect(bus.address);
  await veth('v0', '10.77.0.1/24');
  server = await startDnsmasq({
    netns: PEER,
    iface: 'v0p',
    args: ['--dhcp-range=10.77.0.100,10.77.0.150,255.255.255.0,2m', '--dhcp-option=option:router,10.77.0.1', '--dhcp-option=option:dns-server,10.77.0.53', '--domain=lab.test'],
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  client?.close();
  await bus?.stop();
  await deleteNetns(NS, PEER);
});

describe('a plain ethernet profile (NetworkManager\'s defaults: ipv4 and ipv6 auto)', () => {
  let activePath: string;

  it('connection add then up takes a lease: address with its lifetime, default route proto dhcp, one bound record', async () => {
    const added = await netauditctl('connection', 'add', 'type', 'ethernet', 'ifname', 'v0', 'con-name', 'lan', 'autoconnect', 'no');
    expect(added.stderr).toBe('');
    const up = await netauditctl('connection', 'up', 'lan');
    expect(up.code, up.stderr).toBe(0);
    const [active] = await activeConnections(client);
    activePath = active!;
    expect(await client.getProperty(activePath, ACTIVE_IFACE, 'State')).toBe(2);

    const [addr] = await addrDetails('v0');
    expect(addr!.local).toMatch(/^10\.77\.0\.(1[0-4]\d|150)$/);
    expect(addr!.prefixlen).toBe(24);
    // The lease's lifetime, not forever: dnsmasq's 2 minutes.
    expect(addr!.valid_life_time).toBeGreaterThan(60);
    expect(addr!.valid_life_time).toBeLessThanOrEqual(120);
    expect(await routes('v0')).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.77.0.1', protocol: 'dhcp', metric: 100 }));

    const records = await leases();
    expect(records).toHaveLength(1);
    const activation = (await daemon.trail()).find((r) => r['op'] === 'connection-activate' && r['name'] === 'lan');
    expect(records[0]).toMatchObject({
      op: 'dhcp4-lease', origin: 'daemon', cause: 'lease', args: 'bound', name: 'lan', iface: 'v0', result: 'success', tx: activation!['tx'],
      after: { ipv4: { address: `${addr!.local}/24`, gateway: '10.77.0.1', dns: ['10.77.0.53'], 'dns-search': ['lab.test'], server: '10.77.0.1', 'lease-time': 120 } },
    });
    expect(records[0]).not.toHaveProperty('pid');
    expect(records[0]).not.toHaveProperty('before');
    // The lease's DNS reached the resolver: resolv-conf (the test's own path) links to run-dir/resolv.conf.
    const resolv = readFileSync(join(daemon.dir, 'resolv.conf'), 'utf8');
    expect(resolv).toMatch(/^nameserver 10\.77\.0\.53$/m);
    expect(resolv).toMatch(/^search lab\.test$/m);
  });

  it('is in all four backends: the log, the journal and the kernel audit log say the same as the trail', async () => {
    const [record] = await leases();
    const { boot, seq } = record as { boot: string; seq: number };
    expect(daemon.log()).toMatch(/audit: op="dhcp4-lease" origin="daemon" cause="lease" .*iface="v0" args="bound" result="success"/);
    const { journal, audit } = await recordInJournalAndAuditLog(boot, seq);
    expect(journal).toMatchObject({ NETAUDIT_OP: 'dhcp4-lease', NETAUDIT_ORIGIN: 'daemon', NETAUDIT_RESULT: 'success' });
    expect(audit).toMatch(/op=dhcp4-lease origin=daemon cause=lease .*args="bound" result=success /);
  });

  it('reads back on the bus and in netauditctl device show as nmcli prints it', async () => {
    const v0 = await ifindexOf(NS, 'v0');
    const ip4 = (await client.getProperty(pathOf(v0), DEVICE_IFACE, 'Ip4Config')) as string;
    expect(ip4).toBe(`/org/netaudit1/IP4Config/${v0}`);
    const props = await client.getAllProperties(ip4, 'org.netaudit1.IP4Config');
    expect(props['Gateway']).toBe('10.77.0.1');
    expect(props['NameserverData']).toEqual([{ address: '10.77.0.53' }]);
    expect(props['Searches']).toEqual(['lab.test']);
    const dhcp4 = (await client.getProperty(pathOf(v0), DEVICE_IFACE, 'Dhcp4Config')) as string;
    const options = (await client.getProperty(dhcp4, 'org.netaudit1.DHCP4Config', 'Options')) as Record<string, string>;
    expect(options).toMatchObject({ routers: '10.77.0.1', domain_name_servers: '10.77.0.53', dhcp_server_identifier: '10.77.0.1' });

    const shown = await netauditctl('-t', 'device', 'show', 'v0');
    expect(shown.code, shown.stderr).toBe(0);
    const lines = shown.stdout.split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^IP4\.ADDRESS\[1\]:10\.77\.0\.\d+\/24$/));
    expect(lines).toContain('IP4.GATEWAY:10.77.0.1');
    expect(lines).toContain('IP4.DNS[1]:10.77.0.53');
    expect(lines).toContain('IP4.DOMAIN[1]:lab.test');
    expect(lines).toContainEqual(expect.stringMatching(/^DHCP4\.OPTION\[\d+\]:dhcp_lease_time = 120$/));
  });

  it('a caller\'s deactivation releases the lease: one released record, the address and route gone', async () => {
    await deactivate(client, activePath);
    expect(await ipAddrs(NS, 'v0')).toEqual([]);
    // No connection gives DNS any more: what the path held before (nothing) is back.
    expect(existsSync(join(daemon.dir, 'resolv.conf'))).toBe(false);
    expect((await routes('v0')).filter((r) => r.protocol === 'dhcp')).toEqual([]);
    const records = await leases();
    const deact = (await daemon.trail()).find((r) => r['op'] === 'connection-deactivate' && r['name'] === 'lan');
    expect(records.map((r) => [r['args'], r['origin']])).toEqual([['bound', 'daemon'], ['released', 'daemon']]);
    expect(records[1]).toMatchObject({ tx: deact!['tx'], before: { ipv4: { server: '10.77.0.1' } } });
    await waitFor(async () => /DHCPRELEASE/.test(await server.log()), { what: 'dnsmasq to log the RELEASE' });
  });
});

describe('the profile\'s DHCP properties', () => {
  it('never-default, ignore-auto-dns: no default route, no DNS, as the record says', async () => {
    await veth('v1', '10.78.0.1/24');
    const s1 = await startDnsmasq({ netns: PEER, iface: 'v1p', args: ['--dhcp-range=10.78.0.100,10.78.0.150,255.255.255.0,2m', '--dhcp-option=option:router,10.78.0.1', '--dhcp-option=option:dns-server,10.78.0.53'] });
    try {
      const conn = await addProfile(client, profile('nd', 'ethernet', {
        ifname: 'v1',
        ipv4: { method: variant('s', 'auto'), 'never-default': variant('b', true), 'ignore-auto-dns': variant('b', true) },
        ipv6: method('ignore'),
      }));
      const active = await activate(client, conn);
      expect((await routes('v1')).filter((r) => r.dst === 'default')).toEqual([]);
      const record = (await leases()).find((r) => r['name'] === 'nd');
      expect(record).toMatchObject({ args: 'bound', after: { ipv4: { server: '10.78.0.1' } } });
      expect((record!['after'] as { ipv4: Record<string, unknown> }).ipv4).not.toHaveProperty('gateway');
      expect((record!['after'] as { ipv4: Record<string, unknown> }).ipv4).not.toHaveProperty('dns');
      await deactivate(client, active);
    } finally {
      await s1.stop();
    }
  });

  it('option 121 routes are applied (option 3 ignored beside them), and ignore-auto-routes leaves them out', async () => {
    await veth('v3', '10.80.0.1/24');
    const s3 = await startDnsmasq({
      netns: PEER,
      iface: 'v3p',
      args: ['--dhcp-range=10.80.0.100,10.80.0.150,255.255.255.0,2m', '--dhcp-option=option:router,10.80.0.254', '--dhcp-option=121,198.51.100.0/24,10.80.0.1,0.0.0.0/0,10.80.0.1'],
    });
    try {
      const withRoutes = await addProfile(client, profile('r121', 'ethernet', { ifname: 'v3', ipv4: method('auto'), ipv6: method('ignore') }));
      let active = await activate(client, withRoutes);
      const r = await routes('v3');
      expect(r).toContainEqual(expect.objectContaining({ dst: '198.51.100.0/24', gateway: '10.80.0.1', protocol: 'dhcp' }));
      // RFC 3442: with option 121 the router option is ignored; the default route is 121's.
      expect(r.filter((x) => x.dst === 'default').map((x) => x.gateway)).toEqual(['10.80.0.1']);
      expect((await leases()).find((x) => x['name'] === 'r121')).toMatchObject({ after: { ipv4: { routes: ['198.51.100.0/24 via 10.80.0.1', '0.0.0.0/0 via 10.80.0.1'] } } });
      await deactivate(client, active);
      const without = await addProfile(client, profile('r121-no', 'ethernet', { ifname: 'v3', ipv4: { method: variant('s', 'auto'), 'ignore-auto-routes': variant('b', true) }, ipv6: method('ignore') }));
      active = await activate(client, without);
      expect((await routes('v3')).filter((x) => x.protocol === 'dhcp')).toEqual([]);
      await deactivate(client, active);
    } finally {
      await s3.stop();
    }
  });

  it('a lease the kernel refuses part of: its bound record overturned, and the link as before it', async () => {
    await veth('v5', '10.81.0.1/24');
    // A classless route through a gateway off the subnet: the kernel refuses it (ENETUNREACH).
    const s5 = await startDnsmasq({ netns: PEER, iface: 'v5p', args: ['--no-ping', '--dhcp-range=10.81.0.100,10.81.0.150,255.255.255.0,2m', '--dhcp-option=121,198.51.100.0/24,10.99.99.1'] });
    try {
      const conn = await addProfile(client, profile('refused', 'ethernet', { ifname: 'v5', ipv4: { method: variant('s', 'auto'), 'dhcp-timeout': variant('i', 8) }, ipv6: method('ignore') }));
      const activating = activate(client, conn);
      activating.catch(() => undefined);
      const records = await waitFor(async () => {
        const r = (await leases()).filter((x) => x['name'] === 'refused');
        return r.length >= 2 ? r : null;
      }, { what: 'the bound record and its overturn' });
      expect(records.slice(0, 2).map((r) => [r['args'], r['result'], r['reason']])).toEqual([['bound', 'success', undefined], ['bound', 'fail', 'kernel-error']]);
      expect(records[1]!['tx']).toBe(records[0]!['tx']);
      // The fail record says the lease was not applied, and the link agrees while the connection still waits: no
      // address, no route.
      expect(await ipAddrs(NS, 'v5')).toEqual([]);
      expect((await routes('v5')).filter((r) => r.protocol === 'dhcp')).toEqual([]);
      await expect(activating).rejects.toThrow(/within 8 s/);
    } finally {
      await s5.stop();
    }
  });

  it('dhcp-client-id and dhcp-hostname are what the server sees; dhcp-send-hostname false sends none', async () => {
    const conn = await addProfile(client, profile('ids', 'ethernet', {
      ifname: 'v0',
      ipv4: { method: variant('s', 'auto'), 'dhcp-client-id': variant('s', '01:02:03:04:05:06:07'), 'dhcp-hostname': variant('s', 'lab-box') },
      ipv6: method('ignore'),
    }));
    let active = await activate(client, conn);
    await waitFor(async () => {
      const log = await server.log();
      return /client provides name: lab-box/.test(log) && /client-id.*0?1:02:03:04:05:06:07|DHCPACK\(v0p\) [\d.]+ [0-9a-f:]+ lab-box/.test(log);
    }, { what: 'dnsmasq to log the client id and host name' }).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${(await server.log()).split('\n').slice(-15).join('\n')}`);
    });
    await deactivate(client, active);
    const quiet = await addProfile(client, profile('no-name', 'ethernet', { ifname: 'v0', ipv4: { method: variant('s', 'auto'), 'dhcp-send-hostname': variant('b', false) }, ipv6: method('ignore') }));
    const before = (await server.log()).split('\n').length;
    active = await activate(client, quiet);
    const after = (await server.log()).split('\n').slice(before - 1).join('\n');
    expect(after).toMatch(/DHCPACK/);
    expect(after).not.toMatch(/client provides name/);
    await deactivate(client, active);
  });

  it('dad-timeout: the offered address is probed 200 ms by default, not at all with 0', async () => {
    const timed = async (name: string, ipv4: Record<string, unknown>): Promise<number> => {
      const conn = await addProfile(client, profile(name, 'ethernet', { ifname: 'v0', ipv4, ipv6: method('ignore') }));
      const t0 = Date.now();
      const active = await activate(client, conn);
      const ms = Date.now() - t0;
      await deactivate(client, active);
      return ms;
    };
    const probed = await timed('dad-default', method('auto'));
    const unprobed = await timed('dad-off', { method: variant('s', 'auto'), 'dad-timeout': variant('i', 0) });
    expect(probed).toBeGreaterThanOrEqual(200);
    expect(unprobed).toBeLessThan(probed);
  });

  it('no server, ipv6 ignored, a 2 s dhcp-timeout: the activation fails with reason dhcp-timeout, nothing left', async () => {
    await veth('v2', '10.79.0.1/24');
    const conn = await addProfile(client, profile('lonely', 'ethernet', { ifname: 'v2', ipv4: { method: variant('s', 'auto'), 'dhcp-timeout': variant('i', 2) }, ipv6: method('ignore') }));
    const started = Date.now();
    await expect(activate(client, conn)).rejects.toThrow(/No DHCP server gave "v2" a lease within 2 s/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await activeConnections(client)).toEqual([]);
    const records = (await daemon.trail()).filter((r) => r['name'] === 'lonely' && r['op'] === 'connection-activate');
    expect(records.map((r) => [r['result'], r['reason']])).toEqual([['success', undefined], ['fail', 'dhcp-timeout']]);
    expect(records[1]!['tx']).toBe(records[0]!['tx']);
  });

  it('no server but ipv4.may-fail and IPv6 link-local: activated without a lease', async () => {
    const conn = await addProfile(client, profile('mayfail', 'ethernet', { ifname: 'v2', ipv4: { method: variant('s', 'auto'), 'dhcp-timeout': variant('i', 1) }, ipv6: method('link-local') }));
    const active = await activate(client, conn);
    expect(await client.getProperty(active, ACTIVE_IFACE, 'State')).toBe(2);
    expect(daemon.log()).toMatch(/activated without a lease, still asking for one/);
    await deactivate(client, active);
  });
});

describe('Reapply on a connection running DHCP', () => {
  it('refuses a change of what DHCP runs with (IncompatibleConnection, recorded), and applies the rest in place', async () => {
    const conn = await addProfile(client, profile('reap', 'ethernet', { ifname: 'v0', ipv4: method('auto'), ipv6: method('ignore') }));
    const active = await activate(client, conn);
    const v0 = await ifindexOf(NS, 'v0');
    const [applied, version] = (await client.call(pathOf(v0), DEVICE_IFACE, 'GetAppliedConnection', 'u', [0])) as [Record<string, Record<string, unknown>>, bigint];
    const withTimeout = { ...applied, ipv4: { ...applied['ipv4'], 'dhcp-timeout': variant('i', 9) } };
    await expect(client.call(pathOf(v0), DEVICE_IFACE, 'Reapply', 'a{sa{sv}}tu', [withTimeout, version, 0])).rejects.toThrow(/ipv4\.dhcp-timeout: DHCP on "v0" runs with the settings it was activated with/);
    const toManual = { ...applied, ipv4: { method: variant('s', 'manual'), 'address-data': variant('aa{sv}', [{ address: variant('s', '10.77.0.9'), prefix: variant('u', 24) }]) } };
    await expect(client.call(pathOf(v0), DEVICE_IFACE, 'Reapply', 'a{sa{sv}}tu', [toManual, version, 0])).rejects.toThrow(/IncompatibleConnection|cannot be reapplied in place/);
    const refusals = (await daemon.trail()).filter((r) => r['op'] === 'device-reapply' && r['name'] === 'reap');
    expect(refusals.map((r) => [r['result'], r['reason']])).toEqual([['fail', 'incompatible-device'], ['fail', 'incompatible-device']]);
    // The lease is untouched.
    expect((await ipAddrs(NS, 'v0')).some((a) => a.startsWith('10.77.0.'))).toBe(true);
    await deactivate(client, active);
  });
});

describe('a restart with a valid lease', () => {
  it('adopts the connection and asks for the same address without a DISCOVER: no lease record', async () => {
    const conn = await addProfile(client, profile('keep', 'ethernet', { ifname: 'v0', ipv4: method('auto'), ipv6: method('ignore') }));
    await activate(client, conn);
    const [before] = await addrDetails('v0');
    const recordsBefore = (await leases()).length;
    const discovers = (await server.log()).split('\n').filter((l) => /DHCPDISCOVER/.test(l)).length;
    const requests = (await server.log()).split('\n').filter((l) => /DHCPREQUEST\(v0p\)/.test(l)).length;
    await daemon.stop();
    await daemon.start();
    client.close();
    client = await connect(bus.address);
    const trail = await daemon.trail();
    expect(trail.filter((r) => r['op'] === 'connection-adopt' && r['name'] === 'keep')).toHaveLength(1);
    // INIT-REBOOT: a REQUEST for the kept address, acknowledged, and no DISCOVER.
    await waitFor(async () => (await server.log()).split('\n').filter((l) => /DHCPREQUEST\(v0p\)/.test(l)).length > requests, {
      timeoutMs: 15_000,
      what: `the INIT-REBOOT REQUEST in dnsmasq's log`,
    }).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${(await server.log()).split('\n').slice(-30).join('\n')}\n${daemon.log().split('\n').slice(-20).join('\n')}`);
    });
    expect((await server.log()).split('\n').filter((l) => /DHCPDISCOVER/.test(l)).length).toBe(discovers);
    const [after] = await addrDetails('v0');
    expect(after!.local).toBe(before!.local);
    expect((await leases()).length).toBe(recordsBefore);
    const [active] = await activeConnections(client);
    await deactivate(client, active!);
  });
});
