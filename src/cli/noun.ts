// An object of netauditctl (`connection`, `device`…) and its commands: the
// command named by a word or an unambiguous prefix of it, `--help` at each
// level, and a UsageError that names the synopsis concerned.
import type { CliContext } from './context.js';
import { ExitCode, UsageError } from './exit-codes.js';
import { PROGRAM } from './output.js';
import { matchWord } from './words.js';

export interface Verb {
  readonly name: string;
  /** Other words for it (nmcli's `status` for `device list`). */
  readonly aliases?: readonly string[];
  readonly summary: string;
  /** Its --help text; the first line is the synopsis ("Usage: …"). */
  readonly usage: string;
  run(args: string[], context: CliContext, usageError: (message: string) => UsageError): Promise<ExitCode>;
}

export interface Noun {
  readonly name: string;
  readonly summary: string;
  run(args: string[], context: CliContext): Promise<ExitCode>;
}

export interface NounSpec {
  readonly name: string;
  readonly summary: string;
  /** What the object is about, for its --help. */
  readonly description: string;
  readonly verbs: readonly Verb[];
  /** The command run when none is given (nmcli: `connection` is `connection show`). */
  readonly defaultVerb?: string;
}

export function isHelp(word: string | undefined): boolean {
  return word === '-h' || word === '--help';
}

/** The UsageError of a command, pointing to its --help. */
export function usageErrorOf(usage: string, help: string): (message: string) => UsageError {
  return (message) => new UsageError(message, usage.slice(0, usage.indexOf('\n')), help);
}

export function defineNoun(spec: NounSpec): Noun {
  const usage = `Usage: ${PROGRAM} [OPTION]... ${spec.name} { COMMAND | help } [ARGUMENT]...
${spec.description}

Commands:
${spec.verbs.map((v) => `  ${[v.name, ...(v.aliases ?? [])].join(', ').padEnd(22)}${v.summary}`).join('\n')}
${spec.defaultVerb !== undefined ? `\nWithout a command: ${spec.defaultVerb}.\n` : ''}
Run '${PROGRAM} ${spec.name} COMMAND --help' for a command's arguments.
`;
  const nounError = usageErrorOf(usage, `${PROGRAM} ${spec.name} --help`);
  const words = spec.verbs.flatMap((v) => [v.name, ...(v.aliases ?? [])]);
  return {
    name: spec.name,
    summary: spec.summary,
    async run(args, context) {
      const [first, ...rest] = args;
      if (isHelp(first) || first === 'help') {
        process.stdout.write(usage);
        return ExitCode.Success;
      }
      const word = first ?? spec.defaultVerb;
      if (word === undefined) throw nounError(`a command is missing: ${spec.verbs.map((v) => v.name).join(', ')}`);
      const match = matchWord(word, words);
      if ('problem' in match) throw nounError(`unknown command for ${spec.name}: ${match.problem}`);
      const verb = spec.verbs.find((v) => v.name === match.word || v.aliases?.includes(match.word))!;
      const verbArgs = first === undefined ? [] : rest;
      if (verbArgs.some(isHelp)) {
        process.stdout.write(verb.usage);
        return ExitCode.Success;
      }
      return verb.run(verbArgs, context, usageErrorOf(verb.usage, `${PROGRAM} ${spec.name} ${verb.name} --help`));
    },
  };
}
