// Time specifications of --since/--until: every form, in UTC and in a local
// time zone with daylight saving, against a fixed "now", and the errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTimeSpec, TimeSpecError } from '../../../../src/core/audit/trail/time-spec.js';

// Sunday 2026-11-22 21:11:36.500 UTC
const NOW = Date.UTC(2026, 10, 22, 21, 11, 36, 500);
const utc = { now: NOW, utc: true };

describe('parseTimeSpec in UTC', () => {
  it.each([
    ['now', NOW],
    ['today', Date.UTC(2026, 10, 22)],
    ['yesterday', Date.UTC(2026, 10, 21)],
    ['tomorrow', Date.UTC(2026, 10, 23)],
    ['-1h', NOW - 3_600_000],
    ['-30min', NOW - 1_800_000],
    ['+5m', NOW + 300_000],
    ['-2d', NOW - 2 * 86_400_000],
    ['-1w', NOW - 7 * 86_400_000],
    ['-1h30min', NOW - 5_400_000],
    ['-1h 30min', NOW - 5_400_000],
    ['-10s', NOW - 10_000],
    ['-250ms', NOW - 250],
    ['2 days ago', NOW - 2 * 86_400_000],
    ['1h ago', NOW - 3_600_000],
    ['2026-11-20', Date.UTC(2026, 10, 20)],
    ['2026-11-20 10:00', Date.UTC(2026, 10, 20, 10, 0)],
    ['2026-11-20 10:00:05', Date.UTC(2026, 10, 20, 10, 0, 5)],
    ['2026-11-20T10:00:05.123Z', Date.UTC(2026, 10, 20, 10, 0, 5, 123)],
    ['2026-11-20T10:00:05+01:00', Date.UTC(2026, 10, 20, 9, 0, 5)],
    ['2026-11-20T10:00:05-0230', Date.UTC(2026, 10, 20, 12, 30, 5)],
    ['2026-11-20 10:00 UTC', Date.UTC(2026, 10, 20, 10, 0)],
    ['10:30', Date.UTC(2026, 10, 22, 10, 30)],
    ['10:30:15', Date.UTC(2026, 10, 22, 10, 30, 15)],
    ['  Yesterday ', Date.UTC(2026, 10, 21)],
    ['0050-01-01', Date.parse('0050-01-01T00:00:00Z')],
  ])('reads %j', (text, expected) => {
    expect(parseTimeSpec(text, utc)).toBe(expected);
  });

  it.each([
    ['', 'it is empty'],
    ['-1', 'a relative time is a number and a unit'],
    ['-1 fortnight', 'unknown unit "fortnight"'],
    ['1h', "a relative time needs a sign or 'ago'"],
    ['2026-02-30', 'no such date or time'],
    ['2026-13-01', 'no such date or time'],
    ['2026-11-20 24:00', 'no such date or time'],
    ['2026-11-20T10:00+25:00', 'no such date or time'],
    ['25:00', 'no such time'],
    ['last tuesday', 'not a form netauditctl knows'],
    ['20261120', 'not a form netauditctl knows'],
  ])('refuses %j, naming the accepted forms', (text, why) => {
    let error: unknown;
    try {
      parseTimeSpec(text, utc);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TimeSpecError);
    const message = (error as Error).message;
    expect(message.startsWith(`${JSON.stringify(text)} is not a time (${why}`)).toBe(true);
    expect(message).toContain("'YYYY-MM-DD HH:MM[:SS]' (local time; add ' UTC' for UTC)");
    expect(message).toContain("'-1h', '-30min', '+5m'");
  });
});

describe('parseTimeSpec in local time (Europe/Berlin)', () => {
  let saved: string | undefined;
  beforeAll(() => {
    saved = process.env.TZ;
    process.env.TZ = 'Europe/Berlin';
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  });

  const local = { now: NOW };

  it('reads dates and times as local time unless they say UTC or give an offset', () => {
    // November: CET, UTC+1
    expect(parseTimeSpec('2026-11-20 10:00', local)).toBe(Date.UTC(2026, 10, 20, 9, 0));
    expect(parseTimeSpec('2026-11-20', local)).toBe(Date.UTC(2026, 10, 19, 23, 0));
    expect(parseTimeSpec('2026-11-20 10:00 UTC', local)).toBe(Date.UTC(2026, 10, 20, 10, 0));
    expect(parseTimeSpec('2026-11-20T10:00:00Z', local)).toBe(Date.UTC(2026, 10, 20, 10, 0));
    // July: CEST, UTC+2
    expect(parseTimeSpec('2026-07-01 10:00', local)).toBe(Date.UTC(2026, 6, 1, 8, 0));
    expect(parseTimeSpec('2026-07-01 10:00', { now: NOW, utc: true })).toBe(Date.UTC(2026, 6, 1, 10, 0));
  });

  it('takes today and yesterday as local midnights', () => {
    // 21:11 UTC is 22:11 in Berlin, still 22 November there
    expect(parseTimeSpec('today', local)).toBe(Date.UTC(2026, 10, 21, 23, 0));
    expect(parseTimeSpec('yesterday', local)).toBe(Date.UTC(2026, 10, 20, 23, 0));
    const lateEvening = Date.UTC(2026, 10, 22, 23, 30); // 00:30 on the 23rd in Berlin
    expect(parseTimeSpec('today', { now: lateEvening })).toBe(Date.UTC(2026, 10, 22, 23, 0));
    expect(parseTimeSpec('today', { now: lateEvening, utc: true })).toBe(Date.UTC(2026, 10, 22));
  });

  it('counts relative times from now whatever the zone', () => {
    expect(parseTimeSpec('-1h', local)).toBe(NOW - 3_600_000);
  });
});
