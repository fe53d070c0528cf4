// What happens to a lease while its connection runs (docs/dhcp.md), through the daemon, with a
// test DHCP server of leases of seconds (test/helpers/dhcp4-test-server.ts): a renewal that
// changes nothing (no record, a new lifetime), another address at renewal (changed), a NAK
// (nak, then bound again), the server gone (expired: address and route taken back), an offered
// address another host uses (declined), and a rebinding answered by another server. Each lease
// change is one daemon record with the activation's tx and before/after values.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestBus } from '../helpers/bus.js';
import { startBus } from '../helpers/bus.js';
import { connect, type TestClient } from '../helpers/client.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { activate, addProfile, deactivate, method, profile } from '../helpers/activation.js';
import { TestDhcpServer } from '../helpers/dhcp4-test-server.js';
import { createNetns, deleteNetns, ip } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const NS = `na-lease-${process.pid}`;
const PEER = `${NS}-p`;

let bus: TestBus;
let daemon: TestDaemon;
let client: TestClient;
let server: TestDhcpServer | null = null;
let n = 0;

interface AddrInfo {
  family: string;
  local: string;
  prefixlen: number;
  valid_life_time: number;
}

async function inet(dev: string): Promise<AddrInfo[]> {
  const [l] = JSON.parse(await ip('-n', NS, '-j', 'addr', 'show', 'dev', dev)) as Array<{ addr_info: AddrInfo[] }>;
  return (l?.addr_info ?? []).filter((a) => a.family === 'inet');
}

async function defaultRoutes(dev: string): Promise<string[]> {
  const r = JSON.parse(await ip('-n', NS, '-j', 'route', 'show', 'dev', dev)) as Array<{ dst: string; gateway?: string }>;
  return r.filter((x) => x.dst === 'default').map((x) => x.gateway ?? '');
}

/** A fresh veth dN in NS with its peer in PEER holding `peerAddresses`, and a broadcast route there. */
async function link(peerAddresses: string[]): Promise<string> {
  const dev = `d${++n}`;
  await ip('-n', NS, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}p`, 'netns', PEER);
  for (const a of peerAddresses) await ip('-n', PEER, 'addr', 'add', `${a}/24`, 'dev', `${dev}p`);
  await ip('-n', PEER, 'link', 'set', `${dev}p`, 'up');
  await ip('-n', NS, 'link', 'set', dev, 'up');
  await ip('-n', PEER, 'route', 'replace', '255.255.255.255/32', 'dev', `${dev}p`);
  return dev;
}

/** The dhcp4-lease records of profile `name`, in order. */
async function leases(name: string): Promise<Array<Record<string, unknown>>> {
  return (await daemon.trail()).filter((r) => r['op'] === 'dhcp4-lease' && r['name'] === name);
}

async function up(name: string, dev: string): Promise<{ active: string; tx: unknown }> {
  const conn = await addProfile(client, profile(name, 'ethernet', { ifname: dev, ipv4: method('auto'), ipv6: method('ignore') }));
  const active = await activate(client, conn);
  const record = (await daemon.trail()).find((r) => r['op'] === 'connection-activate' && r['name'] === name);
  return { active, tx: record!['tx'] };
}

beforeAll(async () => {
  await createNetns(NS, PEER);
  bus = await startBus();
  daemon = await startDaemon(bus, { netns: NS });
  client = await connect(bus.address);
}, 60_000);

beforeEach(async () => {
  await server?.stop();
  server = null;
});

afterAll(async () => {
  await server?.stop();
  client?.close();
  await bus?.stop();
  await deleteNetns(NS, PEER);
});

describe('a lease of seconds', () => {
  it('renewed with nothing changed: no record, the address gets its new lifetime', async () => {
    const dev = await link(['192.0.2.1']);
    server = await TestDhcpServer.start(PEER, { offer: '192.0.2.100', leaseTime: 20, t1: 2, t2: 15 });
    await up('renew-same', dev);
    const first = (await inet(dev))[0]!;
    await waitFor(() => server!.saw.some((s) => s.type === 'request' && s.via !== 'broadcast'), { timeoutMs: 8_000, what: 'a unicast renewal' });
    await waitFor(async () => ((await inet(dev))[0]?.valid_life_time ?? 0) > first.valid_life_time - 1, { timeoutMs: 3_000, what: 'the renewed lifetime' });
    expect((await inet(dev)).map((a) => a.local)).toEqual(['192.0.2.100']);
    expect((await leases('renew-same')).map((r) => r['args'])).toEqual(['bound']);
    expect(daemon.log()).not.toMatch(/args="renewed"/);
  });

  it('another address at renewal: one changed record, the old address and route replaced', async () => {
    const dev = await link(['192.0.2.1']);
    server = await TestDhcpServer.start(PEER, { offer: '192.0.2.101', leaseTime: 20, t1: 2, t2: 15 });
    const { tx } = await up('renew-new', dev);
    await server.set({ renewAddress: '192.0.2.102' });
    await waitFor(async () => (await leases('renew-new')).length === 2, { timeoutMs: 8_000, what: 'the changed record' }).catch((e: Error) => {
      throw new Error(`${e.message}\n${daemon.log().split('\n').slice(-15).join('\n')}\n${JSON.stringify(server!.saw.slice(-6))}`);
    });
    expect(await leases('renew-new')).toEqual([
      expect.objectContaining({ args: 'bound', tx, after: expect.objectContaining({ ipv4: expect.objectContaining({ address: '192.0.2.101/24' }) }) }),
      expect.objectContaining({
        args: 'changed', origin: 'daemon', cause: 'lease', tx, result: 'success',
        before: expect.objectContaining({ ipv4: expect.objectContaining({ address: '192.0.2.101/24' }) }),
        after: expect.objectContaining({ ipv4: expect.objectContaining({ address: '192.0.2.102/24' }) }),
      }),
    ]);
    expect((await inet(dev)).map((a) => a.local)).toEqual(['192.0.2.102']);
    // The first test's link has a default route of the same metric: this one is added beside it.
    expect(await defaultRoutes(dev)).toEqual(['192.0.2.1']);
  });

  it('a NAK at renewal: nak (address and route taken back), then a new lease, bound', async () => {
    const dev = await link(['192.0.2.1']);
    server = await TestDhcpServer.start(PEER, { offer: '192.0.2.103', leaseTime: 20, t1: 2, t2: 15, renew: 'nak' });
    await up('naked', dev);
    await waitFor(async () => (await leases('naked')).length >= 3, { timeoutMs: 15_000, what: 'nak then bound' });
    const records = await leases('naked');
    expect(records.slice(0, 3).map((r) => r['args'])).toEqual(['bound', 'nak', 'bound']);
    expect(records[1]).toMatchObject({ before: { ipv4: { address: '192.0.2.103/24' } } });
    expect(records[1]).not.toHaveProperty('after');
  });

  it('the server gone: expired at the lease\'s end, its address and default route taken back', async () => {
    const dev = await link(['192.0.2.1']);
    server = await TestDhcpServer.start(PEER, { offer: '192.0.2.104', leaseTime: 4, t1: 1, t2: 2 });
    await up('gone', dev);
    await server.stop();
    server = null;
    await waitFor(async () => (await leases('gone')).some((r) => r['args'] === 'expired'), { timeoutMs: 10_000, what: 'the expired record' });
    expect((await leases('gone')).map((r) => r['args'])).toEqual(['bound', 'expired']);
    expect(await inet(dev)).toEqual([]);
    expect(await defaultRoutes(dev)).toEqual([]);
  });

  it('an offered address another host uses: declined, then the next offer is bound', async () => {
    // The peer holds the first offer itself, so it answers the client's ARP probe.
    const dev = await link(['192.0.2.1', '192.0.2.105']);
    server = await TestDhcpServer.start(PEER, { offer: '192.0.2.105', leaseTime: 60 });
    const conn = await addProfile(client, profile('dup', 'ethernet', { ifname: dev, ipv4: method('auto'), ipv6: method('ignore') }));
    const activating = activate(client, conn);
    await waitFor(() => server!.saw.some((s) => s.type === 'decline'), { timeoutMs: 10_000, what: 'a DECLINE' });
    await server.set({ offer: '192.0.2.106' });
    await activating;
    const records = await leases('dup');
    expect(records.map((r) => r['args'])).toEqual(['declined', 'bound']);
    expect(records[0]).toMatchObject({ before: { ipv4: { address: '192.0.2.105/24' } } });
    expect((await inet(dev)).map((a) => a.local)).toEqual(['192.0.2.106']);
  });

  it('a rebinding answered by another server keeps the lease: no record, the address stays', async () => {
    const dev = await link(['192.0.2.1', '192.0.2.2']);
    server = await TestDhcpServer.start(PEER, { addresses: ['192.0.2.1', '192.0.2.2'], offer: '192.0.2.107', leaseTime: 6, t1: 1, t2: 2, renew: 'ignore', rebindServerId: '192.0.2.2' });
    const { active } = await up('rebound', dev);
    await waitFor(() => server!.saw.some((s) => s.type === 'request' && s.via === 'broadcast' && s.ciaddr === '192.0.2.107'), { timeoutMs: 8_000, what: 'a rebinding' });
    // Past the first lease's end: the address is still there, from the other server.
    await new Promise((r) => setTimeout(r, 6_500));
    expect((await inet(dev)).map((a) => a.local)).toEqual(['192.0.2.107']);
    expect((await leases('rebound')).map((r) => r['args'])).toEqual(['bound']);
    await deactivate(client, active);
  });
});

