// rtnetlink policy routing rules: the bytes of RTM_NEWRULE and RTM_DELRULE
// (struct fib_rule_hdr and FRA_* attributes of linux/fib_rules.h), as
// `ip rule add|del` sends them. Pure: no socket.
import type { Rule } from '../core/platform/platform.js';
import { AF_INET, AF_INET6, attribute, encodeMessage, NLM_F_ACK, NLM_F_REQUEST, u32 } from './rtnetlink-codec.js';
import { ipAddressBytes, NLM_F_CREATE, NLM_F_EXCL, RTPROT_STATIC } from './rtnetlink-requests.js';

export const RTM_NEWRULE = 32;
export const RTM_DELRULE = 33;

const FIB_RULE_HDR_LEN = 12;
const FRA_DST = 1;
const FRA_SRC = 2;
const FRA_IIFNAME = 3;
const FRA_PRIORITY = 6;
const FRA_FWMARK = 10;
const FRA_TABLE = 15;
const FRA_FWMASK = 16;
const FRA_OIFNAME = 17;
const FRA_PROTOCOL = 21;
const FIB_RULE_INVERT = 0x2;
/** FR_ACT_TO_TBL: look the packet up in the rule's table */
const FR_ACT_TO_TBL = 1;

function ruleBody(r: Rule): Buffer {
  const hdr = Buffer.alloc(FIB_RULE_HDR_LEN);
  hdr.writeUInt8(r.family === 4 ? AF_INET : AF_INET6, 0);
  hdr.writeUInt8(r.to === null ? 0 : r.toLen, 1);
  hdr.writeUInt8(r.from === null ? 0 : r.fromLen, 2);
  // tos 0; the table in 8 bits when it fits, else FRA_TABLE alone (as iproute2 does)
  hdr.writeUInt8(r.table < 256 ? r.table : 0, 4);
  hdr.writeUInt8(FR_ACT_TO_TBL, 7);
  hdr.writeUInt32LE(r.invert ? FIB_RULE_INVERT : 0, 8);
  const attrs: Buffer[] = [attribute(FRA_PRIORITY, u32(r.priority)), attribute(FRA_TABLE, u32(r.table))];
  if (r.from !== null) attrs.push(attribute(FRA_SRC, ipAddressBytes(r.from, r.family)));
  if (r.to !== null) attrs.push(attribute(FRA_DST, ipAddressBytes(r.to, r.family)));
  if (r.fwmark !== null) attrs.push(attribute(FRA_FWMARK, u32(r.fwmark)));
  if (r.fwmask !== null) attrs.push(attribute(FRA_FWMASK, u32(r.fwmask)));
  if (r.iifname !== null) attrs.push(attribute(FRA_IIFNAME, Buffer.from(`${r.iifname}\0`, 'utf8')));
  if (r.oifname !== null) attrs.push(attribute(FRA_OIFNAME, Buffer.from(`${r.oifname}\0`, 'utf8')));
  return Buffer.concat([hdr, ...attrs]);
}

/** RTM_NEWRULE adding `rule`, protocol static (NLM_F_EXCL: an identical rule is EEXIST), acknowledged. */
export function addRuleRequest(seq: number, rule: Rule): Buffer {
  const protocol = Buffer.alloc(4);
  protocol.writeUInt8(RTPROT_STATIC, 0);
  return encodeMessage(RTM_NEWRULE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, Buffer.concat([ruleBody(rule), attribute(FRA_PROTOCOL, protocol.subarray(0, 1))]));
}

/** RTM_DELRULE removing the rule that matches `rule` exactly (a missing one is ENOENT), acknowledged. */
export function deleteRuleRequest(seq: number, rule: Rule): Buffer {
  return encodeMessage(RTM_DELRULE, NLM_F_REQUEST | NLM_F_ACK, seq, ruleBody(rule));
}
