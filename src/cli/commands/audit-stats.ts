// audit stats: how many matching records the trail holds, per op, per
// failure reason and per caller uid (with its user name), each with its
// successes, failures and first and last time. It streams and keeps only
// counters.
import { scanTrail } from '../../core/audit/trail/scan.js';
import { StatsCounter, type Tally } from '../../core/audit/trail/stats.js';
import { parse } from '../args.js';
import type { CliContext } from '../context.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { createRowWriter, type Cell, type Column } from '../format/render.js';
import { plural, progress } from '../output.js';
import { FILTER_HELP, FILTER_OPTIONS, FILTER_SYNOPSIS, joinTimeValues, trailQuery, userName } from './audit-filter-args.js';
import { showTime } from './audit-list.js';

const COLUMNS: readonly Column[] = [
  { name: 'KIND' },
  { name: 'VALUE' },
  { name: 'USER' },
  { name: 'COUNT' },
  { name: 'SUCCESS' },
  { name: 'FAIL', colorOf: (value) => (typeof value === 'number' && value > 0 ? 'red' : null) },
  { name: 'FIRST' },
  { name: 'LAST' },
];

export const STATS_USAGE = `Usage: netauditctl [OPTION]... audit stats ${FILTER_SYNOPSIS}
Count the audit trail's matching records: in all, per op, per failure reason
and per caller uid, each with its successes, failures, and the time of the
first and last record. Over a period: --since and --until.

${FILTER_HELP}

  -h, --help           show this help and exit

One row per count, KIND being all, op, reason or uid, VALUE the op, reason
or uid counted, USER the uid's user name where it resolves; most frequent
first within a kind. Fields: ${COLUMNS.map((c) => c.name).join(',')}. FIRST and LAST are
local time (UTC with --utc; with --json the trail's UTC ts). The global
options -t, -f, -g, -m, -e, -c and --json apply.

Examples:
  netauditctl audit stats --since -7d
  netauditctl -t -f VALUE,COUNT audit stats --result fail

Exit status: 0 success (also when no record matches), 1 the trail cannot be
read, 2 wrong command line.
`;

function statsUsageError(message: string): UsageError {
  return new UsageError(message, STATS_USAGE.slice(0, STATS_USAGE.indexOf('\n')), 'netauditctl audit stats --help');
}

export async function stats(args: string[], context: CliContext): Promise<ExitCode> {
  const { values } = parse(joinTimeValues(args), FILTER_OPTIONS, statsUsageError);
  if (values.help) {
    process.stdout.write(STATS_USAGE);
    return ExitCode.Success;
  }
  const { dir, filter } = await trailQuery(values, statsUsageError);
  const utc = values.utc ?? false;
  const writer = createRowWriter(COLUMNS, context.output);
  const counter = new StatsCounter();
  const indicator = progress();
  try {
    const records = scanTrail(dir, filter, {
      onProgress: (p) => {
        const percent = p.bytesTotal === 0 ? 100 : Math.min(100, Math.floor((100 * p.bytesRead) / p.bytesTotal));
        const filled = Math.round(percent / 5);
        indicator.update(`[${'#'.repeat(filled)}${'.'.repeat(20 - filled)}] ${percent}% counting ${p.file}, ${plural(p.records, 'record')}`);
      },
    });
    for await (const record of records) counter.add(record.entry);
  } finally {
    indicator.done();
  }
  const result = counter.result();
  type Row = Omit<Tally, 'first' | 'last'> & { readonly first: string | null; readonly last: string | null };
  const row = (kind: string, value: string | null, tally: Row, user: string | null = null): Record<string, Cell> => ({
    KIND: kind,
    VALUE: value,
    USER: user,
    COUNT: tally.count,
    SUCCESS: tally.success,
    FAIL: tally.fail,
    FIRST: tally.first === null ? null : showTime(tally.first, context, utc),
    LAST: tally.last === null ? null : showTime(tally.last, context, utc),
  });
  // The all row is there even when nothing matched: a count of 0 is an answer.
  writer.row(row('all', null, result.all ?? { count: 0, success: 0, fail: 0, first: null, last: null }));
  for (const [op, tally] of result.ops) writer.row(row('op', op, tally));
  for (const [reason, tally] of result.reasons) writer.row(row('reason', reason, tally));
  for (const [uid, tally] of result.uids) writer.row(row('uid', String(uid), tally, userName(uid)));
  writer.end();
  return ExitCode.Success;
}
