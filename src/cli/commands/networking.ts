// networking: networking as a whole (Manager.Enable and NetworkingEnabled):
// `networking` shows enabled or disabled, `networking on|off` switches it.
// Switching to the state it is already in succeeds: the state asked for holds.
import { clientOptionsOf, withDaemon } from '../bus/daemon-client.js';
import { DaemonError, toCliError } from '../bus/daemon-error.js';
import { ERROR_PREFIX, MANAGER_IFACE, MANAGER_PATH } from '../bus/names.js';
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { render } from '../format/render.js';
import { defineNoun, type Verb } from '../noun.js';
import { PROGRAM } from '../output.js';
import { stateColor } from '../state-names.js';

async function enable(on: boolean, args: string[], context: CliContext, usageError: (m: string) => Error): Promise<ExitCode> {
  if (args.length > 0) throw usageError(`unexpected argument ${JSON.stringify(args[0])}`);
  return withDaemon(clientOptionsOf(context), async (client) => {
    try {
      await client.call(MANAGER_PATH, MANAGER_IFACE, 'Enable', 'b', [on]);
    } catch (error) {
      if (error instanceof DaemonError && error.errorName === `${ERROR_PREFIX}AlreadyEnabledOrDisabled`) return ExitCode.Success;
      throw toCliError(error, on ? 'Enabling networking failed' : 'Disabling networking failed');
    }
    return ExitCode.Success;
  });
}

const onOff = (on: boolean): Verb => ({
  name: on ? 'on' : 'off',
  summary: on ? 'enable networking' : 'disable networking: every active connection is deactivated',
  usage: `Usage: ${PROGRAM} [OPTION]... networking ${on ? 'on' : 'off'}\n${on ? 'Enables networking.' : 'Disables networking: netauditd deactivates every active connection.'}\n`,
  run: (args, context, usageError) => enable(on, args, context, usageError),
});

export const networking = defineNoun({
  name: 'networking',
  summary: 'switch networking on or off',
  description: 'Networking as a whole: shows whether it is enabled, switches it on or off.',
  defaultVerb: 'status',
  verbs: [
    onOff(true),
    onOff(false),
    {
      name: 'status',
      summary: 'show whether networking is enabled (the default)',
      usage: `Usage: ${PROGRAM} [OPTION]... networking [status]\nShows whether networking is enabled (field NETWORKING).\n`,
      async run(args, context, usageError) {
        if (args.length > 0) throw usageError(`unexpected argument ${JSON.stringify(args[0])}`);
        return withDaemon(clientOptionsOf(context), async (client) => {
          const on = await client.get(MANAGER_PATH, MANAGER_IFACE, 'NetworkingEnabled');
          render([{ name: 'NETWORKING', colorOf: stateColor }], [{ NETWORKING: on === true ? 'enabled' : 'disabled' }], context.output);
          return ExitCode.Success;
        });
      },
    },
  ],
});
