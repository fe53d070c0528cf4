#!/usr/bin/env node
// netauditctl: the command line of netauditd (SPEC §6), nmcli's way:
// global options, then a noun (`audit`) and its command (`verify`).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { audit } from './commands/audit.js';
import { ExitCode, UsageError } from './exit-codes.js';
import { printError, PROGRAM } from './output.js';

interface Noun {
  readonly name: string;
  readonly summary: string;
  run(args: string[]): Promise<ExitCode>;
}

const NOUNS: readonly Noun[] = [audit];

const USAGE = `Usage: ${PROGRAM} [OPTION]... OBJECT COMMAND [ARGUMENT]...
The command-line client of netauditd.

Objects:
${NOUNS.map((noun) => `  ${noun.name.padEnd(10)}${noun.summary}`).join('\n')}

Options:
  -h, --help      show this help and exit
  -V, --version   show the version and exit

Run '${PROGRAM} OBJECT --help' for its commands, e.g. '${PROGRAM} audit verify --help'.
Exit status: 0 success, 1 failure (e.g. a broken audit trail), 2 wrong command line.
`;

function usageError(message: string): UsageError {
  return new UsageError(message, USAGE.slice(0, USAGE.indexOf('\n')), `${PROGRAM} --help`);
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<ExitCode> {
  // The global options are those before the object; the rest is the object's.
  const split = argv.findIndex((arg) => !arg.startsWith('-'));
  const globals = split === -1 ? argv : argv.slice(0, split);
  const [word, ...rest] = split === -1 ? [] : argv.slice(split);
  let values: { help?: boolean; version?: boolean };
  try {
    ({ values } = parseArgs({
      args: globals,
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw usageError((error as Error).message.split('. ')[0]!);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return ExitCode.Success;
  }
  if (values.version) {
    process.stdout.write(`${PROGRAM} ${version()}\n`);
    return ExitCode.Success;
  }
  if (word === undefined) throw usageError(`an object is missing: ${NOUNS.map((n) => n.name).join(', ')}`);
  const noun = NOUNS.find((n) => n.name === word);
  if (noun === undefined) throw usageError(`unknown object ${JSON.stringify(word)}: ${NOUNS.map((n) => n.name).join(', ')}`);
  return noun.run(rest);
}

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
    printError(error instanceof Error ? error.message : String(error));
    process.exitCode = ExitCode.Failure;
  },
);
