// audit verify: checks the audit trail's hash chain, day files and seq
// numbers (docs/record-format.md), streaming, with a progress line on a terminal.
import { DEFAULT_CONFIG_FILE } from '../../config/config.js';
import { describeWarning, verifyTrail, type TrailBreak, type VerifyResult } from '../../core/audit/trail/verify.js';
import { parse } from '../args.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { displayPath, plural, printError, printLine, printWarning, progress } from '../output.js';
import { trailDir } from './trail-dir.js';

export const VERIFY_USAGE = `Usage: netauditctl audit verify [--dir DIR | --config FILE]
Check the audit trail, every day file in date order: each line is a record
whose hash matches it; each record's prev is the hash of the record before it,
across day files and daemon starts (64 zeros for the first record); each
record is in the file of its UTC day, or of a later day when the clock was
stepped back; seq counts on by 1 within each daemon start.

Once netauditd's retention (retention-days) has removed old day files, the
first record links to the hash that the retention anchor audit-anchor.json
in the same directory names; the summary then says how many files and
records retention removed, and up to which day. A first record that links to
neither 64 zeros nor the anchor means the chain was cut.

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
     (bad-link), or a chain cut at its start (bad-link at the first record:
     older records removed without, or beyond, the retention anchor). A last
     line torn by a crash (torn-tail) is not tampering:
     netauditd cuts it off at its next start. Also 1: the directory or a file
     cannot be read, or the configuration is bad.
  2  wrong command line.

No hash chain shows records removed from the end of the trail, nor a trail
removed whole: compare the record count with an earlier run, or with the
journal or auditd.
`;

function verifyUsageError(message: string): UsageError {
  return new UsageError(message, VERIFY_USAGE.slice(0, VERIFY_USAGE.indexOf('\n')), 'netauditctl audit verify --help');
}

function where(result: VerifyResult, problem: TrailBreak): string {
  return `${displayPath(`${result.dir}/${problem.file}`)}:${problem.line}`;
}

function summary(result: VerifyResult): string {
  return `${plural(result.files, 'file')}, ${plural(result.records, 'record')}, ${plural(result.boots, 'daemon start')}`;
}

function prunedText(result: VerifyResult): string {
  const { pruned } = result;
  if (pruned === null) return '';
  return `, starts after retention pruned ${plural(pruned.files, 'file')} (${plural(pruned.records, 'record')}) up to ${pruned.through}`;
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
    printLine(`${trail}: ${summary(result)}, chain intact${prunedText(result)}${warnings > 0 ? `, ${plural(warnings, 'warning')}` : ''}`);
    return ExitCode.Success;
  }
  const what = problem.kind === 'torn-tail' ? 'torn' : 'broken';
  printError(`audit trail ${what} at ${where(result, problem)} (${problem.kind}): ${problem.detail}`);
  printError(`${trail}: the chain is intact up to there (${summary(result)}${prunedText(result)})`);
  return ExitCode.Failure;
}

export async function verify(args: string[]): Promise<ExitCode> {
  const { values } = parse(
    args,
    { dir: { type: 'string' }, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    verifyUsageError,
  );
  if (values.help) {
    process.stdout.write(VERIFY_USAGE);
    return ExitCode.Success;
  }
  const dir = await trailDir(values.dir, values.config, verifyUsageError);
  const indicator = progress();
  let result: VerifyResult;
  try {
    result = await verifyTrail(dir, {
      onProgress: (p) => {
        const percent = p.bytesTotal === 0 ? 100 : Math.min(100, Math.floor((100 * p.bytesRead) / p.bytesTotal));
        const filled = Math.round(percent / 5);
        indicator.update(`[${'#'.repeat(filled)}${'.'.repeat(20 - filled)}] ${percent}% verifying ${p.file} (${p.fileNumber}/${p.files}), ${plural(p.records, 'record')}`);
      },
    });
  } finally {
    indicator.done();
  }
  return report(result);
}

