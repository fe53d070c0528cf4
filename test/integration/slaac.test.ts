// ipv6.method auto (docs/dhcp.md), against a real router advertiser: dnsmasq in the veth peer's
// namespace advertises 2001:db8:42::/64 for SLAAC with a DNS server and a search domain. The kernel
// forms the address, and the daemon records it (op slaac, args bound, origin daemon, cause lease,
// the activation's tx) and gives the advertisement's DNS to the resolver (one slaac record, args
// changed); ipv6.ignore-auto-dns keeps the DNS out (it is no longer refused at save, see
// apply-or-refuse.test.ts); deactivation takes the address and the DNS back with no record but its
// own; and once the router is gone, the address and the DNS end with their lifetimes (2 minutes,
// dnsmasq's shortest), each with a record. The daemon and dnsmasq run in namespaces made for this
// file; the root namespace's links are never touched.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBus } from '../helpers/bus.js';
import type { TestClient } from '../helpers/client.js';
import { variant } from '../helpers/client.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { startDaemon } from '../helpers/daemon.js';
import { startBus } from '../helpers/bus.js';
import { connect } from '../helpers/client.js';
import { ACTIVE_IFACE, activate, addProfile, deactivate, ipAddrs, method, profile } from '../helpers/activation.js';
import { startDnsmasq, type Dnsmasq } from '../helpers/dnsmasq.js';
import { createNetns, deleteNetns, ifindexOf, ip } from '../helpers/netns.js';
import { DEVICE_IFACE, pathOf } from '../helpers/devices.js';
import { waitFor } from '../helpers/wait.js';

const NS = `na-slaac-${process.pid}`;
const PEER = `${NS}-p`;
const PREFIX = /^2001:db8:42:0:[0-9a-f:]+\/64$/;

let bus: TestBus;
let daemon: TestDaemon;
let client: TestClient;
let server: Dnsmasq;

type Trail = Array<Record<string, unknown>>;

/** The global IPv6 addresses of s0 as "a/p", with whether the kernel keeps them for a limited time. */
async function globalAddresses(): Promise<Array<{ address: string; dynamic: boolean; valid: number }>> {
  const [entry] = JSON.parse(await ip('-n', NS, '-j', '-6', 'addr', 'show', 'dev', 's0', 'scope', 'global')) as Array<{
    addr_info: Array<{ local: string; prefixlen: number; dynamic?: boolean; valid_life_time: number }>;
  }>;
  // ip -j lists an empty object after a permanent address's entry: only entries with an address count.
  return (entry?.addr_info ?? []).filter((a) => a.local !== undefined).map((a) => ({ address: `${a.local}/${a.prefixlen}`, dynamic: a.dynamic === true, valid: a.valid_life_time }));
}

const slaac = async (name: string): Promise<Trail> => (await daemon.trail()).filter((r) => r['op'] === 'slaac' && r['name'] === name);
/** The record is of the advertisement's default route (its values name a gateway), not of an address or DNS. */
const ofRoute = (r: Record<string, unknown>): boolean => JSON.stringify([r['before'], r['after']]).includes('"gateway"');
/** The slaac records of addresses and DNS, without those of the default route. */
const slaacNoRoute = async (name: string): Promise<Trail> => (await slaac(name)).filter((r) => !ofRoute(r));

/** The default routes of s0 that the kernel made from advertisements, as `ip -j` lists them. */
async function raDefaultRoutes(): Promise<Array<{ gateway: string; metric: number; expires?: number }>> {
  const routes = JSON.parse(await ip('-n', NS, '-j', '-6', 'route', 'show', 'default', 'dev', 's0', 'proto', 'ra')) as Array<{ gateway: string; metric: number; expires?: number }>;
  return routes;
}
const resolvConf = (): string => (existsSync(join(daemon.dir, 'resolv.conf')) ? readFileSync(join(daemon.dir, 'resolv.conf'), 'utf8') : '');

/** The profile: ethernet on s0, IPv4 off, IPv6 from router advertisements. */
const raProfile = (id: string, ipv6: Record<string, unknown> = {}) => profile(id, 'ethernet', { ifname: 's0', ipv4: method('disabled'), ipv6: { method: variant('s', 'auto'), ...ipv6 } });

/** Activates `conn` and waits for the SLAAC address; returns the Active path, the address and the activation's record. */
async function activateAndWait(conn: string, id: string): Promise<{ active: string; address: string; activation: Record<string, unknown> }> {
  const active = await activate(client, conn);
  expect(await client.getProperty(active, ACTIVE_IFACE, 'State')).toBe(2);
  // Router solicitation, advertisement, then duplicate address detection: a second or two.
  const [formed] = await waitFor(async () => {
    const found = (await globalAddresses()).filter((a) => PREFIX.test(a.address));
    return found.length > 0 ? found : null;
  }, { timeoutMs: 15_000, what: 'the kernel to form a SLAAC address on s0' });
  expect(formed!.dynamic).toBe(true);
  const activation = (await daemon.trail()).filter((r) => r['op'] === 'connection-activate' && r['name'] === id).at(-1)!;
  return { active, address: formed!.address, activation };
}

beforeAll(async () => {
  await createNetns(NS, PEER);
  await ip('-n', NS, 'link', 'set', 'lo', 'up');
  bus = await startBus();
  daemon = await startDaemon(bus, { netns: NS });
  client = await connect(bus.address);
  // s0 stays down until an activation brings it up: no advertisement is taken before a connection runs there.
  await ip('-n', NS, 'link', 'add', 's0', 'type', 'veth', 'peer', 'name', 's0p', 'netns', PEER);
  await ip('-n', PEER, 'addr', 'add', '2001:db8:42::1/64', 'dev', 's0p', 'nodad');
  await ip('-n', PEER, 'link', 'set', 's0p', 'up');
  server = await startDnsmasq({
    netns: PEER,
    iface: 's0p',
    args: [
      '--enable-ra',
      // An advertisement every 10 s; with it, dnsmasq gives the prefix and the DNS options the lease time, 2 minutes.
      '--ra-param=s0p,10',
      '--dhcp-range=::,constructor:s0p,ra-only,64,2m',
      '--dhcp-option=option6:dns-server,[2001:db8:42::53]',
      '--dhcp-option=option6:domain-search,lab6.test',
    ],
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  client?.close();
  await bus?.stop();
  await deleteNetns(NS, PEER);
});

describe('ipv6.method auto with a router advertising a prefix and DNS', () => {
  let active: string;
  let address: string;

  it('the kernel forms the address, one slaac bound record; the advertisement\'s DNS reaches resolv.conf with one slaac changed record', async () => {
    const conn = await addProfile(client, raProfile('ra'));
    let activation: Record<string, unknown>;
    ({ active, address, activation } = await activateAndWait(conn, 'ra'));
    const records = await waitFor(async () => {
      const r = await slaacNoRoute('ra');
      return r.some((x) => x['args'] === 'bound') && r.some((x) => x['args'] === 'changed') ? r : null;
    }, { what: 'the slaac records of the address and the DNS' });
    const bound = records.filter((r) => r['args'] === 'bound');
    expect(bound).toHaveLength(1);
    expect(bound[0]).toMatchObject({ op: 'slaac', origin: 'daemon', cause: 'lease', iface: 's0', result: 'success', tx: activation['tx'], after: { ipv6: { address } } });
    expect(bound[0]).not.toHaveProperty('pid');
    const dns = records.filter((r) => r['args'] === 'changed');
    expect(dns).toHaveLength(1);
    expect(dns[0]).toMatchObject({
      op: 'slaac', origin: 'daemon', cause: 'lease', iface: 's0', result: 'success', tx: activation['tx'],
      after: { ipv6: { dns: ['2001:db8:42::53'], 'dns-search': ['lab6.test'] } },
    });
    expect(dns[0]).not.toHaveProperty('before');
    const resolv = await waitFor(() => (/^nameserver 2001:db8:42::53$/m.test(resolvConf()) ? resolvConf() : null), { what: 'the RA DNS server in resolv.conf' });
    expect(resolv).toMatch(/^search lab6\.test$/m);
    // Read back on the bus: the device's IP6Config has the address and the DNS.
    const s0 = await ifindexOf(NS, 's0');
    const ip6 = (await client.getProperty(pathOf(s0), DEVICE_IFACE, 'Ip6Config')) as string;
    const props = await client.getAllProperties(ip6, 'org.netaudit1.IP6Config');
    expect(props['AddressData']).toContainEqual({ address: address.split('/')[0], prefix: 64 });
    expect(props['NameserverData']).toEqual([{ address: '2001:db8:42::53' }]);
    expect(props['Searches']).toEqual(['lab6.test']);
  });

  it('the router\'s next advertisements, saying the same, are no record', async () => {
    // The kernel may drop the default route and take it again from the next advertisement (see below); only addresses and DNS count here.
    const count = (await slaacNoRoute('ra')).length;
    const seen = (await server.log()).split('\n').filter((l) => /RTR-ADVERT\(s0p\)/.test(l)).length;
    // dnsmasq advertises every 10 s (and sooner at first).
    await waitFor(async () => (await server.log()).split('\n').filter((l) => /RTR-ADVERT\(s0p\)/.test(l)).length > seen, { timeoutMs: 20_000, what: 'another router advertisement' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await slaacNoRoute('ra')).length).toBe(count);
    expect(resolvConf()).toMatch(/^nameserver 2001:db8:42::53$/m);
  });

  it('the default route through the router is the kernel\'s on the daemon\'s behalf: a slaac record with the gateway, the profile\'s metric and the lifetime, and the trail agrees with the kernel', async () => {
    const routes = await waitFor(async () => {
      const r = await raDefaultRoutes();
      return r.length > 0 ? r : null;
    }, { timeoutMs: 20_000, what: 'a default route from the advertisement' });
    // ipv6.route-metric left out: the ethernet type's default, as for a static route; not the kernel's 1024.
    expect(routes[0]).toMatchObject({ metric: 100 });
    const gateway = routes[0]!.gateway;
    expect(gateway).toMatch(/^fe80::/);
    const records = (await slaac('ra')).filter(ofRoute);
    const bound = records.find((r) => r['args'] === 'bound')!;
    expect(bound).toMatchObject({ origin: 'daemon', cause: 'lease', result: 'success', after: { ipv6: { gateway, metric: 100 } } });
    const lifetime = (bound['after'] as { ipv6: { lifetime: number } }).ipv6.lifetime;
    expect(lifetime).toBeGreaterThan(0);
    expect(lifetime).toBeLessThanOrEqual(30);
    // However often the kernel dropped and took it again, the last record says what the kernel has.
    expect(records.at(-1)!['args']).toBe('bound');
  });

  it('deactivation takes the address and the DNS back, and records the deactivation alone', async () => {
    const before = (await daemon.trail()).length;
    await deactivate(client, active);
    expect((await ipAddrs(NS, 's0')).filter((a) => PREFIX.test(a))).toEqual([]);
    // No connection gives DNS any more: what the path held before (nothing) is back.
    expect(existsSync(join(daemon.dir, 'resolv.conf'))).toBe(false);
    // Some time for an advertisement that would come through anyway.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const after = (await daemon.trail()).slice(before);
    expect(after.map((r) => [r['op'], r['name'], r['result']])).toEqual([['connection-deactivate', 'ra', 'success']]);
    expect((await globalAddresses()).filter((a) => PREFIX.test(a.address))).toEqual([]);
  });

  it('ipv6.ignore-auto-dns: the address, but none of the advertisement\'s DNS, nor a record of it', async () => {
    const conn = await addProfile(client, raProfile('ra-nodns', { 'ignore-auto-dns': variant('b', true) }));
    const { active: nodns } = await activateAndWait(conn, 'ra-nodns');
    await waitFor(async () => (await slaacNoRoute('ra-nodns')).some((r) => r['args'] === 'bound'), { what: 'the slaac bound record' });
    // The advertisement's DNS options came with its prefix, before the address was formed; give them time all the same.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await slaacNoRoute('ra-nodns')).map((r) => r['args'])).toEqual(['bound']);
    expect(resolvConf()).not.toMatch(/2001:db8:42::53|lab6\.test/);
    expect(daemon.log()).not.toMatch(/"ra-nodns".*DNS from router advertisements/);
    await deactivate(client, nodns);
  });
});

describe('ipv6.ip6-privacy', () => {
  it('2: a temporary address beside the public one, each its slaac record; use_tempaddr put back at deactivation', async () => {
    const sysctl = async (): Promise<string> => (await ip('netns', 'exec', NS, 'cat', '/proc/sys/net/ipv6/conf/s0/use_tempaddr')).trim();
    const before = await sysctl();
    expect(before).not.toBe('2');
    const conn = await addProfile(client, raProfile('ra-priv', { 'ip6-privacy': variant('i', 2) }));
    const { active: priv } = await activateAndWait(conn, 'ra-priv');
    expect(await sysctl()).toBe('2');
    const [entry] = await waitFor(async () => {
      const list = JSON.parse(await ip('-n', NS, '-j', '-6', 'addr', 'show', 'dev', 's0', 'scope', 'global')) as Array<{ addr_info: Array<{ local: string; temporary?: boolean }> }>;
      return list[0]?.addr_info.some((a) => a.temporary) ? list : null;
    }, { timeoutMs: 15_000, what: 'a temporary address on s0' });
    const temporary = entry!.addr_info.filter((a) => a.temporary).map((a) => a.local);
    await waitFor(async () => (await slaacNoRoute('ra-priv')).filter((r) => r['args'] === 'bound').length >= 2, { what: 'two slaac bound records' });
    const bound = (await slaacNoRoute('ra-priv')).filter((r) => r['args'] === 'bound').map((r) => ((r['after'] as { ipv6: { address: string } }).ipv6.address.split('/')[0]));
    expect(bound).toEqual(expect.arrayContaining(temporary));
    const activation = (await daemon.trail()).filter((r) => r['op'] === 'connection-activate' && r['name'] === 'ra-priv').at(-1)!;
    expect(activation).toMatchObject({ after: { ipv6: { 'ip6-privacy': 2 } } });
    await deactivate(client, priv);
    expect(await sysctl()).toBe(before);
  });
});

/** The interface identifier (the last 64 bits) of an address, as 4 lower-case hex groups. */
function iid(address: string): string {
  const bytes = ipv6Bytes(address.split('/')[0]!);
  return [0, 2, 4, 6].map((i) => bytes.readUInt16BE(8 + i).toString(16)).join(':');
}

/** RFC 4291's modified EUI-64 of a MAC: ff:fe in the middle, the universal/local bit flipped. */
function eui64(mac: string): string {
  const b = mac.split(':').map((h) => parseInt(h, 16));
  const e = [b[0]! ^ 0x02, b[1]!, b[2]!, 0xff, 0xfe, b[3]!, b[4]!, b[5]!];
  return [0, 2, 4, 6].map((i) => ((e[i]! << 8) | e[i + 1]!).toString(16)).join(':');
}

function ipv6Bytes(text: string): Buffer {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

const s0Sysctl = async (name: string): Promise<string> => (await ip('netns', 'exec', NS, 'cat', `/proc/sys/net/ipv6/conf/s0/${name}`)).trim();

describe('ipv6.addr-gen-mode', () => {
  it('eui64: the SLAAC address is formed from the MAC; stable-privacy: from the host secret and the profile, the same each time, and addr_gen_mode put back', async () => {
    const mac = JSON.parse(await ip('-n', NS, '-j', 'link', 'show', 's0'))[0].address as string;
    const before = await s0Sysctl('addr_gen_mode');
    const eui = await addProfile(client, raProfile('ra-eui64', { 'addr-gen-mode': variant('i', 0) }));
    const first = await activateAndWait(eui, 'ra-eui64');
    expect(iid(first.address)).toBe(eui64(mac));
    expect(first.activation).toMatchObject({ after: { ipv6: { 'addr-gen-mode': 'eui64' } } });
    await deactivate(client, first.active);

    const stable = await addProfile(client, raProfile('ra-stable', { 'addr-gen-mode': variant('i', 1) }));
    const one = await activateAndWait(stable, 'ra-stable');
    expect(iid(one.address)).not.toBe(eui64(mac));
    expect(await s0Sysctl('addr_gen_mode')).toBe('2');
    expect(one.activation).toMatchObject({ after: { ipv6: { 'addr-gen-mode': 'stable-privacy' } } });
    // The profile file holds the name, as NetworkManager writes it.
    const file = readdirSync(daemon.profilesDir).map((n) => readFileSync(join(daemon.profilesDir, n), 'utf8')).find((f) => f.includes('id=ra-stable'))!;
    expect(file).toMatch(/^addr-gen-mode=stable-privacy$/m);
    await deactivate(client, one.active);
    expect(await s0Sysctl('addr_gen_mode')).toBe(before);
    const again = await activateAndWait(stable, 'ra-stable');
    expect(again.address).toBe(one.address);
    await deactivate(client, again.active);
    // The secret it comes from is the host's, made once and readable by root alone.
    expect((statSync(join(daemon.dir, 'state', 'secret_key')).mode & 0o777).toString(8)).toBe('600');
  });
});

describe('ipv6.may-fail false', () => {
  it('with a router: the activation returns once the SLAAC address is there', async () => {
    const conn = await addProfile(client, raProfile('ra-wait', { 'may-fail': variant('b', false) }));
    const active = await activate(client, conn);
    expect(await client.getProperty(active, ACTIVE_IFACE, 'State')).toBe(2);
    // No waiting here: the address was formed, and recorded, before ActivateConnection returned.
    expect((await globalAddresses()).filter((a) => PREFIX.test(a.address))).toHaveLength(1);
    expect((await slaacNoRoute('ra-wait')).filter((r) => r['args'] === 'bound')).toHaveLength(1);
    await deactivate(client, active);
  });

  it('without one: the activation fails after ipv6.ra-timeout with reason ra-timeout, nothing left', async () => {
    await ip('-n', NS, 'link', 'add', 's1', 'type', 'veth', 'peer', 'name', 's1p');
    await ip('-n', NS, 'link', 'set', 's1p', 'up');
    const conn = await addProfile(client, profile('ra-none', 'ethernet', { ifname: 's1', ipv4: method('disabled'), ipv6: { method: variant('s', 'auto'), 'may-fail': variant('b', false), 'ra-timeout': variant('i', 2) } }));
    const started = Date.now();
    await expect(activate(client, conn)).rejects.toThrow(/No router advertisement gave "s1" an IPv6 address within 2 s \(ipv6\.ra-timeout\)/);
    expect(Date.now() - started).toBeLessThan(10_000);
    const records = (await daemon.trail()).filter((r) => r['name'] === 'ra-none' && r['op'] === 'connection-activate');
    expect(records.map((r) => [r['result'], r['reason']])).toEqual([['success', undefined], ['fail', 'ra-timeout']]);
    const link = JSON.parse(await ip('-n', NS, '-j', 'link', 'show', 's1'))[0] as { flags: string[] };
    expect(link.flags).not.toContain('UP');
  });
});

describe('what advertisements may do', () => {
  it('ipv6.never-default: the address, but no default route through the router', async () => {
    const conn = await addProfile(client, raProfile('ra-nodefault', { 'never-default': variant('b', true) }));
    const { active } = await activateAndWait(conn, 'ra-nodefault');
    // Another advertisement, to be sure it is ignored as a default router.
    const seen = (await server.log()).split('\n').filter((l) => /RTR-ADVERT\(s0p\)/.test(l)).length;
    await waitFor(async () => (await server.log()).split('\n').filter((l) => /RTR-ADVERT\(s0p\)/.test(l)).length > seen, { timeoutMs: 20_000, what: 'another router advertisement' });
    expect(await raDefaultRoutes()).toEqual([]);
    expect(await s0Sysctl('accept_ra_defrtr')).toBe('0');
    expect((await slaac('ra-nodefault')).filter(ofRoute)).toEqual([]);
    await deactivate(client, active);
    expect(await s0Sysctl('accept_ra_defrtr')).toBe('1');
  });

  it('ipv6.method manual: the router\'s advertisements give the link nothing', async () => {
    const conn = await addProfile(client, profile('ra-manual', 'ethernet', {
      ifname: 's0',
      ipv4: method('disabled'),
      ipv6: { method: variant('s', 'manual'), 'address-data': variant('aa{sv}', [{ address: variant('s', '2001:db8:77::5'), prefix: variant('u', 64) }]) },
    }));
    const active = await activate(client, conn);
    expect(await s0Sysctl('accept_ra')).toBe('0');
    const seen = (await server.log()).split('\n').filter((l) => /RTR-ADVERT\(s0p\)/.test(l)).length;
    await waitFor(async () => (await server.log()).split('\n').filter((l) => /RTR-ADVERT\(s0p\)/.test(l)).length > seen, { timeoutMs: 20_000, what: 'another router advertisement' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await globalAddresses()).map((a) => a.address)).toEqual(['2001:db8:77::5/64']);
    expect(await raDefaultRoutes()).toEqual([]);
    await deactivate(client, active);
    expect(await s0Sysctl('accept_ra')).toBe('1');
  });
});

describe('when the router is gone', () => {
  it('the address and the DNS end with their lifetimes: slaac expired, and slaac changed with nothing after', async () => {
    const conn = await addProfile(client, raProfile('ra-ends'));
    const { active, address } = await activateAndWait(conn, 'ra-ends');
    await waitFor(() => /^nameserver 2001:db8:42::53$/m.test(resolvConf()), { what: 'the RA DNS server in resolv.conf' });
    // dnsmasq gives 2 minutes, its shortest lease time; nothing renews them once it stops.
    const [formed] = (await globalAddresses()).filter((a) => a.address === address);
    expect(formed!.valid).toBeLessThanOrEqual(120);
    await server.stop();
    const records = await waitFor(async () => {
      const r = await slaacNoRoute('ra-ends');
      return r.some((x) => x['args'] === 'expired') && r.filter((x) => x['args'] === 'changed').length === 2 ? r : null;
    }, { timeoutMs: 150_000, intervalMs: 1000, what: 'the address and the DNS to expire' });
    // The default route went first, with its 30 s lifetime: its last record is its expiry, and the kernel has none.
    expect((await slaac('ra-ends')).filter(ofRoute).at(-1)).toMatchObject({ args: 'expired', origin: 'daemon', cause: 'lease' });
    expect(await raDefaultRoutes()).toEqual([]);
    expect(records.map((r) => r['args'])).toEqual(expect.arrayContaining(['bound', 'changed', 'expired', 'changed']));
    expect(records.find((r) => r['args'] === 'expired')).toMatchObject({ origin: 'daemon', cause: 'lease', result: 'success', before: { ipv6: { address } } });
    const gone = records.filter((r) => r['args'] === 'changed')[1]!;
    expect(gone).toMatchObject({ origin: 'daemon', cause: 'lease', before: { ipv6: { dns: ['2001:db8:42::53'], 'dns-search': ['lab6.test'] } } });
    expect(gone).not.toHaveProperty('after');
    expect(existsSync(join(daemon.dir, 'resolv.conf'))).toBe(false);
    expect((await globalAddresses()).filter((a) => PREFIX.test(a.address))).toEqual([]);
    // The connection stays up, now with nothing from the router, and ends as usual.
    expect(await client.getProperty(active, ACTIVE_IFACE, 'State')).toBe(2);
    await deactivate(client, active);
  }, 200_000);
});
