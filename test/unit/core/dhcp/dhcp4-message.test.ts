// The DHCPv4 codec: the exact header and options of what the client sends, the options of what
// servers send (classless routes and domain search with the examples of their specifications),
// option overload and long options, and hostile input that must never throw.
import { describe, expect, it } from 'vitest';
import {
  BOOTREPLY,
  decodeClasslessRoutes,
  decodeDhcp4,
  decodeDomainSearch,
  encodeClasslessRoutes,
  encodeClientMessage,
  encodeDhcp4,
  encodeDomainSearch,
  maskPrefix,
  optionsText,
  OPT,
  readParameters,
} from '../../../../src/core/dhcp/dhcp4-message.js';
import { serverReply } from './server-replies.js';

const MAC = Buffer.from('020000abcdef', 'hex');
const CLIENT_ID = Buffer.concat([Buffer.from([1]), MAC]);

/** The options of an encoded message in order, as [code, hex] pairs (a reading independent of the decoder). */
function optionList(b: Buffer): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  for (let i = 240; i < b.length && b[i] !== 255; ) {
    if (b[i] === 0) {
      i++;
      continue;
    }
    out.push([b[i]!, b.subarray(i + 2, i + 2 + b[i + 1]!).toString('hex')]);
    i += 2 + b[i + 1]!;
  }
  return out;
}

function random(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(Math.random() * 256);
  return b;
}

describe('what the client sends', () => {
  it('a DISCOVER: BOOTREQUEST, Ethernet, xid, secs, broadcast flag, chaddr, cookie, type first, padded to 300 bytes', () => {
    const b = encodeClientMessage({
      type: 'discover', xid: 0x12345678, secs: 3, broadcast: true, mac: MAC, clientId: CLIENT_ID,
      requestedAddress: '192.0.2.7', hostname: 'host1', parameterRequestList: [1, 3, 6], maxMessageSize: 576,
    });
    expect(b.length).toBe(300);
    expect(b.subarray(0, 12).toString('hex')).toBe('01010600' + '12345678' + '0003' + '8000');
    expect(b.subarray(12, 28).toString('hex')).toBe('0'.repeat(32)); // ciaddr yiaddr siaddr giaddr
    expect(b.subarray(28, 44).toString('hex')).toBe('020000abcdef' + '0'.repeat(20));
    expect(b.readUInt32BE(236)).toBe(0x63825363);
    expect(optionList(b)).toEqual([
      [53, '01'],
      [50, 'c0000207'],
      [61, '01020000abcdef'],
      [57, '0240'],
      [12, Buffer.from('host1').toString('hex')],
      [55, '010306'],
    ]);
  });

  it('a REQUEST in SELECTING carries 50 and 54; a renewal carries ciaddr and neither', () => {
    const selecting = encodeClientMessage({ type: 'request', xid: 1, broadcast: true, mac: MAC, requestedAddress: '192.0.2.100', serverId: '192.0.2.1' });
    expect(optionList(selecting).map(([c]) => c)).toEqual([53, 50, 54]);
    expect(optionList(selecting)[0]).toEqual([53, '03']);
    const renewing = encodeClientMessage({ type: 'request', xid: 1, mac: MAC, ciaddr: '192.0.2.100' });
    expect(renewing.subarray(12, 16).toString('hex')).toBe('c0000264');
    expect(renewing.readUInt16BE(10)).toBe(0);
    expect(optionList(renewing).map(([c]) => c)).toEqual([53]);
  });

  it('a DECLINE carries the address, the server and a reason, never the parameter list, size or host name', () => {
    const b = encodeClientMessage({
      type: 'decline', xid: 9, mac: MAC, requestedAddress: '192.0.2.100', serverId: '192.0.2.1', clientId: CLIENT_ID,
      message: 'address in use', parameterRequestList: [1], maxMessageSize: 1500, hostname: 'h',
    });
    expect(optionList(b)).toEqual([
      [53, '04'],
      [50, 'c0000264'],
      [54, 'c0000201'],
      [61, '01020000abcdef'],
      [56, Buffer.from('address in use').toString('hex')],
    ]);
  });

  it('a RELEASE carries ciaddr and the server, no requested address', () => {
    const b = encodeClientMessage({ type: 'release', xid: 9, mac: MAC, ciaddr: '192.0.2.100', requestedAddress: '192.0.2.100', serverId: '192.0.2.1' });
    expect(b.subarray(12, 16).toString('hex')).toBe('c0000264');
    expect(optionList(b)).toEqual([[53, '07'], [54, 'c0000201']]);
  });

  it('an INFORM carries ciaddr and the parameter list, no server id or requested address', () => {
    const b = encodeClientMessage({ type: 'inform', xid: 9, mac: MAC, ciaddr: '192.0.2.100', serverId: '192.0.2.1', requestedAddress: '192.0.2.100', parameterRequestList: [6] });
    expect(optionList(b)).toEqual([[53, '08'], [55, '06']]);
  });

  it('a requested lease time (51) is sent when asked for', () => {
    const b = encodeClientMessage({ type: 'discover', xid: 1, mac: MAC, leaseTime: 7200 });
    expect(optionList(b)).toContainEqual([51, '00001c20']);
  });

  it('round-trips through the decoder', () => {
    const b = encodeClientMessage({ type: 'request', xid: 0xdeadbeef, secs: 70000, broadcast: true, mac: MAC, requestedAddress: '192.0.2.5', serverId: '192.0.2.1', hostname: 'x' });
    const m = decodeDhcp4(b)!;
    expect(m).toMatchObject({ op: 1, xid: 0xdeadbeef, secs: 0xffff, broadcast: true, type: 'request', ciaddr: '0.0.0.0' });
    expect(m.chaddr.equals(MAC)).toBe(true);
    expect(m.options.get(OPT.REQUESTED_ADDRESS)!.toString('hex')).toBe('c0000205');
    expect(m.options.get(OPT.HOSTNAME)!.toString()).toBe('x');
  });
});

describe('what servers send', () => {
  it('reads an ACK: mask, routers, DNS, domain, MTU, times, server, broadcast, NTP', () => {
    const b = serverReply('ack', {
      xid: 5, mac: MAC, yiaddr: '192.0.2.100', mask: '255.255.254.0', routers: ['192.0.2.1', '192.0.2.2'], dns: ['192.0.2.53', '198.51.100.53'],
      domainName: 'example.test', mtu: 1400, t1: 100, t2: 200, leaseTime: 400,
      extra: [[OPT.BROADCAST, Buffer.from([192, 0, 3, 255])], [OPT.NTP, Buffer.from([192, 0, 2, 123])]],
    });
    const m = decodeDhcp4(b)!;
    expect(m.op).toBe(BOOTREPLY);
    expect(m.type).toBe('ack');
    expect(readParameters(m)).toEqual({
      subnetMask: '255.255.254.0', routers: ['192.0.2.1', '192.0.2.2'], dns: ['192.0.2.53', '198.51.100.53'], hostname: null,
      domainName: 'example.test', domainSearch: [], mtu: 1400, broadcast: '192.0.3.255', ntp: ['192.0.2.123'],
      leaseTime: 400, serverId: '192.0.2.1', renewalTime: 100, rebindingTime: 200, classlessRoutes: null, message: null,
    });
  });

  it('reads a NAK and its message', () => {
    const m = decodeDhcp4(serverReply('nak', { xid: 5, mac: MAC, message: 'wrong network' }))!;
    expect(m.type).toBe('nak');
    expect(readParameters(m).message).toBe('wrong network');
  });

  it('gives the options NetworkManager names for display', () => {
    const m = decodeDhcp4(serverReply('ack', {
      xid: 5, mac: MAC, yiaddr: '192.0.2.100', routers: ['192.0.2.1'], dns: ['192.0.2.53', '192.0.2.54'], domainName: 'example.test',
      search: encodeDomainSearch(['a.example.test', 'example.test']), mtu: 1400, leaseTime: 3600,
      routes: [{ dest: '0.0.0.0', prefix: 0, gateway: '192.0.2.1' }, { dest: '10.0.0.0', prefix: 8, gateway: '192.0.2.2' }],
    }))!;
    expect(optionsText(m, 1_700_000_000_500)).toEqual({
      ip_address: '192.0.2.100',
      subnet_mask: '255.255.255.0',
      routers: '192.0.2.1',
      domain_name_servers: '192.0.2.53 192.0.2.54',
      domain_name: 'example.test',
      domain_search: 'a.example.test example.test',
      interface_mtu: '1400',
      dhcp_lease_time: '3600',
      dhcp_server_identifier: '192.0.2.1',
      classless_static_routes: '0.0.0.0/0 192.0.2.1 10.0.0.0/8 192.0.2.2',
      expiry: String(1_700_000_000 + 3600),
    });
  });

  it('joins the parts of an option split over several (a long option, cut inside an address), in order', () => {
    const dns = Array.from({ length: 70 }, (_, i) => `192.0.2.${i + 1}`);
    const b = serverReply('ack', { xid: 1, mac: MAC, dns });
    expect(optionList(b).filter(([c]) => c === OPT.DNS).map(([, v]) => v.length / 2)).toEqual([255, 25]);
    expect(readParameters(decodeDhcp4(b)!).dns).toEqual(dns);
  });

  it('reads the options put into file and sname when option 52 says so', () => {
    const b = serverReply('ack', { xid: 1, mac: MAC, extra: [[OPT.OVERLOAD, Buffer.from([3])]] });
    // file: DNS server and end; sname: domain name and end
    Buffer.from([6, 4, 192, 0, 2, 53, 255]).copy(b, 108);
    Buffer.from([15, 4, ...Buffer.from('test'), 255]).copy(b, 44);
    const p = readParameters(decodeDhcp4(b)!);
    expect(p.dns).toEqual(['192.0.2.53']);
    expect(p.domainName).toBe('test');
  });

  it('leaves out overloaded fields that do not read, keeping the rest of the message', () => {
    const b = serverReply('ack', { xid: 1, mac: MAC, dns: ['192.0.2.53'], extra: [[OPT.OVERLOAD, Buffer.from([1])]] });
    Buffer.from([6, 200, 1, 2]).copy(b, 108); // runs past the end of file
    const m = decodeDhcp4(b)!;
    expect(readParameters(m).dns).toEqual(['192.0.2.53']);
  });

  it('treats an unreadable option as absent', () => {
    const m = decodeDhcp4(serverReply('ack', {
      xid: 1, mac: MAC, mask: null,
      extra: [
        [OPT.SUBNET_MASK, Buffer.from([255, 0, 255, 0])], // not contiguous
        [OPT.ROUTER, Buffer.from([192, 0, 2])], // not a multiple of 4
        [OPT.MTU, Buffer.from([0, 20])], // below 68
        [OPT.DOMAIN_NAME, Buffer.from('evil\nnameserver 6.6.6.6')],
        [OPT.SERVER_ID, Buffer.from([1, 2])],
      ],
      server: null,
    }))!;
    const p = readParameters(m);
    expect(p).toMatchObject({ subnetMask: null, routers: [], mtu: null, domainName: null, serverId: null });
  });

  it('reads a domain name that ends in a NUL, as some servers send it', () => {
    const m = decodeDhcp4(serverReply('ack', { xid: 1, mac: MAC, extra: [[OPT.DOMAIN_NAME, Buffer.from('example.test\0')]] }))!;
    expect(readParameters(m).domainName).toBe('example.test');
  });
});

describe('netmasks', () => {
  it.each([
    ['255.255.255.0', 24], ['255.255.255.255', 32], ['0.0.0.0', 0], ['255.255.254.0', 23], ['128.0.0.0', 1],
    ['255.0.255.0', null], ['0.255.255.255', null], ['255.255.255.1', null],
  ])('%s is /%s', (mask, prefix) => {
    expect(maskPrefix(mask)).toBe(prefix);
  });
});

describe('option 121: classless static routes', () => {
  // The examples of the option's specification: each destination and how many octets it takes.
  it.each([
    ['0.0.0.0', 0, '00'],
    ['10.0.0.0', 8, '080a'],
    ['10.0.0.0', 24, '180a0000'],
    ['10.17.0.0', 16, '100a11'],
    ['10.27.129.0', 24, '180a1b81'],
    ['10.229.0.128', 25, '190ae50080'],
    ['10.198.122.47', 32, '200ac67a2f'],
  ])('%s/%s is written as %s and the router', (dest, prefix, hex) => {
    const route = { dest, prefix, gateway: '192.0.2.1' };
    const encoded = encodeClasslessRoutes([route]);
    expect(encoded.toString('hex')).toBe(hex + 'c0000201');
    expect(decodeClasslessRoutes(encoded)).toEqual([route]);
  });

  it('reads several routes, an on-link one (router 0.0.0.0) among them', () => {
    const v = Buffer.from('00c0000201' + '18c63364' + '00000000' + '08' + '0a' + 'c0000202', 'hex');
    expect(decodeClasslessRoutes(v)).toEqual([
      { dest: '0.0.0.0', prefix: 0, gateway: '192.0.2.1' },
      { dest: '198.51.100.0', prefix: 24, gateway: '0.0.0.0' },
      { dest: '10.0.0.0', prefix: 8, gateway: '192.0.2.2' },
    ]);
  });

  it('clears destination bits past the prefix', () => {
    expect(decodeClasslessRoutes(Buffer.from('090aff' + 'c0000201', 'hex'))).toEqual([{ dest: '10.128.0.0', prefix: 9, gateway: '192.0.2.1' }]);
  });

  it('refuses the whole option when one entry does not read', () => {
    expect(decodeClasslessRoutes(Buffer.from('21' + '0a000000' + '00' + 'c0000201', 'hex'))).toBeNull(); // prefix 33
    expect(decodeClasslessRoutes(Buffer.from('00c0000201' + '180a00', 'hex'))).toBeNull(); // truncated
    expect(decodeClasslessRoutes(Buffer.from('00c00002', 'hex'))).toBeNull();
  });

  it('an empty option is an empty table', () => {
    expect(decodeClasslessRoutes(Buffer.alloc(0))).toEqual([]);
  });
});

describe('option 119: domain search', () => {
  it("reads its specification's example, split over three options with a pointer into the first", () => {
    const parts = [
      Buffer.from([3, ...Buffer.from('eng'), 5, ...Buffer.from('appl')]),
      Buffer.from([...Buffer.from('e'), 3, ...Buffer.from('com'), 0, 9, ...Buffer.from('ma')]),
      Buffer.from([...Buffer.from('rketing'), 0xc0, 0x04]),
    ];
    expect(parts.map((p) => p.length)).toEqual([9, 9, 9]);
    const b = serverReply('ack', { xid: 1, mac: MAC, extra: parts.map((p) => [OPT.DOMAIN_SEARCH, p] as [number, Buffer]) });
    expect(readParameters(decodeDhcp4(b)!).domainSearch).toEqual(['eng.apple.com', 'marketing.apple.com']);
  });

  it('writes names with shared suffixes compressed, and reads them back', () => {
    const names = ['eng.apple.com', 'marketing.apple.com', 'apple.com', 'example.test', 'a.b.example.test'];
    const v = encodeDomainSearch(names);
    expect(v.length).toBeLessThan(names.join('..').length);
    expect(v.subarray(0, 15).toString('hex')).toBe('03656e67056170706c6503636f6d00');
    expect(decodeDomainSearch(v)).toEqual(names);
  });

  it.each([
    ['a pointer to itself', '03616263c003'],
    ['a pointer forward', 'c00200'],
    ['two names pointing at each other', '0161c00400' + '0162c000'],
    ['a pointer past the end', '0161c0ff'],
    ['a label past the end', '0561626300'],
    ['no terminating zero', '03616263'],
    ['an extended label type', '4161' + '00'],
    ['a cut pointer', '0161c0'],
  ])('refuses %s', (_name, hex) => {
    expect(decodeDomainSearch(Buffer.from(hex, 'hex'))).toBeNull();
  });

  it('refuses a name longer than 255 bytes', () => {
    const label = Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)]);
    expect(decodeDomainSearch(Buffer.concat([label, label, label, label, Buffer.from([0])]))).toBeNull();
    expect(decodeDomainSearch(Buffer.concat([label, label, label, Buffer.from([0])]))).toHaveLength(1);
  });

  it('drops names a resolver configuration must not get, keeps the others', () => {
    const v = Buffer.concat([encodeDomainSearch(['good.test']), Buffer.from([4, ...Buffer.from('b d\n'), 0])]);
    const b = serverReply('ack', { xid: 1, mac: MAC, search: v });
    expect(readParameters(decodeDhcp4(b)!).domainSearch).toEqual(['good.test']);
  });
});

describe('malformed and hostile input', () => {
  const ack = serverReply('ack', {
    xid: 1, mac: MAC, routers: ['192.0.2.1'], dns: ['192.0.2.53'], domainName: 'example.test',
    search: encodeDomainSearch(['a.test', 'b.a.test']), routes: [{ dest: '10.0.0.0', prefix: 8, gateway: '192.0.2.1' }],
  });

  it('refuses a message shorter than the header, without the magic cookie, or with an unknown op', () => {
    expect(decodeDhcp4(ack.subarray(0, 239))).toBeNull();
    const noCookie = Buffer.from(ack);
    noCookie[236] = 0;
    expect(decodeDhcp4(noCookie)).toBeNull();
    const op = Buffer.from(ack);
    op[0] = 3;
    expect(decodeDhcp4(op)).toBeNull();
    const hlen = Buffer.from(ack);
    hlen[2] = 17;
    expect(decodeDhcp4(hlen)).toBeNull();
  });

  it('refuses an option that runs past the end of the message', () => {
    const cut = Buffer.concat([ack.subarray(0, 240), Buffer.from([53, 1, 5, 6, 8, 192, 0, 2, 1])]);
    expect(decodeDhcp4(cut)).toBeNull();
  });

  it('takes a message without an end option, and one without a message type (BOOTP)', () => {
    const noEnd = Buffer.concat([ack.subarray(0, 240), Buffer.from([53, 1, 5])]);
    expect(decodeDhcp4(noEnd)?.type).toBe('ack');
    const bootp = encodeDhcp4({ op: BOOTREPLY, type: null, xid: 1, chaddr: MAC, options: [] });
    expect(decodeDhcp4(bootp)?.type).toBeNull();
    const unknownType = encodeDhcp4({ op: BOOTREPLY, type: null, xid: 1, chaddr: MAC, options: [[53, Buffer.from([99])]] });
    expect(decodeDhcp4(unknownType)?.type).toBeNull();
  });

  it('never throws on random bytes, and what it decodes reads without throwing', () => {
    for (let i = 0; i < 3000; i++) {
      const b = random(Math.floor(Math.random() * 600));
      if (b.length >= 240 && Math.random() < 0.7) b.writeUInt32BE(0x63825363, 236);
      if (b.length > 0 && Math.random() < 0.5) b[0] = 2;
      if (b.length > 2 && Math.random() < 0.5) b[2] = 6;
      const m = decodeDhcp4(b);
      if (m) {
        expect(() => readParameters(m)).not.toThrow();
        expect(() => optionsText(m, Date.now())).not.toThrow();
      }
    }
  });

  it('never throws on a real ACK with bytes changed at random', () => {
    let decoded = 0;
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(ack);
      for (let k = 0; k < 1 + Math.floor(Math.random() * 6); k++) b[240 + Math.floor(Math.random() * (b.length - 240))] = Math.floor(Math.random() * 256);
      const m = decodeDhcp4(b);
      if (m) {
        decoded++;
        expect(() => readParameters(m)).not.toThrow();
        expect(() => optionsText(m, Date.now())).not.toThrow();
      }
    }
    expect(decoded).toBeGreaterThan(0);
  });

  it('never throws on random option 119 and 121 values', () => {
    for (let i = 0; i < 5000; i++) {
      const v = random(Math.floor(Math.random() * 64));
      expect(() => decodeDomainSearch(v)).not.toThrow();
      expect(() => decodeClasslessRoutes(v)).not.toThrow();
    }
  });
});
