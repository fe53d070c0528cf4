// Exit codes of netauditctl: nmcli's numbers, so scripts written for nmcli
// read ours alike (documented in netauditctl(1)).

export const ExitCode = {
  /** done; for `audit verify`: the trail is intact (or empty) */
  Success: 0,
  /** unknown error, or the command failed for a reason below none of the others: a broken trail, an unreadable directory, permission denied by the daemon */
  Failure: 1,
  /** invalid input: unknown command or option, a missing or wrong argument, a value the daemon refused as invalid */
  Usage: 2,
  /** -w/--wait ran out before the daemon answered or the operation completed */
  Timeout: 3,
  /** activating a connection failed */
  ActivationFailed: 4,
  /** deactivating a connection failed */
  DeactivationFailed: 5,
  /** disconnecting a device failed */
  DisconnectFailed: 6,
  /** deleting a connection (or a device) failed */
  DeleteFailed: 7,
  /** netauditd is not running: nobody owns org.netaudit1, or the bus cannot be reached */
  NotRunning: 8,
  /** the connection, device or object named does not exist */
  NotFound: 10,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * A wrong command line: main prints the message, the synopsis of the command
 * concerned ("Usage: …") and points to its --help, then exits with Usage.
 */
export class UsageError extends Error {
  readonly synopsis: string;
  readonly help: string;

  constructor(message: string, synopsis: string, help: string) {
    super(message);
    this.name = 'UsageError';
    this.synopsis = synopsis;
    this.help = help;
  }
}

/** A failure with the exit code that says which: main prints `Error: message` and exits with code. */
export class CliError extends Error {
  readonly code: ExitCode;

  constructor(message: string, code: ExitCode) {
    super(message);
    this.name = 'CliError';
    this.code = code;
  }
}
