// The DHCPv4 client's states with a fake clock and fake transports: each transition, what it sends
// (type, addressing, options), the event it gives the daemon, and the timers between them.
import { describe, expect, it } from 'vitest';
import { Dhcp4Client, type Dhcp4ClientOptions, type Dhcp4Event } from '../../../../src/core/dhcp/dhcp4-client.js';
import type { Dhcp4Lease } from '../../../../src/core/dhcp/dhcp4-lease.js';
import { OPT } from '../../../../src/core/dhcp/dhcp4-message.js';
import { FakeArp, FakeClock, FakeDhcpTransport, memoryLog, SERVER_MAC, settle } from './fakes.js';
import { serverReply, type ReplySpec } from './server-replies.js';

const MAC = Buffer.from('020000abcdef', 'hex');
const MAC_TEXT = '02:00:00:ab:cd:ef';
const SECOND = 1000;

function setup(o: Partial<Dhcp4ClientOptions> = {}) {
  const clock = new FakeClock();
  const transport = new FakeDhcpTransport(clock);
  const arp = new FakeArp(clock);
  const { log, lines } = memoryLog();
  const events: Dhcp4Event[] = [];
  const client = new Dhcp4Client({
    ifindex: 3, iface: 'eth0', mac: MAC, transport, arp, clock, log,
    onEvent: async (e) => {
      events.push(e);
    },
    ...o,
  });
  const h = {
    clock, transport, arp, client, events, lines,
    /** Answers the last message the client sent with the same xid. */
    answer: (type: 'offer' | 'ack' | 'nak', spec: Partial<ReplySpec> = {}, from: { sourceIp?: string; sourceMac?: string } = {}) =>
      transport.deliver(serverReply(type, { xid: transport.last.message.xid, mac: MAC, ...spec }), from),
    types: () => transport.sent.map((s) => s.message.type),
    /** DISCOVER, OFFER, REQUEST, ACK and the probe: the client bound with `spec`'s lease. */
    bind: async (spec: Partial<ReplySpec> = {}) => {
      client.start();
      await settle();
      await h.answer('offer', spec);
      await h.answer('ack', spec);
      await clock.advance(200);
    },
  };
  return h;
}

const option = (s: { message: { options: ReadonlyMap<number, Buffer> } }, code: number): string | undefined => s.message.options.get(code)?.toString('hex');

describe('getting a lease', () => {
  it('DISCOVER, OFFER, REQUEST, ACK, probe: bound, and the daemon told once', async () => {
    const h = setup({ hostname: 'host1' });
    h.client.start();
    expect(h.client.state).toBe('selecting');
    const discover = h.transport.last;
    expect(discover.message).toMatchObject({ type: 'discover', op: 1, broadcast: true, ciaddr: '0.0.0.0' });
    expect(discover.to).toEqual({ sourceIp: '0.0.0.0', destinationIp: '255.255.255.255', destinationMac: null });
    expect(option(discover, OPT.CLIENT_ID)).toBe('01' + MAC.toString('hex'));
    expect(option(discover, OPT.HOSTNAME)).toBe(Buffer.from('host1').toString('hex'));
    expect(option(discover, OPT.MAX_MESSAGE_SIZE)).toBe('0240');
    expect([...discover.message.options.get(OPT.PARAMETER_REQUEST_LIST)!]).toEqual([1, 3, 6, 12, 15, 26, 28, 42, 51, 54, 58, 59, 119, 121]);

    await h.answer('offer', { yiaddr: '192.0.2.100' });
    expect(h.client.state).toBe('requesting');
    const request = h.transport.last;
    expect(request.message).toMatchObject({ type: 'request', xid: discover.message.xid, broadcast: true, ciaddr: '0.0.0.0' });
    expect(request.to.destinationIp).toBe('255.255.255.255');
    expect(option(request, OPT.REQUESTED_ADDRESS)).toBe('c0000264');
    expect(option(request, OPT.SERVER_ID)).toBe('c0000201');

    await h.answer('ack', { yiaddr: '192.0.2.100', routers: ['192.0.2.1'], dns: ['192.0.2.53'], domainName: 'example.test', leaseTime: 3600 });
    expect(h.client.state).toBe('probing');
    expect(h.events).toEqual([]);
    await h.clock.advance(199);
    expect(h.events).toEqual([]);
    await h.clock.advance(1);
    expect(h.client.state).toBe('bound');
    expect(h.events).toHaveLength(1);
    const [e] = h.events;
    expect(e).toMatchObject({ kind: 'bound', previous: null, server: '192.0.2.1' });
    expect(e!.lease).toMatchObject({
      address: '192.0.2.100', prefix: 24, router: '192.0.2.1', dns: ['192.0.2.53'], domainName: 'example.test', server: '192.0.2.1',
      serverMac: SERVER_MAC, leaseTime: 3600, t1: 1800, t2: 3150, obtainedAt: h.clock.now() - 200,
    });
    expect(h.client.lease).toBe(e!.lease);
    // three probes, then two announcements
    expect(h.arp.sent.filter((p) => p.senderIp === '0.0.0.0')).toHaveLength(3);
    await h.clock.advance(2000);
    expect(h.arp.sent.filter((p) => p.senderIp === '192.0.2.100').map((p) => p.targetIp)).toEqual(['192.0.2.100', '192.0.2.100']);
  });

  it('binds at once without a probe when ACD is off, or there is no ARP transport', async () => {
    for (const o of [{ acdTimeoutMs: 0 }, { arp: null }]) {
      const h = setup(o);
      h.client.start();
      await h.answer('offer');
      await h.answer('ack');
      expect(h.events.map((e) => e.kind)).toEqual(['bound']);
      expect(h.arp.sent).toEqual([]);
    }
  });

  it('does not move on until the daemon has applied the event', async () => {
    let applied!: () => void;
    const h = setup({ acdTimeoutMs: 0, onEvent: () => new Promise<void>((resolve) => (applied = resolve)) });
    await h.bind({ leaseTime: 100 });
    expect(h.client.state).toBe('bound');
    const sends = h.transport.sent.length;
    await h.clock.advance(60 * SECOND); // past T1 (50 s)
    expect(h.transport.sent.length).toBe(sends);
    applied();
    await settle();
    await h.clock.advance(0);
    expect(h.client.state).toBe('renewing');
    expect(h.transport.last.message).toMatchObject({ type: 'request', ciaddr: h.client.lease!.address });
  });

  it('goes on when the daemon fails to apply an event, and says so', async () => {
    const h = setup({ acdTimeoutMs: 0, onEvent: async () => { throw new Error('RTM_NEWADDR: EEXIST'); } });
    await h.bind({ yiaddr: '192.0.2.100', leaseTime: 100 });
    expect(h.lines.warn).toContain("eth0: the 'bound' of 192.0.2.100 was not applied: RTM_NEWADDR: EEXIST");
    await h.clock.advance(50 * SECOND);
    expect(h.client.state).toBe('renewing');
  });
});

describe('retransmission', () => {
  it('sends DISCOVER again after 4, 8, 16, 32, 64, 64 s, each ±1 s, with the same xid and a growing secs', async () => {
    const h = setup();
    h.client.start();
    await h.clock.advance(400 * SECOND);
    const discovers = h.transport.sent;
    expect(discovers.length).toBeGreaterThanOrEqual(8);
    const gaps = discovers.slice(1, 8).map((s, i) => (s.at - discovers[i]!.at) / SECOND);
    [4, 8, 16, 32, 64, 64, 64].forEach((base, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(base - 1);
      expect(gaps[i]).toBeLessThanOrEqual(base + 1);
    });
    expect(new Set(discovers.map((s) => s.message.xid)).size).toBe(1);
    expect(discovers[3]!.message.secs).toBe(Math.floor((discovers[3]!.at - discovers[0]!.at) / SECOND));
  });

  it('scales with retransmitMs: 1 s, 2 s, 4 s…, ±250 ms', async () => {
    const h = setup({ retransmitMs: 1000 });
    h.client.start();
    await h.clock.advance(20 * SECOND);
    const at = h.transport.sent.map((s) => s.at - h.transport.sent[0]!.at);
    const gaps = at.slice(1, 5).map((t, i) => t - at[i]!);
    [1000, 2000, 4000, 8000].forEach((base, i) => {
      expect(Math.abs(gaps[i]! - base)).toBeLessThanOrEqual(250);
    });
  });

  it('sends REQUEST four times, then starts over with a DISCOVER of a new xid', async () => {
    const h = setup({ retransmitMs: 1000 });
    h.client.start();
    const xid = h.transport.last.message.xid;
    await h.answer('offer');
    // sends at 0, 1, 3 and 7 s (each ±250 ms), giving up at 15 s (±1 s)
    await h.clock.advance(13 * SECOND);
    expect(h.types()).toEqual(['discover', 'request', 'request', 'request', 'request']);
    await h.clock.advance(3 * SECOND);
    expect(h.types().slice(0, 6)).toEqual(['discover', 'request', 'request', 'request', 'request', 'discover']);
    expect(h.transport.sent[5]!.message.xid).not.toBe(xid);
    expect(h.client.state).toBe('selecting');
  });

  it('logs a send that fails and sends again at the next interval', async () => {
    const h = setup({ retransmitMs: 1000 });
    h.transport.failWith = new Error('sendto on ifindex 3: ENETDOWN (the link is down)');
    h.client.start();
    expect(h.lines.warn).toEqual(['eth0: DISCOVER not sent: sendto on ifindex 3: ENETDOWN (the link is down)']);
    h.transport.failWith = null;
    await h.clock.advance(1300);
    expect(h.types()).toEqual(['discover']);
  });
});

describe('what is ignored', () => {
  it('replies with another xid, another chaddr, a request op, the wrong type for the state, or garbage', async () => {
    const h = setup({ acdTimeoutMs: 0 });
    h.client.start();
    const xid = h.transport.last.message.xid;
    await h.transport.deliver(serverReply('offer', { xid: xid + 1, mac: MAC }));
    await h.transport.deliver(serverReply('offer', { xid, mac: Buffer.from('020000000099', 'hex') }));
    const asRequest = serverReply('offer', { xid, mac: MAC });
    asRequest[0] = 1;
    await h.transport.deliver(asRequest);
    await h.transport.deliver(serverReply('ack', { xid, mac: MAC }));
    await h.transport.deliver(Buffer.from('not dhcp at all'));
    await h.transport.deliver(serverReply('offer', { xid, mac: MAC, server: null }));
    expect(h.client.state).toBe('selecting');
    expect(h.types()).toEqual(['discover']);
    expect(h.lines.warn).toContain('eth0: the offer from 192.0.2.1 names no server (option 54); ignored');
  });

  it('an ACK without a lease time, and keeps waiting for a good one', async () => {
    const h = setup({ acdTimeoutMs: 0 });
    h.client.start();
    await h.answer('offer');
    await h.answer('ack', { leaseTime: null });
    expect(h.client.state).toBe('requesting');
    expect(h.lines.warn).toContain('eth0: the ACK from 192.0.2.1 is ignored: it has no lease time (option 51), which a server must send');
    await h.answer('ack');
    expect(h.events.map((e) => e.kind)).toEqual(['bound']);
  });
});

describe('renewing and rebinding', () => {
  it('renews at T1 by unicast to the server through its hardware address; an unchanged ACK is "renewed"', async () => {
    const h = setup();
    await h.bind({ yiaddr: '192.0.2.100', leaseTime: 3600, dns: ['192.0.2.53'] });
    const first = h.client.lease!;
    const sends = h.transport.sent.length;
    await h.clock.advance(1800 * SECOND - 201);
    expect(h.transport.sent.length).toBe(sends);
    await h.clock.advance(1);
    expect(h.client.state).toBe('renewing');
    const renew = h.transport.last;
    expect(renew.message).toMatchObject({ type: 'request', ciaddr: '192.0.2.100', broadcast: false });
    expect(renew.message.options.has(OPT.REQUESTED_ADDRESS)).toBe(false);
    expect(renew.message.options.has(OPT.SERVER_ID)).toBe(false);
    expect(renew.to).toEqual({ sourceIp: '192.0.2.100', destinationIp: '192.0.2.1', destinationMac: SERVER_MAC });
    await h.answer('ack', { yiaddr: '192.0.2.100', leaseTime: 3600, dns: ['192.0.2.53'] });
    expect(h.events.map((e) => e.kind)).toEqual(['bound', 'renewed']);
    expect(h.events[1]).toMatchObject({ previous: first, server: '192.0.2.1' });
    expect(h.events[1]!.lease!.obtainedAt).toBe(h.clock.now());
    expect(h.client.state).toBe('bound');
    // no new probe for the same address, and the next renewal counts from this ACK
    expect(h.arp.sent.filter((p) => p.senderIp === '0.0.0.0')).toHaveLength(3);
    const renewedAt = h.clock.now();
    await h.clock.advance(1800 * SECOND);
    expect(h.transport.last.at).toBe(renewedAt + 1800 * SECOND);
  });

  it('an ACK at renewal with other values is "changed"; with another address it is probed first', async () => {
    const h = setup();
    await h.bind({ yiaddr: '192.0.2.100', leaseTime: 100, dns: ['192.0.2.53'] });
    await h.clock.advance(50 * SECOND);
    await h.answer('ack', { yiaddr: '192.0.2.100', leaseTime: 100, dns: ['192.0.2.54'] });
    expect(h.events.map((e) => e.kind)).toEqual(['bound', 'changed']);
    expect(h.events[1]!.lease!.dns).toEqual(['192.0.2.54']);
    expect(h.events[1]!.previous!.dns).toEqual(['192.0.2.53']);

    await h.clock.advance(50 * SECOND);
    await h.answer('ack', { yiaddr: '192.0.2.101', leaseTime: 100, dns: ['192.0.2.54'] });
    expect(h.client.state).toBe('probing');
    await h.clock.advance(200);
    expect(h.events.map((e) => e.kind)).toEqual(['bound', 'changed', 'changed']);
    expect(h.events[2]!.lease!.address).toBe('192.0.2.101');
    expect(h.arp.sent.filter((p) => p.senderIp === '0.0.0.0').map((p) => p.targetIp)).toEqual([...Array(3).fill('192.0.2.100'), ...Array(3).fill('192.0.2.101')]);
  });

  it('sends the renewal again after half the time left to T2, no sooner than 60 s; then rebinds at T2 by broadcast', async () => {
    const h = setup();
    await h.bind({ leaseTime: 3600 });
    const bound = h.clock.now() - 200;
    await h.clock.advance(3150 * SECOND);
    const renewals = h.transport.sent.filter((s) => s.message.type === 'request' && s.message.ciaddr !== '0.0.0.0');
    const at = renewals.map((s) => (s.at - bound) / SECOND);
    expect(at).toEqual([1800, 2475, 2812.5, 2981.25, 3065.625, 3125.625, 3150]);
    expect(h.client.state).toBe('rebinding');
    expect(h.transport.last.to).toEqual({ sourceIp: '192.0.2.100', destinationIp: '255.255.255.255', destinationMac: null });
    expect(h.transport.last.message).toMatchObject({ ciaddr: '192.0.2.100', broadcast: false });
  });

  it('rebinding takes an ACK from another server, which the next renewal goes to', async () => {
    const h = setup();
    await h.bind({ yiaddr: '192.0.2.100', leaseTime: 1000 });
    await h.clock.advance(875 * SECOND);
    expect(h.client.state).toBe('rebinding');
    await h.answer('ack', { yiaddr: '192.0.2.100', leaseTime: 1000, server: '198.51.100.1' }, { sourceIp: '198.51.100.1', sourceMac: '02:00:00:00:00:02' });
    expect(h.events.map((e) => e.kind)).toEqual(['bound', 'renewed']);
    expect(h.client.lease).toMatchObject({ server: '198.51.100.1', serverMac: '02:00:00:00:00:02' });
    await h.clock.advance(500 * SECOND);
    expect(h.client.state).toBe('renewing');
    expect(h.transport.last.to).toEqual({ sourceIp: '192.0.2.100', destinationIp: '198.51.100.1', destinationMac: '02:00:00:00:00:02' });
  });

  it('expires at the end of the lease without an ACK, then looks for a server again asking for the same address', async () => {
    const h = setup();
    await h.bind({ yiaddr: '192.0.2.100', leaseTime: 1000 });
    const lease = h.client.lease!;
    await h.clock.advance(1000 * SECOND - 201);
    expect(h.events.map((e) => e.kind)).toEqual(['bound']);
    await h.clock.advance(1);
    expect(h.events.map((e) => e.kind)).toEqual(['bound', 'expired']);
    expect(h.events[1]).toEqual({ kind: 'expired', lease: null, previous: lease, server: null });
    expect(h.client.lease).toBeNull();
    expect(h.client.state).toBe('selecting');
    expect(h.transport.last.message.type).toBe('discover');
    expect(option(h.transport.last, OPT.REQUESTED_ADDRESS)).toBe('c0000264');
  });

  it('after the host slept past T2 it rebinds at once, past the end it expires at once', async () => {
    const h = setup();
    await h.bind({ leaseTime: 1000 });
    h.clock.sleep(900 * SECOND);
    await h.clock.advance(0);
    expect(h.client.state).toBe('rebinding');
    h.clock.sleep(200 * SECOND);
    await h.clock.advance(0);
    expect(h.events.map((e) => e.kind)).toEqual(['bound', 'expired']);
  });

  it('a lease that never ends arms no timer', async () => {
    const h = setup();
    await h.bind({ leaseTime: 0xffffffff });
    await h.clock.advance(3000);
    expect(h.clock.pending).toBe(0);
    expect(h.client.state).toBe('bound');
  });
});

describe('NAK', () => {
  it('at renewal drops the lease ("nak"), then DISCOVER after a short delay', async () => {
    const h = setup({ retransmitMs: 1000 });
    await h.bind({ yiaddr: '192.0.2.100', leaseTime: 100 });
    const lease = h.client.lease!;
    await h.clock.advance(50 * SECOND);
    await h.answer('nak', { message: 'address not available' });
    expect(h.events[1]).toEqual({ kind: 'nak', lease: null, previous: lease, server: '192.0.2.1' });
    expect(h.client.lease).toBeNull();
    expect(h.lines.warn).toContain('eth0: 192.0.2.1 refused 192.0.2.100 (address not available); looking for a server again');
    const nakAt = h.clock.now();
    await h.clock.advance(250);
    expect(h.transport.last).toMatchObject({ at: nakAt + 250, message: { type: 'discover' } });
    expect(h.transport.last.message.options.has(OPT.REQUESTED_ADDRESS)).toBe(false);
  });

  it('in REQUESTING sends no event and starts over after a delay that grows with each NAK', async () => {
    const h = setup({ retransmitMs: 1000 });
    h.client.start();
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      await h.answer('offer');
      await h.answer('nak');
      const at = h.clock.now();
      await h.clock.advance(2000);
      delays.push(h.transport.sent.find((s) => s.at > at && s.message.type === 'discover')!.at - at);
    }
    expect(delays).toEqual([250, 500, 1000]);
    expect(h.events).toEqual([]);
  });
});

describe('DECLINE', () => {
  it('declines an offered address another host has, tells the daemon, and asks again after 10 s', async () => {
    const h = setup();
    h.arp.taken.set('192.0.2.100', '02:00:00:00:00:bb');
    h.client.start();
    await h.answer('offer', { yiaddr: '192.0.2.100' });
    await h.answer('ack', { yiaddr: '192.0.2.100' });
    await h.clock.advance(0);
    const decline = h.transport.last;
    expect(decline.message).toMatchObject({ type: 'decline', ciaddr: '0.0.0.0' });
    expect(option(decline, OPT.REQUESTED_ADDRESS)).toBe('c0000264');
    expect(option(decline, OPT.SERVER_ID)).toBe('c0000201');
    expect(decline.message.options.get(OPT.MESSAGE)!.toString()).toBe('address in use by 02:00:00:00:00:bb');
    expect(decline.to.destinationIp).toBe('255.255.255.255');
    expect(h.events).toHaveLength(1);
    expect(h.events[0]).toMatchObject({ kind: 'declined', lease: null, server: '192.0.2.1', previous: { address: '192.0.2.100' } });
    expect(h.client.lease).toBeNull();
    expect(h.lines.warn).toContain('eth0: 192.0.2.100 from 192.0.2.1 is in use by 02:00:00:00:00:bb on the link; declining it');
    const declinedAt = h.clock.now();
    await h.clock.advance(10 * SECOND);
    expect(h.transport.last).toMatchObject({ at: declinedAt + 10 * SECOND, message: { type: 'discover' } });
    expect(h.transport.last.message.options.has(OPT.REQUESTED_ADDRESS)).toBe(false);
  });
});

describe('INIT-REBOOT', () => {
  async function lastLease(o: Partial<ReplySpec> = {}): Promise<Dhcp4Lease> {
    const h = setup({ acdTimeoutMs: 0 });
    await h.bind({ yiaddr: '192.0.2.77', leaseTime: 3600, ...o });
    return h.client.lease!;
  }

  it('asks for the last lease again (50, no server id, broadcast) and binds it', async () => {
    const last = await lastLease();
    const h = setup({ lastLease: last });
    h.client.start();
    expect(h.client.state).toBe('init-reboot');
    const r = h.transport.last;
    expect(r.message).toMatchObject({ type: 'request', ciaddr: '0.0.0.0', broadcast: true });
    expect(option(r, OPT.REQUESTED_ADDRESS)).toBe('c000024d');
    expect(r.message.options.has(OPT.SERVER_ID)).toBe(false);
    expect(r.to.destinationIp).toBe('255.255.255.255');
    await h.answer('ack', { yiaddr: '192.0.2.77' });
    await h.clock.advance(200);
    expect(h.events.map((e) => e.kind)).toEqual(['bound']);
    expect(h.events[0]!.previous).toBeNull();
    expect(h.client.lease!.address).toBe('192.0.2.77');
  });

  it('a NAK refuses it ("nak" with the last lease as previous), then DISCOVER', async () => {
    const last = await lastLease();
    const h = setup({ lastLease: last, retransmitMs: 1000 });
    h.client.start();
    await h.answer('nak');
    expect(h.events).toEqual([{ kind: 'nak', lease: null, previous: last, server: '192.0.2.1' }]);
    await h.clock.advance(250);
    expect(h.types()).toEqual(['request', 'discover']);
  });

  it('no answer after three sends: DISCOVER, asking for the old address, without an event', async () => {
    const last = await lastLease();
    const h = setup({ lastLease: last, retransmitMs: 1000 });
    h.client.start();
    await h.clock.advance(6000);
    expect(h.types()).toEqual(['request', 'request', 'request']);
    await h.clock.advance(2000);
    expect(h.types().slice(0, 4)).toEqual(['request', 'request', 'request', 'discover']);
    expect(option(h.transport.sent[3]!, OPT.REQUESTED_ADDRESS)).toBe('c000024d');
    expect(h.events).toEqual([]);
  });

  it('a last lease that has expired is not asked for: DISCOVER at once', async () => {
    const last = await lastLease({ leaseTime: 10 });
    const h = setup({ lastLease: { ...last, obtainedAt: last.obtainedAt - 11 * SECOND } });
    h.client.start();
    expect(h.types()).toEqual(['discover']);
  });
});

describe('stop', () => {
  it('with release sends RELEASE unicast to the server, drops the lease and closes the transports', async () => {
    const h = setup();
    await h.bind({ yiaddr: '192.0.2.100' });
    await h.client.stop(true);
    const release = h.transport.last;
    expect(release.message).toMatchObject({ type: 'release', ciaddr: '192.0.2.100' });
    expect(option(release, OPT.SERVER_ID)).toBe('c0000201');
    expect(release.to).toEqual({ sourceIp: '192.0.2.100', destinationIp: '192.0.2.1', destinationMac: SERVER_MAC });
    expect(h.client.lease).toBeNull();
    expect(h.client.state).toBe('stopped');
    expect(h.transport.closed && h.arp.closed).toBe(true);
    expect(h.transport.listening).toBe(false);
    await h.clock.advance(10_000 * SECOND);
    expect(h.transport.last).toBe(release);
    expect(h.events.map((e) => e.kind)).toEqual(['bound']);
  });

  it('without release sends nothing and keeps the lease, for the next start', async () => {
    const h = setup();
    await h.bind();
    const sends = h.transport.sent.length;
    await h.client.stop(false);
    expect(h.transport.sent.length).toBe(sends);
    expect(h.client.lease).not.toBeNull();
    expect(h.clock.pending).toBe(0);
  });

  it('during the probe: no event, nothing more sent, no release for a lease not yet bound', async () => {
    const h = setup();
    h.client.start();
    await h.answer('offer');
    await h.answer('ack');
    await h.clock.advance(50);
    const sends = h.transport.sent.length;
    await h.client.stop(true);
    await h.clock.advance(60 * SECOND);
    expect(h.events).toEqual([]);
    expect(h.transport.sent.length).toBe(sends);
    expect(h.arp.listening).toBe(false);
  });

  it("while a renewal's new address is probed, releases the lease it still holds", async () => {
    const h = setup();
    await h.bind({ yiaddr: '192.0.2.100', leaseTime: 100 });
    await h.clock.advance(50 * SECOND);
    await h.answer('ack', { yiaddr: '192.0.2.101', leaseTime: 100 });
    expect(h.client.state).toBe('probing');
    await h.client.stop(true);
    expect(h.transport.last.message).toMatchObject({ type: 'release', ciaddr: '192.0.2.100' });
    expect(h.events.map((e) => e.kind)).toEqual(['bound']);
  });

  it('before any lease: only closes', async () => {
    const h = setup();
    h.client.start();
    await h.client.stop(true);
    expect(h.types()).toEqual(['discover']);
    expect(h.transport.closed).toBe(true);
  });
});

describe('options', () => {
  it('sends the client ID and parameter list it is given', async () => {
    const h = setup({ clientId: Buffer.from('ff00112233', 'hex'), requestedOptions: [1, 3, 121] });
    h.client.start();
    expect(option(h.transport.last, OPT.CLIENT_ID)).toBe('ff00112233');
    expect(option(h.transport.last, OPT.PARAMETER_REQUEST_LIST)).toBe('010379');
  });

  it('refuses a hardware address that is not 6 bytes', () => {
    expect(() => setup({ mac: Buffer.alloc(4) })).toThrow('eth0: a DHCP client needs a 6-byte hardware address, not 4 bytes');
  });

  it('logs the lease it takes', async () => {
    const h = setup();
    await h.bind({ yiaddr: '192.0.2.100', leaseTime: 600 });
    expect(h.lines.info).toContain('eth0: 192.0.2.100/24 from 192.0.2.1 for 600 s (bound)');
    expect(MAC_TEXT).toBe(h.arp.sent[0]!.senderMac);
  });
});
