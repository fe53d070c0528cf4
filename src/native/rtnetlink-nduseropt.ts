// RTM_NEWNDUSEROPT: an option of a neighbour discovery message (a router advertisement's DNS
// servers, say) that the kernel does not act on itself and hands to user space instead, on the
// multicast group RTNLGRP_ND_USEROPT. The body is struct nduseroptmsg (family, ifindex, the ICMPv6
// type and code of the message it came in, the options' length), the options as they were on the
// wire, then an NDUSEROPT_SRCADDR attribute with the sender's address. Pure: decoding never throws.
import { AF_INET6, ipv6String, parseAttributes } from './rtnetlink-codec.js';

export const RTM_NEWNDUSEROPT = 68;
export const RTNLGRP_ND_USEROPT = 20;
/** The group as a bit of the nl_groups mask that bind() takes (groups 1 to 32 fit in it). */
export const RTMGRP_ND_USEROPT = 1 << (RTNLGRP_ND_USEROPT - 1);

/** ICMPv6 type of a router advertisement */
export const ND_ROUTER_ADVERT = 134;

/** struct nduseroptmsg: 1 + 1 + 2 + 4 + 1 + 1 + 2 + 4 bytes */
const NDUSEROPTMSG_LEN = 16;
const NDUSEROPT_SRCADDR = 1;

export interface NdUserOptMessage {
  readonly family: number;
  readonly ifindex: number;
  readonly icmpType: number;
  readonly icmpCode: number;
  /** the options as they were in the message: type, length in units of 8 bytes, value */
  readonly options: Buffer;
  /** who sent the message (a router's link-local address); null when the kernel did not say */
  readonly source: string | null;
}

/** A RTM_NEWNDUSEROPT body; null when it is too short or its options do not fit in it. */
export function decodeNdUserOpt(body: Buffer): NdUserOptMessage | null {
  if (body.length < NDUSEROPTMSG_LEN) return null;
  const optionsLength = body.readUInt16LE(2);
  if (NDUSEROPTMSG_LEN + optionsLength > body.length) return null;
  const family = body.readUInt8(0);
  const attrs = parseAttributes(body, NDUSEROPTMSG_LEN + ((optionsLength + 3) & ~3));
  const source = attrs.get(NDUSEROPT_SRCADDR);
  return {
    family,
    ifindex: body.readInt32LE(4),
    icmpType: body.readUInt8(8),
    icmpCode: body.readUInt8(9),
    options: body.subarray(NDUSEROPTMSG_LEN, NDUSEROPTMSG_LEN + optionsLength),
    source: family === AF_INET6 && source?.length === 16 ? ipv6String(source) : null,
  };
}
