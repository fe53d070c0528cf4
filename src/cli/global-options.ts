// The global options of netauditctl, nmcli's: they come before the object
// (`netauditctl -t -f NAME connection list`) and make the CliContext every
// object gets. Parsed by hand: an option's value may be any word, so the
// object is the first word that is neither an option nor an option's value.
import type { CliContext } from './context.js';
import { resolveColor, type ColorChoice } from './format/color.js';
import type { OutputOptions } from './format/render.js';

export interface GlobalOptions {
  readonly help: boolean;
  readonly version: boolean;
  readonly context: CliContext;
  /** The object and what follows it. */
  readonly rest: string[];
}

/** nmcli's default for -w/--wait: 90 seconds. */
export const DEFAULT_WAIT_SECONDS = 90;

interface OptionSpec {
  readonly long: string;
  readonly short?: string;
  readonly value: boolean;
}

const OPTIONS: readonly OptionSpec[] = [
  { long: 'terse', short: 't', value: false },
  { long: 'pretty', short: 'p', value: false },
  { long: 'mode', short: 'm', value: true },
  { long: 'fields', short: 'f', value: true },
  { long: 'get-values', short: 'g', value: true },
  { long: 'escape', short: 'e', value: true },
  { long: 'colors', short: 'c', value: true },
  { long: 'wait', short: 'w', value: true },
  { long: 'json', value: false },
  { long: 'bus-address', value: true },
  { long: 'help', short: 'h', value: false },
  { long: 'version', short: 'V', value: false },
];

/** What is wrong with the command line; main turns it into a UsageError. */
export class GlobalOptionError extends Error {}

function yesNo(option: string, value: string): boolean {
  const v = value.toLowerCase();
  if (['yes', 'on', 'true', '1'].includes(v)) return true;
  if (['no', 'off', 'false', '0'].includes(v)) return false;
  throw new GlobalOptionError(`${option}: ${JSON.stringify(value)} is not yes or no`);
}

function fieldList(value: string): string[] {
  return value.split(',').map((f) => f.trim()).filter((f) => f !== '');
}

/** Parses the options before the object; `env` and `isTty` resolve `-c auto`. */
export function parseGlobalOptions(argv: readonly string[], env: NodeJS.ProcessEnv, isTty: boolean): GlobalOptions {
  const seen = new Map<string, string | true>();
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      if (eq !== -1) inline = arg.slice(eq + 1);
      // nmcli takes an unambiguous prefix of a long option too (--ter for --terse).
      const exact = OPTIONS.find((o) => o.long === name);
      const matches = exact ? [exact] : OPTIONS.filter((o) => o.long.startsWith(name) && name !== '');
      if (matches.length !== 1) throw new GlobalOptionError(matches.length === 0 ? `Unknown option '--${name}'` : `option '--${name}' is ambiguous: ${matches.map((m) => `--${m.long}`).join(', ')}`);
      spec = matches[0]!;
    } else {
      // -tp: several short options; -fNAME,UUID: an option and its value.
      for (let j = 1; j < arg.length; j++) {
        const short = OPTIONS.find((o) => o.short === arg[j]);
        if (short === undefined) throw new GlobalOptionError(`Unknown option '-${arg[j]}'`);
        if (!short.value) {
          seen.set(short.long, true);
          continue;
        }
        const rest = arg.slice(j + 1);
        spec = short;
        inline = rest === '' ? undefined : rest;
        break;
      }
      if (spec === undefined) continue;
    }
    if (!spec.value) {
      if (inline !== undefined) throw new GlobalOptionError(`option '--${spec.long}' does not take a value`);
      seen.set(spec.long, true);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      i++;
      value = argv[i];
      if (value === undefined) throw new GlobalOptionError(`option '--${spec.long}' needs a value`);
    }
    seen.set(spec.long, value);
  }

  const text = (name: string): string | undefined => {
    const v = seen.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  const flag = (name: string): boolean => seen.get(name) === true;

  const modeText = text('mode');
  if (modeText !== undefined && !['tabular', 'multiline'].some((m) => m.startsWith(modeText.toLowerCase()) && modeText !== '')) {
    throw new GlobalOptionError(`--mode: ${JSON.stringify(modeText)} is not tabular or multiline`);
  }
  const mode = modeText === undefined ? 'tabular' : 'tabular'.startsWith(modeText.toLowerCase()) ? 'tabular' : 'multiline';

  const colorText = (text('colors') ?? 'auto').toLowerCase();
  if (!['auto', 'yes', 'no'].includes(colorText)) throw new GlobalOptionError(`--colors: ${JSON.stringify(text('colors'))} is not auto, yes or no`);

  const waitText = text('wait');
  let waitSeconds = DEFAULT_WAIT_SECONDS;
  if (waitText !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(waitText)) throw new GlobalOptionError(`--wait: ${JSON.stringify(waitText)} is not a number of seconds`);
    waitSeconds = Number(waitText);
  }

  const getValues = text('get-values');
  const fields = getValues ?? text('fields');
  const json = flag('json');
  if (json && (flag('terse') || getValues !== undefined)) throw new GlobalOptionError('--json cannot be combined with --terse or --get-values');

  const output: OutputOptions = {
    mode,
    modeGiven: modeText !== undefined,
    terse: flag('terse') || getValues !== undefined,
    fields: fields === undefined ? null : fieldList(fields),
    getValues: getValues !== undefined,
    escape: text('escape') === undefined ? true : yesNo('--escape', text('escape')!),
    color: json ? false : resolveColor(colorText as ColorChoice, env, isTty),
    json,
    pretty: flag('pretty'),
  };
  return {
    help: flag('help'),
    version: flag('version'),
    context: { output, busAddress: text('bus-address'), waitSeconds },
    rest: argv.slice(i),
  };
}
