// Router advertisements' DNS options as the kernel hands them to user space: RTM_NEWNDUSEROPT
// bodies (one captured from a kernel answering dnsmasq's advertisement) and the DNS servers and
// search lists decoded from their options, malformed ones included.
import { describe, expect, it } from 'vitest';
import { decodeRaDnsOptions } from '../../../src/native/ra-dns-option.js';
import { decodeNdUserOpt, RTMGRP_ND_USEROPT } from '../../../src/native/rtnetlink-nduseropt.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** struct nduseroptmsg for AF_INET6, ifindex 2, a router advertisement, then `options` and the sender's address. */
function body(options: Buffer, source = hex('fe80 0000 0000 0000 6497 4fff fe5c 45a3')): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt8(10, 0);
  head.writeUInt16LE(options.length, 2);
  head.writeInt32LE(2, 4);
  head.writeUInt8(134, 8);
  const attr = Buffer.alloc(4);
  attr.writeUInt16LE(4 + source.length, 0);
  attr.writeUInt16LE(1, 2);
  return Buffer.concat([head, options, attr, source]);
}

// What the kernel passed on for dnsmasq's --dhcp-option=option6:dns-server,[2001:db8:42::53] and domain-search,lab6.test.
const RDNSS = hex('1903 0000 00000078 20010db8004200000000000000000053');
const DNSSL = hex('1f03 0000 00000078 046c616236 0474657374 00 0000000000');
const PREFIX = hex('0304 40c0 00000078 00000077 00000000 20010db8004200000000000000000000');

describe('RTM_NEWNDUSEROPT', () => {
  it('is group 20, bit 19 of the bind mask', () => {
    expect(RTMGRP_ND_USEROPT).toBe(0x80000);
  });

  it('decodes the header, the options and the sender', () => {
    expect(decodeNdUserOpt(body(RDNSS))).toEqual({ family: 10, ifindex: 2, icmpType: 134, icmpCode: 0, options: RDNSS, source: 'fe80::6497:4fff:fe5c:45a3' });
  });

  it('is null when too short or when its options overrun it; a missing sender is null', () => {
    expect(decodeNdUserOpt(Buffer.alloc(15))).toBeNull();
    const cut = body(RDNSS);
    cut.writeUInt16LE(200, 2);
    expect(decodeNdUserOpt(cut)).toBeNull();
    expect(decodeNdUserOpt(body(RDNSS).subarray(0, 16 + RDNSS.length))).toMatchObject({ source: null });
  });
});

describe('router advertisement DNS options', () => {
  it('servers and search domains with their lifetime; a prefix option is passed over', () => {
    expect(decodeRaDnsOptions(Buffer.concat([PREFIX, DNSSL, RDNSS]))).toEqual([
      { kind: 'searches', values: ['lab6.test'], lifetime: 120 },
      { kind: 'servers', values: ['2001:db8:42::53'], lifetime: 120 },
    ]);
  });

  it('several servers; all ones is for ever, 0 withdraws', () => {
    const two = hex('1905 0000 ffffffff 20010db8000000000000000000000001 20010db8000000000000000000000002');
    expect(decodeRaDnsOptions(two)).toEqual([{ kind: 'servers', values: ['2001:db8::1', '2001:db8::2'], lifetime: null }]);
    const gone = Buffer.from(RDNSS);
    gone.writeUInt32BE(0, 4);
    expect(decodeRaDnsOptions(gone)).toEqual([{ kind: 'servers', values: ['2001:db8:42::53'], lifetime: 0 }]);
  });

  it('several domains, padding between and after them', () => {
    const names = hex('1f04 0000 0000003c 03613162 0474657374 00 0163 00 0000000000000000000000');
    expect(decodeRaDnsOptions(names)).toEqual([{ kind: 'searches', values: ['a1b.test', 'c'], lifetime: 60 }]);
  });

  it('skips what is malformed: no address, half an address, a compression pointer, a name past the end, a length of 0', () => {
    expect(decodeRaDnsOptions(hex('1901 0000 00000078'))).toEqual([]);
    expect(decodeRaDnsOptions(hex('1902 0000 00000078 20010db800420000'))).toEqual([]);
    expect(decodeRaDnsOptions(hex('1f02 0000 00000078 c00c 000000000000'))).toEqual([]);
    expect(decodeRaDnsOptions(hex('1f02 0000 00000078 0a6c616236 000000'))).toEqual([]);
    expect(decodeRaDnsOptions(Buffer.concat([hex('1900 0000 00000078'), RDNSS]))).toEqual([]);
    // An option longer than what is left is a cut message: nothing more is read.
    expect(decodeRaDnsOptions(Buffer.concat([RDNSS, hex('1f09 0000 00000078')]))).toEqual([{ kind: 'servers', values: ['2001:db8:42::53'], lifetime: 120 }]);
  });

  it('leaves out a name that text cannot hold plainly: a dot or a space inside a label', () => {
    const odd = hex('1f03 0000 00000078 03612e62 0474657374 00 03782079 00 00');
    expect(decodeRaDnsOptions(odd)).toEqual([]);
    const mixed = hex('1f03 0000 00000078 03612e62 00 046c616236 00 0000000000');
    expect(decodeRaDnsOptions(mixed)).toEqual([{ kind: 'searches', values: ['lab6'], lifetime: 120 }]);
  });
});
