// ARP packets for IPv4 over Ethernet, as the address conflict check sends
// and reads them (docs/dhcp4.md): the 28 bytes after the link header.
import type { ArpPacket } from './dhcp4-transport.js';

const ARP_LENGTH = 28;
const HTYPE_ETHERNET = 1;
const PTYPE_IPV4 = 0x0800;

function mac(b: Buffer, at: number): string {
  return [...b.subarray(at, at + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function ip(b: Buffer, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function putMac(b: Buffer, at: number, text: string): void {
  const bytes = Buffer.from(text.replace(/:/g, ''), 'hex');
  if (bytes.length !== 6) throw new Error(`not a hardware address: ${JSON.stringify(text)}`);
  bytes.copy(b, at);
}

function putIp(b: Buffer, at: number, text: string): void {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) throw new Error(`not an IPv4 address: ${JSON.stringify(text)}`);
  parts.forEach((n, i) => (b[at + i] = n));
}

export function encodeArp(p: ArpPacket): Buffer {
  const b = Buffer.alloc(ARP_LENGTH);
  b.writeUInt16BE(HTYPE_ETHERNET, 0);
  b.writeUInt16BE(PTYPE_IPV4, 2);
  b[4] = 6;
  b[5] = 4;
  b.writeUInt16BE(p.op, 6);
  putMac(b, 8, p.senderMac);
  putIp(b, 14, p.senderIp);
  putMac(b, 18, p.targetMac);
  putIp(b, 24, p.targetIp);
  return b;
}

/** The packet, or null when it is not IPv4-over-Ethernet ARP (the bytes come from the network). */
export function decodeArp(b: Buffer): ArpPacket | null {
  if (b.length < ARP_LENGTH) return null;
  if (b.readUInt16BE(0) !== HTYPE_ETHERNET || b.readUInt16BE(2) !== PTYPE_IPV4 || b[4] !== 6 || b[5] !== 4) return null;
  return { op: b.readUInt16BE(6), senderMac: mac(b, 8), senderIp: ip(b, 14), targetMac: mac(b, 18), targetIp: ip(b, 24) };
}
