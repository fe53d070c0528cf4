// ARP packets for IPv4 over Ethernet: the exact bytes of a probe, and what is not such a packet.
import { describe, expect, it } from 'vitest';
import { decodeArp, encodeArp } from '../../../../src/core/dhcp/arp-packet.js';

const PROBE = { op: 1, senderMac: '02:00:00:00:00:aa', senderIp: '0.0.0.0', targetMac: '00:00:00:00:00:00', targetIp: '192.0.2.100' };

describe('ARP packets', () => {
  it('writes a probe byte for byte', () => {
    expect(encodeArp(PROBE).toString('hex')).toBe('0001' + '0800' + '06' + '04' + '0001' + '0200000000aa' + '00000000' + '000000000000' + 'c0000264');
  });

  it('reads back what it writes, and a frame with padding after the packet', () => {
    expect(decodeArp(encodeArp(PROBE))).toEqual(PROBE);
    expect(decodeArp(Buffer.concat([encodeArp(PROBE), Buffer.alloc(18)]))).toEqual(PROBE);
  });

  it('is null for a short packet or another hardware or protocol type', () => {
    const b = encodeArp(PROBE);
    expect(decodeArp(b.subarray(0, 27))).toBeNull();
    for (const [at, value] of [[1, 6], [2, 0x86], [4, 8], [5, 16]] as const) {
      const c = Buffer.from(b);
      c[at] = value;
      expect(decodeArp(c)).toBeNull();
    }
  });
});
