// The DHCPv6 client's states with a fake clock and a fake transport: what it sends (type, xid,
// options), the event it gives the daemon, and RFC 8415's timers between them — retransmission
// with its jitter, T1 and T2, the end of the valid lifetime — over hours in milliseconds.
import { describe, expect, it } from 'vitest';
import { Dhcp6Client, iaidOf, type Dhcp6ClientOptions, type Dhcp6Event } from '../../../../src/core/dhcp/dhcp6-client.js';
import type { Dhcp6Lease } from '../../../../src/core/dhcp/dhcp6-lease.js';
import { OPT6, STATUS } from '../../../../src/core/dhcp/dhcp6-message.js';
import { FakeClock, memoryLog } from './fakes.js';
import { FakeDhcp6Transport, serverMessage, SERVER_DUID, type Reply6Spec } from './dhcp6-fakes.js';

const DUID = Buffer.from('0004' + 'ab'.repeat(16), 'hex');
const IAID = 0x00abcdef;
const SECOND = 1000;
const ADDRESS = 'fd00::1:100';

function setup(o: Partial<Dhcp6ClientOptions> = {}, random = () => 0.5) {
  const clock = new FakeClock();
  const transport = new FakeDhcp6Transport(clock);
  const { log, lines } = memoryLog();
  const events: Dhcp6Event[] = [];
  const client = new Dhcp6Client({
    iface: 'eth0', mode: 'stateful', duid: DUID, iaid: IAID, transport, clock, log, random,
    onEvent: async (e) => {
      events.push(e);
    },
    ...o,
  });
  const h = {
    clock, transport, client, events, lines,
    types: () => transport.sent.map((s) => s.type),
    answer: (type: 'advertise' | 'reply', spec: Partial<Reply6Spec> = {}, source = 'fe80::1') =>
      transport.deliver(serverMessage(type, { xid: transport.last.xid, clientId: DUID, iaid: IAID, t1: 60, t2: 96, addresses: [{ address: ADDRESS, preferred: 120, valid: 180 }], dns: ['fd00::53'], domains: ['example.test'], ...spec }), source),
    /** Solicit, Advertise (preference 255: taken at once), Request, Reply. */
    bind: async (spec: Partial<Reply6Spec> = {}) => {
      client.start();
      await clock.advance(SECOND);
      await h.answer('advertise', { preference: 255, ...spec });
      await h.answer('reply', spec);
    },
  };
  return h;
}

describe('a stateful lease', () => {
  it('Solicit after a random delay under a second, Advertise, Request, Reply: bound, the daemon told once', async () => {
    const h = setup({}, () => 0.3);
    h.client.start();
    expect(h.transport.sent).toEqual([]);
    await h.clock.advance(299);
    expect(h.transport.sent).toEqual([]);
    await h.clock.advance(1);
    const solicit = h.transport.last;
    expect(solicit.type).toBe('solicit');
    expect(solicit.options.get(OPT6.CLIENTID)).toEqual(DUID);
    expect(solicit.options.get(OPT6.IA_NA)!.readUInt32BE(0)).toBe(IAID);
    expect(solicit.options.get(OPT6.ORO)!.toString('hex')).toBe('00170018');
    expect(solicit.options.get(OPT6.ELAPSED_TIME)!.toString('hex')).toBe('0000');
    expect(h.client.state).toBe('soliciting');

    await h.answer('advertise', { preference: 255 });
    expect(h.client.state).toBe('requesting');
    const request = h.transport.last;
    expect(request.type).toBe('request');
    expect(request.xid).not.toBe(solicit.xid);
    expect(request.options.get(OPT6.SERVERID)).toEqual(SERVER_DUID);
    expect(request.options.get(OPT6.IA_NA)!.subarray(16, 32).toString('hex')).toBe('fd000000000000000000000000010100');

    await h.answer('reply');
    expect(h.client.state).toBe('bound');
    expect(h.events).toHaveLength(1);
    expect(h.events[0]).toMatchObject({ kind: 'bound', previous: null, lease: { address: ADDRESS, preferred: 120, valid: 180, t1: 60, t2: 96, dns: ['fd00::53'], domains: ['example.test'], serverAddress: 'fe80::1' } });
  });

  it('waits for the first retransmission to collect advertisements, then takes the most preferred', async () => {
    const h = setup();
    h.client.start();
    await h.clock.advance(500);
    await h.answer('advertise', { preference: 10, addresses: [{ address: 'fd00::a', preferred: 100, valid: 100 }] }, 'fe80::a');
    await h.answer('advertise', { preference: 20, serverId: Buffer.from('0003000102000000000b', 'hex'), addresses: [{ address: 'fd00::b', preferred: 100, valid: 100 }] }, 'fe80::b');
    expect(h.client.state).toBe('soliciting');
    // First RT: IRT (1 s) plus up to 10 % (0.05 with random 0.5).
    await h.clock.advance(1049);
    expect(h.client.state).toBe('soliciting');
    await h.clock.advance(1);
    expect(h.client.state).toBe('requesting');
    expect(h.transport.last.options.get(OPT6.SERVERID)!.toString('hex')).toBe('0003000102000000000b');
  });

  it('ignores an Advertise with NoAddrsAvail, another client id, or another xid', async () => {
    const h = setup();
    h.client.start();
    await h.clock.advance(SECOND);
    await h.answer('advertise', { preference: 255, status: { code: STATUS.NoAddrsAvail, message: 'none' } });
    await h.transport.deliver(serverMessage('advertise', { xid: h.transport.last.xid, clientId: Buffer.from('0001'), iaid: IAID, preference: 255, addresses: [{ address: ADDRESS, preferred: 1, valid: 1 }] }));
    await h.transport.deliver(serverMessage('advertise', { xid: h.transport.last.xid ^ 1, clientId: DUID, iaid: IAID, preference: 255, addresses: [{ address: ADDRESS, preferred: 1, valid: 1 }] }));
    expect(h.client.state).toBe('soliciting');
  });

  it('retransmits a Solicit at RT doubling with ±10 % jitter up to SOL_MAX_RT, with ELAPSED_TIME growing', async () => {
    const h = setup({}, () => 1);
    h.client.start();
    await h.clock.advance(10 * 3600 * SECOND);
    const gaps = h.transport.sent.slice(1).map((s, i) => s.at - h.transport.sent[i]!.at);
    // random 1: the first RT 1.1 s, then 2×RT + 10 %, capped at 3600 s + 10 %.
    expect(gaps.slice(0, 3)).toEqual([1100, 2310, 4851]);
    expect(Math.max(...gaps)).toBe(3960 * SECOND);
    expect(h.transport.sent[2]!.options.get(OPT6.ELAPSED_TIME)!.readUInt16BE(0)).toBe(341);
    expect(h.transport.sent.at(-1)!.options.get(OPT6.ELAPSED_TIME)!.readUInt16BE(0)).toBe(0xffff);
  });

  it('gives up a Request after 10 sends and solicits again', async () => {
    const h = setup();
    h.client.start();
    await h.clock.advance(SECOND);
    await h.answer('advertise', { preference: 255 });
    await h.clock.advance(300 * SECOND);
    expect(h.types().filter((t) => t === 'request')).toHaveLength(10);
    expect(h.client.state).toBe('soliciting');
  });

  it('renews at T1 with its server, rebinds at T2 with any, and a Reply that changes nothing is "renewed"', async () => {
    const h = setup();
    await h.bind();
    await h.clock.advance(60 * SECOND);
    expect(h.client.state).toBe('renewing');
    expect(h.transport.last.type).toBe('renew');
    expect(h.transport.last.options.get(OPT6.SERVERID)).toEqual(SERVER_DUID);
    await h.answer('reply');
    expect(h.events.map((e) => e.kind)).toEqual(['bound', 'renewed']);
    expect(h.client.state).toBe('bound');

    await h.clock.advance(60 * SECOND);
    expect(h.transport.last.type).toBe('renew');
    // REN_TIMEOUT 10 s doubling until T2 (36 s after T1).
    await h.clock.advance(36 * SECOND);
    expect(h.client.state).toBe('rebinding');
    expect(h.transport.last.type).toBe('rebind');
    expect(h.transport.last.options.has(OPT6.SERVERID)).toBe(false);
    await h.answer('reply', { dns: ['fd00::54'] }, 'fe80::2');
    expect(h.events.at(-1)).toMatchObject({ kind: 'changed', lease: { dns: ['fd00::54'], serverAddress: 'fe80::2' } });
  });

  it('expires at the end of the valid lifetime without a Reply, then solicits again', async () => {
    const h = setup();
    await h.bind();
    await h.clock.advance(179 * SECOND);
    expect(h.events.map((e) => e.kind)).toEqual(['bound']);
    await h.clock.advance(SECOND);
    expect(h.events.at(-1)).toMatchObject({ kind: 'expired', lease: null, previous: { address: ADDRESS } });
    expect(h.client.state).toBe('soliciting');
  });

  it('after a suspend past T2, goes straight to rebinding', async () => {
    const h = setup();
    await h.bind();
    h.clock.sleep(100 * SECOND);
    await h.clock.advance(0);
    await h.clock.advance(1);
    expect(h.client.state).toBe('rebinding');
  });

  it('NoBinding at a renewal solicits again, keeping the lease until a new one comes', async () => {
    const h = setup();
    await h.bind();
    await h.clock.advance(60 * SECOND);
    await h.answer('reply', { addresses: [], iaStatus: { code: STATUS.NoBinding, message: 'who?' } });
    expect(h.client.state).toBe('soliciting');
    expect(h.client.lease?.address).toBe(ADDRESS);
    await h.clock.advance(SECOND);
    await h.answer('advertise', { preference: 255 });
    await h.answer('reply');
    expect(h.events.map((e) => e.kind)).toEqual(['bound', 'renewed']);
  });

  it('a kept lease is renewed at start, not solicited', async () => {
    const h0 = setup();
    await h0.bind();
    const kept: Dhcp6Lease = h0.client.lease!;
    const h = setup({ lastLease: kept });
    h.clock.sleep(10 * SECOND);
    h.client.start();
    expect(h.types()).toEqual(['renew']);
    await h.answer('reply');
    expect(h.events.map((e) => e.kind)).toEqual(['renewed']);
  });

  it('stop(true) sends a Release for the address and closes the transport; stop(false) keeps the lease', async () => {
    const h = setup();
    await h.bind();
    await h.client.stop(true);
    expect(h.transport.last.type).toBe('release');
    expect(h.transport.last.options.get(OPT6.SERVERID)).toEqual(SERVER_DUID);
    expect(h.transport.last.options.get(OPT6.IA_NA)!.subarray(16, 32).toString('hex')).toBe('fd000000000000000000000000010100');
    expect(h.transport.closed).toBe(true);
    expect(h.client.lease).toBeNull();

    const k = setup();
    await k.bind();
    await k.client.stop(false);
    expect(k.types()).not.toContain('release');
    expect(k.client.lease?.address).toBe(ADDRESS);
    expect(k.clock.pending).toBe(0);
  });
});

describe('stateless', () => {
  it('Information-request with ORO and no IA_NA; the Reply gives DNS; asked again at its refresh time', async () => {
    const h = setup({ mode: 'stateless' });
    h.client.start();
    await h.clock.advance(SECOND);
    const ask = h.transport.last;
    expect(ask.type).toBe('information-request');
    expect(ask.options.has(OPT6.IA_NA)).toBe(false);
    expect(ask.options.get(OPT6.ORO)!.toString('hex')).toBe('00170018');
    await h.transport.deliver(serverMessage('reply', { xid: ask.xid, clientId: DUID, dns: ['fd00::53'], domains: ['lan'], refresh: 900 }));
    expect(h.events).toMatchObject([{ kind: 'bound', lease: { address: null, dns: ['fd00::53'], domains: ['lan'] } }]);
    await h.clock.advance(900 * SECOND + SECOND);
    expect(h.types()).toEqual(['information-request', 'information-request']);
    await h.transport.deliver(serverMessage('reply', { xid: h.transport.last.xid, clientId: DUID, dns: ['fd00::53'], domains: ['lan'] }));
    expect(h.events.map((e) => e.kind)).toEqual(['bound', 'renewed']);
  });
});

describe('the IAID', () => {
  it('is the last 4 bytes of the MAC, else the ifindex', () => {
    expect(iaidOf(Buffer.from('020000abcdef', 'hex'), 3)).toBe(0x00abcdef);
    expect(iaidOf(Buffer.alloc(0), 3)).toBe(3);
  });
});
