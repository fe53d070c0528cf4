// radio: the wifi switch (Manager.WirelessEnabled, a write is an audited
// change): `radio` and `radio wifi` show it, `radio wifi on|off` (or `radio
// all on|off`: wifi is the only radio) switch it.
import { clientOptionsOf, withDaemon } from '../bus/daemon-client.js';
import { toCliError } from '../bus/daemon-error.js';
import { MANAGER_IFACE, MANAGER_PATH } from '../bus/names.js';
import type { CliContext } from '../context.js';
import { ExitCode, type UsageError } from '../exit-codes.js';
import { render } from '../format/render.js';
import { defineNoun, type Verb } from '../noun.js';
import { PROGRAM } from '../output.js';
import { stateColor } from '../state-names.js';
import { matchWord } from '../words.js';

async function radioCommand(args: string[], context: CliContext, usageError: (m: string) => UsageError): Promise<ExitCode> {
  if (args.length > 1) throw usageError(`unexpected argument ${JSON.stringify(args[1])}`);
  let on: boolean | undefined;
  if (args.length === 1) {
    const match = matchWord(args[0]!, ['on', 'off'] as const);
    if ('problem' in match) throw usageError(`expected on or off: ${match.problem}`);
    on = match.word === 'on';
  }
  return withDaemon(clientOptionsOf(context), async (client) => {
    if (on === undefined) {
      const value = await client.get(MANAGER_PATH, MANAGER_IFACE, 'WirelessEnabled');
      render([{ name: 'WIFI', colorOf: stateColor }], [{ WIFI: value === true ? 'enabled' : 'disabled' }], context.output);
      return ExitCode.Success;
    }
    try {
      await client.set(MANAGER_PATH, MANAGER_IFACE, 'WirelessEnabled', 'b', on);
    } catch (error) {
      throw toCliError(error, on ? 'Switching wifi on failed' : 'Switching wifi off failed');
    }
    return ExitCode.Success;
  });
}

const radioVerb = (name: 'wifi' | 'all'): Verb => ({
  name,
  summary: name === 'wifi' ? 'show the wifi switch, or turn it on or off' : 'all radios: wifi is the only one',
  usage: `Usage: ${PROGRAM} [OPTION]... radio ${name} [on | off]\nWithout an argument shows the wifi switch (field WIFI: enabled or disabled); on and off switch it.\n`,
  run: radioCommand,
});

export const radio = defineNoun({
  name: 'radio',
  summary: 'the wifi switch',
  description: 'The radio switches: wifi.',
  defaultVerb: 'all',
  verbs: [radioVerb('wifi'), radioVerb('all')],
});
