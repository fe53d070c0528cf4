// The DHCPv6 side of one active connection: ipv6.method dhcp, or ipv6.method auto when a router
// advertisement asks for it (M: an address, O: DNS only). It runs the client
// (core/dhcp/dhcp6-client.ts) once the link's link-local address is there, and applies each
// lease itself: the address as a /128 with the lease's preferred and valid lifetimes (the
// prefix and the routes come from router advertisements), and its DNS as the source
// `active:N:dhcp6`. Each change the network sees is a record (op dhcp6-lease; lease-session.ts,
// docs/dhcp6.md); what a lease added is on the active connection's undo list.
import type { AuditValues } from '../audit/record.js';
import { NetauditError, quote } from '../errors.js';
import type { Address, Link, Platform } from '../platform/platform.js';
import { RTPROT_RA } from '../platform/platform.js';
import type { Dhcp6Client, Dhcp6Event, Dhcp6Mode } from '../dhcp/dhcp6-client.js';
import { lease6Changed, type Dhcp6Lease } from '../dhcp/dhcp6-lease.js';
import { INFINITE_LIFETIME } from '../dhcp/dhcp6-message.js';
import type { LeaseStore } from '../dhcp/lease-store.js';
import type { DnsManager } from '../dns/dns-manager.js';
import type { ActiveConnection } from './active-connection.js';
import { LinkConfigurator } from './apply.js';
import { LeaseSession, type LeaseSessionBase } from './lease-session.js';
import type { Dhcp6Plan } from './plan.js';
import { activeDnsPrefix, staticDnsOf } from './static-dns.js';
import { getProp } from '../settings/value.js';
import type { UndoStep } from './undo.js';

/** What a session needs of the daemon. */
export interface Dhcp6SessionContext {
  readonly audit: LeaseSessionBase<Dhcp6Lease>['audit'];
  readonly log: LeaseSessionBase<Dhcp6Lease>['log'];
  readonly platform: Platform;
  readonly leases: LeaseStore<Dhcp6Lease>;
  /** the link as now known */
  readonly link: (ifindex: number) => Link | undefined;
  /** keeps the active connection's state for the next daemon */
  readonly saved: () => void;
  /** the DNS a lease gives to the link, or none (null) */
  readonly setDns: (active: ActiveConnection, lease: Dhcp6Lease | null) => Promise<void>;
  /** the client, made for the link once its link-local address can be bound (the real one opens a udp6 socket) */
  readonly startClient: (request: Client6Request) => Promise<Dhcp6Client>;
  readonly now: () => number;
}

export interface Client6Request {
  readonly ifindex: number;
  readonly iface: string;
  readonly mode: Dhcp6Mode;
  readonly iaid: number;
  /** the link's link-local address, to bind */
  readonly linkLocal: string;
  /** epoch ms after which a link-local address still tentative is given up on */
  readonly deadline: number;
  /** aborted when the session stops while the socket waits for its address */
  readonly signal: AbortSignal;
  readonly lastLease: Dhcp6Lease | null;
  readonly onEvent: (e: Dhcp6Event) => Promise<void>;
}

/** Sets the DNS a lease gives as the link's source `active:N:dhcp6` (null: removes it), with ipv6.dns-priority. */
export async function setLease6Dns(dns: DnsManager, platform: Platform, active: ActiveConnection, lease: Dhcp6Lease | null): Promise<void> {
  const key = `${activeDnsPrefix(active.number)}dhcp6`;
  if (!lease || active.ifindex === null || (lease.dns.length === 0 && lease.domains.length === 0)) return dns.remove(key);
  const ifindex = active.ifindex;
  // As for the advertisements' DNS: a default DNS route when the link has the default route from one.
  const routes = await platform.routes().catch(() => []);
  await dns.set(key, {
    ifindex,
    iface: active.iface,
    servers: lease.dns,
    searches: lease.domains,
    priority: staticDnsOf(active.appliedSettings, 'ipv6').priority,
    defaultRoute: routes.some((r) => r.family === 6 && r.prefix === 0 && r.ifindex === ifindex && r.protocol === RTPROT_RA),
  });
}

/** The record's values of a lease: the address (/128), the DNS unless ignore-auto-dns, and the server. */
export function lease6Values(lease: Dhcp6Lease | null, ignoreAutoDns: boolean): AuditValues | undefined {
  if (!lease) return undefined;
  return {
    ipv6: {
      ...(lease.address ? { address: `${lease.address}/128` } : {}),
      ...(!ignoreAutoDns && lease.dns.length > 0 ? { dns: lease.dns } : {}),
      ...(!ignoreAutoDns && lease.domains.length > 0 ? { 'dns-search': lease.domains } : {}),
      server: lease.serverAddress,
      'server-id': lease.server,
      ...(lease.address ? { 'valid-lifetime': lease.valid } : {}),
    },
  };
}

const isLinkLocal = (a: Address): boolean => a.family === 6 && /^fe[89ab][0-9a-f]:/i.test(a.address);

export class Dhcp6Session extends LeaseSession<Dhcp6Lease> {
  private client: Dhcp6Client | null = null;
  private starting: Promise<void> | null = null;
  private stopWaiting: (() => void) | null = null;
  private readonly startAbort = new AbortController();

  constructor(
    private readonly context: Dhcp6SessionContext,
    active: ActiveConnection,
    private readonly plan: Dhcp6Plan,
    readonly mode: Dhcp6Mode,
    tx: number,
  ) {
    super({ audit: context.audit, log: context.log, leases: context.leases, op: 'dhcp6-lease', setting: 'ipv6', timeoutMs: plan.timeoutMs, tx }, active);
  }

  /**
   * Starts the client once the link has its link-local address, asking to renew the kept lease
   * when one is still valid. Returns at once: a client that cannot start (no link-local address
   * within dhcp-timeout, port 546 refused) fails the activation waiting for its lease.
   */
  start(): void {
    this.starting = this.run().catch((e: Error) => {
      if (this.stopped) return;
      this.context.log.warn(`${this.active.describe()}: DHCPv6 could not start: ${e.message}`);
      // A socket refused (port 546 without CAP_NET_BIND_SERVICE, the link gone) is no timeout: may-fail does not cover it.
      this.failed(e instanceof NetauditError ? e : new NetauditError('Failed', `DHCPv6 could not start on ${quote(this.active.iface)}: ${e.message}.`, 'kernel-error'));
    });
  }

  private async run(): Promise<void> {
    const ifindex = this.active.ifindex!;
    const link = this.context.link(ifindex);
    if (!link) throw new NetauditError('UnknownDevice', `The link ${quote(this.active.iface)} disappeared while it was being activated.`, 'device-removed');
    const deadline = this.context.now() + this.plan.timeoutMs;
    const linkLocal = await this.linkLocal(ifindex, deadline);
    if (this.stopped || linkLocal === null) return;
    const mac = Buffer.from(link.hwAddress.split(':').filter((h) => h !== '').map((h) => parseInt(h, 16)));
    const lastLease = this.mode === 'stateful' ? await this.context.leases.load(this.active.iface, this.active.uuid, this.context.now()) : null;
    const client = await this.context.startClient({
      ifindex,
      iface: link.name,
      mode: this.mode,
      iaid: mac.length >= 4 ? mac.readUInt32BE(mac.length - 4) : ifindex,
      linkLocal,
      deadline,
      signal: this.startAbort.signal,
      lastLease: lastLease?.address ? lastLease : null,
      onEvent: (e) => this.serialized(() => this.onEvent(e)),
    });
    if (this.stopped) return client.stop(false);
    this.client = client;
    client.start();
  }

  /** The link's link-local address, waiting for the kernel to add it (null: the session stopped meanwhile). */
  private linkLocal(ifindex: number, deadline: number): Promise<string | null> {
    // Stopped before it came to wait (a deactivation right after the activation): nothing to wait for.
    if (this.stopped) return Promise.resolve(null);
    const { platform } = this.context;
    const have = platform.addressesOf(ifindex).find(isLinkLocal);
    if (have) return Promise.resolve(have.address);
    return new Promise((resolve, reject) => {
      const done = (): void => {
        platform.off('address-added', added);
        clearTimeout(timer);
        this.stopWaiting = null;
      };
      const added = (a: Address): void => {
        if (a.ifindex !== ifindex || !isLinkLocal(a)) return;
        done();
        resolve(a.address);
      };
      const timer = setTimeout(() => {
        done();
        // The same timeout as waitForLease's, said with why: no DHCPv6 message could be sent at all.
        reject(
          new NetauditError(
            'Failed',
            `No DHCPv6 server gave ${quote(this.active.iface)} a lease within ${this.plan.timeoutMs / 1000} s (ipv6.dhcp-timeout): the link got no IPv6 link-local address to ask from in that time; check that IPv6 is enabled on it.`,
            'dhcp-timeout',
          ),
        );
      }, Math.max(0, deadline - this.context.now()));
      this.stopWaiting = () => {
        done();
        resolve(null);
      };
      platform.on('address-added', added);
    });
  }

  protected async stopClient(release: boolean): Promise<void> {
    this.stopWaiting?.();
    this.startAbort.abort();
    await this.starting;
    await this.client?.stop(release);
  }

  protected changed(a: Dhcp6Lease | null, b: Dhcp6Lease | null): boolean {
    return lease6Changed(a, b);
  }

  protected values(lease: Dhcp6Lease | null): AuditValues | undefined {
    return lease6Values(lease, this.ignoreAutoDns());
  }

  /** ipv6.ignore-auto-dns as the connection runs now: a Reapply changes it in place, as for the advertisements' DNS. */
  private ignoreAutoDns(): boolean {
    return getProp(this.active.appliedSettings, 'ipv6', 'ignore-auto-dns')?.value === true;
  }

  /** The applied settings changed (Reapply): the lease's DNS follows ipv6.ignore-auto-dns and dns-priority. */
  refreshDns(): Promise<void> {
    return this.serialized(async () => {
      if (this.stopped) return;
      await this.context.setDns(this.active, this.current && !this.ignoreAutoDns() ? this.current : null);
    });
  }

  protected describe(lease: Dhcp6Lease): string {
    return lease.address ? `DHCPv6 lease ${lease.address}/128 from ${lease.serverAddress}, ${lease.valid} s` : `DHCPv6 DNS from ${lease.serverAddress}`;
  }

  protected async refresh(lease: Dhcp6Lease): Promise<void> {
    if (lease.address) await this.configurator().renewAddress(this.address(lease));
  }

  private onEvent(e: Dhcp6Event): Promise<void> {
    // The rest is 'expired'.
    return this.leaseEvent(e.kind, e.lease) ?? this.lost('expired', this.current, 'expired');
  }

  private configurator(): LinkConfigurator {
    return new LinkConfigurator({ platform: this.context.platform, link: this.context.link, saved: this.context.saved }, this.active);
  }

  /** The lease's address as the kernel gets it: /128, with what is left of its lifetimes. */
  private address(lease: Dhcp6Lease): Address {
    const left = (seconds: number): number =>
      seconds === INFINITE_LIFETIME ? INFINITE_LIFETIME : Math.max(seconds === 0 ? 0 : 1, Math.round((lease.obtainedAt + seconds * 1000 - this.context.now()) / 1000));
    return { ifindex: this.active.ifindex!, family: 6, address: lease.address!, prefix: 128, lifetime: { valid: left(lease.valid), preferred: Math.min(left(lease.preferred), left(lease.valid)) } };
  }

  /** Moves the link from what the last lease gave to what `after` gives: its /128 address and its DNS. */
  protected async apply(after: Dhcp6Lease | null): Promise<void> {
    const configurator = this.configurator();
    const wanted = after?.address ? this.address(after) : null;
    const gone = (step: UndoStep): boolean =>
      step.kind === 'remove-address' && step.address.family === 6 && step.address.prefix === 128 && step.address.lifetime !== undefined && step.address.ifindex === this.active.ifindex && step.address.address !== wanted?.address;
    await configurator.takeBackNow(gone, (m) => this.context.log.warn(m));
    if (wanted) {
      const have = this.active.undo.some((u) => u.kind === 'remove-address' && u.address.address === wanted.address && u.address.prefix === 128);
      if (have) await configurator.renewAddress(wanted);
      else await configurator.addAddress(wanted);
    }
    this.context.saved();
    await this.context.setDns(this.active, after && !this.ignoreAutoDns() ? after : null);
  }
}

