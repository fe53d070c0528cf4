// rtnetlink route listing: the RTM_GETROUTE dump request and the decoding of
// the RTM_NEWROUTE messages it answers with, in every table. Pure: no socket.
// Constants are those of the kernel's uapi header linux/rtnetlink.h.
import type { KernelRoute } from '../core/platform/platform.js';
import { AF_INET, AF_INET6, encodeMessage, ipv6String, NLM_F_DUMP, NLM_F_REQUEST, parseAttributes } from './rtnetlink-codec.js';
import { RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PRIORITY, RTA_TABLE, RTMSG_LEN, RTN_UNICAST } from './rtnetlink-requests.js';

const RTM_GETROUTE = 26;
const RTA_CACHEINFO = 12;
/** rta_cacheinfo counts in clock ticks of USER_HZ, 100 on Linux */
const USER_HZ = 100;

/** RTM_GETROUTE dump of the routes of `family` in every table. */
export function routeDumpRequest(seq: number, family: 4 | 6): Buffer {
  const rtmsg = Buffer.alloc(RTMSG_LEN);
  rtmsg.writeUInt8(family === 4 ? AF_INET : AF_INET6, 0);
  return encodeMessage(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq, rtmsg);
}

function addressText(raw: Buffer, family: 4 | 6): string | null {
  if (family === 4 && raw.length === 4) return [...raw].join('.');
  if (family === 6 && raw.length === 16) return ipv6String(raw);
  return null;
}

/**
 * An RTM_NEWROUTE body as a KernelRoute; null for what is not a unicast
 * route through one interface (local, broadcast, multicast, multipath,
 * blackhole…) or is malformed.
 */
export function decodeRoute(body: Buffer): KernelRoute | null {
  if (body.length < RTMSG_LEN) return null;
  const af = body.readUInt8(0);
  const family = af === AF_INET ? 4 : af === AF_INET6 ? 6 : null;
  if (family === null) return null;
  if (body.readUInt8(7) !== RTN_UNICAST) return null;
  const prefix = body.readUInt8(1);
  const attrs = parseAttributes(body, RTMSG_LEN);
  const oif = attrs.get(RTA_OIF);
  if (!oif || oif.length < 4) return null;
  const dstRaw = attrs.get(RTA_DST);
  const dest = dstRaw ? addressText(dstRaw, family) : family === 4 ? '0.0.0.0' : '::';
  if (dest === null) return null;
  const gwRaw = attrs.get(RTA_GATEWAY);
  const gateway = gwRaw ? addressText(gwRaw, family) : null;
  const table = attrs.get(RTA_TABLE);
  const metric = attrs.get(RTA_PRIORITY);
  // struct rta_cacheinfo: rta_expires (s32) after rta_clntref and rta_lastuse; 0 for a route that does not expire.
  const cache = attrs.get(RTA_CACHEINFO);
  const expiresTicks = cache && cache.length >= 12 ? cache.readInt32LE(8) : 0;
  return {
    family,
    dest,
    prefix,
    gateway,
    ifindex: oif.readUInt32LE(0),
    metric: metric && metric.length >= 4 ? metric.readUInt32LE(0) : 0,
    table: table && table.length >= 4 ? table.readUInt32LE(0) : body.readUInt8(4),
    protocol: body.readUInt8(5),
    ...(expiresTicks > 0 ? { expires: Math.round(expiresTicks / USER_HZ) } : {}),
  };
}
