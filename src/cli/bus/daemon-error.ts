// What went wrong talking to netauditd, as netauditctl shows it: the daemon's
// error replies (org.netaudit1.Error.*), the bus's own (no owner for the name,
// access denied), a bus that cannot be reached, and a reply that did not come
// within -w/--wait. toCliError turns each into a message and nmcli's exit code.
import { CliError, ExitCode } from '../exit-codes.js';
import { escapeControls } from '../format/escape.js';
import { ERROR_PREFIX } from './names.js';

/** An error reply, or a failure of the bus itself; `name` is the D-Bus error name. */
export class DaemonError extends Error {
  readonly errorName: string;

  constructor(errorName: string, message: string) {
    super(message);
    this.name = 'DaemonError';
    this.errorName = errorName;
  }
}

/** No reply within the time -w/--wait allows. */
export class DaemonTimeout extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DaemonTimeout';
  }
}

/** The bus cannot be reached, or nobody owns org.netaudit1 on it. */
export class DaemonNotRunning extends Error {
  readonly address: string;
  readonly detail: string;

  constructor(address: string, detail: string) {
    super(`netauditd is not running.\n${detail}`);
    this.name = 'DaemonNotRunning';
    this.address = address;
    this.detail = detail;
  }
}

const NOT_FOUND = new Set(['UnknownConnection', 'UnknownDevice', 'UnknownObject', 'ConnectionNotActive']);
const NO_OWNER = new Set(['org.freedesktop.DBus.Error.ServiceUnknown', 'org.freedesktop.DBus.Error.NameHasNoOwner']);

/** Whether the bus said that nobody owns the daemon's name. */
export function isNoOwner(error: unknown): boolean {
  return error instanceof DaemonError && NO_OWNER.has(error.errorName);
}

/**
 * The CliError for a failure of `what` (e.g. "Connection activation failed").
 * `operation` is the exit code of the operation under way (4 to 7): any refusal
 * by the daemon then means that the operation failed, as nmcli has it; without
 * one, PermissionDenied is 1, InvalidArgument 2 and Unknown* 10.
 */
export function toCliError(error: unknown, what?: string, operation?: ExitCode): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof DaemonNotRunning) return new CliError(error.message, ExitCode.NotRunning);
  if (error instanceof DaemonTimeout) return new CliError(error.message, ExitCode.Timeout);
  const prefix = what === undefined ? '' : `${escapeControls(what)}: `;
  if (error instanceof DaemonError) {
    const text = `${prefix}${escapeControls(error.message || error.errorName)}`;
    if (error.errorName.startsWith(ERROR_PREFIX)) {
      const code = error.errorName.slice(ERROR_PREFIX.length);
      if (operation !== undefined) return new CliError(text, operation);
      if (code === 'InvalidArgument') return new CliError(text, ExitCode.Usage);
      if (NOT_FOUND.has(code)) return new CliError(text, ExitCode.NotFound);
      return new CliError(text, ExitCode.Failure);
    }
    if (error.errorName === 'org.freedesktop.DBus.Error.UnknownObject') return new CliError(text, ExitCode.NotFound);
    return new CliError(`${text} (${error.errorName})`, operation ?? ExitCode.Failure);
  }
  return new CliError(`${prefix}${escapeControls(error instanceof Error ? error.message : String(error))}`, ExitCode.Failure);
}
