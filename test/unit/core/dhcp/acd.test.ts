// Address conflict detection with a fake clock and a fake ARP link: the probes and their timing,
// what counts as a conflict and what does not, the announcements, and stopping.
import { describe, expect, it } from 'vitest';
import { Acd } from '../../../../src/core/dhcp/acd.js';
import { FakeArp, FakeClock, memoryLog, settle } from './fakes.js';

const OURS = '02:00:00:00:00:aa';
const OTHER = '02:00:00:00:00:bb';

function setup() {
  const clock = new FakeClock();
  const arp = new FakeArp(clock);
  const { log, lines } = memoryLog();
  const acd = new Acd({ arp, clock, mac: OURS, log });
  return { clock, arp, acd, lines };
}

describe('Acd.probe', () => {
  it('sends three probes over the time given, with no sender address, and finds the address free when nobody answers', async () => {
    const { clock, arp, acd } = setup();
    const start = clock.now();
    let result: unknown = null;
    void acd.probe('192.0.2.100', 300).then((r) => (result = r));
    await clock.advance(299);
    expect(result).toBeNull();
    expect(arp.listening).toBe(true);
    await clock.advance(1);
    expect(result).toEqual({ outcome: 'free' });
    expect(arp.sent.map((p) => p.at - start)).toEqual([0, 100, 200]);
    for (const p of arp.sent) {
      expect(p).toMatchObject({ op: 1, senderMac: OURS, senderIp: '0.0.0.0', targetMac: '00:00:00:00:00:00', targetIp: '192.0.2.100' });
    }
    expect(arp.listening).toBe(false);
  });

  it('finds a conflict as soon as another host answers for the address, and stops probing', async () => {
    const { clock, arp, acd } = setup();
    arp.taken.set('192.0.2.100', OTHER);
    let result: unknown = null;
    void acd.probe('192.0.2.100', 200).then((r) => (result = r));
    await clock.advance(0);
    expect(result).toEqual({ outcome: 'conflict', mac: OTHER });
    await clock.advance(1000);
    expect(arp.sent).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });

  it('takes another host probing for the same address as a conflict', async () => {
    const { clock, arp, acd } = setup();
    const p = acd.probe('192.0.2.100', 200);
    await clock.advance(50);
    arp.deliver({ op: 1, senderMac: OTHER, senderIp: '0.0.0.0', targetMac: '00:00:00:00:00:00', targetIp: '192.0.2.100' });
    expect(await p).toEqual({ outcome: 'conflict', mac: OTHER });
  });

  it('ignores our own packets and ARP about other addresses', async () => {
    const { clock, arp, acd } = setup();
    const p = acd.probe('192.0.2.100', 200);
    await clock.advance(10);
    arp.deliver({ op: 2, senderMac: OURS, senderIp: '192.0.2.100', targetMac: OTHER, targetIp: '192.0.2.1' });
    arp.deliver({ op: 1, senderMac: OTHER, senderIp: '192.0.2.7', targetMac: '00:00:00:00:00:00', targetIp: '192.0.2.100' });
    arp.deliver({ op: 2, senderMac: OTHER, senderIp: '192.0.2.101', targetMac: OURS, targetIp: '0.0.0.0' });
    arp.deliver({ op: 1, senderMac: OTHER, senderIp: '0.0.0.0', targetMac: '00:00:00:00:00:00', targetIp: '192.0.2.101' });
    await clock.advance(190);
    expect(await p).toEqual({ outcome: 'free' });
  });

  it('takes an address as free when ARP cannot be sent, and says why in the log', async () => {
    const { clock, arp, acd, lines } = setup();
    arp.send = () => {
      throw new Error('sendto on ifindex 3: ENETDOWN (the link is down)');
    };
    const p = acd.probe('192.0.2.100', 200);
    await clock.advance(200);
    expect(await p).toEqual({ outcome: 'free' });
    expect(lines.warn[0]).toBe('ARP probe for 192.0.2.100 not sent: sendto on ifindex 3: ENETDOWN (the link is down)');
  });

  it('stop() resolves a running probe as cancelled and stops listening', async () => {
    const { clock, arp, acd } = setup();
    const p = acd.probe('192.0.2.100', 200);
    await clock.advance(10);
    acd.stop();
    expect(await p).toEqual({ outcome: 'cancelled' });
    expect(arp.listening).toBe(false);
    await clock.advance(500);
    expect(arp.sent).toHaveLength(1);
  });
});

describe('Acd.announce', () => {
  it('sends two announcements 2 s apart, the address as sender and target', async () => {
    const { clock, arp, acd } = setup();
    const start = clock.now();
    acd.announce('192.0.2.100');
    await clock.advance(5000);
    expect(arp.sent.map((p) => p.at - start)).toEqual([0, 2000]);
    for (const p of arp.sent) expect(p).toMatchObject({ op: 1, senderMac: OURS, senderIp: '192.0.2.100', targetIp: '192.0.2.100', targetMac: '00:00:00:00:00:00' });
  });

  it('stop() keeps announcements not yet sent from going out', async () => {
    const { clock, arp, acd } = setup();
    acd.announce('192.0.2.100');
    await settle();
    await clock.advance(0);
    acd.stop();
    await clock.advance(5000);
    expect(arp.sent).toHaveLength(1);
  });
});
