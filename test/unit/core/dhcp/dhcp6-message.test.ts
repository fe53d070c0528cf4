// The DHCPv6 codec: the exact bytes of what the client sends, and what it reads of a server's
// message, including messages that do not read and options that must be ignored.
import { describe, expect, it } from 'vitest';
import { decodeDhcp6, encodeDhcp6, encodeServerMessage, ipv6Bytes, OPT6 } from '../../../../src/core/dhcp/dhcp6-message.js';
import { lease6FromReply } from '../../../../src/core/dhcp/dhcp6-lease.js';
import { serverMessage, SERVER_DUID } from './dhcp6-fakes.js';

const DUID = Buffer.from('0004' + '11'.repeat(16), 'hex');

describe('what the client sends', () => {
  it('a Solicit is its type, the xid, CLIENTID, an empty IA_NA, ORO 23 and 24, and ELAPSED_TIME', () => {
    const b = encodeDhcp6({ type: 'solicit', xid: 0xabcdef, clientId: DUID, iaNa: { iaid: 0x01020304, addresses: [] }, oro: [23, 24], elapsed: 0 });
    expect(b.toString('hex')).toBe(
      '01abcdef' + '00010012' + DUID.toString('hex') + '0003000c' + '01020304' + '00000000' + '00000000' + '000600040017' + '0018' + '000800020000',
    );
  });

  it('a Request names the server and the address, lifetimes left to the server; elapsed time is capped at 0xffff', () => {
    const b = encodeDhcp6({ type: 'request', xid: 1, clientId: DUID, serverId: SERVER_DUID, iaNa: { iaid: 7, addresses: ['fd00::100'] }, elapsed: 1e9 });
    const m = b.toString('hex');
    expect(m.startsWith('03000001')).toBe(true);
    expect(m).toContain('0002000a' + SERVER_DUID.toString('hex'));
    expect(m).toContain('00030028' + '00000007' + '00000000' + '00000000' + '00050018' + 'fd000000000000000000000000000100' + '00000000' + '00000000');
    expect(m.endsWith('00080002ffff')).toBe(true);
  });

  it('writes IPv6 addresses with :: anywhere, and refuses what is not one', () => {
    expect(ipv6Bytes('::').toString('hex')).toBe('0'.repeat(32));
    expect(ipv6Bytes('fe80::1').toString('hex')).toBe('fe80' + '0'.repeat(27) + '1');
    expect(ipv6Bytes('1:2:3:4:5:6:7:8').toString('hex')).toBe('00010002000300040005000600070008');
    expect(() => ipv6Bytes('1:2:3')).toThrow(/not an IPv6 address/);
    expect(() => ipv6Bytes('g::1')).toThrow(/not an IPv6 address/);
  });
});

describe('what the client reads', () => {
  it('a Reply: its IA_NA with the address, DNS (23) and an uncompressed domain list (24)', () => {
    const domains = Buffer.from('076578616d706c650474657374000361626300', 'hex'); // example.test, abc
    const b = Buffer.concat([
      serverMessage('reply', { xid: 0x123456, clientId: DUID, iaid: 9, t1: 60, t2: 96, addresses: [{ address: 'fd00::1:2', preferred: 120, valid: 180 }], dns: ['fd00::53', '2001:db8::35'] }),
      encodeServerMessage('reply', 0, [{ code: OPT6.DOMAIN_LIST, value: domains }]).subarray(4),
    ]);
    const m = decodeDhcp6(b)!;
    expect(m).toMatchObject({ type: 'reply', xid: 0x123456, dns: ['fd00::53', '2001:db8::35'], domains: ['example.test', 'abc'], preference: 0 });
    expect(m.clientId).toEqual(DUID);
    expect(m.serverId).toEqual(SERVER_DUID);
    expect(m.iaNa).toEqual([{ iaid: 9, t1: 60, t2: 96, addresses: [{ address: 'fd00::1:2', preferred: 120, valid: 180 }], status: null }]);
  });

  it('drops a message that is too short or has an option past its end, never throwing', () => {
    expect(decodeDhcp6(Buffer.from('07ab', 'hex'))).toBeNull();
    expect(decodeDhcp6(Buffer.from('07000001' + '00010010' + 'aa', 'hex'))).toBeNull();
    expect(decodeDhcp6(Buffer.from('07000001', 'hex'))).toMatchObject({ type: 'reply', iaNa: [], dns: [] });
  });

  it('ignores a DNS option that is not a list of addresses and a domain that a resolver must not get', () => {
    const bad = encodeServerMessage('reply', 1, [
      { code: OPT6.DNS_SERVERS, value: Buffer.alloc(15) },
      { code: OPT6.DOMAIN_LIST, value: Buffer.from('\x05a b\nc\x00\x02ok\x00', 'latin1') },
    ]);
    expect(decodeDhcp6(bad)).toMatchObject({ dns: [], domains: ['ok'] });
  });

  it('a status message with control characters is made printable', () => {
    const m = decodeDhcp6(serverMessage('reply', { xid: 1, clientId: DUID, status: { code: 2, message: 'no\naddress' } }))!;
    expect(m.status).toEqual({ code: 2, message: 'no?address' });
  });

  it('an IAADDR with a status other than Success is not an address to take', () => {
    const iaaddr = Buffer.concat([ipv6Bytes('fd00::9'), Buffer.from('0000007800000078', 'hex'), Buffer.from('000d00040002', 'hex'), Buffer.from('hi')]);
    const head = Buffer.alloc(4);
    head.writeUInt16BE(OPT6.IAADDR, 0);
    head.writeUInt16BE(iaaddr.length, 2);
    const ia = Buffer.concat([Buffer.from('000000010000000000000000', 'hex'), head, iaaddr]);
    const m = decodeDhcp6(encodeServerMessage('reply', 1, [{ code: OPT6.IA_NA, value: ia }]))!;
    expect(m.iaNa[0]!.addresses).toEqual([]);
  });
});

describe('the lease a Reply gives', () => {
  const at = { obtainedAt: 1_000_000, serverAddress: 'fe80::1' };
  it('takes T1 and T2 from the server, else 0.5 and 0.8 of the preferred lifetime', () => {
    const given = lease6FromReply(decodeDhcp6(serverMessage('reply', { xid: 1, clientId: DUID, iaid: 1, t1: 30, t2: 50, addresses: [{ address: 'fd00::5', preferred: 100, valid: 200 }] }))!, { iaid: 1, ...at });
    expect(given).toMatchObject({ address: 'fd00::5', preferred: 100, valid: 200, t1: 30, t2: 50, server: '00:03:00:01:02:00:00:00:00:ff' });
    const chosen = lease6FromReply(decodeDhcp6(serverMessage('reply', { xid: 1, clientId: DUID, iaid: 1, addresses: [{ address: 'fd00::5', preferred: 100, valid: 200 }] }))!, { iaid: 1, ...at });
    expect(chosen).toMatchObject({ t1: 50, t2: 80 });
  });

  it('refuses a T1 past T2, an address preferred longer than valid, no SERVERID, and a status of failure', () => {
    const reply = (s: Partial<Parameters<typeof serverMessage>[1]>) => decodeDhcp6(serverMessage('reply', { xid: 1, clientId: DUID, iaid: 1, addresses: [{ address: 'fd00::5', preferred: 100, valid: 200 }], ...s }))!;
    expect(lease6FromReply(reply({ t1: 90, t2: 50 }), { iaid: 1, ...at })).toEqual({ refused: 'its T1 (90 s) is past its T2 (50 s)' });
    expect(lease6FromReply(reply({ addresses: [{ address: 'fd00::5', preferred: 300, valid: 200 }] }), { iaid: 1, ...at })).toEqual({ refused: 'its IA_NA has no address with a lifetime' });
    expect(lease6FromReply(reply({ serverId: null }), { iaid: 1, ...at })).toEqual({ refused: 'it names no server (SERVERID)' });
    expect(lease6FromReply(reply({ iaStatus: { code: 2, message: 'none left' }, addresses: [] }), { iaid: 1, ...at })).toEqual({ refused: "its IA_NA's status is 2 (none left)" });
    expect(lease6FromReply(reply({}), { iaid: 2, ...at })).toEqual({ refused: 'it has no IA_NA of ours' });
  });

  it('a stateless Reply is DNS only, asked for again after its refresh time, no sooner than 10 minutes', () => {
    const m = decodeDhcp6(serverMessage('reply', { xid: 1, clientId: DUID, dns: ['fd00::53'], domains: ['lan'], refresh: 60 }))!;
    expect(lease6FromReply(m, { iaid: null, ...at })).toMatchObject({ address: null, dns: ['fd00::53'], domains: ['lan'], t1: 600 });
  });
});
