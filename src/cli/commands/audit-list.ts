// audit list: the trail's records as a table, oldest first (trail order), or
// the last N of them, filtered; through the shared renderer, so -t, -f, -g,
// -m, -e, -c and --json all apply and every caller value is escaped. It
// streams: memory does not grow with the trail.
import type { ScannedRecord } from '../../core/audit/trail/scan.js';
import { lastRecords, scanTrail, scanTrailBackward } from '../../core/audit/trail/scan.js';
import type { TrailEntry } from '../../core/audit/trail/trail-line.js';
import { parse } from '../args.js';
import type { CliContext } from '../context.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { createRowWriter, type Cell, type Column } from '../format/render.js';
import { FILTER_HELP, FILTER_OPTIONS, FILTER_SYNOPSIS, joinTimeValues, parseCount, trailQuery } from './audit-filter-args.js';

/** The fields of a record for people, with the widths that let rows stream unbuffered. */
export const RECORD_FIELDS: readonly { readonly name: string; readonly width: number; readonly default: boolean }[] = [
  { name: 'TIME', width: 29, default: true },
  { name: 'OP', width: 23, default: true },
  { name: 'RESULT', width: 7, default: true },
  { name: 'REASON', width: 19, default: true },
  { name: 'UID', width: 5, default: true },
  { name: 'PID', width: 7, default: true },
  { name: 'NAME', width: 16, default: true },
  { name: 'IFACE', width: 10, default: true },
  { name: 'ORIGIN', width: 8, default: false },
  { name: 'CAUSE', width: 18, default: false },
  { name: 'UUID', width: 36, default: false },
  { name: 'IFINDEX', width: 7, default: false },
  { name: 'ARGS', width: 11, default: false },
  { name: 'CHANGED', width: 24, default: false },
  { name: 'SEQ', width: 6, default: false },
  { name: 'BOOT', width: 32, default: false },
  { name: 'TX', width: 5, default: false },
  { name: 'SENDER', width: 8, default: false },
  { name: 'EXE', width: 24, default: false },
  { name: 'CUT', width: 4, default: false },
  { name: 'HASH', width: 64, default: false },
];

const resultColor = (value: unknown): 'green' | 'red' | null => (value === 'success' ? 'green' : value === 'fail' ? 'red' : null);

/**
 * The columns of a record. `stream`: fixed widths, so that rows go out as
 * they are read (a long value then overflows its column); without it the
 * renderer aligns the table to its values, holding it whole.
 */
export function recordColumns(stream: boolean): Column[] {
  return RECORD_FIELDS.map(({ name, width, default: shown }) => ({
    name,
    default: shown,
    ...(stream ? { width } : {}),
    ...(name === 'RESULT' ? { colorOf: resultColor } : {}),
  }));
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** A trail ts in local time with its offset, RFC 3339: 2026-11-20T11:00:00.000+01:00. */
export function localTime(ts: string): string {
  const date = new Date(ts);
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  return (
    `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}` +
    `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`
  );
}

/** How a trail time is shown: as the trail has it (UTC) for --json and --utc, else in local time. */
export function showTime(ts: string, context: CliContext, utc: boolean): string {
  return context.output.json || utc ? ts : localTime(ts);
}

/** A record as a row of RECORD_FIELDS; values raw, the renderer escapes them. */
export function recordRow(entry: TrailEntry, context: CliContext, utc: boolean): Record<string, Cell> {
  return {
    TIME: showTime(entry.ts, context, utc),
    OP: entry.op,
    ORIGIN: entry.origin ?? null,
    CAUSE: entry.cause ?? null,
    RESULT: entry.result,
    REASON: entry.reason ?? null,
    UID: entry.uid ?? null,
    PID: entry.pid ?? null,
    NAME: entry.name ?? null,
    IFACE: entry.iface ?? null,
    UUID: entry.uuid ?? null,
    IFINDEX: entry.ifindex ?? null,
    ARGS: entry.args ?? null,
    CHANGED: entry.changed ?? null,
    SEQ: entry.seq,
    BOOT: entry.boot,
    TX: entry.tx ?? null,
    SENDER: entry.actor?.bus_name ?? null,
    EXE: entry.actor?.exe ?? null,
    CUT: entry.cut ?? null,
    HASH: entry.hash,
  };
}

export const LIST_USAGE = `Usage: netauditctl [OPTION]... audit list ${FILTER_SYNOPSIS} [-n N] [--reverse]
List the audit trail's records, oldest first (the order netauditd wrote
them), one row each: who did what to the network, when, and how it ended.
Reading the trail needs read access to its directory, not netauditd.

${FILTER_HELP}

What to show:
  -n, --lines N        only the last N matching records (still oldest first)
  -r, --reverse        newest first
  -h, --help           show this help and exit

Fields (netauditctl -f F,F… audit list; -f all for every one; default:
${RECORD_FIELDS.filter((f) => f.default).map((f) => f.name).join(',')}):
${RECORD_FIELDS.map((f) => f.name).join(',')}
TIME is local time with its UTC offset (RFC 3339), or UTC with --utc; with
--json it is the trail's own UTC ts. ORIGIN is who acted (caller, daemon or
external; -- in records written before it was recorded, all callers) and
CAUSE why the daemon acted; SENDER and EXE are the caller's unique bus name
and executable (EXE also that of whoever edited a profile file, when
fanotify named it); CUT names the values cut to their limit; a missing value
shows as --. 'netauditctl audit show [BOOT:]SEQ' shows one record whole,
with the values it changed (the SEQ and BOOT fields name it). The global options apply: -t, -f, -g, -m, -e, -c, --json
(one JSON object per record). Control characters in values are escaped.

Examples:
  netauditctl audit list --since yesterday --result fail
  netauditctl -f TIME,OP,UID,NAME,CHANGED audit list --name office-lan -n 20
  netauditctl --json audit list --op 'connection-*' --uid nauser | jq .

Exit status: 0 success (also when no record matches), 1 the trail cannot be
read (or a line in it is not a record), 2 wrong command line.
`;

function listUsageError(message: string): UsageError {
  return new UsageError(message, LIST_USAGE.slice(0, LIST_USAGE.indexOf('\n')), 'netauditctl audit list --help');
}

export async function list(args: string[], context: CliContext): Promise<ExitCode> {
  const { values } = parse(
    joinTimeValues(args),
    { ...FILTER_OPTIONS, lines: { type: 'string', short: 'n' }, reverse: { type: 'boolean', short: 'r' } },
    listUsageError,
  );
  if (values.help) {
    process.stdout.write(LIST_USAGE);
    return ExitCode.Success;
  }
  const lines = parseCount('--lines', values.lines, listUsageError);
  const { dir, filter } = await trailQuery(values, listUsageError);
  const utc = values.utc ?? false;
  // The last N are held anyway: the table can be aligned to them.
  const writer = createRowWriter(recordColumns(lines === undefined), context.output);
  const show = (record: ScannedRecord): void => writer.row(recordRow(record.entry, context, utc));
  if (lines !== undefined) {
    const { records } = await lastRecords(dir, filter, lines);
    if (values.reverse) records.reverse();
    records.forEach(show);
  } else {
    for await (const record of values.reverse ? scanTrailBackward(dir, filter) : scanTrail(dir, filter)) show(record);
  }
  writer.end();
  return ExitCode.Success;
}
