// The DHCPv4 client (compiled, dist/: `npm run build` first) on a real veth link in a network
// namespace, against the real dnsmasq and against a small test server (test/helpers/
// dhcp4-test-server.ts) for what dnsmasq will not do on demand: NAKs, leases of seconds, a server
// that goes away, another address at renewal, a rebinding answered by another server, and another
// host on the link that has the offered address. The client applies each lease to its link with
// `ip` as the daemon would (test/helpers/dhcp4-run.ts). Namespaces are made and deleted here; the
// root namespace's links are never touched.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Dhcp4Run } from '../helpers/dhcp4-run.js';
import { TestDhcpServer } from '../helpers/dhcp4-test-server.js';
import { run } from '../helpers/exec.js';
import { createNetns, deleteNetns, ip } from '../helpers/netns.js';
import { repoPath } from '../helpers/repo.js';
import { waitFor } from '../helpers/wait.js';

const CLIENT_NS = `na-dhcp-${process.pid}`;
const SERVER_NS = `na-dhcps-${process.pid}`;
const CLIENT_LINK = 'dc0';
const SERVER_LINK = 'ds0';
/** What every client here runs with: ACD as by default, retransmissions from 1 s. */
const CLIENT = { ifname: CLIENT_LINK, retransmitMs: 1000 } as const;

let dir: string;
const cleanups: Array<() => Promise<void> | void> = [];

/** A fresh veth pair between the namespaces: the server's end with `addresses` (/24) and a route for broadcasts. */
async function link(...addresses: string[]): Promise<{ clientMac: string; serverMac: string }> {
  await ip('-n', CLIENT_NS, 'link', 'add', CLIENT_LINK, 'type', 'veth', 'peer', 'name', SERVER_LINK, 'netns', SERVER_NS);
  cleanups.push(async () => void (await run('ip', ['-n', CLIENT_NS, 'link', 'del', CLIENT_LINK])));
  for (const a of addresses) await ip('-n', SERVER_NS, 'addr', 'add', `${a}/24`, 'dev', SERVER_LINK);
  await ip('-n', SERVER_NS, 'link', 'set', SERVER_LINK, 'up');
  await ip('-n', CLIENT_NS, 'link', 'set', CLIENT_LINK, 'up');
  await ip('-n', SERVER_NS, 'route', 'add', '255.255.255.255/32', 'dev', SERVER_LINK);
  const mac = async (ns: string, dev: string): Promise<string> => (JSON.parse(await ip('-n', ns, '-j', 'link', 'show', 'dev', dev)) as Array<{ address: string }>)[0]!.address;
  return { clientMac: await mac(CLIENT_NS, CLIENT_LINK), serverMac: await mac(SERVER_NS, SERVER_LINK) };
}

async function clientAddresses(): Promise<string[]> {
  const [l] = JSON.parse(await ip('-n', CLIENT_NS, '-j', 'addr', 'show', 'dev', CLIENT_LINK)) as Array<{ addr_info: Array<{ family: string; local: string; prefixlen: number }> }>;
  return l!.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
}

async function startClient(o: Partial<Parameters<typeof Dhcp4Run.start>[1]> = {}): Promise<Dhcp4Run> {
  const c = await Dhcp4Run.start(CLIENT_NS, { ...CLIENT, ...o });
  cleanups.push(() => c.kill());
  return c;
}

async function startServer(config: Parameters<typeof TestDhcpServer.start>[1]): Promise<TestDhcpServer> {
  const s = await TestDhcpServer.start(SERVER_NS, config);
  cleanups.push(() => s.stop());
  return s;
}

class Dnsmasq {
  log = '';
  readonly leaseFile: string;

  constructor(private readonly child: ChildProcess, leaseFile: string) {
    this.leaseFile = leaseFile;
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.log += chunk));
  }

  /** dnsmasq on the server's link: DHCP only, no DNS, its own lease file, no ping before an offer (it waits seconds for it). */
  static async start(...options: string[]): Promise<Dnsmasq> {
    const leaseFile = join(dir, `leases-${Date.now()}`);
    const child = spawn('ip', [
      'netns', 'exec', SERVER_NS, 'dnsmasq', '--no-daemon', '--conf-file=/dev/null', '--port=0', `--interface=${SERVER_LINK}`,
      '--bind-interfaces', '--no-ping', '--dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,2m', `--dhcp-leasefile=${leaseFile}`,
      '--pid-file=', '--user=root', '--group=root', '--log-dhcp', '--log-facility=-', ...options,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    const d = new Dnsmasq(child, leaseFile);
    cleanups.push(() => d.stop());
    await waitFor(() => d.log.includes('DHCP, sockets bound') || child.exitCode !== null, { what: 'dnsmasq to start' });
    if (child.exitCode !== null) throw new Error(`dnsmasq did not start: ${d.log}`);
    return d;
  }

  count(what: string): number {
    return this.log.split('\n').filter((l) => l.includes(what)).length;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}

beforeAll(async () => {
  if (!existsSync(repoPath('dist', 'core', 'dhcp', 'dhcp4-client.js'))) throw new Error('dist/ has no DHCP client: run `npm run build` first');
  const which = await run('sh', ['-c', 'command -v dnsmasq || ls /usr/sbin/dnsmasq']);
  if (which.code !== 0) throw new Error('dnsmasq is missing: apt-get install dnsmasq-base (scripts/test.sh does)');
  dir = await mkdtemp(join(tmpdir(), 'na-dhcp-'));
  await createNetns(CLIENT_NS, SERVER_NS);
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

afterAll(async () => {
  await deleteNetns(CLIENT_NS, SERVER_NS);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('against dnsmasq', () => {
  it('takes a lease with the address, router, DNS, domain, search and MTU, applies it, and RELEASE frees it', async () => {
    const { clientMac } = await link('192.0.2.1');
    const dnsmasq = await Dnsmasq.start(
      '--dhcp-option=3,192.0.2.1', '--dhcp-option=6,192.0.2.53,192.0.2.54', '--dhcp-option=15,example.test',
      '--dhcp-option=119,a.example.test,example.test', '--dhcp-option=26,1400',
    );
    const c = await startClient();
    const e = await c.event(0);
    expect(e.kind).toBe('bound');
    const l = e.lease!;
    expect(l).toMatchObject({
      prefix: 24, router: '192.0.2.1', routes: [], dns: ['192.0.2.53', '192.0.2.54'], domainName: 'example.test',
      domains: ['a.example.test', 'example.test'], mtu: 1400, server: '192.0.2.1', leaseTime: 120, t1: 60, t2: 105,
    });
    expect(l.address).toMatch(/^192\.0\.2\.(1[0-4]\d|150)$/);
    expect(l.options).toMatchObject({ ip_address: l.address, routers: '192.0.2.1', domain_name_servers: '192.0.2.53 192.0.2.54', domain_search: 'a.example.test example.test', interface_mtu: '1400' });
    expect(await clientAddresses()).toEqual([`${l.address}/24`]);
    // dnsmasq's own record of the lease: the client's hardware address and the address
    await waitFor(async () => (await readFile(dnsmasq.leaseFile, 'utf8')).includes(`${clientMac} ${l.address}`), { what: "the lease in dnsmasq's lease file" });

    expect(await c.stop(true)).toEqual({ lease: null, state: 'stopped' });
    await waitFor(() => dnsmasq.count(`DHCPRELEASE(${SERVER_LINK}) ${l.address} ${clientMac}`) === 1, { what: 'dnsmasq to log the RELEASE' });
    await waitFor(async () => !(await readFile(dnsmasq.leaseFile, 'utf8')).includes(clientMac), { what: "the lease gone from dnsmasq's lease file" });
  });

  it('takes the classless static routes dnsmasq sends instead of the router', async () => {
    await link('192.0.2.1');
    await Dnsmasq.start('--dhcp-option=3,192.0.2.1', '--dhcp-option=121,198.51.100.0/24,192.0.2.1,203.0.113.0/25,0.0.0.0,0.0.0.0/0,192.0.2.254');
    const c = await startClient();
    const l = (await c.event(0)).lease!;
    expect(l.router).toBeNull();
    expect(l.routes).toEqual([
      { dest: '198.51.100.0', prefix: 24, gateway: '192.0.2.1' },
      { dest: '203.0.113.0', prefix: 25, gateway: '0.0.0.0' },
      { dest: '0.0.0.0', prefix: 0, gateway: '192.0.2.254' },
    ]);
    expect(l.options.classless_static_routes).toBe('198.51.100.0/24 192.0.2.1 203.0.113.0/25 0.0.0.0 0.0.0.0/0 192.0.2.254');
    await c.stop(false);
  });

  it('renews at the T1 dnsmasq sends (option 58) and gets "renewed" with the same lease', async () => {
    const { clientMac } = await link('192.0.2.1');
    // 3 s: dnsmasq sends the default T1 for less
    const dnsmasq = await Dnsmasq.start('--dhcp-option=option:T1,3', '--dhcp-option=3,192.0.2.1');
    const c = await startClient();
    const bound = await c.event(0);
    expect(bound.lease!.t1).toBe(3);
    const renewed = await c.event(1, 6000);
    expect(renewed).toMatchObject({ kind: 'renewed', server: '192.0.2.1', previous: bound.lease });
    expect(renewed.lease!.address).toBe(bound.lease!.address);
    // T1 counts from the ACK; 'renewed' comes with the ACK to the renewal (same address: no probe)
    expect(renewed.wall - bound.lease!.obtainedAt).toBeGreaterThanOrEqual(3000);
    expect(renewed.wall - bound.lease!.obtainedAt).toBeLessThan(3500);
    expect(renewed.lease!.obtainedAt).toBeGreaterThan(bound.lease!.obtainedAt);
    // dnsmasq saw the renewal from the bound address (ciaddr) and acknowledged it
    expect(dnsmasq.count(`DHCPACK(${SERVER_LINK}) ${bound.lease!.address} ${clientMac}`)).toBe(2);
    expect(c.logs.map((l) => l.m)).toContain(`${CLIENT_LINK}: renewing ${bound.lease!.address} with 192.0.2.1`);
    await c.stop(false);
  });

  it('restarted with its last lease, asks for it again (INIT-REBOOT) and dnsmasq confirms it without a DISCOVER', async () => {
    await link('192.0.2.1');
    const dnsmasq = await Dnsmasq.start('--dhcp-option=3,192.0.2.1');
    const first = await startClient();
    const lease = (await first.event(0)).lease!;
    const kept = await first.stop(false);
    expect(kept.lease).toEqual(lease);
    const discovers = dnsmasq.count('DHCPDISCOVER');

    const again = await startClient({ lastLease: kept.lease });
    const e = await again.event(0);
    expect(e).toMatchObject({ kind: 'bound', previous: null });
    expect(e.lease!.address).toBe(lease.address);
    expect(again.logs.map((l) => l.m)).toContain(`${CLIENT_LINK}: asking again for ${lease.address}, the last lease`);
    expect(dnsmasq.count('DHCPDISCOVER')).toBe(discovers);
    await again.stop(false);
  });
});

describe('against the test server', () => {
  const SHORT = { leaseTime: 6, t1: 1, t2: 2 };

  it('renews by unicast to the server; a NAK drops the lease and a new one is taken', async () => {
    await link('192.0.2.1');
    const server = await startServer({ ...SHORT, renew: 'nak' });
    const c = await startClient();
    const bound = await c.event(0);
    expect(bound.lease!.address).toBe('192.0.2.100');
    const nak = await c.event(1, 5000);
    expect(nak).toMatchObject({ kind: 'nak', lease: null, server: '192.0.2.1' });
    expect(nak.previous!.address).toBe('192.0.2.100');
    expect(server.saw).toContainEqual(expect.objectContaining({ type: 'request', ciaddr: '192.0.2.100', via: '192.0.2.1', answered: 'nak' }));
    const again = await c.event(2, 5000);
    expect(again.kind).toBe('bound');
    expect(again.at - nak.at).toBeLessThan(2000);
    expect(server.saw.filter((s) => s.type === 'discover').length).toBeGreaterThanOrEqual(2);
    await c.stop(false);
  });

  it('rebinds at T2 by broadcast when its server does not answer, to another server, whose address the next renewal goes to', async () => {
    await link('192.0.2.1', '192.0.2.2');
    const server = await startServer({ ...SHORT, addresses: ['192.0.2.1', '192.0.2.2'], renew: 'ignore', rebindServerId: '192.0.2.2' });
    const c = await startClient();
    const bound = await c.event(0);
    const rebound = await c.event(1, 5000);
    expect(rebound).toMatchObject({ kind: 'renewed', server: '192.0.2.2' });
    expect(rebound.lease).toMatchObject({ address: bound.lease!.address, server: '192.0.2.2' });
    expect(rebound.wall - bound.lease!.obtainedAt).toBeGreaterThanOrEqual(2000);
    expect(rebound.wall - bound.lease!.obtainedAt).toBeLessThan(2500);
    await waitFor(() => server.saw.some((s) => s.via === '192.0.2.2'), { what: 'a renewal sent to the new server', timeoutMs: 5000 });
    const requests = server.saw.filter((s) => s.type === 'request' && s.ciaddr !== '0.0.0.0').map((s) => s.via);
    expect(requests.slice(0, 3)).toEqual(['192.0.2.1', 'broadcast', '192.0.2.2']);
    await c.stop(false);
  });

  it('expires when the server is gone: "expired" at the end of the lease, the address taken away', async () => {
    await link('192.0.2.1');
    const server = await startServer({ leaseTime: 4, t1: 1, t2: 2 });
    const c = await startClient();
    const bound = await c.event(0);
    expect(await clientAddresses()).toEqual(['192.0.2.100/24']);
    await server.stop();
    const expired = await c.event(1, 8000);
    expect(expired).toMatchObject({ kind: 'expired', lease: null, server: null });
    expect(expired.previous!.address).toBe('192.0.2.100');
    expect(expired.wall - bound.lease!.obtainedAt).toBeGreaterThanOrEqual(4000);
    expect(expired.wall - bound.lease!.obtainedAt).toBeLessThan(4500);
    expect(await clientAddresses()).toEqual([]);
    expect(c.logs.map((l) => l.m)).toContain(`${CLIENT_LINK}: rebinding 192.0.2.100 with any server`);
    await c.stop(false);
  });

  it('another address at renewal is probed and applied: "changed"', async () => {
    await link('192.0.2.1');
    await startServer({ ...SHORT, renewAddress: '192.0.2.120' });
    const c = await startClient();
    expect((await c.event(0)).lease!.address).toBe('192.0.2.100');
    const changed = await c.event(1, 5000);
    expect(changed).toMatchObject({ kind: 'changed', lease: { address: '192.0.2.120' }, previous: { address: '192.0.2.100' } });
    expect(await clientAddresses()).toEqual(['192.0.2.120/24']);
    expect(c.logs.map((l) => l.m)).toContain(`${CLIENT_LINK}: 192.0.2.120/24 from 192.0.2.1 for 6 s (changed)`);
    await c.stop(false);
  });

  it('a NAK to its INIT-REBOOT: "nak" with the last lease, then a new lease', async () => {
    await link('192.0.2.1');
    await startServer({ initReboot: 'nak' });
    const last = {
      address: '192.0.2.77', prefix: 24, router: null, routes: [], dns: [], domains: [], domainName: null, mtu: null, server: '192.0.2.9',
      serverMac: null, leaseTime: 3600, t1: 1800, t2: 3150, obtainedAt: Date.now(), options: {},
    };
    const c = await startClient({ lastLease: last });
    expect(await c.event(0)).toMatchObject({ kind: 'nak', lease: null, previous: last, server: '192.0.2.1' });
    expect(await c.event(1)).toMatchObject({ kind: 'bound', lease: { address: '192.0.2.100' } });
    await c.stop(false);
  });

  it('declines an offered address another host on the link has, then takes another', async () => {
    await link('192.0.2.1');
    // The other host: a macvlan of the server's link with the address; only it answers ARP for it.
    await ip('-n', SERVER_NS, 'link', 'add', 'dh0', 'link', SERVER_LINK, 'type', 'macvlan', 'mode', 'bridge');
    await ip('-n', SERVER_NS, 'addr', 'add', '192.0.2.50/24', 'dev', 'dh0');
    await ip('-n', SERVER_NS, 'link', 'set', 'dh0', 'up');
    await run('ip', ['netns', 'exec', SERVER_NS, 'sysctl', '-q', '-w', 'net.ipv4.conf.all.arp_ignore=1']);
    const otherMac = (JSON.parse(await ip('-n', SERVER_NS, '-j', 'link', 'show', 'dev', 'dh0')) as Array<{ address: string }>)[0]!.address;
    const server = await startServer({ offer: '192.0.2.50' });
    const c = await startClient();
    const declined = await c.event(0);
    expect(declined).toMatchObject({ kind: 'declined', lease: null, server: '192.0.2.1', previous: { address: '192.0.2.50' } });
    expect(c.logs.map((l) => l.m)).toContain(`${CLIENT_LINK}: 192.0.2.50 from 192.0.2.1 is in use by ${otherMac} on the link; declining it`);
    await waitFor(() => server.saw.find((s) => s.type === 'decline'), { what: 'the DECLINE at the server' });
    expect(server.saw.find((s) => s.type === 'decline')).toMatchObject({ requested: '192.0.2.50', serverId: '192.0.2.1' });
    expect(await clientAddresses()).toEqual([]);
    // 10 s later it asks again, and takes what is offered now
    await server.set({ offer: '192.0.2.51' });
    const bound = await c.event(1, 14_000);
    expect(bound).toMatchObject({ kind: 'bound', lease: { address: '192.0.2.51' } });
    // 10 s of waiting, a DISCOVER and a probe
    expect(bound.wall - declined.wall).toBeGreaterThanOrEqual(10_000);
    expect(bound.wall - declined.wall).toBeLessThan(12_000);
    await c.stop(false);
  }, 30_000);
});
