#!/usr/bin/env node
// netauditctl: the command line of netauditd (netauditctl(1)), nmcli's way: global
// options, then an object (`connection`), its command (`show`) and its
// arguments; any unambiguous prefix names an object or a command.
import { readFileSync } from 'node:fs';
import { audit } from './commands/audit.js';
import { connection } from './commands/connection.js';
import { device } from './commands/device.js';
import { general } from './commands/general.js';
import { logging } from './commands/logging.js';
import { networking } from './commands/networking.js';
import { radio } from './commands/radio.js';
import { reload } from './commands/reload.js';
import { DaemonError, DaemonNotRunning, DaemonTimeout, toCliError } from './bus/daemon-error.js';
import { CliError, ExitCode, UsageError } from './exit-codes.js';
import { GlobalOptionError, parseGlobalOptions } from './global-options.js';
import type { Noun } from './noun.js';
import { printError, PROGRAM } from './output.js';
import { matchWord } from './words.js';

const NOUNS: readonly Noun[] = [general, networking, radio, connection, device, reload, logging, audit];

const USAGE = `Usage: ${PROGRAM} [OPTION]... OBJECT COMMAND [ARGUMENT]...
The command-line client of netauditd. It talks to the daemon over D-Bus;
the audit commands read the trail's files directly.

Objects (any unambiguous prefix will do: '${PROGRAM} c s' is 'connection show'):
${NOUNS.map((noun) => `  ${noun.name.padEnd(12)}${noun.summary}`).join('\n')}

Options (before the object):
  -t, --terse                   terse output for scripts: no header, fields joined by ':'
  -p, --pretty                  output for people, with a line under the header
  -m, --mode tabular|multiline  a table, or one 'FIELD: value' line per field
  -f, --fields F1,F2,...|all|common
                                the fields to show (an unknown one lists the valid ones)
  -g, --get-values F1,F2,...    the values of those fields only (-t -f without names)
  -e, --escape yes|no           in terse mode, escape ':' and '\\' (default yes);
                                control characters are always escaped
  -c, --colors auto|yes|no      color the output (auto: on a terminal, unless
                                NO_COLOR is set and non-empty)
      --json                    one JSON object per line (JSON lines), for scripts
  -w, --wait SECONDS            how long to wait for the daemon (default 90; 0: no limit)
      --bus-address ADDRESS     the bus to use (default: DBUS_SYSTEM_BUS_ADDRESS,
                                else the system bus)
  -h, --help                    show this help and exit
  -V, --version                 show the version and exit

Run '${PROGRAM} OBJECT --help' for its commands, e.g. '${PROGRAM} connection add --help'.

Exit status (nmcli's): 0 success; 1 unknown error (e.g. a broken audit trail,
permission denied); 2 invalid input; 3 timeout (-w); 4 activating a connection
failed; 5 deactivating failed; 6 disconnecting a device failed; 7 deleting
failed; 8 netauditd is not running; 10 the connection, device or audit record
does not exist.
`;

function usageError(message: string): UsageError {
  return new UsageError(message, USAGE.slice(0, USAGE.indexOf('\n')), `${PROGRAM} --help`);
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<ExitCode> {
  let options;
  try {
    options = parseGlobalOptions(argv, process.env, process.stdout.isTTY === true);
  } catch (error) {
    if (error instanceof GlobalOptionError) throw usageError(error.message);
    throw error;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return ExitCode.Success;
  }
  if (options.version) {
    process.stdout.write(`${PROGRAM} ${version()}\n`);
    return ExitCode.Success;
  }
  const [word, ...rest] = options.rest;
  if (word === undefined) throw usageError(`an object is missing: ${NOUNS.map((n) => n.name).join(', ')}`);
  if (word === 'help') {
    process.stdout.write(USAGE);
    return ExitCode.Success;
  }
  const match = matchWord(word, NOUNS.map((n) => n.name));
  if ('problem' in match) {
    const names = NOUNS.map((n) => n.name).join(', ');
    throw usageError(match.problem.includes('ambiguous') ? `object ${match.problem}` : `unknown object ${JSON.stringify(word)}: ${names}`);
  }
  const noun = NOUNS.find((n) => n.name === match.word)!;
  return noun.run(rest, options.context);
}

// A reader that stops early (`| head`) closes the pipe: that is no error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? ExitCode.Success);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      printError(error.message);
      process.stderr.write(`${error.synopsis}\nTry '${error.help}'.\n`);
      process.exitCode = ExitCode.Usage;
      return;
    }
    if (error instanceof CliError || error instanceof DaemonError || error instanceof DaemonNotRunning || error instanceof DaemonTimeout) {
      const failure = toCliError(error);
      process.stderr.write(`Error: ${failure.message}\n`);
      process.exitCode = failure.code;
      return;
    }
    printError(error instanceof Error ? error.message : String(error));
    process.exitCode = ExitCode.Failure;
  },
);
