// Applying an activation plan to a link through the Platform: the link's
// settings (MTU, cloned MAC, bridge master), IPv6 on or off, link up, then
// addresses and routes. Each change that took effect is pushed on the
// active connection's undo list, so that deactivation — or a failure half
// way — takes back exactly what was changed and nothing the link had before.
import { readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { NetauditError, quote } from '../errors.js';
import { KernelRefusal, type Address, type Link, type LinkChange, type Platform, type Route } from '../platform/platform.js';
import type { ActiveConnection, UndoStep } from './active-connection.js';
import type { IpPlan } from './plan.js';

/** What the apply step needs to know of the world besides the Platform. */
export interface ApplyContext {
  readonly platform: Platform;
  /** the link as now known, or undefined once it is gone */
  readonly link: (ifindex: number) => Link | undefined;
  /** where the per-interface IPv6 sysctls are (a test can point elsewhere) */
  readonly ipv6ConfDir?: string;
}

export interface LinkSettings {
  readonly mtu: number | null;
  readonly clonedMac: string | null;
  /** the bridge's ifindex for a port */
  readonly master: number | null;
  readonly ipv4: IpPlan | null;
  readonly ipv6: IpPlan | null;
}

/** Kernel refusals that mean "it is gone already" when taking a change back. */
const GONE = new Set(['ENODEV', 'EADDRNOTAVAIL', 'ESRCH', 'ENOENT', 'ENXIO']);

/** The error a caller sees for the kernel refusing `what` on `iface`: its errno and message passed on. */
export function kernelError(e: unknown, what: string, iface: string): unknown {
  if (!(e instanceof KernelRefusal)) return e;
  const detail = `${e.code}${e.detail ? `: ${e.detail}` : ''}`;
  if (e.code === 'ENODEV') {
    return new NetauditError('UnknownDevice', `The link ${quote(iface)} disappeared while it was being activated (${what}: ${detail}).`, 'device-removed');
  }
  if (e.code === 'EOPNOTSUPP') {
    return new NetauditError('NotSupported', `The kernel cannot ${what} (${detail}): this kernel lacks the driver or the feature.`);
  }
  return new NetauditError('Failed', `The kernel refused to ${what} on ${quote(iface)} (${detail}).`, 'kernel-error');
}

export class LinkConfigurator {
  constructor(
    private readonly context: ApplyContext,
    private readonly active: ActiveConnection,
  ) {}

  private get platform(): Platform {
    return this.context.platform;
  }

  private current(ifindex: number): Link {
    const link = this.context.link(ifindex);
    if (!link) {
      throw new NetauditError('UnknownDevice', `The link ${quote(this.active.iface)} disappeared while it was being activated.`, 'device-removed');
    }
    return link;
  }

  private pushUndo(step: UndoStep): void {
    this.active.undo.push(step);
  }

  private async kernel<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      throw kernelError(e, what, this.active.iface);
    }
  }

  /** Applies `settings` to the link `ifindex`; on failure the caller runs the undo list. */
  async apply(ifindex: number, settings: LinkSettings): Promise<void> {
    const before = this.current(ifindex);
    const change: { mtu?: number; hwAddress?: string; master?: number } = {};
    if (settings.mtu !== null && settings.mtu !== before.mtu) change.mtu = settings.mtu;
    if (settings.clonedMac !== null && settings.clonedMac !== before.hwAddress) change.hwAddress = settings.clonedMac;
    if (settings.master !== null && settings.master !== before.master) change.master = settings.master;
    for (const [key, value] of Object.entries(change) as Array<[keyof LinkChange, number | string]>) {
      const label = key === 'mtu' ? `set the MTU to ${value}` : key === 'hwAddress' ? `set the MAC address to ${value}` : `make it a port of ifindex ${value}`;
      const previous = key === 'mtu' ? before.mtu : key === 'hwAddress' ? before.hwAddress : (before.master ?? 0);
      await this.kernel(label, () => this.platform.setLink(ifindex, { [key]: value }));
      if (key === 'hwAddress' && previous === '') continue;
      this.pushUndo({ what: `restore ${key} ${String(previous)}`, run: () => this.platform.setLink(ifindex, { [key]: previous }) });
    }
    if (settings.ipv6) await this.ipv6Switch(settings.ipv6);
    if (!this.current(ifindex).up) {
      await this.kernel('bring the link up', () => this.platform.setLink(ifindex, { up: true }));
      this.pushUndo({ what: 'bring the link down', run: () => this.platform.setLink(ifindex, { up: false }) });
    }
    for (const ip of [settings.ipv4, settings.ipv6]) if (ip) await this.addresses(ifindex, ip);
    for (const ip of [settings.ipv4, settings.ipv6]) if (ip) await this.routes(ifindex, ip);
  }

  /** IPv6 disabled: the interface's disable_ipv6 sysctl on; manual and link-local: off (each restored at deactivation). */
  private async ipv6Switch(ip: IpPlan): Promise<void> {
    if (ip.method === 'ignore') return;
    const path = `${this.context.ipv6ConfDir ?? '/proc/sys/net/ipv6/conf'}/${this.active.iface}/disable_ipv6`;
    const wanted = ip.method === 'disabled' ? '1' : '0';
    let previous: string;
    try {
      previous = (await readFile(path, 'utf8')).trim();
    } catch {
      if (ip.method === 'disabled') return; // no IPv6 in this kernel: it is off already
      throw new NetauditError('NotSupported', `IPv6 is not available in this kernel: set ipv6.method to "disabled" or "ignore".`);
    }
    if (previous === wanted) return;
    await writeFile(path, wanted).catch((e: Error) => {
      throw new NetauditError('Failed', `IPv6 could not be ${wanted === '1' ? 'disabled' : 'enabled'} on ${quote(this.active.iface)}: ${e.message}.`, 'kernel-error');
    });
    this.pushUndo({ what: `restore disable_ipv6 ${previous}`, run: () => writeFile(path, previous) });
  }

  private async addresses(ifindex: number, ip: IpPlan): Promise<void> {
    const wanted: Address[] = ip.addresses.map((a) => ({ ifindex, family: ip.family, address: a.address, prefix: a.prefix }));
    if (ip.method === 'link-local' && ip.family === 4) wanted.push({ ifindex, family: 4, address: ipv4LinkLocal(this.current(ifindex)), prefix: 16 });
    for (const address of wanted) {
      const text = `${address.address}/${address.prefix}`;
      try {
        await this.platform.addAddress(address);
      } catch (e) {
        // The link had it already: it stays when the connection goes.
        if (e instanceof KernelRefusal && e.code === 'EEXIST') continue;
        throw kernelError(e, `add the address ${text}`, this.active.iface);
      }
      this.pushUndo({ what: `remove the address ${text}`, run: () => this.platform.deleteAddress(address) });
    }
  }

  private async routes(ifindex: number, ip: IpPlan): Promise<void> {
    const any = ip.family === 4 ? '0.0.0.0' : '::';
    const routes: Route[] = ip.routes.map((r) => ({ family: ip.family, dest: r.dest, prefix: r.prefix, gateway: r.gateway, ifindex, metric: r.metric }));
    if (ip.gateway) routes.unshift({ family: ip.family, dest: any, prefix: 0, gateway: ip.gateway, ifindex, metric: ip.metric });
    for (const route of routes) {
      const text = `${route.dest}/${route.prefix}${route.gateway ? ` via ${route.gateway}` : ''} metric ${route.metric}`;
      try {
        await this.platform.addRoute(route);
      } catch (e) {
        if (e instanceof KernelRefusal && e.code === 'EEXIST') continue;
        throw kernelError(e, `add the route ${text}`, this.active.iface);
      }
      this.pushUndo({ what: `remove the route ${text}`, run: () => this.platform.deleteRoute(route) });
    }
  }
}

/**
 * An IPv4 link-local address (RFC 3927) for the link, stable for its MAC
 * address: 169.254.1.0 to 169.254.254.255, as NetworkManager chooses one
 * from the hardware address. No conflict detection is done.
 */
export function ipv4LinkLocal(link: Link): string {
  const h = createHash('sha256').update(`netauditd-ipv4ll:${link.hwAddress || link.name}`).digest();
  return `169.254.${1 + (h[0]! % 254)}.${h[1]!}`;
}

/**
 * Runs `active`'s undo list backwards and empties it. A change already gone
 * (the link removed, the address gone) is fine; any other failure is
 * reported through `warn` and the rest still runs.
 */
export async function takeBack(active: ActiveConnection, warn: (message: string) => void): Promise<void> {
  while (active.undo.length > 0) {
    const step = active.undo.pop()!;
    try {
      await step.run();
    } catch (e) {
      if (e instanceof KernelRefusal && GONE.has(e.code)) continue;
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      warn(`deactivating ${active.describe()}: could not ${step.what}: ${(e as Error).message}`);
    }
  }
}
