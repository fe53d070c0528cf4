// audit export: the trail's matching records, all day files in one stream,
// as the trail's own JSON lines (byte for byte, so each keeps its hash) or
// as CSV for spreadsheets; to stdout or to a file written whole or not at all.
import { randomBytes } from 'node:crypto';
import { link, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { NetauditError, quotePath } from '../../core/errors.js';
import { scanTrail } from '../../core/audit/trail/scan.js';
import type { TrailEntry } from '../../core/audit/trail/trail-line.js';
import { parse } from '../args.js';
import type { CliContext } from '../context.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { plural, progress, type Progress } from '../output.js';
import { FILTER_HELP, FILTER_OPTIONS, FILTER_SYNOPSIS, joinTimeValues, trailQuery } from './audit-filter-args.js';

export const EXPORT_USAGE = `Usage: netauditctl audit export ${FILTER_SYNOPSIS} [--format jsonl|csv] [-o FILE [--force]]
Write the audit trail's matching records, every day file in date order, as
one stream: "all the logs concatenated", filtered.

${FILTER_HELP}

Output:
  --format jsonl       the trail's own lines, byte for byte (the default): each
                       record keeps its hash and prev, so an export of the
                       whole trail checks with 'netauditctl audit verify'
  --format csv         RFC 4180 with a header row, CRLF line ends, a field
                       quoted when it holds a comma, quote, CR or LF. A value
                       starting with =, +, -, @, TAB or CR gets a leading '
                       so that a spreadsheet does not run it as a formula
                       (CSV injection); values are otherwise exact
  -o, --output FILE    write to FILE (mode 0600) rather than stdout: written
                       to a temporary file beside it, then renamed, so FILE
                       is never left half written
  --force              replace FILE if it exists (without it, an existing
                       FILE is refused)
  -h, --help           show this help and exit

A progress line shows on stderr when it is a terminal and the output is not.

Exit status: 0 success (also when no record matches), 1 the trail cannot be
read or FILE cannot be written, 2 wrong command line.
`;

function exportUsageError(message: string): UsageError {
  return new UsageError(message, EXPORT_USAGE.slice(0, EXPORT_USAGE.indexOf('\n')), 'netauditctl audit export --help');
}

/**
 * CSV columns: the trail's keys in trail order, before and after as their
 * JSON text, the actor's bus name, executable, authorization and
 * attribution as columns of their own.
 */
const CSV_HEADER = [
  'ts', 'boot', 'seq', 'op', 'origin', 'cause', 'uuid', 'name', 'ifindex', 'iface', 'args', 'changed', 'before', 'after',
  'pid', 'uid', 'result', 'reason', 'cut', 'bus_name', 'exe', 'auth', 'attribution', 'tx', 'prev', 'hash',
];

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field (RFC 4180), guarded against formula injection (OWASP: a leading '). */
export function csvField(value: string | number | undefined): string {
  if (value === undefined) return '';
  let text = String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvRow(entry: TrailEntry): string {
  const json = (value: unknown): string | undefined => (value === undefined ? undefined : JSON.stringify(value));
  const values = [
    entry.ts, entry.boot, entry.seq, entry.op, entry.origin, entry.cause, entry.uuid, entry.name, entry.ifindex, entry.iface, entry.args, entry.changed,
    json(entry.before), json(entry.after), entry.pid, entry.uid, entry.result, entry.reason, entry.cut,
    entry.actor?.bus_name, entry.actor?.exe, entry.actor?.auth, entry.actor?.attribution, entry.tx, entry.prev, entry.hash,
  ];
  return `${values.map(csvField).join(',')}\r\n`;
}

/** Where the export goes: chunks of bytes, then done or abandoned. */
interface Sink {
  write(chunk: Buffer): Promise<void>;
  finish(): Promise<void>;
  abandon(): Promise<void>;
}

function stdoutSink(): Sink {
  return {
    write: (chunk) =>
      new Promise((done, fail) => {
        process.stdout.write(chunk, (error) => (error ? fail(error) : done()));
      }),
    finish: async () => undefined,
    abandon: async () => undefined,
  };
}

function writeError(path: string, error: unknown): NetauditError {
  const code = (error as NodeJS.ErrnoException).code ?? String(error);
  return new NetauditError('Failed', `cannot write the export file ${quotePath(path)} (${code})`, 'io-error');
}

async function fileSink(target: string, force: boolean): Promise<Sink> {
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle;
  try {
    handle = await open(temp, 'wx', 0o600);
  } catch (error) {
    throw writeError(target, error);
  }
  const abandon = async (): Promise<void> => {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
  };
  return {
    async write(chunk) {
      try {
        for (let done = 0; done < chunk.length; ) done += (await handle.write(chunk, done, chunk.length - done)).bytesWritten;
      } catch (error) {
        throw writeError(target, error);
      }
    },
    async finish() {
      try {
        await handle.sync();
        await handle.close();
        if (force) {
          await rename(temp, target);
        } else {
          // link() refuses an existing target, where rename() would replace it.
          await link(temp, target);
          await unlink(temp);
        }
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new NetauditError('Failed', `${quotePath(target)} exists; pass --force to replace it`, 'io-error');
        }
        throw writeError(target, error);
      }
    },
    abandon,
  };
}

const CHUNK = 256 * 1024;

export async function exportTrail(args: string[], _context: CliContext): Promise<ExitCode> {
  const { values } = parse(
    joinTimeValues(args),
    { ...FILTER_OPTIONS, format: { type: 'string' }, output: { type: 'string', short: 'o' }, force: { type: 'boolean' } },
    exportUsageError,
  );
  if (values.help) {
    process.stdout.write(EXPORT_USAGE);
    return ExitCode.Success;
  }
  const format = values.format ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'csv') throw exportUsageError(`--format: ${JSON.stringify(format)} is not jsonl or csv`);
  if (values.output === '') throw exportUsageError('--output needs a file');
  if (values.force && values.output === undefined) throw exportUsageError('--force goes with --output FILE');
  const { dir, filter } = await trailQuery(values, exportUsageError);
  const target = values.output === undefined ? null : resolve(values.output);
  const sink = target === null ? stdoutSink() : await fileSink(target, values.force ?? false);
  // A progress line would mix with the records on a terminal.
  const indicator: Progress = target !== null || !process.stdout.isTTY ? progress() : { update: () => undefined, done: () => undefined };
  let parts: Buffer[] = [];
  let size = 0;
  const flush = async (): Promise<void> => {
    if (size === 0) return;
    const chunk = Buffer.concat(parts, size);
    parts = [];
    size = 0;
    await sink.write(chunk);
  };
  const add = async (bytes: Buffer): Promise<void> => {
    parts.push(bytes);
    size += bytes.length;
    if (size >= CHUNK) await flush();
  };
  const newline = Buffer.from('\n');
  try {
    if (format === 'csv') await add(Buffer.from(`${CSV_HEADER.join(',')}\r\n`));
    const records = scanTrail(dir, filter, {
      onProgress: (p) => {
        const percent = p.bytesTotal === 0 ? 100 : Math.min(100, Math.floor((100 * p.bytesRead) / p.bytesTotal));
        const filled = Math.round(percent / 5);
        indicator.update(`[${'#'.repeat(filled)}${'.'.repeat(20 - filled)}] ${percent}% exporting ${p.file}, ${plural(p.records, 'record')}`);
      },
    });
    for await (const record of records) {
      if (format === 'csv') await add(Buffer.from(csvRow(record.entry)));
      else {
        await add(record.bytes);
        await add(newline);
      }
    }
    await flush();
    await sink.finish();
  } catch (error) {
    await sink.abandon();
    throw error;
  } finally {
    indicator.done();
  }
  return ExitCode.Success;
}
