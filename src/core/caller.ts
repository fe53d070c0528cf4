// Caller: who made a call, as the bus says (docs/api.md), never as the message says.

export interface Caller {
  /** unique bus name of the sender, e.g. ":1.42" */
  readonly busName: string;
  readonly pid: number;
  readonly uid: number;
  /** the caller's executable, when readable */
  readonly exe?: string;
  /**
   * The call allowed interactive authorization (its message had the
   * ALLOW_INTERACTIVE_AUTHORIZATION flag): an authorizer may then ask the
   * person for a password. Absent means false. It belongs to one call, not
   * to the connection.
   */
  readonly interactive?: boolean;
}

/**
 * A caller not yet resolved: resolving asks the bus for the sender's
 * credentials. A failed lookup rejects and is a refusal, never a default.
 */
export interface CallerRef {
  readonly busName: string;
  /** see Caller.interactive: the resolved Caller carries it */
  readonly interactive?: boolean;
  resolve(): Promise<Caller>;
}
