// rtnetlink change requests: the bytes of the messages that create and change
// links, add and remove addresses and routes (RTM_NEWLINK, RTM_GETLINK by
// name, RTM_NEWADDR/RTM_DELADDR, RTM_NEWROUTE/RTM_DELROUTE), and the parsing
// of the text addresses they carry. Pure: no socket. Constants are those of
// the kernel's uapi headers (linux/rtnetlink.h, if_link.h, if_addr.h, veth.h).
import { isIPv4, isIPv6 } from 'node:net';
import type { Address, LinkChange, LinkSpec, Route } from '../core/platform/platform.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  attribute,
  encodeMessage,
  IFA_ADDRESS,
  IFA_LOCAL,
  IFADDRMSG_LEN,
  IFF_UP,
  IFINFOMSG_LEN,
  IFLA_ADDRESS,
  IFLA_EXT_MASK,
  IFLA_IFNAME,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_MTU,
  NLM_F_ACK,
  NLM_F_REQUEST,
  RTEXT_FILTER_VF,
  RTM_DELADDR,
  RTM_GETLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
  u32,
} from './rtnetlink-codec.js';

/** NLM_F_CREATE: create the object if it does not exist. */
export const NLM_F_CREATE = 0x400;
/** NLM_F_EXCL: fail with EEXIST if it already exists. */
export const NLM_F_EXCL = 0x200;
/** Set on the type of an attribute that holds attributes, as iproute2 does. */
export const NLA_F_NESTED = 0x8000;

export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;

const IFLA_LINK = 5;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;
const IFLA_VLAN_ID = 1;
const IFLA_MACVLAN_MODE = 1;
const IFLA_MACVLAN_FLAGS = 2;
const MACVLAN_FLAG_NOPROMISC = 1;
/** IFLA_VLAN_FLAGS: struct ifla_vlan_flags { flags, mask } */
const IFLA_VLAN_FLAGS = 2;
const VLAN_FLAGS_ALL = 0xf;
const IFLA_VXLAN_ID = 1;
const IFLA_VXLAN_GROUP = 2;
const IFLA_VXLAN_LINK = 3;
const IFLA_VXLAN_LOCAL = 4;
const IFLA_VXLAN_PORT = 15;
const IFLA_VXLAN_GROUP6 = 16;
const IFLA_VXLAN_LOCAL6 = 17;

export const RTMSG_LEN = 12;
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_TABLE = 15;
/** RT_TABLE_MAIN */
export const RT_TABLE_MAIN = 254;
/** RTPROT_STATIC: a route added by an administrator (or a daemon acting for one) */
export const RTPROT_STATIC = 4;
/** RTPROT_DHCP: a route from a DHCP lease (`proto dhcp` in ip route) */
export const RTPROT_DHCP = 16;
/** NLM_F_REPLACE: replace the object if it exists */
export const NLM_F_REPLACE = 0x100;
/** NLM_F_APPEND: add to the end of the object list (a route beside another link's of the same destination and metric) */
export const NLM_F_APPEND = 0x800;
/** IFA_CACHEINFO: an address's preferred and valid lifetimes (struct ifa_cacheinfo) */
const IFA_CACHEINFO = 6;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
/** on a delete: any scope */
export const RT_SCOPE_NOWHERE = 255;
export const RTN_UNICAST = 1;

const CHANGE = NLM_F_REQUEST | NLM_F_ACK;
const CREATE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;

// ---- text to bytes ----

function ipv4Bytes(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

/** The 16 bytes of an IPv6 address in text (with `::`, with an IPv4 tail); `text` is already known valid. */
function ipv6Bytes(text: string): Buffer {
  let groupsText = text;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // an embedded IPv4 address is the last 32 bits: two groups
    const v4 = ipv4Bytes(text.slice(lastColon + 1));
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    // what precedes it, without the separating colon unless that colon is half of '::' ('::1.2.3.4')
    groupsText = text.slice(0, lastColon);
    if (groupsText.endsWith(':')) groupsText += ':';
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const gap = groupsText.indexOf('::');
  let groups: number[];
  if (gap < 0) {
    groups = [...parse(groupsText), ...tail];
  } else {
    const head = parse(groupsText.slice(0, gap));
    const rest = [...parse(groupsText.slice(gap + 2)), ...tail];
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  }
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/**
 * The bytes of an IP address in text: 4 for IPv4 dotted quad, 16 for IPv6
 * (`::`, an embedded IPv4 tail such as `::ffff:1.2.3.4`). Throws a RangeError
 * for anything else, a zone (`fe80::1%eth0`) included, or for an address not
 * of `family` when one is given.
 */
export function ipAddressBytes(text: string, family?: 4 | 6): Buffer {
  if (isIPv4(text) && family !== 6) return ipv4Bytes(text);
  if (isIPv6(text) && !text.includes('%') && family !== 4) return ipv6Bytes(text);
  throw new RangeError(`not an ${family ? `IPv${family} ` : 'IP '}address: ${JSON.stringify(text)}`);
}

/** The bytes of a hardware address in colon hex ("02:00:5e:10:20:3a"); throws a RangeError for anything else. */
export function hwAddressBytes(text: string): Buffer {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2})*$/i.test(text)) throw new RangeError(`not a hardware address: ${JSON.stringify(text)}`);
  return Buffer.from(text.replace(/:/g, ''), 'hex');
}

// ---- links ----

export const nested = (type: number, ...children: Buffer[]): Buffer => attribute(type | NLA_F_NESTED, Buffer.concat(children));
const name = (text: string): Buffer => attribute(IFLA_IFNAME, Buffer.from(`${text}\0`, 'utf8'));

export function u16(value: number, bigEndian = false): Buffer {
  const out = Buffer.alloc(2);
  if (bigEndian) out.writeUInt16BE(value, 0);
  else out.writeUInt16LE(value, 0);
  return out;
}

export function ifinfomsg(ifindex = 0, flags = 0, change = 0): Buffer {
  const out = Buffer.alloc(IFINFOMSG_LEN); // family AF_UNSPEC, type 0
  out.writeUInt8(AF_UNSPEC, 0);
  out.writeInt32LE(ifindex, 4);
  out.writeUInt32LE(flags >>> 0, 8);
  out.writeUInt32LE(change >>> 0, 12);
  return out;
}

/** The attributes of IFLA_INFO_DATA for `spec` (none for a bridge or dummy), and those beside IFLA_LINKINFO. */
function kindAttributes(spec: LinkSpec): { data: Buffer[]; outer: Buffer[] } {
  switch (spec.kind) {
    case 'bridge':
    case 'dummy':
      return { data: [], outer: [] };
    case 'veth':
      // VETH_INFO_PEER is a struct ifinfomsg followed by the peer's own attributes.
      return { data: [nested(VETH_INFO_PEER, ifinfomsg(), name(spec.peer))], outer: [] };
    case 'macvlan':
      return {
        data: [attribute(IFLA_MACVLAN_MODE, u32(spec.mode)), ...(spec.noPromisc ? [attribute(IFLA_MACVLAN_FLAGS, u16(MACVLAN_FLAG_NOPROMISC))] : [])],
        outer: [attribute(IFLA_LINK, u32(spec.parent))],
      };
    case 'vlan':
      return {
        data: [attribute(IFLA_VLAN_ID, u16(spec.id)), ...(spec.flags !== undefined ? [attribute(IFLA_VLAN_FLAGS, Buffer.concat([u32(spec.flags), u32(VLAN_FLAGS_ALL)]))] : [])],
        outer: [attribute(IFLA_LINK, u32(spec.parent))],
      };
    case 'vxlan': {
      const data = [attribute(IFLA_VXLAN_ID, u32(spec.id))];
      if (spec.parent !== null) data.push(attribute(IFLA_VXLAN_LINK, u32(spec.parent)));
      for (const [text, v4, v6] of [
        [spec.remote, IFLA_VXLAN_GROUP, IFLA_VXLAN_GROUP6],
        [spec.local, IFLA_VXLAN_LOCAL, IFLA_VXLAN_LOCAL6],
      ] as const) {
        if (text === null) continue;
        const bytes = ipAddressBytes(text);
        data.push(attribute(bytes.length === 4 ? v4 : v6, bytes));
      }
      data.push(attribute(IFLA_VXLAN_PORT, u16(spec.port, true))); // network byte order
      return { data, outer: [] };
    }
  }
}

/** RTM_NEWLINK creating the link `spec` describes (NLM_F_CREATE|NLM_F_EXCL: an existing name is EEXIST), acknowledged. */
export function createLinkRequest(seq: number, spec: LinkSpec & { readonly ifindex?: number }): Buffer {
  const { data, outer } = kindAttributes(spec);
  const kind = spec.kind === 'macvlan' && spec.tap ? 'macvtap' : spec.kind;
  const info = [attribute(IFLA_INFO_KIND, Buffer.from(kind, 'ascii'))];
  if (data.length > 0) info.push(nested(IFLA_INFO_DATA, ...data));
  // A non-zero ifi_index asks the kernel for that index (EBUSY when it is taken).
  return encodeMessage(RTM_NEWLINK, CREATE, seq, Buffer.concat([ifinfomsg(spec.ifindex ?? 0), name(spec.name), ...outer, nested(IFLA_LINKINFO, ...info)]));
}

/** RTM_NEWLINK changing the link `ifindex` (no NLM_F_CREATE): IFF_UP, MTU, hardware address, master (0: none). */
export function setLinkRequest(seq: number, ifindex: number, change: LinkChange): Buffer {
  const flags = change.up ? IFF_UP : 0;
  const mask = change.up === undefined ? 0 : IFF_UP;
  const attrs: Buffer[] = [];
  if (change.mtu !== undefined) attrs.push(attribute(IFLA_MTU, u32(change.mtu)));
  if (change.hwAddress !== undefined) attrs.push(attribute(IFLA_ADDRESS, hwAddressBytes(change.hwAddress)));
  if (change.master !== undefined) attrs.push(attribute(IFLA_MASTER, u32(change.master)));
  return encodeMessage(RTM_NEWLINK, CHANGE, seq, Buffer.concat([ifinfomsg(ifindex, flags, mask), ...attrs]));
}

/** RTM_GETLINK of the one link called `linkName` (not a dump: the reply is one RTM_NEWLINK, or an error such as ENODEV). */
export function getLinkByNameRequest(seq: number, linkName: string): Buffer {
  return encodeMessage(RTM_GETLINK, NLM_F_REQUEST, seq, Buffer.concat([ifinfomsg(), name(linkName), attribute(IFLA_EXT_MASK, u32(RTEXT_FILTER_VF))]));
}

// ---- addresses ----

function addressBody(a: Address): Buffer {
  const bytes = ipAddressBytes(a.address, a.family);
  const ifaddr = Buffer.alloc(IFADDRMSG_LEN); // flags 0, scope RT_SCOPE_UNIVERSE
  ifaddr.writeUInt8(a.family === 4 ? AF_INET : AF_INET6, 0);
  ifaddr.writeUInt8(a.prefix, 1);
  ifaddr.writeUInt32LE(a.ifindex, 4);
  // IPv4: IFA_LOCAL is the interface's own address, IFA_ADDRESS the peer's (the same when not point-to-point).
  const attrs = a.family === 4 ? [attribute(IFA_LOCAL, bytes), attribute(IFA_ADDRESS, bytes)] : [attribute(IFA_ADDRESS, bytes)];
  if (a.lifetime) {
    const info = Buffer.alloc(16); // ifa_prefered, ifa_valid, cstamp, tstamp
    info.writeUInt32LE(Math.min(a.lifetime.preferred, a.lifetime.valid), 0);
    info.writeUInt32LE(a.lifetime.valid, 4);
    attrs.push(attribute(IFA_CACHEINFO, info));
  }
  return Buffer.concat([ifaddr, ...attrs]);
}

/** RTM_NEWADDR adding `address` (NLM_F_CREATE|NLM_F_EXCL: an existing one is EEXIST), acknowledged. */
export function addAddressRequest(seq: number, address: Address): Buffer {
  return encodeMessage(RTM_NEWADDR, CREATE, seq, addressBody(address));
}

/** RTM_NEWADDR adding `address` or replacing the link's (its lifetime), acknowledged. */
export function replaceAddressRequest(seq: number, address: Address): Buffer {
  return encodeMessage(RTM_NEWADDR, CHANGE | NLM_F_CREATE | NLM_F_REPLACE, seq, addressBody(address));
}

/** RTM_DELADDR removing `address` (a missing one is EADDRNOTAVAIL), acknowledged. */
export function deleteAddressRequest(seq: number, address: Address): Buffer {
  return encodeMessage(RTM_DELADDR, CHANGE, seq, addressBody(address));
}

// ---- routes ----

function routeBody(r: Route, scope: number): Buffer {
  const family = r.family;
  const rtmsg = Buffer.alloc(RTMSG_LEN);
  rtmsg.writeUInt8(family === 4 ? AF_INET : AF_INET6, 0);
  rtmsg.writeUInt8(r.prefix, 1); // rtm_dst_len; src_len, tos 0
  // rtm_table holds 8 bits: a larger table is RT_TABLE_UNSPEC there and RTA_TABLE says which, as iproute2 sends it.
  const table = r.table ?? RT_TABLE_MAIN;
  rtmsg.writeUInt8(table < 256 ? table : 0, 4);
  rtmsg.writeUInt8(r.fromDhcp ? RTPROT_DHCP : RTPROT_STATIC, 5);
  rtmsg.writeUInt8(scope, 6);
  rtmsg.writeUInt8(RTN_UNICAST, 7); // rtm_flags 0
  const attrs: Buffer[] = [];
  const dest = ipAddressBytes(r.dest, family);
  if (r.prefix > 0) attrs.push(attribute(RTA_DST, dest));
  if (r.gateway !== null) attrs.push(attribute(RTA_GATEWAY, ipAddressBytes(r.gateway, family)));
  attrs.push(attribute(RTA_OIF, u32(r.ifindex)), attribute(RTA_PRIORITY, u32(r.metric)));
  if (table >= 256) attrs.push(attribute(RTA_TABLE, u32(table)));
  return Buffer.concat([rtmsg, ...attrs]);
}

/**
 * RTM_NEWROUTE adding `route` to its table (main when it names none), protocol static, unicast; scope universe through
 * a gateway, link without one, acknowledged. IPv6: NLM_F_CREATE|NLM_F_EXCL, an existing one is EEXIST. IPv4:
 * NLM_F_CREATE|NLM_F_APPEND (`ip route append`), as NetworkManager adds them: with NLM_F_EXCL the kernel refuses a
 * route whose destination and metric another link's route has (two default routes of metric 100), and only the
 * very same route is EEXIST.
 */
export function addRouteRequest(seq: number, route: Route): Buffer {
  const flags = route.family === 4 ? NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND : CREATE;
  return encodeMessage(RTM_NEWROUTE, flags, seq, routeBody(route, route.gateway === null ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE));
}

/**
 * RTM_DELROUTE removing `route` from its table (a missing one is ESRCH), acknowledged. The
 * scope is RT_SCOPE_NOWHERE, "any", as iproute2 sends it; the protocol is static, so a route
 * someone else made (kernel, boot, dhcp) is not taken for ours.
 */
export function deleteRouteRequest(seq: number, route: Route): Buffer {
  return encodeMessage(RTM_DELROUTE, CHANGE, seq, routeBody(route, RT_SCOPE_NOWHERE));
}

/** RTM_GETLINK of the one link with `ifindex` (not a dump: one RTM_NEWLINK, or an error such as ENODEV). */
export function getLinkRequest(seq: number, ifindex: number): Buffer {
  return encodeMessage(RTM_GETLINK, NLM_F_REQUEST, seq, Buffer.concat([ifinfomsg(ifindex), attribute(IFLA_EXT_MASK, u32(RTEXT_FILTER_VF))]));
}
