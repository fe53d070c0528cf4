// audit show: one record of the trail, whole: every field it has, its
// before and after values pretty-printed (docs/record-format.md), or with
// --json the trail line itself, byte for byte, so that its hash checks.
import { findRecords, MIN_HASH_PREFIX, parseRecordRef, type RecordRef } from '../../core/audit/trail/find.js';
import type { ScannedRecord } from '../../core/audit/trail/scan.js';
import type { TrailActor, TrailEntry } from '../../core/audit/trail/trail-line.js';
import { parse } from '../args.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode, UsageError } from '../exit-codes.js';
import { escapeControls, safeJson } from '../format/escape.js';
import { userName } from './audit-filter-args.js';
import { showTime } from './audit-list.js';
import { trailDir } from './trail-dir.js';

export const SHOW_USAGE = `Usage: netauditctl audit show [--dir DIR | --config FILE] [--utc] [BOOT:]SEQ | HASH
Show one record of the audit trail whole: every field it has, and the
values it carries before and after the change, pretty-printed.

Which record:
  SEQ                  the record with this seq of the latest daemon start
                       (the start that wrote the trail's last record)
  BOOT:SEQ             the record with this seq of the daemon start BOOT; the
                       start of BOOT is enough when no other start begins so
  HASH                 the record whose hash starts with these hex digits (at
                       least ${MIN_HASH_PREFIX}); a SEQ of ${MIN_HASH_PREFIX} digits or more that no record of
                       the latest start has is taken as a hash

Options:
  --dir DIR            the trail's directory
  --config FILE        take the directory from [audit] dir of FILE
  --utc                show the time in UTC rather than local time
  -h, --help           show this help and exit

With --json (a global option) the record is printed as the trail holds it:
its line, one JSON object, unchanged. Control characters in values are
escaped. Related: 'netauditctl audit list -f TIME,SEQ,BOOT,OP,HASH' lists
the records with the names this command takes.

Examples:
  netauditctl audit show 17
  netauditctl audit show 5e1b0a7c:17
  netauditctl audit show 3fa9c2d41b
  netauditctl --json audit show 17 | jq .after

Exit status: 0 shown, 10 no record is named so, 2 wrong command line or
more than one record is named so (give more of BOOT or HASH), 1 the trail
cannot be read.
`;

function showUsageError(message: string): UsageError {
  return new UsageError(message, SHOW_USAGE.slice(0, SHOW_USAGE.indexOf('\n')), 'netauditctl audit show --help');
}

const LABEL_WIDTH = 18;

function line(label: string, value: string): string {
  return `${`${label}:`.padEnd(LABEL_WIDTH)}${escapeControls(value)}\n`;
}

/** A uid with its user name when it has one here: "1001 (nauser)". */
function withUser(uid: number): string {
  const name = userName(uid);
  return name === null ? String(uid) : `${uid} (${name})`;
}

/** JSON of before/after, two spaces per level, each line indented under its label; terminal-safe. */
function prettyValues(value: unknown): string {
  const text = JSON.stringify(value, null, 2)
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
  // safeJson's escapes for what JSON.stringify leaves raw (C1, bidi controls, U+2028/9).
  return `${text.replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu, (c) => safeJson(c).slice(1, -1))}\n`;
}

const ACTOR_LABELS: ReadonlyArray<keyof TrailActor> = ['bus_name', 'exe', 'auth', 'attribution', 'comm', 'auid', 'ses', 'portid', 'file'];

/** The record for people: its fields in trail order, before and after last. */
export function formatRecord(entry: TrailEntry, context: CliContext, utc: boolean): string {
  let out = line('ts', showTime(entry.ts, context, utc));
  const text = (label: string, value: string | number | undefined): void => {
    if (value !== undefined) out += line(label, String(value));
  };
  text('boot', entry.boot);
  text('seq', entry.seq);
  text('op', entry.op);
  text('origin', entry.origin);
  text('cause', entry.cause);
  text('uuid', entry.uuid);
  text('name', entry.name);
  text('ifindex', entry.ifindex);
  text('iface', entry.iface);
  text('args', entry.args);
  text('changed', entry.changed);
  text('pid', entry.pid);
  if (entry.uid !== undefined) text('uid', withUser(entry.uid));
  text('result', entry.result);
  text('reason', entry.reason);
  text('cut', entry.cut);
  for (const key of ACTOR_LABELS) {
    const value = entry.actor?.[key];
    text(`actor.${key}`, key === 'auid' && typeof value === 'number' ? withUser(value) : value);
  }
  text('tx', entry.tx);
  text('prev', entry.prev);
  text('hash', entry.hash);
  for (const key of ['before', 'after'] as const) {
    if (entry[key] !== undefined) out += `${key}:\n${prettyValues(entry[key])}`;
  }
  return out;
}

function describe(record: ScannedRecord): string {
  return `${record.entry.boot}:${record.entry.seq} ${record.entry.op} ${record.entry.ts} hash ${record.entry.hash.slice(0, 12)}`;
}

function notFound(ref: RecordRef, latestBoot: string | null | undefined): CliError {
  if (latestBoot === null) return new CliError('the audit trail has no record yet', ExitCode.NotFound);
  const where =
    ref.kind === 'seq'
      ? `no record of the latest daemon start (boot ${latestBoot}) has seq ${ref.seq}; name another start as BOOT:SEQ`
      : ref.kind === 'boot-seq'
        ? `no record has boot ${JSON.stringify(ref.boot)}… and seq ${ref.seq}`
        : `no record's hash starts with ${ref.prefix}`;
  return new CliError(where, ExitCode.NotFound);
}

export async function show(args: string[], context: CliContext): Promise<ExitCode> {
  const { values, positionals } = parse(
    args,
    { dir: { type: 'string' }, config: { type: 'string' }, utc: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    showUsageError,
    true,
  );
  if (values.help) {
    process.stdout.write(SHOW_USAGE);
    return ExitCode.Success;
  }
  if (positionals.length === 0) throw showUsageError('name a record: SEQ, BOOT:SEQ or the start of its hash');
  if (positionals.length > 1) throw showUsageError(`one record at a time: ${JSON.stringify(positionals[1])} is one too many`);
  const ref = parseRecordRef(positionals[0]!);
  if (ref === null) {
    throw showUsageError(
      `${JSON.stringify(positionals[0])} names no record: give SEQ, BOOT:SEQ or at least ${MIN_HASH_PREFIX} hex digits of its hash`,
    );
  }
  const dir = await trailDir(values.dir, values.config, showUsageError);
  const { records, latestBoot } = await findRecords(dir, ref);
  if (records.length === 0) throw notFound(ref, latestBoot);
  if (records.length > 1) {
    const more = records.length >= 10 ? '\n  …' : '';
    throw new CliError(
      `${JSON.stringify(ref.text)} names ${records.length >= 10 ? 'many' : records.length} records; give more of BOOT or of the hash:\n${records.map((r) => `  ${escapeControls(describe(r))}`).join('\n')}${more}`,
      ExitCode.Usage,
    );
  }
  const record = records[0]!;
  process.stdout.write(context.output.json ? `${record.bytes.toString('utf8')}\n` : formatRecord(record.entry, context, values.utc ?? false));
  return ExitCode.Success;
}
