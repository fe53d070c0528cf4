// The DHCPv4 side of one active connection with ipv4.method auto: it runs the client
// (core/dhcp/dhcp4-client.ts) and applies each lease to the link itself, so that every
// address, route, MTU and DNS server the network gets from a lease is the daemon's own change
// with its own record (op dhcp4-lease, origin daemon, cause lease; docs/dhcp.md). The record
// is made durable before the kernel is asked, as for every change (docs/commit.md); what a
// lease added is on the active connection's undo list, so that deactivation, a failure or the
// next daemon after a crash takes it back like the profile's own addresses.
import type { AuditManager } from '../audit/audit-manager.js';
import type { AuditValues } from '../audit/record.js';
import { NetauditError, quote } from '../errors.js';
import type { DomainLogger } from '../../log/logger.js';
import type { Address, Link, Platform, Route } from '../platform/platform.js';
import type { Dhcp4Client, Dhcp4Event } from '../dhcp/dhcp4-client.js';
import { leaseChanged, leaseExpiresAt, type Dhcp4Lease } from '../dhcp/dhcp4-lease.js';
import type { LeaseStore } from '../dhcp/lease-store.js';
import type { ActiveConnection } from './active-connection.js';
import { LinkConfigurator } from './apply.js';
import type { DhcpPlan, IpPlan } from './plan.js';
import type { UndoStep } from './undo.js';
import type { DnsManager } from '../dns/dns-manager.js';
import { getProp } from '../settings/value.js';
import { activeDnsPrefix, staticDnsOf } from './static-dns.js';

/** What a session needs of the daemon. */
export interface Dhcp4SessionContext {
  readonly audit: AuditManager;
  readonly platform: Platform;
  readonly log: DomainLogger;
  readonly leases: LeaseStore;
  /** the link as now known */
  readonly link: (ifindex: number) => Link | undefined;
  /** keeps the active connection's state for the next daemon */
  readonly saved: () => void;
  /** the DNS a lease gives to the link, or none (null) */
  readonly setDns: (active: ActiveConnection, lease: Dhcp4Lease | null) => Promise<void>;
  /** the client, made for the link (the real one opens packet sockets; tests give their own) */
  readonly startClient: (options: ClientRequest) => Dhcp4Client;
  readonly now: () => number;
}

export interface ClientRequest {
  readonly ifindex: number;
  readonly iface: string;
  readonly mac: Buffer;
  readonly clientId: Buffer | null;
  readonly hostname: string | null;
  readonly lastLease: Dhcp4Lease | null;
  /** how long an offered address is probed before it is taken; 0 no probe */
  readonly acdTimeoutMs: number;
  readonly onEvent: (e: Dhcp4Event) => Promise<void>;
}

/**
 * Sets the DNS a lease gives as the link's source `active:N:dhcp4` (null: removes it), with the
 * profile's ipv4.dns-priority; the link is a default DNS route when the lease gives the default route.
 */
export async function setLeaseDns(dns: DnsManager, active: ActiveConnection, lease: Dhcp4Lease | null): Promise<void> {
  const key = `${activeDnsPrefix(active.number)}dhcp4`;
  if (!lease || active.ifindex === null) return dns.remove(key);
  const neverDefault = getProp(active.appliedSettings, 'ipv4', 'never-default')?.value === true;
  await dns.set(key, {
    ifindex: active.ifindex,
    iface: active.iface,
    servers: lease.dns,
    searches: leaseSearches(lease),
    priority: staticDnsOf(active.appliedSettings, 'ipv4').priority,
    defaultRoute: lease.router !== null && !neverDefault,
  });
}

/** A lease's search domains: option 119, else its domain name (option 15), as NetworkManager takes them. */
export function leaseSearches(lease: Dhcp4Lease): string[] {
  if (lease.domains.length > 0) return lease.domains;
  return lease.domainName ? [lease.domainName] : [];
}

/** The record's values of a lease: what the network got from it, and who gave it. */
export function leaseValues(lease: Dhcp4Lease | null, plan: DhcpPlan): AuditValues | undefined {
  if (!lease) return undefined;
  const routes = plan.ignoreAutoRoutes ? [] : lease.routes.map((r) => `${r.dest}/${r.prefix}${r.gateway === '0.0.0.0' ? '' : ` via ${r.gateway}`}`);
  return {
    ipv4: {
      address: `${lease.address}/${lease.prefix}`,
      ...(lease.router && !plan.neverDefault ? { gateway: lease.router } : {}),
      ...(routes.length > 0 ? { routes } : {}),
      ...(!plan.ignoreAutoDns && lease.dns.length > 0 ? { dns: lease.dns } : {}),
      ...(!plan.ignoreAutoDns && leaseSearches(lease).length > 0 ? { 'dns-search': leaseSearches(lease) } : {}),
      ...(lease.mtu !== null ? { mtu: lease.mtu } : {}),
      server: lease.server,
      'lease-time': lease.leaseTime,
    },
  };
}

/** ipv4.dhcp-client-id as the client sends it (option 61): null for the default, type 1 and the MAC. */
export function clientIdBytes(clientId: string | null, mac: Buffer): Buffer | null {
  if (clientId === null || clientId === 'mac' || clientId === 'perm-mac') return null;
  if (clientId === 'none') return Buffer.alloc(0);
  if (/^([0-9a-f]{1,2}:)+[0-9a-f]{1,2}$/i.test(clientId)) return Buffer.from(clientId.split(':').map((h) => parseInt(h, 16)));
  if (clientId === 'duid' || clientId === 'ipv6-duid' || clientId === 'stable') {
    // RFC 4361: type 255, a 4-byte IAID, then a DUID-LL (type 3, hardware type 1, the MAC).
    return Buffer.concat([Buffer.from([255]), mac.subarray(2, 6), Buffer.from([0, 3, 0, 1]), mac]);
  }
  // Any other text is sent as it is, after a type byte of 0 (RFC 2132 §9.14).
  return Buffer.concat([Buffer.from([0]), Buffer.from(clientId, 'utf8')]);
}

export class Dhcp4Session {
  private client: Dhcp4Client | null = null;
  private current: Dhcp4Lease | null = null;
  private stopped = false;
  private first: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private readonly firstLease: Promise<void>;
  /** lease changes are applied one at a time, in order */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly context: Dhcp4SessionContext,
    private readonly active: ActiveConnection,
    private readonly plan: IpPlan & { dhcp: DhcpPlan },
    /** the commit id of the activation that started DHCP: every lease record carries it */
    private readonly tx: number,
    /** the profile sets an MTU of its own, which a lease's option 26 does not override */
    private readonly profileMtu: boolean,
  ) {
    this.firstLease = new Promise((resolve, reject) => (this.first = { resolve, reject }));
    // A caller that gave up waiting must not leave an unhandled rejection behind.
    this.firstLease.catch(() => undefined);
  }

  get lease(): Dhcp4Lease | null {
    return this.current;
  }

  /** An adopted connection's lease, on the link already: asked for again, and a record only if it changes. */
  resume(lease: Dhcp4Lease | null): void {
    this.current = lease;
  }

  /** Starts the client on the link, asking for the kept lease's address when one is still valid. */
  async start(hostname: string | null): Promise<void> {
    const link = this.context.link(this.active.ifindex!);
    if (!link) throw new NetauditError('UnknownDevice', `The link ${quote(this.active.iface)} disappeared while it was being activated.`, 'device-removed');
    const mac = Buffer.from(link.hwAddress.split(':').map((h) => parseInt(h, 16)));
    if (mac.length !== 6) {
      throw new NetauditError('NotSupported', `DHCP needs an Ethernet link, and ${quote(this.active.iface)} has no 6-byte hardware address: set ipv4.method to "manual" or "link-local".`);
    }
    const lastLease = await this.context.leases.load(this.active.iface, this.active.uuid, this.context.now());
    const dhcp = this.plan.dhcp;
    this.client = this.context.startClient({
      ifindex: link.ifindex,
      iface: link.name,
      mac,
      clientId: clientIdBytes(dhcp.clientId, mac),
      hostname: dhcp.sendHostname ? (dhcp.hostname ?? hostname) : null,
      lastLease,
      acdTimeoutMs: dhcp.dadTimeoutMs,
      onEvent: (e) => this.serialized(() => this.onEvent(e)),
    });
    this.client.start();
  }

  /** Resolves at the first lease applied; rejects when none comes within ipv4.dhcp-timeout, or the session stops. */
  waitForLease(): Promise<void> {
    const timeoutMs = this.plan.dhcp.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new NetauditError(
              'Failed',
              `No DHCP server gave ${quote(this.active.iface)} a lease within ${timeoutMs / 1000} s (ipv4.dhcp-timeout): check the network, or set ipv4.method to "manual".`,
              'dhcp-timeout',
            ),
          ),
        timeoutMs,
      );
    });
    return Promise.race([this.firstLease, timeout]).finally(() => clearTimeout(timer));
  }

  /**
   * Stops the client. With `release` a bound lease is given back to the server (RELEASE) and
   * recorded as released; the addresses and routes go with the connection's undo list.
   */
  async stop(release: boolean, tx: number | undefined): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.first?.reject(new NetauditError('Failed', `${this.active.describe()} was deactivated before a DHCP server gave it a lease.`, 'deactivated'));
    await this.queue;
    const lease = this.current;
    await this.client?.stop(release && lease !== null);
    if (release && lease) {
      await this.context.audit.recordUnattended('daemon', this.context_(tx ?? this.tx, 'released', lease, null));
      await this.context.leases.remove(this.active.iface, this.active.uuid).catch(() => undefined);
    }
  }

  private serialized(run: () => Promise<void>): Promise<void> {
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private context_(tx: number, args: string, before: Dhcp4Lease | null, after: Dhcp4Lease | null) {
    const before_ = leaseValues(before, this.plan.dhcp);
    const after_ = leaseValues(after, this.plan.dhcp);
    return {
      op: 'dhcp4-lease' as const,
      cause: 'lease' as const,
      args,
      uuid: this.active.uuid,
      name: this.active.id,
      ifindex: this.active.ifindex!,
      iface: this.active.iface,
      tx,
      ...(before_ ? { before: before_ } : {}),
      ...(after_ ? { after: after_ } : {}),
    };
  }

  private async onEvent(e: Dhcp4Event): Promise<void> {
    if (this.stopped) return;
    const { log, audit, leases } = this.context;
    switch (e.kind) {
      case 'renewed': {
        // What the daemon applied decides, not the client's word: a lease it did not apply (the
        // kernel refused it) is applied now, with its record.
        if (this.current === null || leaseChanged(this.current, e.lease)) return this.onEvent({ ...e, kind: 'changed' });
        // Nothing the network sees changed: a DEBUG line, the address's lifetime, the kept lease.
        log.debug(`${this.active.describe()}: DHCP lease ${e.lease!.address}/${e.lease!.prefix} renewed by ${e.lease!.server} for ${e.lease!.leaseTime} s`);
        this.current = e.lease;
        await this.configurator().renewAddress(this.address(e.lease!)).catch((err: Error) => log.warn(`${this.active.describe()}: ${err.message}`));
        await leases.save(this.active.iface, this.active.uuid, e.lease!).catch((err: Error) => log.warn(`the DHCP lease of ${this.active.describe()} could not be kept: ${err.message}`));
        return;
      }
      case 'bound':
      case 'changed': {
        const lease = e.lease!;
        const previous = this.current;
        if (previous && !leaseChanged(previous, lease)) {
          // The address kept (an adopted connection's, or asked for again): the same as a renewal.
          await this.onEvent({ ...e, kind: 'renewed' });
          this.leaseCame();
          return;
        }
        await audit.daemonChange(this.context_(this.tx, previous === null ? 'bound' : 'changed', previous, lease), () => this.applyOrRestore(lease, previous));
        this.current = lease;
        await leases.save(this.active.iface, this.active.uuid, lease).catch((err: Error) => log.warn(`the DHCP lease of ${this.active.describe()} could not be kept: ${err.message}`));
        log.info(`${this.active.describe()}: DHCP lease ${lease.address}/${lease.prefix} from ${lease.server}, ${lease.leaseTime} s`);
        this.leaseCame();
        return;
      }
      case 'expired':
      case 'nak': {
        const previous = this.current;
        this.current = null;
        await leases.remove(this.active.iface, this.active.uuid).catch(() => undefined);
        if (previous === null) {
          log.info(`${this.active.describe()}: the DHCP server refused the address asked for (NAK); asking for a new lease`);
          return;
        }
        log.info(`${this.active.describe()}: DHCP lease ${previous.address}/${previous.prefix} ${e.kind === 'nak' ? 'refused by the server (NAK)' : 'expired'}; taking back what it gave`);
        await audit.daemonChange(this.context_(this.tx, e.kind, previous, null), () => this.apply(null));
        return;
      }
      case 'declined': {
        // Nothing reached the network: the offered address was in use, and the client said so.
        const offer = e.previous;
        log.warn(`${this.active.describe()}: the DHCP server offered ${offer ? `${offer.address}/${offer.prefix}` : 'an address'}, which another host uses; declined it, asking again`);
        await audit.recordUnattended('daemon', this.context_(this.tx, 'declined', offer, null));
        return;
      }
    }
  }

  /** The first lease is applied: the activation waiting for it goes on. */
  private leaseCame(): void {
    this.first?.resolve();
    this.first = null;
  }

  /**
   * Applies `lease`; if the kernel refuses part of it, puts the link back to what `previous`
   * gave before passing the refusal on, so that the fail record that overturns the change
   * (docs/commit.md) says what the link has.
   */
  private async applyOrRestore(lease: Dhcp4Lease, previous: Dhcp4Lease | null): Promise<void> {
    try {
      await this.apply(lease);
    } catch (e) {
      await this.apply(previous).catch((err: Error) => this.context.log.warn(`${this.active.describe()}: the link could not be put back as the last lease left it: ${err.message}`));
      throw e;
    }
  }

  private configurator(): LinkConfigurator {
    return new LinkConfigurator({ platform: this.context.platform, link: this.context.link, saved: this.context.saved }, this.active);
  }

  private address(lease: Dhcp4Lease): Address {
    const left = Math.max(1, Math.round((leaseExpiresAt(lease) - this.context.now()) / 1000));
    return { ifindex: this.active.ifindex!, family: 4, address: lease.address, prefix: lease.prefix, lifetime: { valid: left, preferred: left } };
  }

  private routes(lease: Dhcp4Lease): Route[] {
    const { plan } = this;
    const ifindex = this.active.ifindex!;
    const out: Route[] = [];
    if (!plan.dhcp.ignoreAutoRoutes) {
      for (const r of lease.routes) {
        // A classless route to 0.0.0.0/0 is the default route: never-default drops it too.
        if (r.prefix === 0 && plan.dhcp.neverDefault) continue;
        out.push({ family: 4, dest: r.dest, prefix: r.prefix, gateway: r.gateway === '0.0.0.0' ? null : r.gateway, ifindex, metric: plan.metric, table: plan.table, fromDhcp: true });
      }
    }
    if (lease.router && !plan.dhcp.neverDefault) {
      out.push({ family: 4, dest: '0.0.0.0', prefix: 0, gateway: lease.router, ifindex, metric: plan.metric, table: plan.table, fromDhcp: true });
    }
    return out;
  }

  /**
   * Moves the link from what the last lease gave to what `after` gives (none: nothing), the
   * differences only. What went goes first: a new address in the old one's subnet added before
   * would be a secondary, which the kernel deletes with its primary. The kernel also drops the
   * routes through a link whose last address goes, so the lease's routes are asked for again.
   */
  private async apply(after: Dhcp4Lease | null): Promise<void> {
    const configurator = this.configurator();
    const wantedAddress = after ? this.address(after) : null;
    const wantedRoutes = after ? this.routes(after) : [];
    const gone = (step: UndoStep): boolean =>
      (step.kind === 'remove-address' && step.address.lifetime !== undefined && step.address.ifindex === this.active.ifindex && !(wantedAddress && step.address.address === wantedAddress.address && step.address.prefix === wantedAddress.prefix)) ||
      (step.kind === 'remove-route' && step.route.fromDhcp === true && !wantedRoutes.some((r) => sameRoute(r, step.route)));
    await configurator.takeBackNow(gone, (m) => this.context.log.warn(m));
    if (after && wantedAddress) {
      const have = this.active.undo.some((u) => u.kind === 'remove-address' && u.address.address === wantedAddress.address && u.address.prefix === wantedAddress.prefix);
      if (have) await configurator.renewAddress(wantedAddress);
      else await configurator.addAddress(wantedAddress);
      if (after.mtu !== null && !this.profileMtu) await configurator.setMtu(this.active.ifindex!, after.mtu);
    }
    for (const route of wantedRoutes) {
      if (this.active.undo.some((u) => u.kind === 'remove-route' && sameRoute(u.route, route))) await configurator.ensureRoute(route);
      else await configurator.addRoute(route);
    }
    this.context.saved();
    await this.context.setDns(this.active, after && !this.plan.dhcp.ignoreAutoDns ? after : null);
  }
}

function sameRoute(a: Route, b: Route): boolean {
  return a.dest === b.dest && a.prefix === b.prefix && a.gateway === b.gateway && a.ifindex === b.ifindex && a.metric === b.metric && (a.table ?? 254) === (b.table ?? 254);
}
