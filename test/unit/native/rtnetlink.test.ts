// rtnetlink messages: the exact bytes of our requests, and decoding of crafted kernel messages, malformed ones included.
import { describe, expect, it } from 'vitest';
import {
  addressDumpRequest,
  decodeAddress,
  decodeError,
  decodeInet6Link,
  decodeLink,
  deleteLinkRequest,
  linkDumpRequest,
  parseAttributes,
  splitMessages,
} from '../../../src/native/rtnetlink-codec.js';
import { NetlinkError } from '../../../src/native/rtnetlink.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** An attribute: length, type, payload, padding to 4 bytes. */
function attr(type: number, payload: Buffer): Buffer {
  const out = Buffer.alloc((4 + payload.length + 3) & ~3);
  out.writeUInt16LE(4 + payload.length, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

function ifinfomsg(family: number, arphrd: number, index: number, flags: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(family, 0);
  b.writeUInt16LE(arphrd, 2);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags, 8);
  return b;
}

const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v, 0);
  return b;
};

/** A veth v0 (ifindex 5, up with carrier, MTU 1400, port of ifindex 3), as the kernel sends it. */
const vethBody = Buffer.concat([
  ifinfomsg(0, 1, 5, 0x10001 | 0x1002),
  attr(3, Buffer.from('v0\0')),
  attr(4, u32(1400)),
  attr(1, hex('02 00 5e 10 20 3a')),
  attr(16, Buffer.from([6])),
  attr(18 | 0x8000, attr(1, Buffer.from('veth\0'))),
  attr(10, u32(3)),
  attr(5, u32(6)),
]);

describe('rtnetlink requests', () => {
  it('asks for a dump of every link with the exact bytes of RTM_GETLINK, NLM_F_REQUEST|NLM_F_DUMP and IFLA_EXT_MASK=RTEXT_FILTER_VF', () => {
    expect(linkDumpRequest(7).toString('hex')).toBe(
      '28000000' + '1200' + '0103' + '07000000' + '00000000' + // nlmsghdr: len 40, RTM_GETLINK, flags, seq 7, pid 0
        '00000000000000000000000000000000' + // ifinfomsg: AF_UNSPEC, every link
        '08001d0001000000', // IFLA_EXT_MASK = 1
    );
  });

  it('asks for a dump of every address with the exact bytes of RTM_GETADDR for AF_UNSPEC', () => {
    expect(addressDumpRequest(0x01020304).toString('hex')).toBe('18000000' + '1600' + '0103' + '04030201' + '00000000' + '0000000000000000');
  });

  it('deletes one link with the exact bytes of RTM_DELLINK, NLM_F_REQUEST|NLM_F_ACK and its ifindex', () => {
    expect(deleteLinkRequest(9, 0x1234).toString('hex')).toBe(
      '20000000' + '1100' + '0500' + '09000000' + '00000000' + // nlmsghdr: len 32, RTM_DELLINK, REQUEST|ACK, seq 9, pid 0
        '00000000' + '34120000' + '00000000' + '00000000', // ifinfomsg: AF_UNSPEC, ifindex 0x1234
    );
  });
});

describe('rtnetlink link messages', () => {
  it('decode ifindex, name, MTU, MAC, flags, operstate, kind, master and the peer (IFLA_LINK)', () => {
    expect(decodeLink(vethBody)).toEqual({
      ifindex: 5,
      arphrd: 1,
      flags: 0x11003,
      name: 'v0',
      mtu: 1400,
      address: '02:00:5e:10:20:3a',
      operstate: 6,
      kind: 'veth',
      master: 3,
      link: 6,
      linkNetnsid: null,
      inet6Flags: null,
    });
  });

  it('decode a link without optional attributes to nulls', () => {
    expect(decodeLink(ifinfomsg(0, 772, 1, 0))).toEqual({
      ifindex: 1, arphrd: 772, flags: 0, name: null, mtu: null, address: null, operstate: null, kind: null, master: null, link: null, linkNetnsid: null, inet6Flags: null,
    });
  });

  it('are not links when the body is shorter than struct ifinfomsg', () => {
    expect(decodeLink(vethBody.subarray(0, 15))).toBeNull();
    expect(decodeLink(Buffer.alloc(0))).toBeNull();
  });

  it('are not links when they are AF_BRIDGE port messages (a port leaving its bridge is not a link deleted)', () => {
    const port = Buffer.from(vethBody);
    port.writeUInt8(7, 0);
    expect(decodeLink(port)).toBeNull();
  });

  it('keep the attributes before one whose length runs past the end, and drop the rest', () => {
    const cut = Buffer.concat([ifinfomsg(0, 1, 9, 0), attr(3, Buffer.from('eth0\0')), hex('2000 0400 78050000')]);
    expect(decodeLink(cut)).toMatchObject({ ifindex: 9, name: 'eth0', mtu: null });
  });

  it('stop at an attribute whose length is below its own header, without looping or throwing', () => {
    const zero = Buffer.concat([ifinfomsg(0, 1, 9, 0), hex('0000 0300'), attr(4, u32(1500))]);
    expect(decodeLink(zero)).toMatchObject({ ifindex: 9, name: null, mtu: null });
    expect(parseAttributes(hex('0200 0300 ffff'))).toEqual(new Map());
  });

  it('read an MTU of two bytes, a name without NUL and an empty address defensively', () => {
    const odd = Buffer.concat([ifinfomsg(0, 1, 4, 0), attr(4, hex('dc05')), attr(3, Buffer.from('br-lan')), attr(1, Buffer.alloc(0))]);
    expect(decodeLink(odd)).toMatchObject({ mtu: null, name: 'br-lan', address: null });
  });

  it('read a link kind from IFLA_LINKINFO whether or not the nested flag is set, and none from a broken one', () => {
    const plain = Buffer.concat([ifinfomsg(0, 1, 4, 0), attr(18, attr(1, Buffer.from('bridge\0')))]);
    expect(decodeLink(plain)?.kind).toBe('bridge');
    const broken = Buffer.concat([ifinfomsg(0, 1, 4, 0), attr(18, hex('4000 0100 6272'))]);
    expect(decodeLink(broken)?.kind).toBeNull();
  });
});

describe('the IPv6 flags of a link (M and O of the last router advertisement, docs/dhcp6.md)', () => {
  it('are read from IFLA_AF_SPEC → AF_INET6 → IFLA_INET6_FLAGS in a link message', () => {
    const body = Buffer.concat([ifinfomsg(0, 1, 4, 0), attr(26, Buffer.concat([attr(2, attr(1, u32(0))), attr(10, Buffer.concat([attr(1, u32(0xc0)), attr(5, u32(1280))]))]))]);
    expect(decodeLink(body)?.inet6Flags).toBe(0xc0);
  });

  it('are read from IFLA_PROTINFO of the AF_INET6 RTM_NEWLINK the kernel sends when they change', () => {
    const body = Buffer.concat([ifinfomsg(10, 1, 4, 0), attr(12, Buffer.concat([attr(1, u32(0x80)), attr(2, u32(0))]))]);
    expect(decodeInet6Link(body)).toEqual({ ifindex: 4, inet6Flags: 0x80 });
    expect(decodeLink(body)).toBeNull();
    expect(decodeInet6Link(Buffer.concat([ifinfomsg(0, 1, 4, 0), attr(12, attr(1, u32(0x80)))]))).toBeNull();
    expect(decodeInet6Link(Buffer.concat([ifinfomsg(10, 1, 4, 0), attr(12, attr(1, hex('80')))]))).toBeNull();
  });
});

describe('rtnetlink datagrams', () => {
  const message = (type: number, flags: number, seq: number, body: Buffer): Buffer => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(16 + body.length, 0);
    h.writeUInt16LE(type, 4);
    h.writeUInt16LE(flags, 6);
    h.writeUInt32LE(seq, 8);
    const out = Buffer.alloc((16 + body.length + 3) & ~3);
    Buffer.concat([h, body]).copy(out);
    return out;
  };

  it('split into messages at their aligned lengths', () => {
    const data = Buffer.concat([message(16, 2, 1, vethBody), message(20, 2, 1, hex('02')), message(3, 2, 1, u32(0))]);
    const parts = splitMessages(data);
    expect(parts.map((m) => [m.type, m.flags, m.seq, m.body.length])).toEqual([[16, 2, 1, vethBody.length], [20, 2, 1, 1], [3, 2, 1, 4]]);
    expect(decodeLink(parts[0]!.body)?.name).toBe('v0');
  });

  it('keep the messages before a header whose length is too short or runs past the end', () => {
    const good = message(16, 0, 1, vethBody);
    const tooLong = hex('ff000000 1000 0000 01000000 00000000');
    expect(splitMessages(Buffer.concat([good, tooLong])).length).toBe(1);
    const tooShort = hex('08000000 1000 0000 01000000 00000000');
    expect(splitMessages(Buffer.concat([good, tooShort, good])).length).toBe(1);
    expect(splitMessages(hex('2800'))).toEqual([]);
  });
});

describe('rtnetlink address messages', () => {
  /** An ifaddrmsg; `flags` 0x80 (IFA_F_PERMANENT) by default, as for an address added without a lifetime. */
  const ifaddrmsg = (family: number, prefix: number, index: number, flags = 0x80): Buffer => {
    const b = Buffer.alloc(8);
    b.writeUInt8(family, 0);
    b.writeUInt8(prefix, 1);
    b.writeUInt8(flags, 2);
    b.writeUInt32LE(index, 4);
    return b;
  };

  it('mark an address without IFA_F_PERMANENT (SLAAC\'s, a lease\'s) as dynamic, in ifa_flags or IFA_FLAGS', () => {
    const address = attr(1, hex('20010db8000000000000000000000001'));
    expect(decodeAddress(Buffer.concat([ifaddrmsg(10, 64, 2, 0), address]))).toEqual({ ifindex: 2, family: 6, address: '2001:db8::1', prefix: 64, dynamic: true });
    // IFA_FLAGS (8), 32 bits, wins over the 8 bits of ifa_flags.
    const flags = (n: number): Buffer => {
      const v = Buffer.alloc(4);
      v.writeUInt32LE(n, 0);
      return attr(8, v);
    };
    expect(decodeAddress(Buffer.concat([ifaddrmsg(10, 64, 2, 0), address, flags(0x80)]))?.dynamic).toBeUndefined();
    expect(decodeAddress(Buffer.concat([ifaddrmsg(10, 64, 2, 0x80), address, flags(0x100)]))?.dynamic).toBe(true);
  });

  it('decode who made an address (IFA_PROTO) and a dynamic one\'s valid lifetime (IFA_CACHEINFO)', () => {
    const address = attr(1, hex('20010db8000000000000000000000001'));
    const cacheinfo = Buffer.alloc(16);
    cacheinfo.writeUInt32LE(60, 0); // ifa_prefered
    cacheinfo.writeUInt32LE(118, 4); // ifa_valid
    const slaac = decodeAddress(Buffer.concat([ifaddrmsg(10, 64, 2, 0), address, attr(6, cacheinfo), attr(11, Buffer.from([2]))]));
    expect(slaac).toEqual({ ifindex: 2, family: 6, address: '2001:db8::1', prefix: 64, dynamic: true, validLft: 118, proto: 2 });
    // A permanent address's cacheinfo says "forever": no lifetime; IFAPROT_UNSPEC is no proto.
    const permanent = decodeAddress(Buffer.concat([ifaddrmsg(10, 64, 2, 0x80), address, attr(6, cacheinfo), attr(11, Buffer.from([0]))]));
    expect(permanent).toEqual({ ifindex: 2, family: 6, address: '2001:db8::1', prefix: 64 });
  });

  it('decode an IPv4 address from IFA_LOCAL, not the peer in IFA_ADDRESS', () => {
    const body = Buffer.concat([ifaddrmsg(2, 24, 3), attr(1, hex('c6336402')), attr(2, hex('c6336401'))]);
    expect(decodeAddress(body)).toEqual({ ifindex: 3, family: 4, address: '198.51.100.1', prefix: 24 });
  });

  it('decode IPv6 addresses in their RFC 5952 form', () => {
    const v6 = (bytes: string, prefix = 64) => decodeAddress(Buffer.concat([ifaddrmsg(10, prefix, 2), attr(1, hex(bytes))]));
    expect(v6('20010db8000000000000000000000001')).toEqual({ ifindex: 2, family: 6, address: '2001:db8::1', prefix: 64 });
    expect(v6('00000000000000000000000000000001', 128)?.address).toBe('::1');
    expect(v6('fe80000000000000a8bbccfffedd0001')?.address).toBe('fe80::a8bb:ccff:fedd:1');
    expect(v6('20010db8000100000001000000000000')?.address).toBe('2001:db8:1:0:1::');
    expect(v6('20010db8000000010000000000000001')?.address).toBe('2001:db8:0:1::1');
    expect(v6('20010db8000100020003000400050006')?.address).toBe('2001:db8:1:2:3:4:5:6');
  });

  it('are not addresses when the body is short, the family unknown or the address of the wrong length', () => {
    expect(decodeAddress(hex('02180000 030000'))).toBeNull();
    expect(decodeAddress(Buffer.concat([ifaddrmsg(7, 24, 3), attr(2, hex('c6336401'))]))).toBeNull();
    expect(decodeAddress(Buffer.concat([ifaddrmsg(2, 24, 3), attr(2, hex('c63364'))]))).toBeNull();
    expect(decodeAddress(Buffer.concat([ifaddrmsg(10, 64, 3), attr(1, hex('c6336401'))]))).toBeNull();
    expect(decodeAddress(ifaddrmsg(2, 24, 3))).toBeNull();
  });
});

describe('rtnetlink errors', () => {
  it('read the errno and the extended ack text of a capped NLMSG_ERROR', () => {
    const echoed = hex('20000000 1000 0500 07000000 00000000'); // the request's header only (NLM_F_CAPPED)
    const body = Buffer.concat([hex('eaffffff'), echoed, attr(1, Buffer.from('mtu greater than device maximum\0'))]);
    expect(decodeError({ type: 2, flags: 0x100 | 0x200, seq: 7, body })).toEqual({ errno: 22, extAck: 'mtu greater than device maximum' });
  });

  it('read an ack as errno 0, and an error without TLVs without text', () => {
    expect(decodeError({ type: 2, flags: 0x100, seq: 1, body: Buffer.concat([u32(0), Buffer.alloc(16)]) })).toEqual({ errno: 0, extAck: null });
    expect(decodeError({ type: 2, flags: 0, seq: 1, body: hex('edffffff') })).toEqual({ errno: 19, extAck: null });
  });

  it('read a truncated error as EPROTO and a truncated ack TLV as no text', () => {
    expect(decodeError({ type: 2, flags: 0, seq: 1, body: hex('eaff') })).toEqual({ errno: 71, extAck: null });
    expect(decodeError({ type: 2, flags: 0x300, seq: 1, body: Buffer.concat([hex('eaffffff'), Buffer.alloc(16), hex('ff00 0100 6d74')]) })).toEqual({ errno: 22, extAck: null });
  });

  it('carry the errno, its name and the kernel\'s text in a NetlinkError', () => {
    const e = new NetlinkError('set MTU of "v0"', 22, 'mtu greater than device maximum');
    expect([e.message, e.errno, e.code, e.extAck]).toEqual(['set MTU of "v0": EINVAL (mtu greater than device maximum)', 22, 'EINVAL', 'mtu greater than device maximum']);
    expect(new NetlinkError('new link', 95).message).toBe('new link: EOPNOTSUPP');
    expect(new NetlinkError('x', 4095).code).toBe('errno 4095');
  });
});
