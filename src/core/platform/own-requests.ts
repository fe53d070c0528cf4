// The daemon's own kernel requests in flight, for telling the kernel's announcements of them
// from others' changes (docs/external-changes.md). Most events that answer a request carry the
// requesting socket's port id, and the platform matches those exactly. Link events, IPv6
// address events and the kernel's side effects arrive without one (nlmsg_pid 0): each request
// then says, before it is sent, which announcements it makes — the object it names and the
// state it asks for — and such an event is the daemon's own only when a request in flight
// expects exactly it. A request's expectations last from before it is sent until a short
// grace after the kernel's answer, because the event socket is read apart from the request
// socket and its events may come after the answer; they are a bound on waiting, never the
// match itself.

/** How long after the kernel answered a request its announcements are still expected. */
export const OWN_GRACE_MS = 2000;

interface Pending<C> {
  readonly expects: (change: C) => boolean;
  /** ms since the epoch after which it expects nothing; Infinity while the request is in flight */
  until: number;
}

export class OwnRequests<C> {
  private readonly pending = new Set<Pending<C>>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Runs `request` with `expects` naming what it makes the kernel announce; resolves or rejects
   * as the request does. A refused request expects nothing more once it is answered.
   */
  async around<T>(expects: (change: C) => boolean, request: () => Promise<T>): Promise<T> {
    const entry: Pending<C> = { expects, until: Infinity };
    this.pending.add(entry);
    try {
      const result = await request();
      entry.until = this.now() + OWN_GRACE_MS;
      return result;
    } catch (e) {
      this.pending.delete(entry);
      throw e;
    }
  }

  /** True when a request in flight (or just answered) expects `change`. */
  expects(change: C): boolean {
    const now = this.now();
    for (const entry of this.pending) {
      if (entry.until < now) {
        this.pending.delete(entry);
        continue;
      }
      if (entry.expects(change)) return true;
    }
    return false;
  }

  /** The number of requests whose announcements are still expected (for tests and the log). */
  get size(): number {
    return this.pending.size;
  }
}
