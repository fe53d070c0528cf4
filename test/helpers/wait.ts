// waitFor: poll a condition until it holds or a deadline passes (tests never sleep a fixed time).

export interface WaitOptions {
  /** Give up after this long; default 10 s. */
  timeoutMs?: number;
  /** Poll this often; default 25 ms. */
  intervalMs?: number;
  /** What is awaited, for the timeout message ("the daemon's log line …"). */
  what?: string;
}

/**
 * Calls `fn` until it returns a truthy value, and resolves with that value.
 * A throw counts as "not yet"; the last one is quoted when the deadline passes.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 25, what = 'a condition' }: WaitOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const cause = lastError === undefined ? '' : ` (last error: ${describe(lastError)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const type = (err as { type?: unknown }).type;
    return typeof type === 'string' ? `${type}: ${err.message}` : err.message;
  }
  return String(err);
}
