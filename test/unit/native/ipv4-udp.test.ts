// IPv4 and UDP headers made and read in JS: exact bytes of a packet we send, both checksums checked
// against independently computed values, and every kind of broken packet refused without a throw.
import { describe, expect, it } from 'vitest';
import { decodeUdp4, encodeUdp4 } from '../../../src/native/ipv4-udp.js';

const DISCOVERISH = { source: '0.0.0.0', destination: '255.255.255.255', sourcePort: 68, destinationPort: 67, payload: Buffer.from('hello dhcp') };

/** The internet checksum, written out plainly (a second implementation to compare against). */
function checksum(bytes: number[]): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) + (bytes[i + 1] ?? 0);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

describe('encodeUdp4', () => {
  it('writes an IPv4 header with DF, TTL 64, UDP, and a header checksum that verifies', () => {
    const p = encodeUdp4(DISCOVERISH);
    expect(p.length).toBe(20 + 8 + 10);
    expect(p.subarray(0, 20).toString('hex')).toMatch(/^45000026000040004011[0-9a-f]{4}00000000ffffffff$/);
    expect(checksum([...p.subarray(0, 20)])).toBe(0);
  });

  it('writes UDP ports, length and the checksum over the pseudo-header', () => {
    const p = encodeUdp4({ ...DISCOVERISH, source: '192.0.2.10', destination: '192.0.2.1', payload: Buffer.from([1, 2, 3]) });
    expect(p.readUInt16BE(20)).toBe(68);
    expect(p.readUInt16BE(22)).toBe(67);
    expect(p.readUInt16BE(24)).toBe(11);
    const pseudo = [...p.subarray(12, 20), 0, 17, 0, 11];
    expect(checksum([...pseudo, ...p.subarray(20)])).toBe(0);
  });
});

describe('decodeUdp4', () => {
  it('reads back what encodeUdp4 wrote', () => {
    const r = decodeUdp4(encodeUdp4(DISCOVERISH), true);
    expect(r).toEqual({ datagram: DISCOVERISH });
  });

  it('ignores padding after the packet (a short Ethernet frame is padded to 60 bytes)', () => {
    const r = decodeUdp4(Buffer.concat([encodeUdp4(DISCOVERISH), Buffer.alloc(12)]), true);
    expect(r).toEqual({ datagram: DISCOVERISH });
  });

  it('refuses a corrupted UDP checksum, but takes it when the kernel says the checksum is not filled in yet', () => {
    const p = encodeUdp4(DISCOVERISH);
    p[30] ^= 0xff; // payload byte
    expect(decodeUdp4(p, true)).toEqual({ invalid: 'bad UDP checksum' });
    expect('datagram' in decodeUdp4(p, false)).toBe(true);
  });

  it('takes a UDP checksum of 0 (none sent)', () => {
    const p = encodeUdp4(DISCOVERISH);
    p.writeUInt16BE(0, 26);
    expect('datagram' in decodeUdp4(p, true)).toBe(true);
  });

  it.each([
    ['too short', (p: Buffer) => p.subarray(0, 19), /shorter than an IPv4 header/],
    ['IPv6', (p: Buffer) => ((p[0] = 0x65), p), /IP version 6/],
    ['header length 4 words', (p: Buffer) => ((p[0] = 0x44), p), /header length 16/],
    ['total length past the end', (p: Buffer) => (p.writeUInt16BE(500, 2), p), /total length 500/],
    ['a fragment', (p: Buffer) => (p.writeUInt16BE(0x2000, 6), p), /fragment/],
    ['TCP', (p: Buffer) => ((p[9] = 6), p), /protocol 6/],
    ['a bad header checksum', (p: Buffer) => ((p[8] = 1), p), /header checksum/],
    ['UDP length past the packet', (p: Buffer) => (p.writeUInt16BE(200, 24), p), /UDP length 200/],
  ])('refuses %s', (_name, spoil, reason) => {
    const r = decodeUdp4(spoil(encodeUdp4(DISCOVERISH)), true);
    expect('invalid' in r && r.invalid).toMatch(reason);
  });

  it('never throws on random bytes', () => {
    for (let i = 0; i < 5000; i++) {
      const b = Buffer.alloc(Math.floor(Math.random() * 80));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(Math.random() * 256);
      if (Math.random() < 0.5 && b.length > 0) b[0] = 0x45;
      expect(() => decodeUdp4(b, Math.random() < 0.5)).not.toThrow();
    }
  });
});
