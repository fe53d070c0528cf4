// Caller: who made a call, as the bus says (SPEC §3), never as the message says.

export interface Caller {
  /** unique bus name of the sender, e.g. ":1.42" */
  readonly busName: string;
  readonly pid: number;
  readonly uid: number;
  /** the caller's executable, when readable */
  readonly exe?: string;
}

/**
 * A caller not yet resolved: resolving asks the bus for the sender's
 * credentials. A failed lookup rejects and is a refusal, never a default.
 */
export interface CallerRef {
  readonly busName: string;
  resolve(): Promise<Caller>;
}
