// RA DNS on links the daemon runs with ipv6.method auto: the DNS servers and search domains that
// router advertisements give (the platform's 'ra-dns' events) are kept on the active connection,
// each until its lifetime ends, and are the connection's DNS source `active:N:ra6` (docs/dns.md)
// unless ipv6.ignore-auto-dns. Each change of what the link gets from them is the daemon's own
// record (op slaac, origin daemon, cause lease, args changed, the activation's tx; docs/dhcp.md),
// made before the DNS changes; an advertisement that says again what the link has is none. The
// kernel passes on each option of an advertisement by itself: those that come together are taken
// together, so that one advertisement is one record.
import type { AuditManager } from '../audit/audit-manager.js';
import type { AuditValues } from '../audit/record.js';
import type { DomainLogger } from '../../log/logger.js';
import type { DnsManager } from '../dns/dns-manager.js';
import { RaDns } from '../dns/ra-dns.js';
import { RTPROT_RA, type Platform, type RaDnsOption } from '../platform/platform.js';
import { getProp } from '../settings/value.js';
import type { ActiveConnection } from './active-connection.js';
import { activeDnsPrefix, staticDnsOf } from './static-dns.js';

export interface RaDnsWatchOptions {
  readonly platform: Platform;
  readonly audit: AuditManager;
  readonly log: DomainLogger;
  /** where the DNS goes; none: it is kept and recorded only */
  readonly dns?: DnsManager;
  /** the connection running on `ifindex` with ipv6.method auto, if any */
  readonly autoOn: (ifindex: number) => ActiveConnection | undefined;
  /** keeps the active connection's state for the next daemon */
  readonly saved: (active: ActiveConnection) => void;
  readonly now: () => number;
}

/** What a link gets from router advertisements: servers and search domains, in order. */
interface Given {
  readonly servers: readonly string[];
  readonly searches: readonly string[];
}

const NOTHING: Given = { servers: [], searches: [] };

/** How long the options of one advertisement are waited for after its first: the kernel sends them all at once. */
const BATCH_MS = 20;

/** The longest a timer may wait (setTimeout's limit); a later expiry is looked at again then. */
const MAX_WAIT = 0x7fffffff;

/** The key of the DNS source an active connection's router advertisements give. */
export function raDnsKey(active: ActiveConnection): string {
  return `${activeDnsPrefix(active.number)}ra6`;
}

function sameGiven(a: Given, b: Given): boolean {
  const same = (x: readonly string[], y: readonly string[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return same(a.servers, b.servers) && same(a.searches, b.searches);
}

/** A record's values: the servers and domains a link gets, each left out when empty; none when both are. */
function values(g: Given): AuditValues | undefined {
  if (g.servers.length === 0 && g.searches.length === 0) return undefined;
  return { ipv6: { ...(g.servers.length > 0 ? { dns: [...g.servers] } : {}), ...(g.searches.length > 0 ? { 'dns-search': [...g.searches] } : {}) } };
}

export class RaDnsWatch {
  private readonly received = (o: RaDnsOption): void => this.onOption(o);
  /** what each active connection's link was last given, by its number */
  private readonly given = new Map<number, Given>();
  private readonly timers = new Map<number, NodeJS.Timeout>();
  /** the options that came for a connection and wait for the rest of their advertisement */
  private readonly batches = new Map<number, NodeJS.Timeout>();
  /** changes are made one at a time, in the order they came */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: RaDnsWatchOptions) {
    options.platform.on('ra-dns', this.received);
  }

  close(): void {
    this.options.platform.off('ra-dns', this.received);
    for (const timer of [...this.timers.values(), ...this.batches.values()]) clearTimeout(timer);
    this.timers.clear();
    this.batches.clear();
  }

  /**
   * An adopted connection's RA DNS, as the last daemon kept it: what it gave the link is given
   * again, and what ended while no daemon ran is taken away with a record.
   */
  resume(active: ActiveConnection): Promise<void> {
    return this.serialized(async () => {
      if (!active.raDns) return;
      this.given.set(active.number, this.effective(active));
      await this.settle(active);
    });
  }

  /** The settings changed (Reapply): the link gets what they allow now; the Reapply's record says why, so there is no record here. */
  refresh(active: ActiveConnection): Promise<void> {
    return this.serialized(async () => {
      if (this.options.autoOn(active.ifindex ?? -1) !== active) {
        // No longer ipv6.method auto: what advertisements gave is forgotten with its source.
        active.raDns = null;
        this.forget(active);
      }
      const now = this.effective(active);
      this.given.set(active.number, now);
      await this.apply(active, now);
    });
  }

  /** The connection ended: its timer goes. Its DNS source goes with its others (removeAll). */
  forget(active: ActiveConnection): void {
    clearTimeout(this.timers.get(active.number));
    clearTimeout(this.batches.get(active.number));
    this.timers.delete(active.number);
    this.batches.delete(active.number);
    this.given.delete(active.number);
  }

  private serialized(run: () => Promise<void>): Promise<void> {
    const next = this.queue.then(run).catch((e: Error) => this.options.log.warn(`DNS from router advertisements: ${e.message}`));
    this.queue = next;
    return next;
  }

  private counted(ifindex: number): ActiveConnection | undefined {
    const active = this.options.autoOn(ifindex);
    return active && !active.takingBack ? active : undefined;
  }

  /** Keeps the option's values at once; what they change is settled once the rest of the advertisement is in. */
  private onOption(option: RaDnsOption): void {
    const active = this.counted(option.ifindex);
    if (!active) return;
    active.raDns ??= new RaDns();
    active.raDns.update(option, this.options.now());
    this.options.log.debug(
      `${active.describe()}: router advertisement${option.router ? ` from ${option.router}` : ''}: ${option.kind === 'servers' ? 'DNS servers' : 'search domains'} ${option.values.join(' ')} for ${option.lifetime ?? 'ever'}${option.lifetime === null ? '' : ' s'}`,
    );
    if (this.batches.has(active.number)) return;
    const timer = setTimeout(() => {
      this.batches.delete(active.number);
      void this.serialized(() => this.settle(active));
    }, BATCH_MS);
    timer.unref();
    this.batches.set(active.number, timer);
  }

  /** Drops what ended, records and applies a change of what the link gets, keeps the state and sets the next timer. */
  private async settle(active: ActiveConnection): Promise<void> {
    if (!active.raDns || this.options.autoOn(active.ifindex ?? -1) !== active || active.takingBack) return;
    active.raDns.expire(this.options.now());
    const before = this.given.get(active.number) ?? NOTHING;
    const after = this.effective(active);
    this.options.saved(active);
    try {
      if (sameGiven(before, after)) {
        // Said again: the same DNS, with a default route that may have come or gone meanwhile.
        await this.apply(active, after);
        return;
      }
      this.options.log.info(
        `${active.describe()}: DNS from router advertisements: ${after.servers.length + after.searches.length === 0 ? 'none left' : [...after.servers, ...after.searches].join(' ')}`,
      );
      // A trail that refuses the record refuses the change: the link keeps what it has, and the next advertisement tries again.
      await this.options.audit.daemonChange(this.context(active, before, after), async () => {
        this.given.set(active.number, after);
        await this.apply(active, after);
      });
    } finally {
      this.schedule(active);
    }
  }

  private schedule(active: ActiveConnection): void {
    clearTimeout(this.timers.get(active.number));
    this.timers.delete(active.number);
    const next = active.raDns?.nextExpiry() ?? null;
    if (next === null) return;
    const timer = setTimeout(() => {
      this.timers.delete(active.number);
      void this.serialized(() => this.settle(active));
    }, Math.min(MAX_WAIT, Math.max(0, next - this.options.now())));
    timer.unref();
    this.timers.set(active.number, timer);
  }

  /** What the link gets: the kept servers and domains, or nothing with ipv6.ignore-auto-dns. */
  private effective(active: ActiveConnection): Given {
    if (!active.raDns || getProp(active.appliedSettings, 'ipv6', 'ignore-auto-dns')?.value === true) return NOTHING;
    return { servers: active.raDns.servers, searches: active.raDns.searches };
  }

  /**
   * Sets the source `active:N:ra6` to `g` (nothing: removes it), with ipv6.dns-priority; the link
   * is a default DNS route when the kernel has a default route through it from an advertisement.
   */
  private async apply(active: ActiveConnection, g: Given): Promise<void> {
    const { dns, platform } = this.options;
    if (!dns || active.ifindex === null) return;
    const ifindex = active.ifindex;
    if (g.servers.length === 0 && g.searches.length === 0) {
      await dns.remove(raDnsKey(active));
      return;
    }
    const routes = await platform.routes().catch(() => []);
    const defaultRoute = routes.some((r) => r.family === 6 && r.prefix === 0 && r.ifindex === ifindex && r.protocol === RTPROT_RA);
    // Ending meanwhile: its sources are being removed (or are), and this one must not come back.
    if (active.takingBack) return;
    await dns.set(raDnsKey(active), {
      ifindex,
      iface: active.iface,
      servers: g.servers,
      searches: g.searches,
      priority: staticDnsOf(active.appliedSettings, 'ipv6').priority,
      defaultRoute,
    });
  }

  private context(active: ActiveConnection, before: Given, after: Given) {
    const before_ = values(before);
    const after_ = values(after);
    return {
      op: 'slaac' as const,
      cause: 'lease' as const,
      args: 'changed',
      uuid: active.uuid,
      name: active.id,
      ifindex: active.ifindex!,
      iface: active.iface,
      ...(active.committedBy ? { tx: active.committedBy.tx } : {}),
      ...(before_ ? { before: before_ } : {}),
      ...(after_ ? { after: after_ } : {}),
    };
  }
}
