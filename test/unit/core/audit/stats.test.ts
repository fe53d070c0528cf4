// Trail statistics: counts per op, reason and uid with successes, failures,
// first and last times, in an order that does not depend on the trail's.
import { describe, expect, it } from 'vitest';
import { StatsCounter } from '../../../../src/core/audit/trail/stats.js';
import type { TrailEntry } from '../../../../src/core/audit/trail/trail-line.js';

function entry(ts: string, op: string, result: 'success' | 'fail', extra: Partial<TrailEntry> = {}): TrailEntry {
  return { ts, boot: 'b', seq: 1, op, result, prev: '0'.repeat(64), hash: '1'.repeat(64), ...extra };
}

const ENTRIES = [
  entry('2026-11-20T10:00:00.000Z', 'connection-add', 'success', { uid: 0 }),
  entry('2026-11-20T11:00:00.000Z', 'connection-add', 'fail', { uid: 1001, reason: 'not-authorized' }),
  entry('2026-11-21T09:00:00.000Z', 'reload', 'success'),
  entry('2026-11-21T10:00:00.000Z', 'connection-delete', 'fail', { uid: 1001, reason: 'not-authorized' }),
  entry('2026-11-22T08:00:00.000Z', 'connection-add', 'fail', { uid: 0, reason: 'invalid-argument' }),
];

describe('StatsCounter', () => {
  it('has nothing to say about no records', () => {
    const result = new StatsCounter().result();
    expect(result.all).toBeNull();
    expect([...result.ops, ...result.reasons, ...result.uids]).toEqual([]);
  });

  it('counts per op, reason and uid, with first and last times', () => {
    const counter = new StatsCounter();
    ENTRIES.forEach((e) => counter.add(e));
    const result = counter.result();
    expect(result.all).toEqual({ count: 5, success: 2, fail: 3, first: '2026-11-20T10:00:00.000Z', last: '2026-11-22T08:00:00.000Z' });
    expect([...result.ops]).toEqual([
      ['connection-add', { count: 3, success: 1, fail: 2, first: '2026-11-20T10:00:00.000Z', last: '2026-11-22T08:00:00.000Z' }],
      ['connection-delete', { count: 1, success: 0, fail: 1, first: '2026-11-21T10:00:00.000Z', last: '2026-11-21T10:00:00.000Z' }],
      ['reload', { count: 1, success: 1, fail: 0, first: '2026-11-21T09:00:00.000Z', last: '2026-11-21T09:00:00.000Z' }],
    ]);
    expect([...result.reasons].map(([k, t]) => [k, t.count])).toEqual([['not-authorized', 2], ['invalid-argument', 1]]);
    expect([...result.uids].map(([k, t]) => [k, t.count, t.success, t.fail])).toEqual([[0, 2, 1, 1], [1001, 2, 0, 2]]);
  });

  it('orders equal counts by value, not by arrival', () => {
    const a = new StatsCounter();
    const b = new StatsCounter();
    ENTRIES.forEach((e) => a.add(e));
    [...ENTRIES].reverse().forEach((e) => b.add(e));
    expect([...a.result().ops.keys()]).toEqual([...b.result().ops.keys()]);
    expect([...a.result().uids.keys()]).toEqual([0, 1001]);
    expect([...b.result().uids.keys()]).toEqual([0, 1001]);
  });
});
