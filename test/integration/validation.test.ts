// Invalid settings through the real daemon: each is refused with a named error that names the
// offending setting and property, nothing reaches the disk, and the attempt is recorded.
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { variant } from '../helpers/client.js';
import { auditLines, ethernet, SETTINGS, SETTINGS_IFACE } from '../helpers/profiles.js';
import { useDaemon } from '../helpers/use-daemon.js';

const harness = useDaemon();

type Dict = Record<string, Record<string, unknown>>;

const v = variant;

const cases: Array<[string, Dict, string]> = [
  ['a missing id', { connection: { type: v('s', 'ethernet') } }, 'connection.id'],
  ['a missing type', { connection: { id: v('s', 'no-type') } }, 'connection.type'],
  ['an unknown type', { connection: { id: v('s', 'x'), type: v('s', 'carrier-pigeon') } }, 'connection.type'],
  ['a malformed uuid', ethernet('bad-uuid', { connection: { uuid: v('s', 'not-a-uuid') } }), 'connection.uuid'],
  ['an id of the wrong variant type', { connection: { id: v('u', 7), type: v('s', 'ethernet') } }, 'connection.id'],
  ['an unknown setting', ethernet('x', { 'x-bogus': { a: v('s', 'b') } }), 'x-bogus'],
  ['an unknown property', ethernet('x', { connection: { colour: v('s', 'red') } }), 'connection.colour'],
  [
    'an invalid IPv4 address',
    ethernet('x', { ipv4: { 'address-data': v('aa{sv}', [{ address: v('s', '192.0.2.300'), prefix: v('u', 24) }]) } }),
    'ipv4.address-data',
  ],
  [
    'a prefix out of range',
    ethernet('x', { ipv4: { 'address-data': v('aa{sv}', [{ address: v('s', '192.0.2.1'), prefix: v('u', 33) }]) } }),
    'ipv4.address-data',
  ],
  ['a gateway of the wrong family', ethernet('x', { ipv4: { gateway: v('s', '2001:db8::1') } }), 'ipv4.gateway'],
  ['an interface name with a slash', ethernet('x', { connection: { 'interface-name': v('s', 'eth0/evil') } }), 'connection.interface-name'],
  ['an interface name of 16 bytes', ethernet('x', { connection: { 'interface-name': v('s', 'abcdefghijklmnop') } }), 'connection.interface-name'],
  ['the interface name ..', ethernet('x', { connection: { 'interface-name': v('s', '..') } }), 'connection.interface-name'],
  ['an interface name with a space', ethernet('x', { connection: { 'interface-name': v('s', 'eth 0') } }), 'connection.interface-name'],
  ['an id that climbs out of the directory', ethernet('../../etc/passwd'), 'connection.id'],
  ['the id /', ethernet('/'), 'connection.id'],
  ['an id of 4 KiB', ethernet('n'.repeat(4096)), 'connection.id'],
  ['an id with a newline', ethernet('line1\nline2'), 'connection.id'],
  ['an id with a terminal escape', ethernet('\u001b[31mred'), 'connection.id'],
  ['an empty id', ethernet(''), 'connection.id'],
  ['a MAC address of 5 bytes', ethernet('x', { '802-3-ethernet': { 'mac-address': v('ay', Buffer.from([1, 2, 3, 4, 5])) } }), '802-3-ethernet.mac-address'],
  ['an mtu too small', ethernet('x', { '802-3-ethernet': { mtu: v('u', 10) } }), '802-3-ethernet.mtu'],
  ['a wifi setting on an ethernet profile', ethernet('x', { '802-11-wireless': { ssid: v('ay', Buffer.from('n')) } }), '802-11-wireless'],
];

describe('AddConnection refuses', () => {
  it.each(cases.map(([what, dict, names]) => ({ what, dict, names })))('$what with InvalidArgument naming $names, and records the attempt', async ({ dict, names }) => {
    const before = (await harness.daemon.trail()).length;
    const filesBefore = await readdir(harness.daemon.profilesDir);
    const err = await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [dict]).catch((e: { type: string; text: string }) => e);
    expect(err).toMatchObject({ type: 'org.netaudit1.Error.InvalidArgument' });
    const text = (err as { text: string }).text;
    expect(text).toContain(names);
    expect(text).not.toMatch(/\n\s+at /);
    expect(await readdir(harness.daemon.profilesDir)).toEqual(filesBefore);

    const trail = await harness.daemon.trail();
    expect(trail).toHaveLength(before + 1);
    const record = trail[before]!;
    expect(record).toMatchObject({ op: 'connection-add', result: 'fail', reason: 'invalid-argument', pid: process.pid, uid: 0 });
    const sentId = (dict.connection?.id as { value?: unknown } | undefined)?.value;
    if (typeof sentId === 'string') expect(record.name).toBe(sentId);
    else expect(record).not.toHaveProperty('name');
  });

  it('a call with the wrong signature, as a recorded attempt', async () => {
    const before = (await harness.daemon.trail()).length;
    const err = await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 's', ['lan']).catch((e: { type: string; text: string }) => e);
    expect(err).toMatchObject({ type: 'org.netaudit1.Error.InvalidArgument' });
    expect((err as { text: string }).text).toContain('a{sa{sv}}');
    const trail = await harness.daemon.trail();
    expect(trail.slice(before)).toMatchObject([{ op: 'connection-add', result: 'fail', reason: 'invalid-argument', uid: 0 }]);
  });

  it('a setting named __proto__ without touching any object prototype', async () => {
    const dict = JSON.parse('{"__proto__": {}}') as Dict;
    (dict['__proto__'] as Record<string, unknown>).x = variant('s', 'y');
    Object.assign(dict, ethernet('proto'));
    expect(Object.keys(dict)).toContain('__proto__');
    const err = await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [dict]).catch((e: { type: string }) => e);
    expect(err).toMatchObject({ type: 'org.netaudit1.Error.InvalidArgument' });
    // The daemon still serves.
    await harness.client.call(SETTINGS, SETTINGS_IFACE, 'ListConnections');
  });

  it('each of these with one audit log line of result fail', async () => {
    const lines = auditLines(harness.daemon.log()).filter((l) => l.startsWith('op="connection-add"') && l.includes('result="fail"'));
    expect(lines.length).toBeGreaterThanOrEqual(cases.length + 1);
    for (const l of lines) expect(l).toMatch(/ result="fail" reason="(invalid-argument|uuid-exists)"$/);
  });
});

describe('unknown objects and methods', () => {
  it('answer with named errors', async () => {
    const noObject = await harness.client.call('/org/netaudit1/Nowhere', SETTINGS_IFACE, 'ListConnections').catch((e: { type: string }) => e);
    expect(noObject).toMatchObject({ type: 'org.netaudit1.Error.UnknownObject' });
    const noMethod = await harness.client.call(SETTINGS, SETTINGS_IFACE, 'Explode').catch((e: { type: string }) => e);
    expect(noMethod).toMatchObject({ type: 'org.netaudit1.Error.UnknownMethod' });
    const readOnly = await harness.client.setProperty(SETTINGS, SETTINGS_IFACE, 'Connections', 'ao', []).catch((e: { type: string }) => e);
    expect(readOnly).toMatchObject({ type: 'org.netaudit1.Error.PropertyReadOnly' });
    const noUuid = await harness.client.call(SETTINGS, SETTINGS_IFACE, 'GetConnectionByUuid', 's', ['0b5e1d7a-0000-4000-8000-000000000000']).catch((e: { type: string }) => e);
    expect(noUuid).toMatchObject({ type: 'org.netaudit1.Error.UnknownConnection' });
  });
});
