// audit follow: the trail's last records, then each new matching record as
// netauditd writes it (like journalctl -f), across the switch to a new day
// file at midnight UTC, until SIGINT or SIGTERM.
import { followTrail, lastRecords } from '../../core/audit/trail/scan.js';
import { parse } from '../args.js';
import type { CliContext } from '../context.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { createRowWriter } from '../format/render.js';
import { FILTER_HELP, FILTER_OPTIONS, FILTER_SYNOPSIS, joinTimeValues, parseCount, trailQuery } from './audit-filter-args.js';
import { recordColumns, recordRow } from './audit-list.js';

const DEFAULT_LINES = 10;

export const FOLLOW_USAGE = `Usage: netauditctl [OPTION]... audit follow ${FILTER_SYNOPSIS} [-n N]
Show the last matching records of the audit trail, then every new matching
record as netauditd writes it, until interrupted (Ctrl-C, SIGINT or SIGTERM:
exit status 0). A record shows once its line is whole on disk.

${FILTER_HELP}

  -n, --lines N        the records shown before new ones (default ${DEFAULT_LINES}; 0: none)
  -h, --help           show this help and exit

Fields and output as for 'netauditctl audit list' (see its --help): the
global options -t, -f, -g, -e, -c and --json apply. Rows go out as records
come, so the table's columns have fixed widths.

Exit status: 0 interrupted, 1 the trail cannot be read, 2 wrong command line.
`;

function followUsageError(message: string): UsageError {
  return new UsageError(message, FOLLOW_USAGE.slice(0, FOLLOW_USAGE.indexOf('\n')), 'netauditctl audit follow --help');
}

export async function follow(args: string[], context: CliContext): Promise<ExitCode> {
  const { values } = parse(joinTimeValues(args), { ...FILTER_OPTIONS, lines: { type: 'string', short: 'n' } }, followUsageError);
  if (values.help) {
    process.stdout.write(FOLLOW_USAGE);
    return ExitCode.Success;
  }
  const lines = parseCount('--lines', values.lines, followUsageError) ?? DEFAULT_LINES;
  const { dir, filter } = await trailQuery(values, followUsageError);
  const utc = values.utc ?? false;
  const writer = createRowWriter(recordColumns(true), context.output);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const { records, end } = await lastRecords(dir, filter, lines);
    for (const record of records) writer.row(recordRow(record.entry, context, utc));
    for await (const record of followTrail(dir, filter, end, { signal: stop.signal })) {
      writer.row(recordRow(record.entry, context, utc));
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  writer.end();
  return ExitCode.Success;
}
