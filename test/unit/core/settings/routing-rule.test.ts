// Routing rules in NetworkManager's two forms: the keyfile's text ("priority 5 from … table 100") and
// the D-Bus dictionaries, each checked and turned into the other without loss.
import { describe, expect, it } from 'vitest';
import { NetauditError } from '../../../../src/core/errors.js';
import { parseKeyfile } from '../../../../src/config/ini.js';
import { fromKeyfile } from '../../../../src/core/settings/keyfile-reader.js';
import { toKeyfile } from '../../../../src/core/settings/keyfile-writer.js';
import { formatRoutingRule, parseRoutingRule, ruleFromDict, ruleToDict } from '../../../../src/core/settings/routing-rule.js';
import { validateSettings } from '../../../../src/core/settings/validate.js';
import { value, type Value } from '../../../../src/core/settings/value.js';

const base = { invert: false, from: null, fromLen: 0, to: null, toLen: 0, fwmark: null, fwmask: null, iifname: null, oifname: null };

function problem(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    if (e instanceof NetauditError && e.code === 'InvalidArgument') return e.message;
    throw e;
  }
  throw new Error('no error');
}

describe('parseRoutingRule', () => {
  it('reads priority, from, to and table; an address without a length is a host', () => {
    expect(parseRoutingRule('r', 4, 'priority 500 from 192.0.2.0/24 to 198.51.100.7 table 100')).toEqual({
      ...base, family: 4, priority: 500, table: 100, from: '192.0.2.0', fromLen: 24, to: '198.51.100.7', toLen: 32,
    });
  });

  it('reads not, fwmark with a mask, iif and oif, in any order, and "from all"', () => {
    expect(parseRoutingRule('r', 6, 'table 1000 not iif br0 oif e0 fwmark 0x10/0xff from all priority 7')).toEqual({
      ...base, family: 6, priority: 7, table: 1000, invert: true, fwmark: 16, fwmask: 255, iifname: 'br0', oifname: 'e0',
    });
  });

  it('gives IPv6 addresses in canonical form', () => {
    expect(parseRoutingRule('r', 6, 'priority 1 from 2001:DB8:0::/32 table 5')).toMatchObject({ from: '2001:db8::', fromLen: 32 });
  });

  it.each([
    ['from 192.0.2.0/24 table 100', 'the priority is missing'],
    ['priority 5 from 192.0.2.0/24', 'the table is missing'],
    ['priority 5 from 2001:db8::/32 table 100', 'is not an IPv4 address'],
    ['priority 5 from 192.0.2.0/33 table 100', 'is not a number from 0 to 32'],
    ['priority x table 100', '"x" is not a number'],
    ['priority 5 table 100 goto 7', '"goto" is not understood'],
    ['priority 5 table 100 iif a/b', 'is not an interface name'],
    ['priority 5 table 100 from', 'from needs an address'],
  ])('refuses %j, naming what is wrong', (text, message) => {
    expect(problem(() => parseRoutingRule('ipv4.routing-rules[0]', 4, text))).toContain(message);
  });
});

describe('the two forms', () => {
  const texts = [
    'priority 500 from 192.0.2.0/24 table 100',
    'priority 501 not from all to 203.0.113.0/24 fwmark 0x5/0xff iif br0 table 1000',
    'priority 9 from all oif e0 table 7',
  ];

  it.each(texts)('text → rule → dictionary → rule → text gives back %j', (text) => {
    const rule = parseRoutingRule('r', 4, text);
    expect(formatRoutingRule(ruleFromDict('r', 4, ruleToDict(rule)))).toBe(text);
  });

  it("keeps NetworkManager's D-Bus keys and types", () => {
    const dict = ruleToDict(parseRoutingRule('r', 4, texts[0]!));
    expect(Object.fromEntries([...dict].map(([k, v]) => [k, [v.signature, v.value]]))).toEqual({
      family: ['i', 2], priority: ['u', 500], from: ['s', '192.0.2.0'], 'from-len': ['y', 24], table: ['u', 100],
    });
  });

  it('refuses an unknown key, a key of the wrong type and a family that is not the setting\'s', () => {
    const dict = (o: Record<string, Value>): Map<string, Value> => new Map(Object.entries(o));
    const ok = { priority: value('u', 5), table: value('u', 100) };
    expect(problem(() => ruleFromDict('ipv4.routing-rules[0]', 4, dict({ ...ok, action: value('y', 1) })))).toContain('unknown key "action"');
    expect(problem(() => ruleFromDict('ipv4.routing-rules[0]', 4, dict({ ...ok, priority: value('s', '5') })))).toContain('ipv4.routing-rules[0].priority');
    expect(problem(() => ruleFromDict('ipv4.routing-rules[0]', 4, dict({ ...ok, family: value('i', 10) })))).toContain('not the family of this setting');
    expect(problem(() => ruleFromDict('ipv4.routing-rules[0]', 4, dict({ ...ok, 'from-len': value('y', 8) })))).toContain('"from-len" needs "from"');
  });
});

describe('in a keyfile', () => {
  it('writes routing-ruleN keys beside route-metric and route-table, and reads back the same profile', () => {
    const text = [
      '[connection]', 'id=x', 'uuid=0f2d3c4b-5a69-4788-9766-554433221100', 'type=bridge', '', '[bridge]', '',
      '[ipv4]', 'address1=192.0.2.1/24', 'method=manual', 'route-metric=5', 'route-table=100',
      'routing-rule1=priority 5 from 192.0.2.0/24 table 100', 'routing-rule2=priority 6 not from all to 198.51.100.0/24 table 200', '',
    ].join('\n');
    const read = fromKeyfile(parseKeyfile(text, 'x.nmconnection'));
    const settings = validateSettings(read.settings, { generateUuid: () => 'unused' });
    expect((settings.get('ipv4')!.get('routing-rules')!.value as Map<string, Value>[]).map((d) => d.get('priority')!.value)).toEqual([5, 6]);
    expect(toKeyfile(settings, read.extra)).toBe(text);
  });

  it('drops a routing-rule it cannot read with a warning naming the group and key, and keeps the rest', () => {
    const text = ['[connection]', 'id=x', 'type=bridge', '', '[ipv4]', 'method=disabled', 'routing-rule1=priority 5 bogus', 'routing-rule2=priority 6 table 100', ''].join('\n');
    const read = fromKeyfile(parseKeyfile(text, 'x.nmconnection'));
    expect(read.warnings).toHaveLength(1);
    expect(read.warnings[0]).toMatch(/\[ipv4\] routing-rule1/);
    expect((read.settings.get('ipv4')!.get('routing-rules')!.value as unknown[]).length).toBe(1);
  });
});
