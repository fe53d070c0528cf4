// IPv4 and UDP headers written and read in JS, for the DHCP client's
// packet socket (packet-socket.ts): before it has an address the kernel's
// UDP sockets cannot send from 0.0.0.0 to a given link and hardware address,
// nor receive what a server sends to an address the link does not have yet.
// docs/dhcp4.md describes the transport.

export interface Udp4Datagram {
  readonly source: string;
  readonly destination: string;
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly payload: Buffer;
}

const IPV4_HEADER = 20;
const UDP_HEADER = 8;
const IPPROTO_UDP = 17;
const DEFAULT_TTL = 64;
/** Don't Fragment: a DHCP message fits a frame, and with DF the identification may stay 0. */
const IP_DF = 0x4000;
const IP_MF = 0x2000;
const IP_OFFSET = 0x1fff;

/** The text of a dotted IPv4 address as 4 bytes; throws on anything else (a caller's mistake, not input). */
export function ipv4Bytes(address: string): Buffer {
  const parts = address.split('.');
  const out = Buffer.alloc(4);
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${JSON.stringify(address)}`);
  parts.forEach((p, i) => {
    const n = Number(p);
    if (!/^\d{1,3}$/.test(p) || n > 255) throw new Error(`not an IPv4 address: ${JSON.stringify(address)}`);
    out[i] = n;
  });
  return out;
}

export function ipv4Text(b: Buffer, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

/** The ones' complement sum of `data` (16-bit big-endian words), folded, not inverted. */
function onesSum(data: Buffer, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += data.readUInt16BE(i);
  if (i < end) sum += data[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The UDP checksum's pseudo-header sum: addresses, protocol, UDP length. */
function pseudoHeaderSum(packet: Buffer, sourceOffset: number, udpLength: number): number {
  return onesSum(packet, sourceOffset, sourceOffset + 8, IPPROTO_UDP + udpLength);
}

/** An IPv4 packet carrying `d` as UDP, both checksums filled in. */
export function encodeUdp4(d: Udp4Datagram): Buffer {
  const udpLength = UDP_HEADER + d.payload.length;
  const total = IPV4_HEADER + udpLength;
  if (total > 0xffff) throw new Error(`a UDP payload of ${d.payload.length} bytes does not fit an IPv4 packet`);
  const p = Buffer.alloc(total);
  p[0] = 0x45; // version 4, 5 words of header
  p.writeUInt16BE(total, 2);
  p.writeUInt16BE(IP_DF, 6);
  p[8] = DEFAULT_TTL;
  p[9] = IPPROTO_UDP;
  ipv4Bytes(d.source).copy(p, 12);
  ipv4Bytes(d.destination).copy(p, 16);
  p.writeUInt16BE(~onesSum(p, 0, IPV4_HEADER) & 0xffff, 10);
  p.writeUInt16BE(d.sourcePort, 20);
  p.writeUInt16BE(d.destinationPort, 22);
  p.writeUInt16BE(udpLength, 24);
  d.payload.copy(p, IPV4_HEADER + UDP_HEADER);
  const sum = ~onesSum(p, IPV4_HEADER, total, pseudoHeaderSum(p, 12, udpLength)) & 0xffff;
  // 0 means "no checksum" in UDP over IPv4; a computed 0 is sent as its other form.
  p.writeUInt16BE(sum === 0 ? 0xffff : sum, 26);
  return p;
}

export type Udp4Decoded = { readonly datagram: Udp4Datagram } | { readonly invalid: string };

/**
 * The UDP datagram in an IPv4 packet as a packet socket gives it (from the IP
 * header on), or why it is not one to take. `checksumReady` is false when the
 * kernel says the sender left the UDP checksum to be completed by hardware
 * (a packet from this host, or through a veth): then it cannot be checked.
 * Never throws: the bytes come from the network.
 */
export function decodeUdp4(packet: Buffer, checksumReady: boolean): Udp4Decoded {
  if (packet.length < IPV4_HEADER) return { invalid: `${packet.length} bytes, shorter than an IPv4 header` };
  if (packet[0]! >> 4 !== 4) return { invalid: `IP version ${packet[0]! >> 4}` };
  const headerLength = (packet[0]! & 0x0f) * 4;
  if (headerLength < IPV4_HEADER || headerLength > packet.length) return { invalid: `IPv4 header length ${headerLength}` };
  const total = packet.readUInt16BE(2);
  // A frame may carry padding after the packet (Ethernet's minimum size), never less than it.
  if (total < headerLength + UDP_HEADER || total > packet.length) return { invalid: `IPv4 total length ${total} of a ${packet.length}-byte packet` };
  if (packet.readUInt16BE(6) & (IP_MF | IP_OFFSET)) return { invalid: 'a fragment' };
  if (packet[9] !== IPPROTO_UDP) return { invalid: `IP protocol ${packet[9]}` };
  if (onesSum(packet, 0, headerLength) !== 0xffff) return { invalid: 'bad IPv4 header checksum' };
  const udpLength = packet.readUInt16BE(headerLength + 4);
  if (udpLength < UDP_HEADER || headerLength + udpLength > total) return { invalid: `UDP length ${udpLength} in a ${total}-byte packet` };
  const udpEnd = headerLength + udpLength;
  const checksum = packet.readUInt16BE(headerLength + 6);
  if (checksum !== 0 && checksumReady && onesSum(packet, headerLength, udpEnd, pseudoHeaderSum(packet, 12, udpLength)) !== 0xffff) {
    return { invalid: 'bad UDP checksum' };
  }
  return {
    datagram: {
      source: ipv4Text(packet, 12),
      destination: ipv4Text(packet, 16),
      sourcePort: packet.readUInt16BE(headerLength),
      destinationPort: packet.readUInt16BE(headerLength + 2),
      payload: Buffer.from(packet.subarray(headerLength + UDP_HEADER, udpEnd)),
    },
  };
}
