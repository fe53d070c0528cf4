// audit: netauditctl's commands on the audit trail (netauditctl(1)). They read the
// trail's day files directly: read access to its directory is enough, and
// netauditd need not run. Each command is a file of its own.
import type { CliContext } from '../context.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { exportTrail } from './audit-export.js';
import { follow } from './audit-follow.js';
import { list } from './audit-list.js';
import { show } from './audit-show.js';
import { stats } from './audit-stats.js';
import { verify } from './audit-verify.js';

interface Verb {
  readonly summary: string;
  run(args: string[], context: CliContext): Promise<ExitCode>;
}

const VERBS: Readonly<Record<string, Verb>> = {
  list: { summary: 'list the records, filtered (--since, --op, --uid…), oldest first', run: list },
  show: { summary: 'show one record whole, with its before and after values', run: show },
  export: { summary: 'write the records, filtered, as JSON lines or CSV, to stdout or a file', run: exportTrail },
  verify: { summary: "check the trail's hash chain, day files and seq numbers", run: verify },
  follow: { summary: 'show new records as netauditd writes them', run: follow },
  stats: { summary: 'count the records per op, failure reason and caller uid', run: stats },
};

const AUDIT_USAGE = `Usage: netauditctl audit COMMAND [OPTION]...
Commands on netauditd's audit trail. They read its files directly: read
access to its directory is enough, and netauditd need not run.

${Object.entries(VERBS)
  .map(([name, verb]) => `  ${name.padEnd(10)}${verb.summary}`)
  .join('\n')}

Run 'netauditctl audit COMMAND --help' for a command's options.
`;

function auditUsageError(message: string): UsageError {
  return new UsageError(message, AUDIT_USAGE.slice(0, AUDIT_USAGE.indexOf('\n')), 'netauditctl audit --help');
}

export const audit = {
  name: 'audit',
  summary: "read and check netauditd's audit trail (list, show, export, verify…)",
  async run(args: string[], context: CliContext): Promise<ExitCode> {
    const [word, ...rest] = args;
    if (word === '-h' || word === '--help') {
      process.stdout.write(AUDIT_USAGE);
      return ExitCode.Success;
    }
    if (word === undefined) throw auditUsageError(`a command is missing: ${Object.keys(VERBS).join(', ')}`);
    const verb = Object.hasOwn(VERBS, word) ? VERBS[word] : undefined;
    if (verb === undefined) throw auditUsageError(`unknown command ${JSON.stringify(word)} for audit: ${Object.keys(VERBS).join(', ')}`);
    return verb.run(rest, context);
  },
};
