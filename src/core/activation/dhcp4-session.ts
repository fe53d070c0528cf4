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
import { LeaseSession } from './lease-session.js';
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

export class Dhcp4Session extends LeaseSession<Dhcp4Lease> {
  private client: Dhcp4Client | null = null;

  constructor(
    private readonly context: Dhcp4SessionContext,
    active: ActiveConnection,
    private readonly plan: IpPlan & { dhcp: DhcpPlan },
    /** the commit id of the activation that started DHCP: every lease record carries it */
    tx: number,
    /** the profile sets an MTU of its own, which a lease's option 26 does not override */
    private readonly profileMtu: boolean,
  ) {
    super({ audit: context.audit, log: context.log, leases: context.leases, op: 'dhcp4-lease', setting: 'ipv4', timeoutMs: plan.dhcp.timeoutMs, tx }, active);
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

  protected async stopClient(release: boolean): Promise<void> {
    await this.client?.stop(release);
  }

  protected changed(a: Dhcp4Lease | null, b: Dhcp4Lease | null): boolean {
    return leaseChanged(a, b);
  }

  protected values(lease: Dhcp4Lease | null): AuditValues | undefined {
    return leaseValues(lease, this.plan.dhcp);
  }

  protected describe(lease: Dhcp4Lease): string {
    return `DHCP lease ${lease.address}/${lease.prefix} from ${lease.server}, ${lease.leaseTime} s`;
  }

  protected refresh(lease: Dhcp4Lease): Promise<void> {
    return this.configurator().renewAddress(this.address(lease));
  }

  private async onEvent(e: Dhcp4Event): Promise<void> {
    const common = this.leaseEvent(e.kind, e.lease);
    if (common) return common;
    if (e.kind === 'declined') {
      // Nothing reached the network: the offered address was in use, and the client said so.
      const offer = e.previous;
      this.context.log.warn(`${this.active.describe()}: the DHCP server offered ${offer ? `${offer.address}/${offer.prefix}` : 'an address'}, which another host uses; declined it, asking again`);
      await this.context.audit.recordUnattended('daemon', this.record(this.base.tx, 'declined', offer, null));
      return;
    }
    // 'expired' or 'nak'
    if (this.current === null) this.context.log.info(`${this.active.describe()}: the DHCP server refused the address asked for (NAK); asking for a new lease`);
    return this.lost(e.kind, this.current, e.kind === 'nak' ? 'refused by the server (NAK)' : 'expired');
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
  protected async apply(after: Dhcp4Lease | null): Promise<void> {
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
