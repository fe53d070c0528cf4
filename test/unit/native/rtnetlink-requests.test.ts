// rtnetlink change requests: what the encoders of rtnetlink-requests.ts produce, decoded field by
// field (header, ifinfomsg / ifaddrmsg / rtmsg, attributes, nested link info), and the parsing of
// text addresses to bytes.
import { describe, expect, it } from 'vitest';
import { parseAttributes, splitMessages } from '../../../src/native/rtnetlink-codec.js';
import {
  addAddressRequest,
  addRouteRequest,
  createLinkRequest,
  deleteAddressRequest,
  deleteRouteRequest,
  getLinkByNameRequest,
  hwAddressBytes,
  ipAddressBytes,
  setLinkRequest,
} from '../../../src/native/rtnetlink-requests.js';

const hex = (text: string): string => text.replace(/\s+/g, '');
const REQUEST = 0x1;
const ACK = 0x4;
const EXCL = 0x200;
const CREATE = 0x400;
const NESTED = 0x8000;

/** The one message of `data`, whose length field must be the whole buffer. */
function only(data: Buffer): { type: number; flags: number; seq: number; body: Buffer } {
  expect(data.readUInt32LE(0)).toBe(data.length);
  const messages = splitMessages(data);
  expect(messages).toHaveLength(1);
  return messages[0]!;
}

/** Attribute types as sent, flags included, in order. */
function rawTypes(data: Buffer, offset: number): number[] {
  const out: number[] = [];
  for (let off = offset; off + 4 <= data.length; off += (data.readUInt16LE(off) + 3) & ~3) out.push(data.readUInt16LE(off + 2));
  return out;
}

const text = (b: Buffer | undefined): string => b!.toString('utf8');
const u32 = (b: Buffer | undefined): number => b!.readUInt32LE(0);

describe('createLinkRequest', () => {
  it('makes a bridge with RTM_NEWLINK, REQUEST|ACK|CREATE|EXCL, IFLA_IFNAME and a nested IFLA_LINKINFO of kind bridge', () => {
    const m = only(createLinkRequest(7, { kind: 'bridge', name: 'br0' }));
    expect([m.type, m.flags, m.seq]).toEqual([16, REQUEST | ACK | CREATE | EXCL, 7]);
    expect(m.body.subarray(0, 16).equals(Buffer.alloc(16))).toBe(true); // AF_UNSPEC, no ifindex, no flags
    expect(rawTypes(m.body, 16)).toEqual([3, 18 | NESTED]);
    const attrs = parseAttributes(m.body, 16);
    expect(text(attrs.get(3))).toBe('br0\0');
    const info = parseAttributes(attrs.get(18)!);
    expect(text(info.get(1))).toBe('bridge');
    expect(info.has(2)).toBe(false); // no IFLA_INFO_DATA
  });

  it('makes a dummy the same way, with kind dummy', () => {
    const m = only(createLinkRequest(1, { kind: 'dummy', name: 'd0' }));
    expect(text(parseAttributes(parseAttributes(m.body, 16).get(18)!).get(1))).toBe('dummy');
  });

  it('makes a veth whose VETH_INFO_PEER is a struct ifinfomsg followed by the peer\'s IFLA_IFNAME', () => {
    const m = only(createLinkRequest(2, { kind: 'veth', name: 'v0', peer: 'v1' }));
    const attrs = parseAttributes(m.body, 16);
    expect(text(attrs.get(3))).toBe('v0\0');
    const info = attrs.get(18)!;
    expect(rawTypes(info, 0)).toEqual([1, 2 | NESTED]);
    const data = parseAttributes(info).get(2)!;
    expect(rawTypes(data, 0)).toEqual([1 | NESTED]);
    const peer = parseAttributes(data).get(1)!;
    expect(peer.subarray(0, 16).equals(Buffer.alloc(16))).toBe(true);
    expect(text(parseAttributes(peer, 16).get(3))).toBe('v1\0');
  });

  it('makes a macvlan with IFLA_LINK = parent beside the link info and IFLA_MACVLAN_MODE in its data', () => {
    const m = only(createLinkRequest(3, { kind: 'macvlan', name: 'mv0', parent: 9, mode: 4 }));
    const attrs = parseAttributes(m.body, 16);
    expect(u32(attrs.get(5))).toBe(9);
    const info = parseAttributes(attrs.get(18)!);
    expect(text(info.get(1))).toBe('macvlan');
    expect(u32(parseAttributes(info.get(2)!).get(1))).toBe(4);
  });

  it('makes a vlan with IFLA_LINK = parent and a u16 IFLA_VLAN_ID', () => {
    const m = only(createLinkRequest(4, { kind: 'vlan', name: 'v0.5', parent: 9, id: 0x123 }));
    const attrs = parseAttributes(m.body, 16);
    expect(u32(attrs.get(5))).toBe(9);
    const data = parseAttributes(parseAttributes(attrs.get(18)!).get(2)!);
    expect(data.get(1)!.toString('hex')).toBe('2301');
  });

  it('makes an IPv4 vxlan: id, link, group and local of 4 bytes, the port big-endian', () => {
    const m = only(createLinkRequest(5, { kind: 'vxlan', name: 'vx0', id: 42, parent: 3, local: '192.0.2.1', remote: '198.51.100.2', port: 4789 }));
    const attrs = parseAttributes(m.body, 16);
    expect(attrs.has(5)).toBe(false); // the underlying link is IFLA_VXLAN_LINK, not IFLA_LINK
    const data = parseAttributes(parseAttributes(attrs.get(18)!).get(2)!);
    expect(u32(data.get(1))).toBe(42);
    expect(u32(data.get(3))).toBe(3);
    expect(data.get(2)!.toString('hex')).toBe('c6336402');
    expect(data.get(4)!.toString('hex')).toBe('c0000201');
    expect(data.get(15)!.toString('hex')).toBe('12b5'); // 4789 in network byte order
    expect(data.has(16) || data.has(17)).toBe(false);
  });

  it('makes an IPv6 vxlan with IFLA_VXLAN_GROUP6/LOCAL6, and none of link, group or local when they are null', () => {
    const v6 = parseAttributes(parseAttributes(parseAttributes(only(createLinkRequest(6, {
      kind: 'vxlan', name: 'vx6', id: 7, parent: null, local: '2001:db8::1', remote: '2001:db8::2', port: 8472,
    })).body, 16).get(18)!).get(2)!);
    expect(v6.get(16)!.toString('hex')).toBe('20010db8000000000000000000000002');
    expect(v6.get(17)!.toString('hex')).toBe('20010db8000000000000000000000001');
    expect([v6.has(2), v6.has(3), v6.has(4)]).toEqual([false, false, false]);
    expect(v6.get(15)!.readUInt16BE(0)).toBe(8472);
    const bare = parseAttributes(parseAttributes(parseAttributes(only(createLinkRequest(6, {
      kind: 'vxlan', name: 'vx1', id: 7, parent: null, local: null, remote: null, port: 4789,
    })).body, 16).get(18)!).get(2)!);
    expect([...bare.keys()].sort((a, b) => a - b)).toEqual([1, 15]);
  });
});

describe('setLinkRequest', () => {
  it('changes a link with RTM_NEWLINK, REQUEST|ACK only, its ifindex, IFF_UP in flags and change, MTU, address and master', () => {
    const m = only(setLinkRequest(8, 5, { up: true, mtu: 1400, hwAddress: '02:00:5E:10:20:3a', master: 3 }));
    expect([m.type, m.flags, m.seq]).toEqual([16, REQUEST | ACK, 8]);
    expect([m.body.readUInt8(0), m.body.readInt32LE(4), m.body.readUInt32LE(8), m.body.readUInt32LE(12)]).toEqual([0, 5, 1, 1]);
    const attrs = parseAttributes(m.body, 16);
    expect(u32(attrs.get(4))).toBe(1400);
    expect(attrs.get(1)!.toString('hex')).toBe('02005e10203a');
    expect(u32(attrs.get(10))).toBe(3);
  });

  it('takes a link down with IFF_UP in the change mask only, and leaves the master with master 0', () => {
    const m = only(setLinkRequest(1, 5, { up: false, master: 0 }));
    expect([m.body.readUInt32LE(8), m.body.readUInt32LE(12)]).toEqual([0, 1]);
    const attrs = parseAttributes(m.body, 16);
    expect(u32(attrs.get(10))).toBe(0);
    expect([attrs.has(4), attrs.has(1)]).toEqual([false, false]);
  });

  it('leaves the flags alone (change mask 0) and sends no attribute for what is left out', () => {
    const m = only(setLinkRequest(1, 5, { mtu: 9000 }));
    expect([m.body.readUInt32LE(8), m.body.readUInt32LE(12)]).toEqual([0, 0]);
    expect(rawTypes(m.body, 16)).toEqual([4]);
  });

  it('refuses a malformed hardware address before any byte is sent', () => {
    expect(() => setLinkRequest(1, 5, { hwAddress: '02:00:5e' + ':zz' })).toThrow(RangeError);
    expect(() => hwAddressBytes('0200.5e10.203a')).toThrow(RangeError);
    expect(hwAddressBytes('aa:BB:0c').toString('hex')).toBe('aabb0c');
  });
});

describe('getLinkByNameRequest', () => {
  it('asks for one link by IFLA_IFNAME with RTM_GETLINK, REQUEST only (not a dump), and IFLA_EXT_MASK', () => {
    const data = getLinkByNameRequest(0x0102, 'br-lan');
    expect(data.toString('hex')).toBe(hex(
      '34000000 1200 0100 02010000 00000000' + // len 52, RTM_GETLINK, NLM_F_REQUEST, seq 0x102, pid 0
        '00000000 00000000 00000000 00000000' + // ifinfomsg: AF_UNSPEC, index 0
        '0b000300 62722d6c 616e0000' + // IFLA_IFNAME "br-lan\0", padded
        '08001d00 01000000', // IFLA_EXT_MASK RTEXT_FILTER_VF
    ));
  });
});

describe('address requests', () => {
  it('add an IPv4 address with RTM_NEWADDR, CREATE|EXCL|ACK, scope universe and IFA_LOCAL = IFA_ADDRESS', () => {
    const m = only(addAddressRequest(3, { ifindex: 7, family: 4, address: '192.0.2.1', prefix: 24 }));
    expect([m.type, m.flags]).toEqual([20, REQUEST | ACK | CREATE | EXCL]);
    expect(m.body.subarray(0, 8).toString('hex')).toBe(hex('02 18 00 00 07000000')); // AF_INET, /24, flags 0, scope 0, ifindex 7
    expect(rawTypes(m.body, 8)).toEqual([2, 1]);
    const attrs = parseAttributes(m.body, 8);
    expect(attrs.get(2)!.toString('hex')).toBe('c0000201');
    expect(attrs.get(1)!.toString('hex')).toBe('c0000201');
  });

  it('delete an IPv6 address with RTM_DELADDR, REQUEST|ACK, AF_INET6 and IFA_ADDRESS alone', () => {
    const m = only(deleteAddressRequest(4, { ifindex: 2, family: 6, address: 'fe80::1', prefix: 64 }));
    expect([m.type, m.flags]).toEqual([21, REQUEST | ACK]);
    expect(m.body.subarray(0, 8).toString('hex')).toBe(hex('0a 40 00 00 02000000'));
    expect(rawTypes(m.body, 8)).toEqual([1]);
    expect(parseAttributes(m.body, 8).get(1)!.toString('hex')).toBe('fe800000000000000000000000000001');
  });

  it('refuse an address of the other family than the one named', () => {
    expect(() => addAddressRequest(1, { ifindex: 2, family: 4, address: '2001:db8::1', prefix: 64 })).toThrow(RangeError);
    expect(() => addAddressRequest(1, { ifindex: 2, family: 6, address: '192.0.2.1', prefix: 24 })).toThrow(RangeError);
  });
});

describe('route requests', () => {
  const rtmsg = (body: Buffer) => ({
    family: body.readUInt8(0), dstLen: body.readUInt8(1), srcLen: body.readUInt8(2), tos: body.readUInt8(3),
    table: body.readUInt8(4), protocol: body.readUInt8(5), scope: body.readUInt8(6), type: body.readUInt8(7), flags: body.readUInt32LE(8),
  });

  it('add an IPv4 route via a gateway: RTM_NEWROUTE, CREATE|APPEND|ACK, main table, static, scope universe, unicast, DST, GATEWAY, OIF, PRIORITY', () => {
    const m = only(addRouteRequest(5, { family: 4, dest: '203.0.113.0', prefix: 24, gateway: '192.0.2.254', ifindex: 4, metric: 10 }));
    // APPEND (0x800), not EXCL: another link's route of the same destination and metric must not refuse it.
    expect([m.type, m.flags]).toEqual([24, REQUEST | ACK | CREATE | 0x800]);
    expect(rtmsg(m.body)).toEqual({ family: 2, dstLen: 24, srcLen: 0, tos: 0, table: 254, protocol: 4, scope: 0, type: 1, flags: 0 });
    expect(rawTypes(m.body, 12)).toEqual([1, 5, 4, 6]);
    const attrs = parseAttributes(m.body, 12);
    expect(attrs.get(1)!.toString('hex')).toBe('cb007100');
    expect(attrs.get(5)!.toString('hex')).toBe('c00002fe');
    expect([u32(attrs.get(4)), u32(attrs.get(6))]).toEqual([4, 10]);
  });

  it('add a directly connected route with scope link and no RTA_GATEWAY (IPv6: CREATE|EXCL)', () => {
    const m = only(addRouteRequest(5, { family: 6, dest: '2001:db8:2::', prefix: 48, gateway: null, ifindex: 4, metric: 0 }));
    expect(m.flags).toBe(REQUEST | ACK | CREATE | EXCL);
    expect(rtmsg(m.body)).toMatchObject({ family: 10, dstLen: 48, scope: 253, type: 1, table: 254, protocol: 4 });
    expect(rawTypes(m.body, 12)).toEqual([1, 4, 6]);
    expect(parseAttributes(m.body, 12).get(1)!.toString('hex')).toBe('20010db8000200000000000000000000');
  });

  it('add a default route without RTA_DST', () => {
    const m = only(addRouteRequest(5, { family: 6, dest: '::', prefix: 0, gateway: 'fe80::1', ifindex: 4, metric: 1024 }));
    expect(rtmsg(m.body)).toMatchObject({ dstLen: 0, scope: 0 });
    expect(rawTypes(m.body, 12)).toEqual([5, 4, 6]);
    expect(u32(parseAttributes(m.body, 12).get(6))).toBe(1024);
  });

  it('delete a route with RTM_DELROUTE, REQUEST|ACK, scope nowhere (any) and the same fields', () => {
    const route = { family: 4 as const, dest: '0.0.0.0', prefix: 0, gateway: '192.0.2.254', ifindex: 4, metric: 0 };
    const m = only(deleteRouteRequest(6, route));
    expect([m.type, m.flags]).toEqual([25, REQUEST | ACK]);
    expect(rtmsg(m.body)).toEqual({ family: 2, dstLen: 0, srcLen: 0, tos: 0, table: 254, protocol: 4, scope: 255, type: 1, flags: 0 });
    expect(m.body.subarray(12).equals(only(addRouteRequest(6, route)).body.subarray(12))).toBe(true);
  });
});

describe('ipAddressBytes', () => {
  const v6 = (t: string): string => ipAddressBytes(t).toString('hex');

  it('reads dotted IPv4', () => {
    expect(ipAddressBytes('198.51.100.2').toString('hex')).toBe('c6336402');
    expect(ipAddressBytes('0.0.0.0', 4).toString('hex')).toBe('00000000');
    expect(ipAddressBytes('255.255.255.255').toString('hex')).toBe('ffffffff');
  });

  it('reads IPv6 with and without "::"', () => {
    expect(v6('::')).toBe('0'.repeat(32));
    expect(v6('::1')).toBe(`${'0'.repeat(30)}01`);
    expect(v6('fe80::1')).toBe('fe800000000000000000000000000001');
    expect(v6('2001:db8::')).toBe('20010db8000000000000000000000000');
    expect(v6('2001:DB8:1:2:3:4:5:6')).toBe('20010db8000100020003000400050006');
    expect(v6('2001:db8:0:1::1')).toBe('20010db8000000010000000000000001');
    expect(v6('1::8')).toBe('00010000000000000000000000000008');
    expect(v6('1:2:3:4:5:6:7::')).toBe('00010002000300040005000600070000');
    expect(v6('::2:3:4:5:6:7:8')).toBe('00000002000300040005000600070008');
  });

  it('reads IPv6 with an embedded IPv4 tail', () => {
    expect(v6('2001:db8::ffff:1.2.3.4')).toBe('20010db8000000000000ffff01020304');
    expect(v6('::ffff:192.0.2.1')).toBe('00000000000000000000ffffc0000201');
    expect(v6('::1.2.3.4')).toBe('00000000000000000000000001020304');
    expect(v6('64:ff9b::198.51.100.2')).toBe('0064ff9b0000000000000000c6336402');
    expect(v6('1:2:3:4:5:6:1.2.3.4')).toBe('00010002000300040005000601020304');
  });

  it('refuses what is not an address, a zone, or the wrong family', () => {
    for (const bad of ['', '1.2.3', '256.1.1.1', '1::2::3', 'fe80::1%eth0', '::g', 'example.org', '1:2:3:4:5:6:7:8:9']) {
      expect(() => ipAddressBytes(bad), bad).toThrow(RangeError);
    }
    expect(() => ipAddressBytes('::1', 4)).toThrow(RangeError);
    expect(() => ipAddressBytes('127.0.0.1', 6)).toThrow(RangeError);
  });
});
