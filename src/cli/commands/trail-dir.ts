// The audit trail's directory for netauditctl's audit commands: --dir DIR,
// else [audit] dir of --config FILE or of the default configuration.
import { resolve } from 'node:path';
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig } from '../../config/config.js';
import type { UsageError } from '../exit-codes.js';

/** The trail's directory: --dir, else [audit] dir of --config or of the default config. */
export async function trailDir(
  dir: string | undefined,
  config: string | undefined,
  usageError: (message: string) => UsageError,
): Promise<string> {
  if (dir !== undefined && config !== undefined) throw usageError('--dir and --config exclude each other');
  if (dir === '') throw usageError('--dir needs a directory');
  if (config === '') throw usageError('--config needs a file');
  if (dir !== undefined) return resolve(dir);
  try {
    return (await loadConfig(config ?? DEFAULT_CONFIG_FILE, { required: config !== undefined })).audit.dir;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new Error(`${error.message}; the trail's directory comes from [audit] dir there (or name it with --dir DIR)`);
  }
}

