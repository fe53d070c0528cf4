// Command-line arguments of netauditctl's commands: node's parseArgs, with
// its errors turned into UsageErrors that name the command's synopsis.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { UsageError } from './exit-codes.js';

/** parseArgs, with its errors as UsageErrors; positionals only when the command takes them. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: T,
  usageError: (message: string) => UsageError,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (error) {
    // Node's message goes on with advice about "--" that does not apply here.
    throw usageError((error as Error).message.split('. ')[0]!);
  }
}

