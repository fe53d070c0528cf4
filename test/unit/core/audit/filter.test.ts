// Record filter: each condition alone and together, patterns, the quick test
// on a line's text agreeing with the full one, and which day files are passed
// over for --since (never one a stepped-back clock may have written to).
import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../../src/core/audit/record.js';
import { AUDIT_OPS, createFilter, dayMayMatch, valueMatcher, type FilterOptions } from '../../../../src/core/audit/trail/filter.js';
import { formatTrailLine, parseTrailLine, ZERO_HASH, type TrailEntry } from '../../../../src/core/audit/trail/trail-line.js';

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0, 0);

function line(overrides: Partial<AuditRecord> = {}): { text: string; entry: TrailEntry } {
  const record: AuditRecord = { ts: T0, boot: 'b1', seq: 1, op: 'connection-add', result: 'success', ...overrides };
  const text = formatTrailLine(record, ZERO_HASH).line.slice(0, -1);
  return { text, entry: parseTrailLine(text) };
}

const HOSTILE = 'a:b\u001b[2J\nfake';

const SAMPLES = [
  line(),
  line({ ts: T0 - 1, op: 'connection-update', uuid: '37A958F1-4eb9-418a-bbe2-ec101af4bad7', name: 'office lan', uid: 0, pid: 10 }),
  line({ ts: T0 + 1, op: 'device-delete', iface: 'veth0', ifindex: 4, uid: 1001, result: 'fail', reason: 'not-authorized' }),
  line({ ts: T0 + 3_600_000, op: 'connection-delete', name: HOSTILE, uid: 1001, result: 'fail', reason: 'not-authorized' }),
  line({ ts: T0, op: 'reload', args: 'sighup' }),
  // a name that spells another field: the quick test must not be fooled into a false "no"
  line({ ts: T0, op: 'reload', name: '"op":"connection-add","result":"fail"', result: 'success' }),
];

function selected(options: FilterOptions): number[] {
  const filter = createFilter(options);
  return SAMPLES.flatMap(({ entry }, i) => (filter.matches(entry) ? [i] : []));
}

describe('createFilter', () => {
  it('matches everything without conditions', () => {
    expect(selected({})).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('takes --since and --until inclusively, to the millisecond', () => {
    expect(selected({ since: T0 })).toEqual([0, 2, 3, 4, 5]);
    expect(selected({ until: T0 })).toEqual([0, 1, 4, 5]);
    expect(selected({ since: T0, until: T0 })).toEqual([0, 4, 5]);
    expect(selected({ since: T0 + 1, until: T0 + 3_600_000 })).toEqual([2, 3]);
  });

  it('takes ops, exact or as patterns, any of them', () => {
    expect(selected({ ops: ['reload'] })).toEqual([4, 5]);
    expect(selected({ ops: ['device-delete', 'connection-delete'] })).toEqual([2, 3]);
    expect(selected({ ops: ['connection-*'] })).toEqual([0, 1, 3]);
    expect(selected({ ops: ['*-de?ete'] })).toEqual([2, 3]);
  });

  it('compares the uuid without regard to case', () => {
    expect(selected({ uuid: '37a958f1-4eb9-418a-bbe2-ec101af4bad7' })).toEqual([1]);
    expect(selected({ uuid: '37a958f1' })).toEqual([]);
  });

  it('matches --name exactly, or as a pattern when it holds * or ?', () => {
    expect(selected({ name: 'office lan' })).toEqual([1]);
    expect(selected({ name: 'office' })).toEqual([]);
    expect(selected({ name: 'Office lan' })).toEqual([]);
    expect(selected({ name: 'office*' })).toEqual([1]);
    expect(selected({ name: 'offic? lan' })).toEqual([1]);
    // the rest of a pattern is literal: regex characters and control characters too
    expect(selected({ name: 'a:b\u001b[2J\n*' })).toEqual([3]);
    expect(selected({ name: '*.*' })).toEqual([]);
  });

  it('takes --uid, --result and --iface', () => {
    expect(selected({ uid: 1001 })).toEqual([2, 3]);
    expect(selected({ uid: 0 })).toEqual([1]);
    expect(selected({ result: 'fail' })).toEqual([2, 3]);
    expect(selected({ result: 'success' })).toEqual([0, 1, 4, 5]);
    expect(selected({ iface: 'veth0' })).toEqual([2]);
    expect(selected({ iface: 'veth*' })).toEqual([2]);
    expect(selected({ iface: 'eth*' })).toEqual([]);
  });

  it('wants every condition to hold', () => {
    expect(selected({ uid: 1001, ops: ['device-delete'] })).toEqual([2]);
    expect(selected({ uid: 1001, result: 'success' })).toEqual([]);
  });

  it('never rules out a matching line by its text', () => {
    const conditions: FilterOptions[] = [
      {}, { since: T0 }, { until: T0 }, { since: T0 + 1 }, { ops: ['reload'] }, { ops: ['connection-add'] }, { ops: ['connection-*'] },
      { result: 'fail' }, { result: 'success' }, { ops: ['connection-add'], result: 'fail' }, { uid: 1001 }, { uid: 0 }, { name: 'office lan' },
      { name: HOSTILE }, { name: 'office*' }, { iface: 'veth0' }, { iface: 'veth*' },
    ];
    for (const options of conditions) {
      const filter = createFilter(options);
      for (const { text, entry } of SAMPLES) {
        if (filter.matches(entry)) expect(filter.mayMatchLine(text), `${JSON.stringify(options)} on ${text}`).toBe(true);
      }
    }
  });

  it('rules out most other lines by their text', () => {
    const filter = createFilter({ ops: ['connection-add'], since: T0 });
    expect(SAMPLES.map(({ text }) => filter.mayMatchLine(text))).toEqual([true, false, false, false, false, false]);
    expect(SAMPLES.map(({ text }) => createFilter({ uid: 1001 }).mayMatchLine(text))).toEqual([false, false, true, true, false, false]);
    expect(SAMPLES.map(({ text }) => createFilter({ name: 'office lan' }).mayMatchLine(text))).toEqual([false, true, false, false, false, false]);
    expect(SAMPLES.map(({ text }) => createFilter({ iface: 'veth0' }).mayMatchLine(text))).toEqual([false, false, true, false, false, false]);
    expect(createFilter({ result: 'fail' }).mayMatchLine(SAMPLES[0]!.text)).toBe(false);
  });
});

describe('day files and --since', () => {
  it('passes over only the files whose whole day is before --since', () => {
    const since = Date.UTC(2026, 10, 20, 10, 0);
    expect(dayMayMatch('2026-11-19', since)).toBe(false);
    expect(dayMayMatch('2026-11-20', since)).toBe(true);
    expect(dayMayMatch('2026-11-21', since)).toBe(true);
    expect(dayMayMatch('2026-11-19', Date.UTC(2026, 10, 20))).toBe(false);
    expect(dayMayMatch('2026-11-19', Date.UTC(2026, 10, 20) - 1)).toBe(true);
    expect(dayMayMatch('2026-01-01', undefined)).toBe(true);
  });

  it('reads every file after --until: a stepped-back clock writes older records into the newest file', () => {
    const filter = createFilter({ until: Date.UTC(2026, 10, 20) });
    expect(filter.mayMatchDay('2026-11-25')).toBe(true);
  });
});

describe('valueMatcher and AUDIT_OPS', () => {
  it('matches whole values only', () => {
    expect(valueMatcher('lan*')('lan0')).toBe(true);
    expect(valueMatcher('lan*')('my lan0')).toBe(false);
    expect(valueMatcher('lan*')(undefined)).toBe(false);
    expect(valueMatcher('l(a)n')('l(a)n')).toBe(true);
  });

  it('lists every op a record can carry', () => {
    expect(AUDIT_OPS).toHaveLength(32);
    expect(AUDIT_OPS).toEqual(expect.arrayContaining(['dhcp4-lease', 'dhcp6-lease', 'slaac']));
    expect(AUDIT_OPS).toContain('connection-adopt');
    expect(AUDIT_OPS).toContain('connection-add-activate');
    expect(AUDIT_OPS).toContain('logging-control');
  });
});

describe('--origin', () => {
  const records = [
    line({ op: 'connection-add', uid: 0 }),
    line({ op: 'connection-add', origin: 'caller', uid: 0 }),
    line({ op: 'connection-activate', origin: 'daemon', cause: 'autoconnect' }),
    line({ op: 'connection-update', origin: 'external', args: 'file', actor: { attribution: 'none' } }),
    line({ op: 'connection-add', origin: 'caller', name: '"origin":"daemon",' }),
  ];

  it('matches the origin, a record without one being a caller\'s', () => {
    const matching = (origin: 'caller' | 'daemon' | 'external') => records.flatMap(({ entry }, i) => (createFilter({ origin }).matches(entry) ? [i] : []));
    expect(matching('caller')).toEqual([0, 1, 4]);
    expect(matching('daemon')).toEqual([2]);
    expect(matching('external')).toEqual([3]);
  });

  it('never rules out a matching line by its text', () => {
    for (const origin of ['caller', 'daemon', 'external'] as const) {
      const filter = createFilter({ origin });
      for (const { text, entry } of records) if (filter.matches(entry)) expect(filter.mayMatchLine(text)).toBe(true);
    }
    expect(records.map(({ text }) => createFilter({ origin: 'daemon' }).mayMatchLine(text))).toEqual([false, false, true, false, false]);
  });
});
