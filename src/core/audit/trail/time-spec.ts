// Time specifications of the audit commands' --since and --until, in
// journalctl's forms: a date and time (local time unless it says UTC or gives
// an offset), the words now/today/yesterday/tomorrow, or a time relative to
// now such as -1h, -30min, +5m or "2 days ago".

export const TIME_SPEC_FORMS =
  "'YYYY-MM-DD', 'YYYY-MM-DD HH:MM[:SS]' (local time; add ' UTC' for UTC), " +
  "RFC 3339 such as '2026-11-20T10:00:00Z' or '…+01:00', 'HH:MM[:SS]' (today), " +
  "'now', 'today', 'yesterday', 'tomorrow', or relative to now: '-1h', '-30min', '+5m', '-2d', '-1h30min', '2 days ago'";

export interface TimeSpecOptions {
  /** milliseconds since the epoch that relative times and the words count from */
  readonly now: number;
  /** read dates and times without an offset as UTC rather than local time */
  readonly utc?: boolean;
}

export class TimeSpecError extends Error {
  constructor(text: string, why: string) {
    super(`${JSON.stringify(text)} is not a time (${why}); use ${TIME_SPEC_FORMS}`);
    this.name = 'TimeSpecError';
  }
}

const UNIT_MS: Readonly<Record<string, number>> = {
  us: 0.001, usec: 0.001,
  ms: 1, msec: 1,
  s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hr: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
  w: 604_800_000, week: 604_800_000, weeks: 604_800_000,
};

// One or more NUMBER UNIT groups, spaces allowed between them: "1h30min", "2 days".
const SPAN = /^(?:\s*\d+\s*[a-z]+)+\s*$/;
const SPAN_PART = /(\d+)\s*([a-z]+)/g;
const ABSOLUTE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(?:\s*(Z|UTC|[+-]\d{2}:?\d{2}))?$/i;
const CLOCK = /^(\d{2}):(\d{2})(?::(\d{2}))?(?:\s*(UTC))?$/i;

function spanMs(text: string, original: string): number {
  if (!SPAN.test(text)) throw new TimeSpecError(original, 'a relative time is a number and a unit, e.g. 1h or 30min');
  let total = 0;
  for (const [, count, unit] of text.matchAll(SPAN_PART)) {
    const ms = UNIT_MS[unit!];
    if (ms === undefined) throw new TimeSpecError(original, `unknown unit ${JSON.stringify(unit)}: use s, min, h, d or w`);
    total += Number(count) * ms;
  }
  if (!Number.isSafeInteger(Math.round(total)) || Math.abs(total) > 8.64e15) throw new TimeSpecError(original, 'too far away');
  return Math.round(total);
}

function offsetMs(zone: string): number {
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
  const hours = Number(m[2]);
  const minutes = Number(m[3]);
  if (hours > 23 || minutes > 59) return Number.NaN;
  return (m[1] === '-' ? -1 : 1) * (hours * 60 + minutes) * 60_000;
}

/** y-m-d h:mi:s.ms as a moment: in UTC, in local time, or at a fixed offset; NaN when a field is out of range. */
function moment(parts: readonly number[], zone: 'utc' | 'local' | number): number {
  const [y, mo, d, h, mi, s, ms] = parts as [number, number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return Number.NaN;
  const date = zone === 'local' ? new Date(y, mo - 1, d, h, mi, s, ms) : new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
  // Years 0–99 would otherwise be taken as 19xx.
  if (zone === 'local') date.setFullYear(y, mo - 1, d);
  else date.setUTCFullYear(y, mo - 1, d);
  // Out-of-range days (2026-02-30) roll over: the round trip catches them.
  const check = zone === 'local' ? [date.getFullYear(), date.getMonth() + 1, date.getDate()] : [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
  if (check[0] !== y || check[1] !== mo || check[2] !== d) return Number.NaN;
  return typeof zone === 'number' ? date.getTime() - zone : date.getTime();
}

/** Midnight of the day `days` after the one holding `now`, in local time or UTC. */
function midnight(now: number, days: number, utc: boolean): number {
  const date = new Date(now);
  return utc
    ? Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + days)
    : new Date(date.getFullYear(), date.getMonth(), date.getDate() + days).getTime();
}

/** The moment a --since/--until value names, in milliseconds since the epoch; throws TimeSpecError naming the accepted forms. */
export function parseTimeSpec(text: string, options: TimeSpecOptions): number {
  const { now } = options;
  const utc = options.utc ?? false;
  const spec = text.trim().toLowerCase();
  if (spec === '') throw new TimeSpecError(text, 'it is empty');
  switch (spec) {
    case 'now':
      return now;
    case 'today':
      return midnight(now, 0, utc);
    case 'yesterday':
      return midnight(now, -1, utc);
    case 'tomorrow':
      return midnight(now, 1, utc);
  }
  if (spec.startsWith('-') || spec.startsWith('+')) return now + (spec.startsWith('-') ? -1 : 1) * spanMs(spec.slice(1), text);
  if (spec.endsWith(' ago')) return now - spanMs(spec.slice(0, -4), text);
  const absolute = ABSOLUTE.exec(spec);
  if (absolute !== null) {
    const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone] = absolute;
    const ms = Number(fraction.padEnd(3, '0').slice(0, 3));
    const where = zone === undefined ? (utc ? 'utc' : 'local') : zone === 'z' || zone === 'utc' ? 'utc' : offsetMs(zone);
    const at = Number.isNaN(where) ? Number.NaN : moment([Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s), ms], where as 'utc' | 'local' | number);
    if (Number.isNaN(at)) throw new TimeSpecError(text, 'no such date or time');
    return at;
  }
  const clock = CLOCK.exec(spec);
  if (clock !== null) {
    const [, h, mi, s = '0', zone] = clock;
    const inUtc = utc || zone !== undefined;
    const day = new Date(midnight(now, 0, inUtc));
    const parts = inUtc
      ? [day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate()]
      : [day.getFullYear(), day.getMonth() + 1, day.getDate()];
    const at = moment([...parts, Number(h), Number(mi), Number(s), 0], inUtc ? 'utc' : 'local');
    if (Number.isNaN(at)) throw new TimeSpecError(text, 'no such time');
    return at;
  }
  if (/^\d+\s*[a-z]+/.test(spec)) throw new TimeSpecError(text, "a relative time needs a sign or 'ago', e.g. -1h or '1h ago'");
  throw new TimeSpecError(text, 'not a form netauditctl knows');
}
