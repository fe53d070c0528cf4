// DnsManager: the DNS the active connections give, per source, and the one
// backend that makes it the system's (docs/dns.md): systemd-resolved, a
// resolv.conf file, or nothing. A source is named by a key
// (`active:7:static4`, `active:7:dhcp4`…) and replaced whole; every change
// made in one turn of the event loop is applied in one batch, in order, one
// batch at a time. Nothing here ever rejects: a backend that cannot apply
// DNS logs it and tries again at the next change, and an activation never
// fails because of DNS.
import type { DomainLogger } from '../../log/logger.js';
import { quote } from '../errors.js';
import { mergeDns, orderSources, setOrder } from './dns-order.js';
import { cleanLinkDns, isEmptyDns, sameLinkDns, type LinkDns } from './link-dns.js';

export interface DnsBackend {
  readonly name: 'resolved' | 'file' | 'none';
  /**
   * Makes the system's DNS what `links` give: every source with DNS, in the
   * order orderSources() gives (priorities effective, 0 read as 100). Called
   * one at a time; it logs what fails rather than rejecting.
   */
  apply(links: readonly LinkDns[]): Promise<void>;
  /**
   * The daemon stops using this backend. `restore`: DNS is no longer
   * managed this way (the configuration switched to another mode), so what
   * it replaced is put back; otherwise (the daemon stops) everything stays
   * as it is for the next daemon to adopt.
   */
  close(restore: boolean): Promise<void>;
}

export interface DnsManagerOptions {
  readonly log: DomainLogger;
}

export class DnsManager {
  private readonly sources = new Map<string, LinkDns>();
  private backend: DnsBackend | null = null;
  /** the batches and backend switches, one at a time */
  private queue: Promise<void> = Promise.resolve();
  /** the batch that will apply the changes made so far, until it starts */
  private pending: Promise<void> | null = null;
  private readonly dropped = new Set<string>();

  constructor(private readonly options: DnsManagerOptions) {}

  /** Sets (or replaces) the DNS one source gives on a link; DNS with no server and no domain removes the source. */
  set(key: string, dns: LinkDns): Promise<void> {
    const { dns: clean, dropped } = cleanLinkDns(dns);
    for (const value of dropped) {
      if (this.dropped.has(`${key} ${value}`)) continue;
      this.dropped.add(`${key} ${value}`);
      this.options.log.warn(`DNS of ${key} on ${quote(dns.iface)}: ${quote(value)} is neither an IP address nor a DNS domain; it is left out`);
    }
    if (isEmptyDns(clean)) return this.remove(key);
    const current = this.sources.get(key);
    if (current && sameLinkDns(current, clean)) return this.settled();
    // A replaced source keeps its place among equals (setOrder, docs/dns.md).
    this.sources.set(key, clean);
    return this.schedule();
  }

  /** Removes one source's DNS (at deactivation, say). */
  remove(key: string): Promise<void> {
    return this.sources.delete(key) ? this.schedule() : this.settled();
  }

  /** Removes every source whose key starts with `prefix`: `active:7:` is all of active connection 7's. */
  removeAll(prefix: string): Promise<void> {
    let removed = false;
    for (const key of [...this.sources.keys()]) {
      if (key.startsWith(prefix)) removed = this.sources.delete(key) || removed;
    }
    return removed ? this.schedule() : this.settled();
  }

  /** What link `ifindex` gives now, merged in order, for display. */
  forLink(ifindex: number): { servers: string[]; searches: string[] } {
    return mergeDns(this.ordered().filter((s) => s.ifindex === ifindex));
  }

  /** The backend in use: null before the first setBackend and after close. */
  get backendName(): DnsBackend['name'] | null {
    return this.backend?.name ?? null;
  }

  /** Switches to backend `b`: the one before is closed with what it replaced put back, then `b` gets the DNS as it is. */
  setBackend(b: DnsBackend): Promise<void> {
    return this.enqueue(async () => {
      const old = this.backend;
      this.backend = b;
      if (old && old !== b) await old.close(true);
      await b.apply(this.ordered());
    });
  }

  /** The daemon stops: the batch under way ends, and the backend leaves the DNS as it is for the next daemon. */
  close(): Promise<void> {
    return this.enqueue(async () => {
      const old = this.backend;
      this.backend = null;
      await old?.close(false);
    });
  }

  private ordered(): LinkDns[] {
    return orderSources(setOrder(this.sources));
  }

  /** Resolves once what was set so far has been applied (or has failed and been logged). */
  private settled(): Promise<void> {
    return this.pending ?? this.queue;
  }

  private schedule(): Promise<void> {
    this.pending ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      this.enqueue(async () => {
        this.pending = null;
        const b = this.backend;
        if (b) await b.apply(this.ordered());
      }),
    );
    return this.pending;
  }

  private enqueue(run: () => Promise<void>): Promise<void> {
    const next = this.queue.then(run).catch((e: Error) => this.options.log.warn(`DNS could not be applied: ${e.message}`));
    this.queue = next;
    return next;
  }
}
