// The DNS options of a router advertisement, as the kernel hands them over (rtnetlink-nduseropt.ts)
// and the daemon uses them (docs/dhcp.md): recursive DNS servers (type 25: 2 reserved bytes, a
// 32-bit lifetime in seconds, then IPv6 addresses of 16 bytes) and the DNS search list (type 31:
// the same header, then domain names as DNS writes them on the wire, uncompressed, zero-padded to
// a multiple of 8 bytes). Every option is a type byte and a length byte counting units of 8 bytes,
// header included. Pure: a malformed option is skipped, never thrown.
import type { RaDnsOption } from '../core/platform/platform.js';
import { ipv6String } from './rtnetlink-codec.js';

export const ND_OPT_RDNSS = 25;
export const ND_OPT_DNSSL = 31;

/** All ones: valid for as long as the link lasts. */
const INFINITE = 0xffffffff;
/** type, length, 2 reserved bytes, lifetime */
const HEADER = 8;
const MAX_LABEL = 63;
const MAX_NAME = 253;

export type RaDnsValues = Pick<RaDnsOption, 'kind' | 'values' | 'lifetime'>;

/** The DNS servers and search lists among `options`, in order; other options are passed over. */
export function decodeRaDnsOptions(options: Buffer): RaDnsValues[] {
  const out: RaDnsValues[] = [];
  let off = 0;
  while (off + 2 <= options.length) {
    const type = options.readUInt8(off);
    const length = options.readUInt8(off + 1) * 8;
    // A length of 0 would never end; one past the end is a cut message.
    if (length === 0 || off + length > options.length) break;
    const option = options.subarray(off, off + length);
    off += length;
    if ((type !== ND_OPT_RDNSS && type !== ND_OPT_DNSSL) || length < HEADER) continue;
    const raw = option.readUInt32BE(4);
    const lifetime = raw === INFINITE ? null : raw;
    if (type === ND_OPT_RDNSS) {
      // At least one address, and whole ones: the length is 1 + 2 per address.
      if (length < HEADER + 16 || (length - HEADER) % 16 !== 0) continue;
      const values: string[] = [];
      for (let at = HEADER; at < length; at += 16) values.push(ipv6String(option.subarray(at, at + 16)));
      out.push({ kind: 'servers', values, lifetime });
    } else {
      const values = domainNames(option.subarray(HEADER));
      if (values !== null && values.length > 0) out.push({ kind: 'searches', values, lifetime });
    }
  }
  return out;
}

/**
 * Domain names in the wire form: each a run of labels (a length byte, then as many bytes), ended
 * by a zero byte; zero bytes where a name would start are padding. A label of more than 63 bytes
 * (a compression pointer among them) makes the whole list malformed: null. A name whose labels are
 * not letters, digits, '-' and '_' cannot be written as text without ambiguity and is left out.
 */
function domainNames(data: Buffer): string[] | null {
  const names: string[] = [];
  let off = 0;
  while (off < data.length) {
    if (data[off] === 0) {
      off++;
      continue;
    }
    const labels: string[] = [];
    let plain = true;
    let size = 0;
    for (;;) {
      if (off >= data.length) return null;
      const len = data.readUInt8(off++);
      if (len === 0) break;
      if (len > MAX_LABEL || off + len > data.length) return null;
      const label = data.subarray(off, off + len);
      off += len;
      size += len + 1;
      if (!label.every((b) => (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x5f)) plain = false;
      labels.push(label.toString('ascii'));
    }
    if (plain && size <= MAX_NAME + 1 && !names.includes(labels.join('.'))) names.push(labels.join('.'));
  }
  return names;
}
