// rtnetlink codec: the bytes of the rtnetlink messages the daemon sends and
// reads (the requests it builds, the link, address and error messages it
// decodes) and the protocol's constants. Pure: no socket, and decoding never
// throws.
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

const NLMSG_HDRLEN = 16;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP = 0x300;
const NLM_F_CAPPED = 0x100;
const NLM_F_ACK_TLVS = 0x200;
const NLMSGERR_ATTR_MSG = 1;

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
const RTM_GETADDR = 22;

export const RTMGRP_LINK = 0x1;
export const RTMGRP_IPV4_IFADDR = 0x10;
export const RTMGRP_IPV6_IFADDR = 0x100;
/** RTNLGRP_IPV6_IFINFO: where the kernel announces a change of a link's IPv6 part (AF_INET6 RTM_NEWLINK) */
export const RTMGRP_IPV6_IFINFO = 0x800;
export const RTMGRP_IPV4_ROUTE = 0x40;
export const RTMGRP_IPV6_ROUTE = 0x400;

export const IFINFOMSG_LEN = 16;
export const IFADDRMSG_LEN = 8;
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_MASTER = 10;
/** IFLA_LINK: a veth's peer, a macvlan's or vlan's parent */
const IFLA_LINK = 5;
/** IFLA_LINK_NETNSID: the namespace IFLA_LINK is in, when it is another */
const IFLA_LINK_NETNSID = 37;
const IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18;
export const IFLA_EXT_MASK = 29;
/** IFLA_AF_SPEC: per address family attributes, nested by family */
const IFLA_AF_SPEC = 26;
/** IFLA_INET6_FLAGS (in IFLA_AF_SPEC → AF_INET6): the link's IPv6 flags, u32 */
const IFLA_INET6_FLAGS = 1;
/** IF_RA_MANAGED: the last router advertisement had the M flag (addresses from DHCPv6) */
export const IF_RA_MANAGED = 0x40;
/** IF_RA_OTHERCONF: the last router advertisement had the O flag (other configuration from DHCPv6) */
export const IF_RA_OTHERCONF = 0x80;
export const IFLA_INFO_KIND = 1;
export const RTEXT_FILTER_VF = 1;
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
const NLA_TYPE_MASK = 0x3fff;

export const IFF_UP = 0x1;
export const IFF_LOWER_UP = 0x10000;

/** One netlink message: its header fields and its payload (a view into the datagram). */
export interface NetlinkMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  /** nlmsg_pid: the port id of the socket whose request caused an event, when the kernel says (0 otherwise) */
  readonly pid: number;
  readonly body: Buffer;
}

/** RTM_NEWLINK / RTM_DELLINK, decoded. */
export interface LinkMessage {
  readonly ifindex: number;
  /** ARPHRD_* (1 ethernet, 772 loopback) */
  readonly arphrd: number;
  /** IFF_* */
  readonly flags: number;
  readonly name: string | null;
  readonly mtu: number | null;
  /** lower-case colon hex, as ip(8) prints it; null without IFLA_ADDRESS */
  readonly address: string | null;
  /** IF_OPER_* (RFC 2863) */
  readonly operstate: number | null;
  /** IFLA_INFO_KIND: veth, bridge, macvlan, vxlan… */
  readonly kind: string | null;
  readonly master: number | null;
  /** IFLA_INET6_FLAGS: IF_RA_MANAGED, IF_RA_OTHERCONF…; null when the message has no IPv6 part */
  readonly inet6Flags: number | null;
  /** IFLA_LINK: the peer of a veth, the parent of a macvlan or vlan (in its own namespace, maybe another) */
  readonly link: number | null;
  /** IFLA_LINK_NETNSID: set when `link` is an ifindex of another namespace */
  readonly linkNetnsid: number | null;
}

/** RTM_NEWADDR / RTM_DELADDR, decoded. */
export interface AddressMessage {
  readonly ifindex: number;
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefix: number;
  /** set when the kernel keeps it for a limited time (no IFA_F_PERMANENT): SLAAC's, or one with a lifetime */
  readonly dynamic?: true;
  /** IFA_PROTO: who made it, when the kernel says (1 loopback, 2 router advertisement, 3 link-local) */
  readonly proto?: number;
  /** IPv6: a temporary address the kernel made for privacy (IFA_F_TEMPORARY, RFC 8981) */
  readonly temporary?: true;
  /** IFA_CACHEINFO's valid lifetime in seconds, for a dynamic address */
  readonly validLft?: number;
}

/** IFA_FLAGS: the address's flags, 32 bits (ifa_flags holds the low 8) */
const IFA_FLAGS = 8;
/** IFA_F_PERMANENT: the address has no lifetime */
const IFA_F_PERMANENT = 0x80;
/** IFA_F_TEMPORARY: an IPv6 privacy address (the same bit is IFA_F_SECONDARY for IPv4) */
const IFA_F_TEMPORARY = 0x01;
/** IFA_CACHEINFO: struct ifa_cacheinfo, ifa_prefered then ifa_valid (seconds) */
const IFA_CACHEINFO = 6;
/** IFA_PROTO (Linux 5.18): IFAPROT_UNSPEC 0, KERNEL_LO 1, KERNEL_RA 2, KERNEL_LL 3 */
const IFA_PROTO = 11;

// ---- encoding ----

const align4 = (n: number): number => (n + 3) & ~3;

/** One attribute (struct nlattr): length, type, payload, padded to 4 bytes. */
export function attribute(type: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(align4(4 + payload.length));
  out.writeUInt16LE(4 + payload.length, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

/** A native-endian (little-endian here) u32 attribute payload. */
export function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value >>> 0, 0);
  return out;
}

/** A netlink message: the 16-byte header (pid 0: to the kernel) and the payload. */
export function encodeMessage(type: number, flags: number, seq: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(NLMSG_HDRLEN);
  header.writeUInt32LE(NLMSG_HDRLEN + payload.length, 0);
  header.writeUInt16LE(type, 4);
  header.writeUInt16LE(flags, 6);
  header.writeUInt32LE(seq >>> 0, 8);
  return Buffer.concat([header, payload]);
}

/** RTM_GETLINK dump of every link; IFLA_EXT_MASK asks for no per-VF data (it can overflow a datagram). */
export function linkDumpRequest(seq: number): Buffer {
  const ifinfo = Buffer.alloc(IFINFOMSG_LEN); // family AF_UNSPEC, index 0: all links
  return encodeMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq, Buffer.concat([ifinfo, attribute(IFLA_EXT_MASK, u32(RTEXT_FILTER_VF))]));
}

/** RTM_DELLINK of the link with `ifindex`, acknowledged (the ack carries the kernel's errno and extended-ack text). */
export function deleteLinkRequest(seq: number, ifindex: number): Buffer {
  const ifinfo = Buffer.alloc(IFINFOMSG_LEN); // family AF_UNSPEC
  ifinfo.writeInt32LE(ifindex, 4);
  return encodeMessage(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifinfo);
}

/** RTM_GETADDR dump of every IPv4 and IPv6 address. */
export function addressDumpRequest(seq: number): Buffer {
  const ifaddr = Buffer.alloc(IFADDRMSG_LEN); // family AF_UNSPEC: both
  return encodeMessage(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq, ifaddr);
}

// ---- decoding: a malformed part is skipped, never thrown ----

/** The messages of one datagram; decoding stops at a header that does not fit. */
export function splitMessages(data: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= data.length) {
    const len = data.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > data.length) break;
    out.push({ type: data.readUInt16LE(off + 4), flags: data.readUInt16LE(off + 6), seq: data.readUInt32LE(off + 8), pid: data.readUInt32LE(off + 12), body: data.subarray(off + NLMSG_HDRLEN, off + len) });
    off += align4(len);
  }
  return out;
}

/** Attributes from `offset` on, by type (the nested/byte-order bits masked off); stops at one that does not fit. */
export function parseAttributes(data: Buffer, offset = 0): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let off = offset;
  while (off + 4 <= data.length) {
    const len = data.readUInt16LE(off);
    if (len < 4 || off + len > data.length) break;
    out.set(data.readUInt16LE(off + 2) & NLA_TYPE_MASK, data.subarray(off + 4, off + len));
    off += align4(len);
  }
  return out;
}

function cString(value: Buffer | undefined): string | null {
  if (!value) return null;
  const nul = value.indexOf(0);
  return value.toString('utf8', 0, nul < 0 ? value.length : nul);
}

function readU32(value: Buffer | undefined): number | null {
  return value && value.length >= 4 ? value.readUInt32LE(0) : null;
}

function hex(value: Buffer): string {
  return [...value].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** RTM_NEWLINK/RTM_DELLINK body; null when it is too short or not an AF_UNSPEC link (bridge port messages are AF_BRIDGE). */
export function decodeLink(body: Buffer): LinkMessage | null {
  if (body.length < IFINFOMSG_LEN || body.readUInt8(0) !== AF_UNSPEC) return null;
  const attrs = parseAttributes(body, IFINFOMSG_LEN);
  const info = attrs.get(IFLA_LINKINFO);
  const operstate = attrs.get(IFLA_OPERSTATE);
  const address = attrs.get(IFLA_ADDRESS);
  return {
    ifindex: body.readInt32LE(4),
    arphrd: body.readUInt16LE(2),
    flags: body.readUInt32LE(8),
    name: cString(attrs.get(IFLA_IFNAME)),
    mtu: readU32(attrs.get(IFLA_MTU)),
    address: address && address.length > 0 ? hex(address) : null,
    operstate: operstate && operstate.length >= 1 ? operstate.readUInt8(0) : null,
    kind: info ? cString(parseAttributes(info).get(IFLA_INFO_KIND)) : null,
    master: readU32(attrs.get(IFLA_MASTER)),
    inet6Flags: inet6Flags(attrs.get(IFLA_AF_SPEC)),
    link: readU32(attrs.get(IFLA_LINK)),
    linkNetnsid: readU32(attrs.get(IFLA_LINK_NETNSID)),
  };
}

/** IFLA_PROTINFO: in an AF_INET6 RTM_NEWLINK, the link's IPv6 attributes (IFLA_INET6_*) */
const IFLA_PROTINFO = 12;

/**
 * An AF_INET6 RTM_NEWLINK: what the kernel sends when the IPv6 part of a link changes, the
 * flags of a router advertisement among it (IFLA_PROTINFO → IFLA_INET6_FLAGS); null for any
 * other message.
 */
export function decodeInet6Link(body: Buffer): { ifindex: number; inet6Flags: number } | null {
  if (body.length < IFINFOMSG_LEN || body.readUInt8(0) !== AF_INET6) return null;
  const info = parseAttributes(body, IFINFOMSG_LEN).get(IFLA_PROTINFO);
  const flags = info ? readU32(parseAttributes(info).get(IFLA_INET6_FLAGS)) : null;
  return flags === null ? null : { ifindex: body.readInt32LE(4), inet6Flags: flags };
}

/** IFLA_AF_SPEC → AF_INET6 → IFLA_INET6_FLAGS, where the kernel keeps the flags of the last router advertisement. */
function inet6Flags(afSpec: Buffer | undefined): number | null {
  const inet6 = afSpec ? parseAttributes(afSpec).get(AF_INET6) : undefined;
  return inet6 ? readU32(parseAttributes(inet6).get(IFLA_INET6_FLAGS)) : null;
}

/** An IPv6 address's 16 bytes as text, RFC 5952's way. */
export function ipv6String(b: Buffer): string {
  const groups = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  // RFC 5952: the longest run (of two or more) of zero groups becomes "::"
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const text = groups.map((g) => g.toString(16));
  if (best < 0) return text.join(':');
  return `${text.slice(0, best).join(':')}::${text.slice(best + bestLen).join(':')}`;
}

/** RTM_NEWADDR/RTM_DELADDR body; null when it is too short, of another family or without an address. */
export function decodeAddress(body: Buffer): AddressMessage | null {
  if (body.length < IFADDRMSG_LEN) return null;
  const family = body.readUInt8(0);
  const attrs = parseAttributes(body, IFADDRMSG_LEN);
  // IPv4 puts the peer of a point-to-point address in IFA_ADDRESS and our own in IFA_LOCAL.
  const raw = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
  const ifindex = body.readUInt32LE(4);
  const prefix = body.readUInt8(1);
  const flagsAttr = attrs.get(IFA_FLAGS);
  const flags = flagsAttr && flagsAttr.length >= 4 ? flagsAttr.readUInt32LE(0) : body.readUInt8(2);
  const cache = attrs.get(IFA_CACHEINFO);
  const proto = attrs.get(IFA_PROTO);
  const more = {
    ...((flags & IFA_F_PERMANENT) === 0 ? { dynamic: true as const, ...(cache && cache.length >= 8 ? { validLft: cache.readUInt32LE(4) } : {}) } : {}),
    ...(proto && proto.length >= 1 && proto.readUInt8(0) !== 0 ? { proto: proto.readUInt8(0) } : {}),
  };
  if (family === AF_INET && raw?.length === 4) return { ifindex, family: 4, address: [...raw].join('.'), prefix, ...more };
  if (family === AF_INET6 && raw?.length === 16) return { ifindex, family: 6, address: ipv6String(raw), prefix, ...more, ...(flags & IFA_F_TEMPORARY ? { temporary: true as const } : {}) };
  return null;
}

/** NLMSG_ERROR body: errno 0 is an ack; the extended ack text when the kernel sent one. */
export function decodeError(message: NetlinkMessage): { errno: number; extAck: string | null } {
  if (message.body.length < 4) return { errno: 71 /* EPROTO */, extAck: null };
  const errno = Math.abs(message.body.readInt32LE(0)); // the kernel sends -errno
  if (!(message.flags & NLM_F_ACK_TLVS)) return { errno, extAck: null };
  // The request's header (capped) or the whole request follows the error code.
  const echoed = message.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : message.body.length >= 8 ? message.body.readUInt32LE(4) : 0;
  return { errno, extAck: cString(parseAttributes(message.body, align4(4 + echoed)).get(NLMSGERR_ATTR_MSG)) };
}
