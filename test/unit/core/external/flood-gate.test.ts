// The flood gate: a bound on records a second, the rest counted per op, none dropped uncounted.
import { describe, expect, it } from 'vitest';
import { FloodGate, type FloodSummary } from '../../../../src/core/external/flood-gate.js';
import { FakeClock } from '../dhcp/fakes.js';

describe('FloodGate', () => {
  it('admits up to the limit in a second, counts the rest per op, and writes their counts when the second ends', async () => {
    const clock = new FakeClock();
    const summaries: FloodSummary[] = [];
    const gate = new FloodGate({ clock, limit: 3, summary: async (s) => void summaries.push(s) });
    const route = (n: number) => ({ op: 'route-add' as const, after: { dst: `10.0.${n}.0/24` } });
    const admitted = Array.from({ length: 10 }, (_, n) => gate.admit(route(n), 100 + (n % 2)));
    expect(admitted.filter(Boolean)).toHaveLength(3);
    expect(gate.admit({ op: 'rule-add', after: { priority: 1 } }, null)).toBe(false);
    expect(summaries).toEqual([]);
    await clock.advance(1000);
    expect(summaries).toEqual([
      { op: 'route-add', count: 7, first: { dst: '10.0.3.0/24' }, last: { dst: '10.0.9.0/24' }, pids: [101, 100], seconds: 1 },
      { op: 'rule-add', count: 1, first: { priority: 1 }, last: { priority: 1 }, pids: [], seconds: 1 },
    ]);
    // The next second starts afresh.
    expect(gate.admit(route(99), null)).toBe(true);
  });
});
