// rtnetlink bridge options: the requests that change a bridge's STP options
// (IFLA_LINKINFO, kind bridge, IFLA_INFO_DATA IFLA_BR_*) and a port's
// options (IFLA_LINKINFO, IFLA_INFO_SLAVE_KIND bridge, IFLA_INFO_SLAVE_DATA
// IFLA_BRPORT_*), as `ip link set … type bridge` / `type bridge_slave` send
// them, and the decoding of the same attributes from a link's RTM_NEWLINK.
// Pure: no socket. Constants are those of linux/if_link.h.
import type { BridgeOptions, BridgePortOptions } from '../core/platform/platform.js';
import { attribute, encodeMessage, IFINFOMSG_LEN, IFLA_INFO_KIND, IFLA_LINKINFO, NLM_F_ACK, NLM_F_REQUEST, parseAttributes, RTM_NEWLINK, u32 } from './rtnetlink-codec.js';
import { ifinfomsg, nested, u16 } from './rtnetlink-requests.js';

const IFLA_INFO_DATA = 2;
const IFLA_INFO_SLAVE_KIND = 4;
const IFLA_INFO_SLAVE_DATA = 5;

const IFLA_BR_FORWARD_DELAY = 1;
const IFLA_BR_HELLO_TIME = 2;
const IFLA_BR_MAX_AGE = 3;
const IFLA_BR_STP_STATE = 5;
const IFLA_BR_PRIORITY = 6;

const IFLA_BRPORT_PRIORITY = 2;
const IFLA_BRPORT_COST = 3;

/** RTM_NEWLINK changing the options given of the bridge `ifindex` (timers in centiseconds, the kernel's clock_t). */
export function setBridgeRequest(seq: number, ifindex: number, change: Partial<BridgeOptions>): Buffer {
  const data: Buffer[] = [];
  if (change.forwardDelay !== undefined) data.push(attribute(IFLA_BR_FORWARD_DELAY, u32(change.forwardDelay)));
  if (change.helloTime !== undefined) data.push(attribute(IFLA_BR_HELLO_TIME, u32(change.helloTime)));
  if (change.maxAge !== undefined) data.push(attribute(IFLA_BR_MAX_AGE, u32(change.maxAge)));
  if (change.stp !== undefined) data.push(attribute(IFLA_BR_STP_STATE, u32(change.stp ? 1 : 0)));
  if (change.priority !== undefined) data.push(attribute(IFLA_BR_PRIORITY, u16(change.priority)));
  const info = nested(IFLA_LINKINFO, attribute(IFLA_INFO_KIND, Buffer.from('bridge', 'ascii')), nested(IFLA_INFO_DATA, ...data));
  return encodeMessage(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, Buffer.concat([ifinfomsg(ifindex), info]));
}

/** RTM_NEWLINK changing the options given of the bridge port `ifindex`. */
export function setBridgePortRequest(seq: number, ifindex: number, change: Partial<BridgePortOptions>): Buffer {
  const data: Buffer[] = [];
  if (change.priority !== undefined) data.push(attribute(IFLA_BRPORT_PRIORITY, u16(change.priority)));
  if (change.cost !== undefined) data.push(attribute(IFLA_BRPORT_COST, u32(change.cost)));
  const info = nested(IFLA_LINKINFO, attribute(IFLA_INFO_SLAVE_KIND, Buffer.from('bridge', 'ascii')), nested(IFLA_INFO_SLAVE_DATA, ...data));
  return encodeMessage(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, Buffer.concat([ifinfomsg(ifindex), info]));
}

function linkInfo(body: Buffer): Map<number, Buffer> | null {
  if (body.length < IFINFOMSG_LEN) return null;
  const info = parseAttributes(body, IFINFOMSG_LEN).get(IFLA_LINKINFO);
  return info ? parseAttributes(info) : null;
}

const readU32 = (b: Buffer | undefined): number | null => (b && b.length >= 4 ? b.readUInt32LE(0) : null);
const readU16 = (b: Buffer | undefined): number | null => (b && b.length >= 2 ? b.readUInt16LE(0) : null);

/** A bridge's options from its RTM_NEWLINK body; null when it is not a bridge or an option is missing. */
export function decodeBridgeOptions(body: Buffer): BridgeOptions | null {
  const info = linkInfo(body);
  const data = info?.get(IFLA_INFO_DATA);
  if (!info || !data || info.get(IFLA_INFO_KIND)?.toString('ascii').replace(/\0.*$/, '') !== 'bridge') return null;
  const attrs = parseAttributes(data);
  const stp = readU32(attrs.get(IFLA_BR_STP_STATE));
  const priority = readU16(attrs.get(IFLA_BR_PRIORITY));
  const forwardDelay = readU32(attrs.get(IFLA_BR_FORWARD_DELAY));
  const helloTime = readU32(attrs.get(IFLA_BR_HELLO_TIME));
  const maxAge = readU32(attrs.get(IFLA_BR_MAX_AGE));
  if (stp === null || priority === null || forwardDelay === null || helloTime === null || maxAge === null) return null;
  return { stp: stp !== 0, priority, forwardDelay, helloTime, maxAge };
}

/** A bridge port's options from its RTM_NEWLINK body; null when it is no bridge's port. */
export function decodeBridgePortOptions(body: Buffer): BridgePortOptions | null {
  const info = linkInfo(body);
  const data = info?.get(IFLA_INFO_SLAVE_DATA);
  if (!info || !data || info.get(IFLA_INFO_SLAVE_KIND)?.toString('ascii').replace(/\0.*$/, '') !== 'bridge') return null;
  const attrs = parseAttributes(data);
  const priority = readU16(attrs.get(IFLA_BRPORT_PRIORITY));
  const cost = readU32(attrs.get(IFLA_BRPORT_COST));
  if (priority === null || cost === null) return null;
  return { priority, cost };
}


const AF_BRIDGE = 7;
/** IFLA_PROTINFO: in an AF_BRIDGE RTM_NEWLINK, the port's IFLA_BRPORT_* attributes */
const IFLA_PROTINFO = 12;

/**
 * The port options of an AF_BRIDGE RTM_NEWLINK (what `bridge link set` makes the kernel
 * announce, and a port's STP state changes): the port's ifindex and its options; null for any
 * other message, or one without both options.
 */
export function decodeBridgePortInfo(body: Buffer): { ifindex: number; options: BridgePortOptions } | null {
  if (body.length < IFINFOMSG_LEN || body.readUInt8(0) !== AF_BRIDGE) return null;
  const protinfo = parseAttributes(body, IFINFOMSG_LEN).get(IFLA_PROTINFO);
  if (!protinfo) return null;
  const attrs = parseAttributes(protinfo);
  const priority = readU16(attrs.get(IFLA_BRPORT_PRIORITY));
  const cost = readU32(attrs.get(IFLA_BRPORT_COST));
  if (priority === null || cost === null) return null;
  return { ifindex: body.readInt32LE(4), options: { priority, cost } };
}
