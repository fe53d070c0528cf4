// logging: the daemon's log level and domains (Manager.GetLogging and
// SetLogging): `logging` shows LEVEL and DOMAINS, `logging level L domains D`
// changes them (either may be left out: it stays as it is).
import { clientOptionsOf, withDaemon } from '../bus/daemon-client.js';
import { toCliError } from '../bus/daemon-error.js';
import { MANAGER_IFACE, MANAGER_PATH } from '../bus/names.js';
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { render, type Column } from '../format/render.js';
import { isHelp, usageErrorOf, type Noun } from '../noun.js';
import { PROGRAM } from '../output.js';
import { matchWord } from '../words.js';

export const LOGGING_USAGE = `Usage: ${PROGRAM} [OPTION]... logging [level LEVEL] [domains DOMAINS]
Without arguments, shows netauditd's log level and domains (LEVEL, DOMAINS).
With them, sets them (what is left out stays as it is):
  level LEVEL      ERR, WARN, INFO, DEBUG or TRACE
  domains DOMAINS  ALL, or a comma list of domains; AUDIT:OFF and AUDIT:ON
                   switch auditing off and on
`;

const COLUMNS: readonly Column[] = [{ name: 'LEVEL' }, { name: 'DOMAINS' }];

/** `logging` and `general logging`: show or set. */
export async function runLogging(args: string[], context: CliContext, help: string): Promise<ExitCode> {
  const usageError = usageErrorOf(LOGGING_USAGE, help);
  if (args.some(isHelp)) {
    process.stdout.write(LOGGING_USAGE);
    return ExitCode.Success;
  }
  const wanted: { level?: string; domains?: string } = {};
  for (let i = 0; i < args.length; i += 2) {
    const match = matchWord(args[i]!, ['level', 'domains'] as const);
    if ('problem' in match) throw usageError(`unknown argument: ${match.problem}`);
    const value = args[i + 1];
    if (value === undefined) throw usageError(`the value of '${match.word}' is missing`);
    wanted[match.word] = value;
  }
  return withDaemon(clientOptionsOf(context), async (client) => {
    if (args.length === 0) {
      const [level, domains] = (await client.call(MANAGER_PATH, MANAGER_IFACE, 'GetLogging')) as [string, string];
      render(COLUMNS, [{ LEVEL: level, DOMAINS: domains }], context.output);
      return ExitCode.Success;
    }
    try {
      await client.call(MANAGER_PATH, MANAGER_IFACE, 'SetLogging', 'ss', [wanted.level ?? '', wanted.domains ?? '']);
    } catch (error) {
      throw toCliError(error, 'Setting logging failed');
    }
    return ExitCode.Success;
  });
}

export const logging: Noun = {
  name: 'logging',
  summary: "show or set netauditd's log level and domains",
  run: (args, context) => runLogging(args, context, `${PROGRAM} logging --help`),
};
