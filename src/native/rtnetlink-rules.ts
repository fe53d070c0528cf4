// rtnetlink policy routing rules: the bytes of RTM_NEWRULE and RTM_DELRULE
// (struct fib_rule_hdr and FRA_* attributes of linux/fib_rules.h), as
// `ip rule add|del` sends them. Pure: no socket.
import type { Rule } from '../core/platform/platform.js';
import { AF_INET, AF_INET6, attribute, encodeMessage, ipv6String, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, parseAttributes, u32 } from './rtnetlink-codec.js';
import { ipAddressBytes, NLM_F_CREATE, NLM_F_EXCL, RTPROT_STATIC } from './rtnetlink-requests.js';

export const RTM_NEWRULE = 32;
export const RTM_DELRULE = 33;
const RTM_GETRULE = 34;
/** RTNLGRP_IPV4_RULE (8) and RTNLGRP_IPV6_RULE (19) as bind(2) group bits */
export const RTMGRP_IPV4_RULE = 1 << (8 - 1);
export const RTMGRP_IPV6_RULE = 1 << (19 - 1);

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

/** RTM_GETRULE dump of the rules of `family`. */
export function ruleDumpRequest(seq: number, family: 4 | 6): Buffer {
  const hdr = Buffer.alloc(FIB_RULE_HDR_LEN);
  hdr.writeUInt8(family === 4 ? AF_INET : AF_INET6, 0);
  return encodeMessage(RTM_GETRULE, NLM_F_REQUEST | NLM_F_DUMP, seq, hdr);
}

/** A rule as the kernel announces or lists it, with the protocol that made it (FRA_PROTOCOL; 2 the kernel's own). */
export interface KernelRuleMessage {
  readonly rule: Rule;
  readonly protocol: number;
}

function addressText(raw: Buffer | undefined, family: 4 | 6): string | null {
  if (!raw) return null;
  if (family === 4 && raw.length === 4) return [...raw].join('.');
  if (family === 6 && raw.length === 16) return ipv6String(raw);
  return null;
}

function cString(raw: Buffer | undefined): string | null {
  if (!raw) return null;
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
}

/** An RTM_NEWRULE/RTM_DELRULE body; null for another family or an action other than a table lookup. */
export function decodeRule(body: Buffer): KernelRuleMessage | null {
  if (body.length < FIB_RULE_HDR_LEN) return null;
  const af = body.readUInt8(0);
  const family = af === AF_INET ? 4 : af === AF_INET6 ? 6 : null;
  if (family === null || body.readUInt8(7) !== FR_ACT_TO_TBL) return null;
  const attrs = parseAttributes(body, FIB_RULE_HDR_LEN);
  const num = (type: number): number | null => {
    const raw = attrs.get(type);
    return raw && raw.length >= 4 ? raw.readUInt32LE(0) : null;
  };
  const from = addressText(attrs.get(FRA_SRC), family);
  const to = addressText(attrs.get(FRA_DST), family);
  const protocol = attrs.get(FRA_PROTOCOL);
  return {
    rule: {
      family,
      priority: num(FRA_PRIORITY) ?? 0,
      table: num(FRA_TABLE) ?? body.readUInt8(4),
      invert: (body.readUInt32LE(8) & FIB_RULE_INVERT) !== 0,
      from,
      fromLen: from === null ? 0 : body.readUInt8(2),
      to,
      toLen: to === null ? 0 : body.readUInt8(1),
      fwmark: num(FRA_FWMARK),
      fwmask: num(FRA_FWMASK),
      iifname: cString(attrs.get(FRA_IIFNAME)),
      oifname: cString(attrs.get(FRA_OIFNAME)),
    },
    protocol: protocol && protocol.length >= 1 ? protocol.readUInt8(0) : 0,
  };
}
