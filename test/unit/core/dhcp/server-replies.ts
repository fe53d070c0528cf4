// Replies as a DHCP server sends them, for the client's unit tests: OFFER, ACK and NAK with the
// options a test names, encoded with the generic encoder (the client itself never sends these).
import { BOOTREPLY, encodeClasslessRoutes, encodeDhcp4, ipBytes, OPT } from '../../../../src/core/dhcp/dhcp4-message.js';
import type { Dhcp4Route } from '../../../../src/core/dhcp/dhcp4-lease.js';

export interface ReplySpec {
  xid: number;
  mac: Buffer;
  yiaddr?: string;
  server?: string | null;
  leaseTime?: number | null;
  mask?: string | null;
  routers?: string[];
  dns?: string[];
  domainName?: string;
  search?: Buffer;
  mtu?: number;
  t1?: number;
  t2?: number;
  routes?: Dhcp4Route[];
  message?: string;
  extra?: Array<[number, Buffer]>;
}

const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0, 0);
  return b;
};

const ips = (list: string[]): Buffer => Buffer.concat(list.map(ipBytes));

export function serverReply(type: 'offer' | 'ack' | 'nak', s: ReplySpec): Buffer {
  const options: Array<[number, Buffer]> = [];
  const server = s.server === undefined ? '192.0.2.1' : s.server;
  if (server !== null) options.push([OPT.SERVER_ID, ipBytes(server)]);
  if (type !== 'nak') {
    const lease = s.leaseTime === undefined ? 3600 : s.leaseTime;
    if (lease !== null) options.push([OPT.LEASE_TIME, u32(lease)]);
    const mask = s.mask === undefined ? '255.255.255.0' : s.mask;
    if (mask !== null) options.push([OPT.SUBNET_MASK, ipBytes(mask)]);
    if (s.routers) options.push([OPT.ROUTER, ips(s.routers)]);
    if (s.dns) options.push([OPT.DNS, ips(s.dns)]);
    if (s.domainName) options.push([OPT.DOMAIN_NAME, Buffer.from(s.domainName)]);
    if (s.search) options.push([OPT.DOMAIN_SEARCH, s.search]);
    if (s.mtu !== undefined) options.push([OPT.MTU, Buffer.from([s.mtu >> 8, s.mtu & 0xff])]);
    if (s.t1 !== undefined) options.push([OPT.RENEWAL_TIME, u32(s.t1)]);
    if (s.t2 !== undefined) options.push([OPT.REBINDING_TIME, u32(s.t2)]);
    if (s.routes) options.push([OPT.CLASSLESS_ROUTES, encodeClasslessRoutes(s.routes)]);
  }
  if (s.message) options.push([OPT.MESSAGE, Buffer.from(s.message)]);
  options.push(...(s.extra ?? []));
  return encodeDhcp4({
    op: BOOTREPLY,
    type,
    xid: s.xid,
    yiaddr: type === 'nak' ? '0.0.0.0' : (s.yiaddr ?? '192.0.2.100'),
    chaddr: s.mac,
    options,
  });
}
