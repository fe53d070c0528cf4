// SLAAC on links the daemon runs with ipv6.method auto: the kernel forms the addresses from
// router advertisements on the daemon's behalf, so each one it adds or removes there is the
// daemon's own record (op slaac, origin daemon, cause lease; docs/dhcp.md), never drift. An
// address it adds is put on the active connection's undo list, so that deactivation takes it
// back with the rest; one that expires is forgotten there. The same holds for the routes the
// kernel makes from advertisements (protocol ra): the default route through the router, with
// its lifetime, and the routes of route information options.
import type { AuditManager } from '../audit/audit-manager.js';
import type { DomainLogger } from '../../log/logger.js';
import { RTPROT_RA, type Address, type KernelRoute, type Platform, type Route } from '../platform/platform.js';
import { routeText } from './undo.js';
import { NetauditError, quote } from '../errors.js';
import type { ActiveConnection } from './active-connection.js';

export interface SlaacWatchOptions {
  readonly platform: Platform;
  readonly audit: AuditManager;
  readonly log: DomainLogger;
  /** the connection running on `ifindex` with ipv6.method auto, if any */
  readonly autoOn: (ifindex: number) => ActiveConnection | undefined;
  /** keeps the active connection's state for the next daemon */
  readonly saved: (active: ActiveConnection) => void;
}

/** fe80::/10: the kernel's own link-local address is nobody's change. */
function isLinkLocal(a: Address): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(a.address);
}

function same(a: Address, b: Address): boolean {
  return a.ifindex === b.ifindex && a.family === b.family && a.address === b.address && a.prefix === b.prefix;
}

function sameRoute(a: Route, b: Route): boolean {
  return a.ifindex === b.ifindex && a.dest === b.dest && a.prefix === b.prefix && a.gateway === b.gateway && a.metric === b.metric && (a.table ?? 254) === (b.table ?? 254);
}

/** A route's record values: the default route as the gateway, others as routes, each with the lifetime the advertisement gave. */
function raRouteValues(r: KernelRoute): Record<string, unknown> {
  const lifetime = r.expires !== undefined ? { lifetime: r.expires } : {};
  if (r.prefix === 0) return { ipv6: { gateway: r.gateway, metric: r.metric, ...lifetime } };
  return { ipv6: { routes: [`${r.dest}/${r.prefix}${r.gateway ? ` via ${r.gateway}` : ''}`], metric: r.metric, ...lifetime } };
}

export class SlaacWatch {
  /** activations waiting for their first SLAAC address, by active connection number */
  private readonly waiting = new Map<number, () => void>();
  private readonly added = (a: Address): void => void this.onAdded(a);
  private readonly removed = (a: Address): void => void this.onRemoved(a);
  private readonly routeAdded = (r: KernelRoute): void => void this.onRouteAdded(r);
  private readonly routeRemoved = (r: KernelRoute): void => void this.onRouteRemoved(r);

  constructor(private readonly options: SlaacWatchOptions) {
    options.platform.on('address-added', this.added);
    options.platform.on('address-removed', this.removed);
    options.platform.on('route-added', this.routeAdded);
    options.platform.on('route-removed', this.routeRemoved);
  }

  close(): void {
    this.options.platform.off('address-added', this.added);
    this.options.platform.off('address-removed', this.removed);
    this.options.platform.off('route-added', this.routeAdded);
    this.options.platform.off('route-removed', this.routeRemoved);
  }

  /**
   * Resolves once the link of `active` has an address from a router advertisement (at once when
   * it has one); rejects with reason ra-timeout after `timeoutMs` (ipv6.may-fail false). Whoever
   * waits is told by the watch, so the address's own record comes first.
   */
  waitForAddress(active: ActiveConnection, timeoutMs: number): Promise<void> {
    const has = (): boolean => this.options.platform.addressesOf(active.ifindex!).some((a) => this.counted(a) === active);
    if (has()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(active.number);
        reject(
          new NetauditError(
            'Failed',
            `No router advertisement gave ${quote(active.iface)} an IPv6 address within ${timeoutMs / 1000} s (ipv6.ra-timeout), and ipv6.may-fail is false: check that a router advertises a prefix on this link, or set ipv6.may-fail to true.`,
            'ra-timeout',
          ),
        );
      }, timeoutMs);
      this.waiting.set(active.number, () => {
        clearTimeout(timer);
        this.waiting.delete(active.number);
        resolve();
      });
    });
  }

  /** Ends a wait because the activation ended (deactivated or failed otherwise). */
  cancelWait(active: ActiveConnection): void {
    this.waiting.get(active.number)?.();
  }

  private counted(a: Address): ActiveConnection | undefined {
    // A /128 is a DHCPv6 lease's address, the dhcp6-lease record's (docs/dhcp6.md); SLAAC's have the advertised prefix's length.
    if (a.family !== 6 || !a.dynamic || isLinkLocal(a) || a.prefix === 128) return undefined;
    const active = this.options.autoOn(a.ifindex);
    return active && !active.takingBack ? active : undefined;
  }

  private async onAdded(a: Address): Promise<void> {
    const active = this.counted(a);
    if (!active || active.undo.some((u) => u.kind === 'remove-address' && same(u.address, a))) return;
    const address: Address = { ifindex: a.ifindex, family: 6, address: a.address, prefix: a.prefix };
    active.undo.push({ kind: 'remove-address', address });
    this.options.saved(active);
    this.options.log.info(`${active.describe()}: SLAAC address ${a.address}/${a.prefix} from a router advertisement`);
    await this.options.audit.recordUnattended('daemon', this.context(active, 'bound', undefined, { ipv6: { address: `${a.address}/${a.prefix}` } }));
    this.waiting.get(active.number)?.();
  }

  private async onRemoved(a: Address): Promise<void> {
    const active = this.counted(a);
    if (!active) return;
    const at = active.undo.findIndex((u) => u.kind === 'remove-address' && same(u.address, a));
    if (at < 0) return;
    active.undo.splice(at, 1);
    this.options.saved(active);
    this.options.log.info(`${active.describe()}: SLAAC address ${a.address}/${a.prefix} expired`);
    await this.options.audit.recordUnattended('daemon', this.context(active, 'expired', { ipv6: { address: `${a.address}/${a.prefix}` } }, undefined));
  }

  private routeCounted(r: KernelRoute): ActiveConnection | undefined {
    if (r.family !== 6 || r.protocol !== RTPROT_RA) return undefined;
    const active = this.options.autoOn(r.ifindex);
    return active && !active.takingBack ? active : undefined;
  }

  private async onRouteAdded(r: KernelRoute): Promise<void> {
    const active = this.routeCounted(r);
    if (!active) return;
    const route: Route = { family: 6, dest: r.dest, prefix: r.prefix, gateway: r.gateway, ifindex: r.ifindex, metric: r.metric, table: r.table };
    if (active.undo.some((u) => u.kind === 'remove-route' && sameRoute(u.route, route))) return;
    active.undo.push({ kind: 'remove-route', route });
    this.options.saved(active);
    this.options.log.info(`${active.describe()}: route ${routeText(route)} from a router advertisement${r.expires !== undefined ? `, for ${r.expires} s` : ''}`);
    await this.options.audit.recordUnattended('daemon', this.context(active, 'bound', undefined, raRouteValues(r)));
  }

  private async onRouteRemoved(r: KernelRoute): Promise<void> {
    const active = this.routeCounted(r);
    if (!active) return;
    const at = active.undo.findIndex((u) => u.kind === 'remove-route' && sameRoute(u.route, r));
    if (at < 0) return;
    active.undo.splice(at, 1);
    this.options.saved(active);
    this.options.log.info(`${active.describe()}: route ${routeText(r)} from a router advertisement expired`);
    await this.options.audit.recordUnattended('daemon', this.context(active, 'expired', raRouteValues(r), undefined));
  }

  private context(active: ActiveConnection, args: string, before: Record<string, unknown> | undefined, after: Record<string, unknown> | undefined) {
    return {
      op: 'slaac' as const,
      cause: 'lease' as const,
      args,
      uuid: active.uuid,
      name: active.id,
      ifindex: active.ifindex!,
      iface: active.iface,
      ...(active.committedBy ? { tx: active.committedBy.tx } : {}),
      ...(before ? { before } : {}),
      ...(after ? { after } : {}),
    };
  }
}
