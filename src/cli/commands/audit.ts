// audit: netauditctl's commands on the audit trail (SPEC §6). They read the
// trail's day files directly: read access to its directory is enough, and
// netauditd need not run. `verify` now; list, export, follow and stats take
// their place in VERBS.
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig } from '../../config/config.js';
import { describeWarning, verifyTrail, type TrailBreak, type VerifyResult } from '../../core/audit/trail/verify.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { displayPath, plural, printError, printLine, printWarning, progress } from '../output.js';

interface Verb {
  readonly summary: string;
  run(args: string[]): Promise<ExitCode>;
}

const VERIFY_USAGE = `Usage: netauditctl audit verify [--dir DIR | --config FILE]
Check the audit trail, every day file in date order: each line is a record
whose hash matches it; each record's prev is the hash of the record before it,
across day files and daemon starts (64 zeros for the first record); each
record is in the file of its UTC day, or of a later day when the clock was
stepped back; seq counts on by 1 within each daemon start.

  --dir DIR       the trail's directory
  --config FILE   take the directory from [audit] dir of FILE and of the
                  conf.d/*.conf beside it (default ${DEFAULT_CONFIG_FILE})
  -h, --help      show this help and exit

Exit status:
  0  the chain is intact. Records missing from a daemon start while the chain
     holds (a seq gap: the trail was full or unavailable, or the file backend
     off) are warnings. An empty trail (no records yet) counts as intact.
  1  the trail is broken: the first break is named as FILE:LINE with what it
     means, e.g. a changed line (bad-hash) or a removed, inserted or moved one
     (bad-link). A last line torn by a crash (torn-tail) is not tampering:
     netauditd cuts it off at its next start. Also 1: the directory or a file
     cannot be read, or the configuration is bad.
  2  wrong command line.

No hash chain shows records removed from the end of the trail, nor a trail
removed whole: compare the record count with an earlier run, or with the
journal or auditd.
`;

const VERBS: Readonly<Record<string, Verb>> = {
  verify: { summary: "check the trail's hash chain, day files and seq numbers", run: verify },
};

const AUDIT_USAGE = `Usage: netauditctl audit COMMAND [OPTION]...
Commands on netauditd's audit trail. They read its files directly: read
access to its directory is enough, and netauditd need not run.

${Object.entries(VERBS)
  .map(([name, verb]) => `  ${name.padEnd(10)}${verb.summary}`)
  .join('\n')}

Run 'netauditctl audit COMMAND --help' for a command's options.
`;

function verifyUsageError(message: string): UsageError {
  return new UsageError(message, VERIFY_USAGE.slice(0, VERIFY_USAGE.indexOf('\n')), 'netauditctl audit verify --help');
}

function auditUsageError(message: string): UsageError {
  return new UsageError(message, AUDIT_USAGE.slice(0, AUDIT_USAGE.indexOf('\n')), 'netauditctl audit --help');
}

/** parseArgs, with its errors as UsageErrors. */
function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, usageError: (message: string) => UsageError) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (error) {
    // Node's message goes on with advice about "--" that does not apply here.
    throw usageError((error as Error).message.split('. ')[0]!);
  }
}

/** The trail's directory: --dir, else [audit] dir of --config or of the default config. */
async function trailDir(dir: string | undefined, config: string | undefined): Promise<string> {
  if (dir !== undefined && config !== undefined) throw verifyUsageError('--dir and --config exclude each other');
  if (dir === '') throw verifyUsageError('--dir needs a directory');
  if (config === '') throw verifyUsageError('--config needs a file');
  if (dir !== undefined) return resolve(dir);
  try {
    return (await loadConfig(config ?? DEFAULT_CONFIG_FILE, { required: config !== undefined })).audit.dir;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new Error(`${error.message}; the trail's directory comes from [audit] dir there (or name it with --dir DIR)`);
  }
}

function where(result: VerifyResult, problem: TrailBreak): string {
  return `${displayPath(`${result.dir}/${problem.file}`)}:${problem.line}`;
}

function summary(result: VerifyResult): string {
  return `${plural(result.files, 'file')}, ${plural(result.records, 'record')}, ${plural(result.boots, 'daemon start')}`;
}

function report(result: VerifyResult): ExitCode {
  for (const warning of result.warnings) {
    printWarning(`${displayPath(`${result.dir}/${warning.file}`)}:${warning.line}: ${describeWarning(warning)}`);
  }
  if (result.warningsOmitted > 0) printWarning(`${plural(result.warningsOmitted, 'more warning')} like these not shown`);
  const warnings = result.warnings.length + result.warningsOmitted;
  const trail = `audit trail ${displayPath(result.dir)}`;
  const { problem } = result;
  if (result.status === 'empty') {
    printLine(`${trail}: empty (${plural(result.files, 'file')}, no records yet), nothing to verify`);
    return ExitCode.Success;
  }
  if (problem === null) {
    printLine(`${trail}: ${summary(result)}, chain intact${warnings > 0 ? `, ${plural(warnings, 'warning')}` : ''}`);
    return ExitCode.Success;
  }
  const what = problem.kind === 'torn-tail' ? 'torn' : 'broken';
  printError(`audit trail ${what} at ${where(result, problem)} (${problem.kind}): ${problem.detail}`);
  printError(`${trail}: the chain is intact up to there (${summary(result)})`);
  return ExitCode.Failure;
}

async function verify(args: string[]): Promise<ExitCode> {
  const { values } = parse(
    args,
    { dir: { type: 'string' }, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    verifyUsageError,
  );
  if (values.help) {
    process.stdout.write(VERIFY_USAGE);
    return ExitCode.Success;
  }
  const dir = await trailDir(values.dir, values.config);
  const indicator = progress();
  let result: VerifyResult;
  try {
    result = await verifyTrail(dir, {
      onProgress: (p) => {
        const percent = p.bytesTotal === 0 ? 100 : Math.min(100, Math.floor((100 * p.bytesRead) / p.bytesTotal));
        indicator.update(`verifying ${p.file} (${p.fileNumber}/${p.files}): ${percent}%, ${plural(p.records, 'record')}`);
      },
    });
  } finally {
    indicator.done();
  }
  return report(result);
}

export const audit = {
  name: 'audit',
  summary: "read and check netauditd's audit trail",
  async run(args: string[]): Promise<ExitCode> {
    const [word, ...rest] = args;
    if (word === '-h' || word === '--help') {
      process.stdout.write(AUDIT_USAGE);
      return ExitCode.Success;
    }
    if (word === undefined) throw auditUsageError(`a command is missing: ${Object.keys(VERBS).join(', ')}`);
    const verb = Object.hasOwn(VERBS, word) ? VERBS[word] : undefined;
    if (verb === undefined) throw auditUsageError(`unknown command ${JSON.stringify(word)} for audit: ${Object.keys(VERBS).join(', ')}`);
    return verb.run(rest);
  },
};
