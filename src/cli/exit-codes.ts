// Exit codes of netauditctl: nmcli's numbers (0 success, 1 unknown error, 2
// invalid input, … 10 object not found), so scripts written for nmcli read
// ours alike. Only those that a command returns today are defined.

export const ExitCode = {
  /** done; for `audit verify`: the trail is intact (or empty) */
  Success: 0,
  /** the command failed: a broken trail, an unreadable directory, a bad config file */
  Failure: 1,
  /** the command line is wrong: unknown command or option, a missing argument */
  Usage: 2,
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
