// DHCPv6 (docs/dhcp6.md) against the real dnsmasq in the veth peer's namespace: ipv6.method dhcp
// (stateful, no SLAAC), ipv6.method auto with the advertisement's M flag (stateful beside what the
// kernel takes from it) and with the O flag alone (stateless: DNS from an Information-request). Each
// lease the daemon applies — the address as a /128 with the lease's lifetimes, its DNS — is one
// daemon record (op dhcp6-lease, cause lease) carrying the activation's tx, in all four backends; a
// caller's deactivation releases it; a restart renews it without a new Solicit and no record. The
// daemon and dnsmasq run in namespaces made for this file; the root namespace's links are never
// touched, nor the host's resolv.conf (the daemon's is in its scratch dir).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBus } from '../helpers/bus.js';
import type { TestClient } from '../helpers/client.js';
import { connect, variant } from '../helpers/client.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { ACTIVE_IFACE, activate, activeConnections, addProfile, deactivate, method, profile } from '../helpers/activation.js';
import { DEVICE_IFACE, pathOf } from '../helpers/devices.js';
import { startDnsmasq, type Dnsmasq } from '../helpers/dnsmasq.js';
import { TestDhcp6Server } from '../helpers/dhcp6-test-server.js';
import { run } from '../helpers/exec.js';
import { createNetns, ifindexOf, ip, startDaemonInNetns, stopDaemonInNetns } from '../helpers/netns.js';
import { repoPath } from '../helpers/repo.js';
import { recordInJournalAndAuditLog } from '../helpers/readers.js';
import { ensureAuditd, ensureJournald } from '../helpers/system-services.js';
import { waitFor } from '../helpers/wait.js';

const NS = `na-dhcp6-${process.pid}`;
const PEER = `${NS}-p`;
const cliMain = repoPath('dist', 'cli', 'main.js');
/** dnsmasq's stateful range on d0 */
const LEASED = /^fd77::1[0-9a-f]{2}$/;

let bus: TestBus;
let daemon: TestDaemon;
let client: TestClient;
let server: Dnsmasq;

type Trail = Array<Record<string, unknown>>;

function netauditctl(...args: string[]) {
  return run(process.execPath, [cliMain, '--bus-address', bus.address, ...args], { env: { NO_COLOR: '' } });
}

/**
 * A veth `name` in NS (down until an activation brings it up) whose peer in PEER has `peerAddress`
 * and no duplicate address detection, so that its advertisements come from its link-local address
 * at once.
 */
async function veth(name: string, peerAddress: string): Promise<void> {
  await ip('-n', NS, 'link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`, 'netns', PEER);
  await ip('netns', 'exec', PEER, 'sysctl', '-qw', `net.ipv6.conf.${name}p.accept_dad=0`);
  await ip('-n', PEER, 'addr', 'add', peerAddress, 'dev', `${name}p`, 'nodad');
  await ip('-n', PEER, 'link', 'set', `${name}p`, 'up');
}

interface Addr6 {
  local: string;
  prefixlen: number;
  valid_life_time: number;
  preferred_life_time: number;
  dynamic?: boolean;
}

async function globalAddresses(dev: string): Promise<Addr6[]> {
  const [entry] = JSON.parse(await ip('-n', NS, '-j', '-6', 'addr', 'show', 'dev', dev, 'scope', 'global')) as Array<{ addr_info: Addr6[] }>;
  // ip -j lists an empty object after some addresses: only those with an address count.
  return (entry?.addr_info ?? []).filter((a) => typeof a.local === 'string');
}

const leases6 = async (name: string): Promise<Trail> => (await daemon.trail()).filter((r) => r['op'] === 'dhcp6-lease' && r['name'] === name);
const resolvConf = (): string => (existsSync(join(daemon.dir, 'resolv.conf')) ? readFileSync(join(daemon.dir, 'resolv.conf'), 'utf8') : '');
const logLines = async (s: Dnsmasq, pattern: RegExp): Promise<number> => (await s.log()).split('\n').filter((l) => pattern.test(l)).length;

/** The lease's /128 on `dev`, once the kernel has it. */
async function leasedAddress(dev: string, pattern = LEASED): Promise<Addr6> {
  const [a] = await waitFor(async () => {
    const found = (await globalAddresses(dev)).filter((x) => pattern.test(x.local) && x.prefixlen === 128);
    return found.length > 0 ? found : null;
  }, { timeoutMs: 20_000, what: `a DHCPv6 address on ${dev}` });
  return a!;
}

const dhcpProfile = (id: string, ifname: string, ipv6: Record<string, unknown> = {}) =>
  profile(id, 'ethernet', { ifname, ipv4: method('disabled'), ipv6: { method: variant('s', 'dhcp'), ...ipv6 } });

beforeAll(async () => {
  await ensureJournald();
  await ensureAuditd();
  await createNetns(NS, PEER);
  await ip('-n', NS, 'link', 'set', 'lo', 'up');
  ({ bus, daemon, client } = await startDaemonInNetns(NS, { config: { audit: { backends: 'libaudit,journal,log,file' } } }));
  await veth('d0', 'fd77::1/64');
  server = await startDnsmasq({
    netns: PEER,
    iface: 'd0p',
    args: [
      // Addresses from DHCPv6 (the M flag), 2 minutes (dnsmasq's shortest), an advertisement every 10 s.
      '--enable-ra',
      '--ra-param=d0p,10',
      '--dhcp-range=fd77::100,fd77::1ff,64,2m',
      '--dhcp-option=option6:dns-server,[fd77::53]',
      '--dhcp-option=option6:domain-search,lab6.test',
    ],
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await stopDaemonInNetns({ bus, client }, NS, PEER);
});

describe('ipv6.method dhcp', () => {
  let activePath: string;
  let address: Addr6;

  it('activation waits for the lease: a /128 with its lifetimes, its DNS in resolv.conf, one bound record with the tx', async () => {
    const conn = await addProfile(client, dhcpProfile('v6', 'd0'));
    activePath = await activate(client, conn);
    expect(await client.getProperty(activePath, ACTIVE_IFACE, 'State')).toBe(2);
    // Activated only once the lease is on the link.
    const global = await globalAddresses('d0');
    expect(global).toHaveLength(1);
    address = global[0]!;
    expect(address.local).toMatch(LEASED);
    expect(address.prefixlen).toBe(128);
    expect(address.dynamic).toBe(true);
    expect(address.valid_life_time).toBeGreaterThan(60);
    expect(address.valid_life_time).toBeLessThanOrEqual(120);
    // ipv6.method dhcp takes no advertisement: no SLAAC, no route from one.
    expect((await ip('netns', 'exec', NS, 'cat', '/proc/sys/net/ipv6/conf/d0/accept_ra')).trim()).toBe('0');

    const records = await leases6('v6');
    expect(records).toHaveLength(1);
    const activation = (await daemon.trail()).find((r) => r['op'] === 'connection-activate' && r['name'] === 'v6');
    expect(records[0]).toMatchObject({
      op: 'dhcp6-lease', origin: 'daemon', cause: 'lease', args: 'bound', iface: 'd0', result: 'success', tx: activation!['tx'],
      after: { ipv6: { address: `${address.local}/128`, dns: ['fd77::53'], 'dns-search': ['lab6.test'], server: expect.stringMatching(/^fe80::/), 'valid-lifetime': 120 } },
    });
    expect(records[0]).not.toHaveProperty('before');
    expect(records[0]).not.toHaveProperty('pid');
    const resolv = resolvConf();
    expect(resolv).toMatch(/^nameserver fd77::53$/m);
    expect(resolv).toMatch(/^search lab6\.test$/m);
    expect(await logLines(server, /DHCPSOLICIT\(d0p\)/)).toBeGreaterThanOrEqual(1);
    expect(await logLines(server, /DHCPREPLY\(d0p\)/)).toBeGreaterThanOrEqual(1);
  });

  it('is in all four backends: the log, the journal and the kernel audit log say the same as the trail', async () => {
    const [record] = await leases6('v6');
    const { boot, seq } = record as { boot: string; seq: number };
    expect(daemon.log()).toMatch(/audit: op="dhcp6-lease" origin="daemon" cause="lease" .*iface="d0" args="bound" result="success"/);
    const { journal, audit } = await recordInJournalAndAuditLog(boot, seq);
    expect(journal).toMatchObject({ NETAUDIT_OP: 'dhcp6-lease', NETAUDIT_ORIGIN: 'daemon', NETAUDIT_RESULT: 'success' });
    expect(audit).toMatch(/op=dhcp6-lease origin=daemon cause=lease .*args="bound" result=success /);
  });

  it('reads back on the bus (Dhcp6Config, IP6Config) and in netauditctl device show as nmcli prints it', async () => {
    const d0 = await ifindexOf(NS, 'd0');
    const dhcp6 = (await client.getProperty(pathOf(d0), DEVICE_IFACE, 'Dhcp6Config')) as string;
    expect(dhcp6).toBe(`/org/netaudit1/DHCP6Config/${d0}`);
    expect(await client.getProperty(pathOf(d0), DEVICE_IFACE, 'Dhcp4Config')).toBe('/');
    const options = (await client.getProperty(dhcp6, 'org.netaudit1.DHCP6Config', 'Options')) as Record<string, string>;
    expect(options).toMatchObject({ ip6_address: address.local, dhcp6_name_servers: 'fd77::53', dhcp6_domain_search: 'lab6.test', valid_lifetime: '120' });
    const ip6 = (await client.getProperty(pathOf(d0), DEVICE_IFACE, 'Ip6Config')) as string;
    const props = await client.getAllProperties(ip6, 'org.netaudit1.IP6Config');
    expect(props['AddressData']).toContainEqual({ address: address.local, prefix: 128 });
    expect(props['NameserverData']).toEqual([{ address: 'fd77::53' }]);
    expect(props['Searches']).toEqual(['lab6.test']);

    const shown = await netauditctl('-t', 'device', 'show', 'd0');
    expect(shown.code, shown.stderr).toBe(0);
    const lines = shown.stdout.split('\n');
    // Terse output escapes the colons of a value, as nmcli -t does.
    const esc = (text: string): string => text.replace(/:/g, '\\:');
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^IP6\\.ADDRESS\\[\\d+\\]:${esc(esc(address.local))}/128$`)));
    expect(lines).toContain(`IP6.DNS[1]:${esc('fd77::53')}`);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^DHCP6\\.OPTION\\[\\d+\\]:ip6_address = ${esc(esc(address.local))}$`)));
    expect(lines).toContainEqual(expect.stringMatching(/^DHCP6\.OPTION\[\d+\]:valid_lifetime = 120$/));
    expect(lines.filter((l) => l.startsWith('DHCP4.'))).toEqual([]);
  });

  it('a caller\'s deactivation releases the lease: one released record, the address and the DNS gone', async () => {
    await deactivate(client, activePath);
    expect((await globalAddresses('d0')).filter((a) => LEASED.test(a.local))).toEqual([]);
    expect(existsSync(join(daemon.dir, 'resolv.conf'))).toBe(false);
    const records = await leases6('v6');
    const deact = (await daemon.trail()).find((r) => r['op'] === 'connection-deactivate' && r['name'] === 'v6');
    expect(records.map((r) => [r['args'], r['origin']])).toEqual([['bound', 'daemon'], ['released', 'daemon']]);
    expect(records[1]).toMatchObject({ tx: deact!['tx'], before: { ipv6: { address: `${address.local}/128` } } });
    await waitFor(async () => (await logLines(server, /DHCPRELEASE\(d0p\)/)) > 0, { what: 'dnsmasq to log the Release' });
    // accept_ra is the link's again.
    expect((await ip('netns', 'exec', NS, 'cat', '/proc/sys/net/ipv6/conf/d0/accept_ra')).trim()).not.toBe('0');
  });

  it('ipv6.ignore-auto-dns: the address, but none of the lease\'s DNS, in resolv.conf or in the record', async () => {
    const conn = await addProfile(client, dhcpProfile('v6-nodns', 'd0', { 'ignore-auto-dns': variant('b', true) }));
    const active = await activate(client, conn);
    const [record] = await leases6('v6-nodns');
    expect(record).toMatchObject({ args: 'bound', after: { ipv6: { address: expect.stringMatching(/^fd77::1[0-9a-f]{2}\/128$/) } } });
    expect((record!['after'] as { ipv6: Record<string, unknown> }).ipv6).not.toHaveProperty('dns');
    expect((record!['after'] as { ipv6: Record<string, unknown> }).ipv6).not.toHaveProperty('dns-search');
    expect(resolvConf()).not.toMatch(/fd77::53|lab6\.test/);
    await deactivate(client, active);
  });

  it('no server and a 2 s ipv6.dhcp-timeout, IPv4 disabled: the activation fails with reason dhcp-timeout, nothing left', async () => {
    await veth('d9', 'fd79::1/64');
    const conn = await addProfile(client, dhcpProfile('v6-lonely', 'd9', { 'dhcp-timeout': variant('i', 2) }));
    await expect(activate(client, conn)).rejects.toThrow(/No DHCPv6 server gave "d9" a lease within 2 s \(ipv6\.dhcp-timeout\)/);
    expect(await activeConnections(client)).toEqual([]);
    const records = (await daemon.trail()).filter((r) => r['name'] === 'v6-lonely' && r['op'] === 'connection-activate');
    expect(records.map((r) => [r['result'], r['reason']])).toEqual([['success', undefined], ['fail', 'dhcp-timeout']]);
  });
});

describe('Reapply on a connection running DHCPv6', () => {
  it('refuses a change of what method dhcp was activated with, and applies ipv6.ignore-auto-dns in place', async () => {
    const conn = await addProfile(client, dhcpProfile('v6-reap', 'd0'));
    const active = await activate(client, conn);
    await waitFor(() => (/^nameserver fd77::53$/m.test(resolvConf()) ? true : null), { what: 'the lease\'s DNS in resolv.conf' });
    const d0 = await ifindexOf(NS, 'd0');
    const [applied, version] = (await client.call(pathOf(d0), DEVICE_IFACE, 'GetAppliedConnection', 'u', [0])) as [Record<string, Record<string, unknown>>, bigint];
    const withTimeout = { ...applied, ipv6: { ...applied['ipv6'], 'dhcp-timeout': variant('i', 9) } };
    await expect(client.call(pathOf(d0), DEVICE_IFACE, 'Reapply', 'a{sa{sv}}tu', [withTimeout, version, 0])).rejects.toThrow(/ipv6\.dhcp-timeout: DHCPv6 on "d0" runs with the settings it was activated with/);
    const noDns = { ...applied, ipv6: { ...applied['ipv6'], 'ignore-auto-dns': variant('b', true) } };
    await client.call(pathOf(d0), DEVICE_IFACE, 'Reapply', 'a{sa{sv}}tu', [noDns, version, 0]);
    expect(resolvConf()).not.toMatch(/fd77::53/);
    // The lease itself is untouched.
    expect((await globalAddresses('d0')).some((a) => LEASED.test(a.local))).toBe(true);
    await deactivate(client, active);
  });
});

describe('a lease of seconds, from the test DHCPv6 server', () => {
  it('renewed at T1 with nothing changed: no record, new lifetimes; the server gone: expired at the valid lifetime, the address and its DNS taken back', async () => {
    await veth('d2', 'fd7a::1/64');
    const test = await TestDhcp6Server.start(PEER, { iface: 'd2p', address: 'fd7a::42', preferred: 6, valid: 8, t1: 2, t2: 4, dns: ['fd7a::53'] });
    try {
      const conn = await addProfile(client, dhcpProfile('v6-short', 'd2', { 'dhcp-timeout': variant('i', 8) }));
      await activate(client, conn);
      expect(await leasedAddress('d2', /^fd7a::42$/)).toMatchObject({ prefixlen: 128, preferred_life_time: expect.any(Number) });
      // Two renewals answered: the lifetimes start again each time, and nothing changed.
      await waitFor(() => (test.saw.filter((m) => m.type === 'renew' && m.answered === 'reply').length >= 2 ? true : null), { timeoutMs: 10_000, what: 'two answered Renews' });
      await waitFor(async () => ((await globalAddresses('d2')).find((a) => a.local === 'fd7a::42')?.valid_life_time ?? 0) >= 7 || null, { timeoutMs: 3_000, what: 'the new valid lifetime' });
      expect((await leases6('v6-short')).map((r) => r['args'])).toEqual(['bound']);
      await test.stop();
      const expired = await waitFor(async () => (await leases6('v6-short')).find((r) => r['args'] === 'expired') ?? null, { timeoutMs: 20_000, what: 'the expired record' });
      expect(expired).toMatchObject({ origin: 'daemon', cause: 'lease', result: 'success', before: { ipv6: { address: 'fd7a::42/128', dns: ['fd7a::53'] } } });
      // The record comes first (the change is committed by it), the kernel and the DNS a moment after.
      await waitFor(async () => (await globalAddresses('d2')).every((a) => a.local !== 'fd7a::42') || null, { timeoutMs: 3_000, what: 'the address taken back' });
      await waitFor(() => !/fd7a::53/.test(resolvConf()) || null, { timeoutMs: 3_000, what: 'the DNS taken back' });
      // The lease's address, added, renewed and ended, is the daemon's own: no external change of it.
      expect((await daemon.trail()).filter((r) => r['origin'] === 'external' && r['iface'] === 'd2' && String(r['op']).startsWith('address-'))).toEqual([]);
      const [active] = await activeConnections(client);
      await deactivate(client, active!);
    } finally {
      await test.stop();
    }
  }, 45_000);
});

describe('a link without carrier', () => {
  it('a caller may deactivate while method dhcp waits for its link-local address: at once, reason deactivated', async () => {
    await ip('-n', NS, 'link', 'add', 'd4', 'type', 'veth', 'peer', 'name', 'd4p', 'netns', PEER);
    const conn = await addProfile(client, dhcpProfile('v6-nocarrier', 'd4', { 'dhcp-timeout': variant('i', 30) }));
    const activating = activate(client, conn);
    activating.catch(() => undefined);
    const [active] = await waitFor(async () => {
      const list = await activeConnections(client);
      return list.length > 0 ? list : null;
    }, { what: 'the activation to be under way' });
    const started = Date.now();
    await deactivate(client, active!);
    expect(Date.now() - started).toBeLessThan(3_000);
    await expect(activating).rejects.toThrow(/deactivated before/);
    const records = (await daemon.trail()).filter((r) => r['name'] === 'v6-nocarrier' && r['op'] === 'connection-activate');
    expect(records.map((r) => [r['result'], r['reason']])).toEqual([['success', undefined], ['fail', 'deactivated']]);
  });
});

describe('a restart with a valid DHCPv6 lease', () => {
  it('adopts the connection and renews the kept address without a Solicit: no lease record', async () => {
    const conn = await addProfile(client, dhcpProfile('v6-keep', 'd0'));
    await activate(client, conn);
    const before = await leasedAddress('d0');
    const recordsBefore = (await leases6('v6-keep')).length;
    const solicits = await logLines(server, /DHCPSOLICIT\(d0p\)/);
    const renews = await logLines(server, /DHCPRENEW\(d0p\)/);
    await daemon.stop();
    await daemon.start();
    client.close();
    client = await connect(bus.address);
    expect((await daemon.trail()).filter((r) => r['op'] === 'connection-adopt' && r['name'] === 'v6-keep')).toHaveLength(1);
    await waitFor(async () => (await logLines(server, /DHCPREPLY\(d0p\)/)) > 0 && (await logLines(server, /DHCPRENEW\(d0p\)/)) > renews, {
      timeoutMs: 15_000,
      what: 'the Renew of the kept lease in dnsmasq\'s log',
    }).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${(await server.log()).split('\n').slice(-30).join('\n')}\n${daemon.log().split('\n').slice(-20).join('\n')}`);
    });
    // The renewal's Reply applied: give it a moment to be a record, were it one.
    await waitFor(() => /DHCPv6 lease .* renewed/.test(daemon.log()) || null, { timeoutMs: 10_000, what: 'the renewal in the daemon log' }).catch(() => undefined);
    expect(await logLines(server, /DHCPSOLICIT\(d0p\)/)).toBe(solicits);
    const [after] = (await globalAddresses('d0')).filter((a) => LEASED.test(a.local));
    expect(after!.local).toBe(before.local);
    expect((await leases6('v6-keep')).length).toBe(recordsBefore);
    const [active] = await activeConnections(client);
    await deactivate(client, active!);
  });
});

describe('ipv6.method auto', () => {
  it('the M flag: DHCPv6 takes an address beside what the kernel takes from the advertisement, one bound record', async () => {
    const conn = await addProfile(client, profile('v6-auto', 'ethernet', { ifname: 'd0', ipv4: method('disabled'), ipv6: method('auto') }));
    const active = await activate(client, conn);
    const a = await leasedAddress('d0');
    const [record] = await waitFor(async () => {
      const r = await leases6('v6-auto');
      return r.length > 0 ? r : null;
    }, { what: 'the dhcp6-lease record' });
    const activation = (await daemon.trail()).find((r) => r['op'] === 'connection-activate' && r['name'] === 'v6-auto');
    expect(record).toMatchObject({ args: 'bound', tx: activation!['tx'], after: { ipv6: { address: `${a.local}/128`, dns: ['fd77::53'] } } });
    // The /128 is DHCPv6's, not a SLAAC address (the advertisement's default route is slaac's).
    const slaacAddresses = (await daemon.trail()).filter((r) => r['op'] === 'slaac' && r['name'] === 'v6-auto' && (r['after'] as { ipv6?: { address?: string } } | undefined)?.ipv6?.address !== undefined);
    expect(slaacAddresses).toEqual([]);
    await waitFor(() => (/^nameserver fd77::53$/m.test(resolvConf()) ? true : null), { what: 'the lease\'s DNS in resolv.conf' });
    await deactivate(client, active);
    expect((await globalAddresses('d0')).filter((x) => LEASED.test(x.local))).toEqual([]);
  });

  it('the O flag alone: SLAAC, and the DNS from an Information-request, one bound record without an address; M later: the stateful lease a change of it', async () => {
    await veth('d1', 'fd78::1/64');
    const stateless = await startDnsmasq({
      netns: PEER,
      iface: 'd1p',
      args: ['--enable-ra', '--ra-param=d1p,10', '--dhcp-range=fd78::,ra-stateless,64,2m', '--dhcp-option=option6:dns-server,[fd78::53]', '--dhcp-option=option6:domain-search,info.test'],
    });
    try {
      const conn = await addProfile(client, profile('v6-info', 'ethernet', { ifname: 'd1', ipv4: method('disabled'), ipv6: method('auto') }));
      const active = await activate(client, conn);
      const [record] = await waitFor(async () => {
        const r = await leases6('v6-info');
        return r.length > 0 ? r : null;
      }, { timeoutMs: 20_000, what: 'the dhcp6-lease record of the Information-request' });
      expect(record).toMatchObject({ args: 'bound', after: { ipv6: { dns: ['fd78::53'], 'dns-search': ['info.test'] } } });
      expect((record!['after'] as { ipv6: Record<string, unknown> }).ipv6).not.toHaveProperty('address');
      expect(await logLines(stateless, /DHCPINFORMATION-REQUEST\(d1p\)/)).toBeGreaterThan(0);
      await waitFor(async () => (await globalAddresses('d1')).some((x) => x.local.startsWith('fd78:') && x.prefixlen === 64) || null, { what: 'the SLAAC address' });
      await waitFor(() => (/^nameserver fd78::53$/m.test(resolvConf()) ? true : null), { what: 'the DHCPv6 DNS in resolv.conf' });

      // The router starts giving addresses (M): a stateful client replaces the stateless one, and its
      // first lease is a change of what the stateless one gave.
      await stateless.stop();
      const stateful = await startDnsmasq({
        netns: PEER,
        iface: 'd1p',
        args: ['--enable-ra', '--ra-param=d1p,10', '--dhcp-range=fd78::100,fd78::1ff,64,2m', '--dhcp-option=option6:dns-server,[fd78::53]', '--dhcp-option=option6:domain-search,info.test'],
      });
      try {
        const changed = await waitFor(async () => (await leases6('v6-info')).find((r) => r['args'] === 'changed') ?? null, { timeoutMs: 25_000, what: 'the changed record of the stateful lease' });
        const a = await leasedAddress('d1', /^fd78::1[0-9a-f]{2}$/);
        expect(changed).toMatchObject({ before: { ipv6: { dns: ['fd78::53'] } }, after: { ipv6: { address: `${a.local}/128`, dns: ['fd78::53'] } } });
        expect((changed!['before'] as { ipv6: Record<string, unknown> }).ipv6).not.toHaveProperty('address');
        await deactivate(client, active);
      } finally {
        await stateful.stop();
      }
    } finally {
      await stateless.stop();
    }
  }, 60_000);
});
