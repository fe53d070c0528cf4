// reload: Manager.Reload, nmcli's `general reload`: re-read the
// configuration (`conf`, flag 1), the connection profiles (`connections`,
// flag 2), or both (no argument, flags 0).
import { clientOptionsOf, withDaemon } from '../bus/daemon-client.js';
import { toCliError } from '../bus/daemon-error.js';
import { MANAGER_IFACE, MANAGER_PATH } from '../bus/names.js';
import { ExitCode } from '../exit-codes.js';
import { isHelp, usageErrorOf, type Noun } from '../noun.js';
import { PROGRAM } from '../output.js';
import { matchWord } from '../words.js';

const USAGE = `Usage: ${PROGRAM} [OPTION]... reload [conf] [connections]
Makes netauditd re-read its configuration files (conf), its connection
profiles (connections), or, without an argument, both.
`;

const FLAGS = { conf: 1, connections: 2 } as const;

export const reload: Noun = {
  name: 'reload',
  summary: 're-read the configuration and the connection profiles',
  async run(args, context) {
    const usageError = usageErrorOf(USAGE, `${PROGRAM} reload --help`);
    if (args.some(isHelp)) {
      process.stdout.write(USAGE);
      return ExitCode.Success;
    }
    let flags = 0;
    for (const arg of args) {
      const match = matchWord(arg, Object.keys(FLAGS) as Array<keyof typeof FLAGS>);
      if ('problem' in match) throw usageError(`unknown argument: ${match.problem}`);
      flags |= FLAGS[match.word];
    }
    return withDaemon(clientOptionsOf(context), async (client) => {
      try {
        await client.call(MANAGER_PATH, MANAGER_IFACE, 'Reload', 'u', [flags]);
      } catch (error) {
        throw toCliError(error, 'Reload failed');
      }
      return ExitCode.Success;
    });
  },
};
