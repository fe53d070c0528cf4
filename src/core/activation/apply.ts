// Applying an activation plan to a link through the Platform: the link's
// settings (MTU, cloned MAC, bridge master), IPv6 on or off, link up, then
// addresses and routes. Each change that took effect is pushed on the
// active connection's undo list, so that deactivation — or a failure half
// way — takes back exactly what was changed and nothing the link had before.
import { readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { NetauditError, quote } from '../errors.js';
import {
  KernelRefusal,
  type Address,
  type BridgeOptions,
  type BridgePortOptions,
  type Link,
  type LinkChange,
  type Platform,
  type Route,
} from '../platform/platform.js';
import type { ActiveConnection } from './active-connection.js';
import type { AddrGenMode, IpPlan, RaPlan } from './plan.js';
import { plannedAddresses, plannedRoutes } from './reapply-diff.js';
import { routeText, ruleText, takeBackSteps, type UndoStep } from './undo.js';

/** What the apply step needs to know of the world besides the Platform. */
export interface ApplyContext {
  readonly platform: Platform;
  /** the link as now known, or undefined once it is gone */
  readonly link: (ifindex: number) => Link | undefined;
  /** where the per-interface IPv6 sysctls are (a test can point elsewhere) */
  readonly ipv6ConfDir?: string;
  /** the stable_secret of a profile's links (ipv6.addr-gen-mode stable-privacy), as IPv6 text */
  readonly stableSecret?: (uuid: string) => Promise<string>;
  /** told before and after each kernel change, so that the active connection's state can be kept (docs/active-state.md) */
  readonly saved?: () => void;
}

export interface LinkSettings {
  readonly mtu: number | null;
  readonly clonedMac: string | null;
  /** the bridge's ifindex for a port */
  readonly master: number | null;
  /** a bridge's STP options, set after the link's settings */
  readonly bridge: BridgeOptions | null;
  /** a port's options, set once it is a port of its bridge */
  readonly port: BridgePortOptions | null;
  /** true when the activation created the link: options it set go with the link, nothing to restore */
  readonly created: boolean;
  readonly ipv4: IpPlan | null;
  readonly ipv6: IpPlan | null;
}

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

  /**
   * Makes one kernel change whose inverse is `undo`. The inverse is kept as
   * pending before the request and moves to the undo list once the kernel
   * said yes, so that a daemon that dies in between leaves a trace of it.
   * `exists` (the kernel had it already: EEXIST) leaves nothing to undo.
   * After a success the state is not written again: a pending step that
   * was done is ours to take back all the same, and the next step's write
   * (or the activation's last) records it; one write per step.
   */
  private async change(what: string, undo: UndoStep | null, run: () => Promise<unknown>, exists?: (e: unknown) => boolean): Promise<boolean> {
    this.active.pending = undo;
    if (undo) this.context.saved?.();
    try {
      await run();
    } catch (e) {
      // Not done (or not ours): it must not stay pending, or a restart would take it back.
      this.active.pending = null;
      this.context.saved?.();
      if (exists?.(e)) return false;
      throw kernelError(e, what, this.active.iface);
    }
    this.active.pending = null;
    if (undo) this.active.undo.push(undo);
    return true;
  }

  /** Applies `settings` to the link `ifindex`; on failure the caller runs the undo list. */
  async apply(ifindex: number, settings: LinkSettings): Promise<void> {
    const before = this.current(ifindex);
    const wanted: { mtu?: number; hwAddress?: string; master?: number } = {};
    if (settings.mtu !== null && settings.mtu !== before.mtu) wanted.mtu = settings.mtu;
    if (settings.clonedMac !== null && settings.clonedMac !== before.hwAddress) wanted.hwAddress = settings.clonedMac;
    if (settings.master !== null && settings.master !== before.master) wanted.master = settings.master;
    for (const [key, value] of Object.entries(wanted) as Array<[keyof LinkChange, number | string]>) {
      const label = key === 'mtu' ? `set the MTU to ${value}` : key === 'hwAddress' ? `set the MAC address to ${value}` : `make it a port of ifindex ${value}`;
      const previous = key === 'mtu' ? before.mtu : key === 'hwAddress' ? before.hwAddress : (before.master ?? 0);
      const undo: UndoStep | null = key === 'hwAddress' && previous === '' ? null : { kind: 'restore-link', ifindex, change: { [key]: previous } };
      this.active.applied = { ...this.active.applied, [key]: value };
      await this.change(label, undo, () => this.platform.setLink(ifindex, { [key]: value }));
    }
    if (settings.bridge) await this.bridgeOptions(ifindex, settings.bridge, settings.created);
    if (settings.port) await this.portOptions(ifindex, settings.port);
    if (settings.ipv6) await this.ipv6Switch(settings.ipv6);
    if (settings.ipv6?.privacy != null) await this.ipv6Privacy(settings.ipv6.privacy);
    if (settings.ipv6?.addrGen) await this.ipv6AddrGen(settings.ipv6.addrGen);
    if (settings.ipv6) await this.acceptRa(settings.ipv6);
    if (settings.ipv6?.ra) await this.raSettings({ ...settings.ipv6, ra: settings.ipv6.ra });
    if (!this.current(ifindex).up) {
      await this.change('bring the link up', { kind: 'restore-link', ifindex, change: { up: false } }, () => this.platform.setLink(ifindex, { up: true }));
    }
    for (const ip of [settings.ipv4, settings.ipv6]) if (ip) await this.addresses(ifindex, ip);
    for (const ip of [settings.ipv4, settings.ipv6]) if (ip) await this.routes(ifindex, ip);
    for (const ip of [settings.ipv4, settings.ipv6]) if (ip) await this.rules(ip);
  }

  /** The options that differ from the bridge's; restored at deactivation unless the activation created the bridge (it is deleted then). */
  private async bridgeOptions(ifindex: number, wanted: BridgeOptions, created: boolean): Promise<void> {
    const before = await this.platform.bridgeOptions(ifindex).catch((e: unknown) => {
      throw kernelError(e, 'read the bridge options', this.active.iface);
    });
    const change = differing(before, wanted);
    if (Object.keys(change).length === 0) return;
    const undo: UndoStep | null = created ? null : { kind: 'restore-bridge', ifindex, options: pick(before, change) };
    await this.change(`set the bridge options ${JSON.stringify(change)}`, undo, () => this.platform.setBridgeOptions(ifindex, change));
  }

  private async portOptions(ifindex: number, wanted: BridgePortOptions): Promise<void> {
    const before = await this.platform.bridgePortOptions(ifindex).catch((e: unknown) => {
      throw kernelError(e, 'read the bridge port options', this.active.iface);
    });
    const change = differing(before, wanted);
    if (Object.keys(change).length === 0) return;
    await this.change(`set the bridge port options ${JSON.stringify(change)}`, { kind: 'restore-bridge-port', ifindex, options: pick(before, change) }, () =>
      this.platform.setBridgePortOptions(ifindex, change),
    );
  }

  private async rules(ip: IpPlan): Promise<void> {
    for (const rule of ip.rules) {
      // A rule the kernel had already stays when the connection goes.
      await this.change(`add the rule ${ruleText(rule)}`, { kind: 'remove-rule', rule }, () => this.platform.addRule(rule), existed);
    }
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
    await this.change(`${wanted === '1' ? 'disable' : 'enable'} IPv6`, { kind: 'restore-sysctl', path, value: previous, ...this.linkOf() }, () =>
      this.written(path, wanted).catch((e: Error) => {
        throw new NetauditError('Failed', `IPv6 could not be ${wanted === '1' ? 'disabled' : 'enabled'} on ${quote(this.active.iface)}: ${e.message}.`, 'kernel-error');
      }),
    );
  }

  /** ipv6.ip6-privacy: the link's use_tempaddr sysctl, restored at deactivation; before the link is up, so SLAAC starts with it. */
  private ipv6Privacy(value: 0 | 1 | 2): Promise<void> {
    return this.setIpv6Sysctl('use_tempaddr', String(value), 'ipv6.ip6-privacy');
  }

  /**
   * ipv6.addr-gen-mode: the link's addr_gen_mode sysctl (0 eui64, 2 stable-privacy), restored at
   * deactivation. For stable-privacy the link first gets a stable_secret derived from the host's
   * secret and the profile's uuid, so that an address stays the same on this host and differs on
   * every other one (docs/dhcp.md). Before the link is up, so its addresses are formed with it.
   */
  private async ipv6AddrGen(mode: AddrGenMode): Promise<void> {
    if (mode === 'stable-privacy') {
      if (!this.context.stableSecret) throw new NetauditError('NotSupported', 'ipv6.addr-gen-mode "stable-privacy" needs the host secret, which this daemon was started without.');
      const secret = await this.context.stableSecret(this.active.uuid);
      const path = this.ipv6Sysctl('stable_secret');
      // The kernel turns addr_gen_mode to 2 itself when a secret is written; restoring that is enough.
      const previous = (await readFile(this.ipv6Sysctl('addr_gen_mode'), 'utf8')).trim();
      await this.change('set stable_secret (ipv6.addr-gen-mode)', previous === '2' ? null : { kind: 'restore-sysctl', path: this.ipv6Sysctl('addr_gen_mode'), value: previous, ...this.linkOf() }, () =>
        this.written(path, secret).catch((e: Error) => {
          throw new NetauditError('Failed', `ipv6.addr-gen-mode could not be applied to ${quote(this.active.iface)}: ${e.message}.`, 'kernel-error');
        }),
      );
      return;
    }
    await this.setIpv6Sysctl('addr_gen_mode', '0', 'ipv6.addr-gen-mode');
  }

  /**
   * Router advertisements on or off (accept_ra, autoconf), restored at deactivation: on for
   * method auto (2 kept: it means on with forwarding), off for manual and link-local, whose
   * links must not get addresses or routes nobody asked for (docs/dhcp.md), and for dhcp: no
   * SLAAC, addresses from DHCPv6 alone, as NetworkManager does (docs/dhcp6.md).
   */
  private async acceptRa(ip: IpPlan): Promise<void> {
    if (ip.method === 'auto') {
      if ((await readFile(this.ipv6Sysctl('accept_ra'), 'utf8').catch(() => '')).trim() !== '2') await this.setIpv6Sysctl('accept_ra', '1', 'ipv6.method');
      await this.setIpv6Sysctl('autoconf', '1', 'ipv6.method');
    } else if (ip.method === 'manual' || ip.method === 'link-local' || ip.method === 'dhcp') {
      await this.setIpv6Sysctl('accept_ra', '0', 'ipv6.method');
    }
  }

  /** What ipv6.method auto lets router advertisements do (docs/dhcp.md), each sysctl restored at deactivation. */
  private async raSettings(ip: IpPlan & { ra: RaPlan }): Promise<void> {
    await this.setIpv6Sysctl('accept_ra_defrtr', ip.ra.neverDefault ? '0' : '1', 'ipv6.never-default');
    if (!ip.ra.neverDefault) await this.setIpv6Sysctl('ra_defrtr_metric', String(ip.metric), 'ipv6.route-metric');
    if (ip.ra.ignoreAutoRoutes) await this.setIpv6Sysctl('accept_ra_rt_info_max_plen', '0', 'ipv6.ignore-auto-routes');
  }

  /** The link the active connection runs on, for a sysctl's undo step. */
  private linkOf(): { ifindex?: number } {
    return this.active.ifindex !== null ? { ifindex: this.active.ifindex } : {};
  }

  /** Writes a sysctl of the link: what the kernel adds or removes there because of it is the daemon's own. */
  private written(path: string, value: string): Promise<void> {
    const ifindex = this.active.ifindex;
    return ifindex !== null ? this.platform.ownChange(ifindex, () => writeFile(path, value)) : writeFile(path, value);
  }

  private ipv6Sysctl(name: string): string {
    return `${this.context.ipv6ConfDir ?? '/proc/sys/net/ipv6/conf'}/${this.active.iface}/${name}`;
  }

  /** Sets the link's IPv6 sysctl `name` to `value` for `property`, unless it has it; the old value is restored at deactivation. */
  private async setIpv6Sysctl(name: string, value: string, property: string): Promise<void> {
    const path = this.ipv6Sysctl(name);
    const previous = (await readFile(path, 'utf8').catch((e: Error) => {
      throw new NetauditError('NotSupported', `${property} cannot be applied to ${quote(this.active.iface)}: this kernel has no ${name} (${e.message}).`);
    })).trim();
    if (previous === value) return;
    await this.change(`set ${name} to ${value} (${property})`, { kind: 'restore-sysctl', path, value: previous, ...this.linkOf() }, () =>
      this.written(path, value).catch((e: Error) => {
        throw new NetauditError('Failed', `${property} could not be applied to ${quote(this.active.iface)}: ${e.message}.`, 'kernel-error');
      }),
    );
  }

  private async addresses(ifindex: number, ip: IpPlan): Promise<void> {
    for (const address of plannedAddresses(ip, ifindex, () => ipv4LinkLocal(this.current(ifindex)))) {
      // The link had it already: it stays when the connection goes.
      await this.change(`add the address ${address.address}/${address.prefix}`, { kind: 'remove-address', address }, () => this.platform.addAddress(address), existed);
    }
  }

  private async routes(ifindex: number, ip: IpPlan): Promise<void> {
    for (const route of plannedRoutes(ip, ifindex)) {
      await this.change(`add the route ${routeText(route)}`, { kind: 'remove-route', route }, () => this.platform.addRoute(route), existed);
    }
  }

  // ---- what a lease gives, while the connection runs (dhcp4-session.ts) ----

  /** Adds a lease's address, with its lifetime: taken back at deactivation like the profile's own. */
  async addAddress(address: Address): Promise<void> {
    await this.change(`add the address ${address.address}/${address.prefix}`, { kind: 'remove-address', address }, () => this.platform.addAddress(address), existed);
  }

  /** Gives an address the link has its new lifetime (a renewed lease); nothing new to take back. */
  async renewAddress(address: Address): Promise<void> {
    await this.change(`renew the address ${address.address}/${address.prefix}`, null, () => this.platform.replaceAddress(address));
    const step = this.active.undo.find((u) => u.kind === 'remove-address' && sameAddress(u.address, address));
    if (step) this.active.undo.splice(this.active.undo.indexOf(step), 1, { kind: 'remove-address', address });
  }

  /** Adds a lease's route: taken back at deactivation like the profile's own. */
  async addRoute(route: Route): Promise<void> {
    await this.change(`add the route ${routeText(route)}`, { kind: 'remove-route', route }, () => this.platform.addRoute(route), existed);
  }

  /** Adds again a route already on the undo list, if the kernel dropped it (its link lost its last address meanwhile). */
  async ensureRoute(route: Route): Promise<void> {
    await this.change(`add the route ${routeText(route)} again`, null, () => this.platform.addRoute(route), existed);
  }

  /** Sets the MTU a lease gives (option 26); the link's own is restored at deactivation. */
  async setMtu(ifindex: number, mtu: number): Promise<void> {
    const before = this.current(ifindex).mtu;
    if (before === mtu) return;
    const restore = this.active.undo.some((u) => u.kind === 'restore-link' && u.ifindex === ifindex && u.change.mtu !== undefined);
    const undo: UndoStep | null = restore ? null : { kind: 'restore-link', ifindex, change: { mtu: before } };
    this.active.applied = { ...this.active.applied, mtu };
    await this.change(`set the MTU to ${mtu}`, undo, () => this.platform.setLink(ifindex, { mtu }));
  }

  /** Takes back now the undo steps `which` selects (a lease's address and routes that went), and forgets them. */
  async takeBackNow(which: (step: UndoStep) => boolean, warn: (message: string) => void): Promise<void> {
    const steps = this.active.undo.filter(which);
    if (steps.length === 0) return;
    const remaining = this.active.undo.filter((u) => !which(u));
    await takeBackSteps(steps, this.platform, (what, message) => warn(`${this.active.describe()}: could not ${what}: ${message}`), this.context.saved);
    this.active.undo.splice(0, this.active.undo.length, ...remaining);
    this.context.saved?.();
  }
}

function sameAddress(a: Address, b: Address): boolean {
  return a.ifindex === b.ifindex && a.family === b.family && a.address === b.address && a.prefix === b.prefix;
}

/** The fields of `wanted` whose value differs from `current`'s. */
export function differing<T extends object>(current: T, wanted: T): Partial<T> {
  return Object.fromEntries(Object.entries(wanted).filter(([k, v]) => current[k as keyof T] !== v)) as Partial<T>;
}

/** The fields of `from` that `keys` has. */
export function pick<T extends object>(from: T, keys: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.keys(keys).map((k) => [k, from[k as keyof T]])) as Partial<T>;
}

export function existed(e: unknown): boolean {
  return e instanceof KernelRefusal && e.code === 'EEXIST';
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
export async function takeBack(active: ActiveConnection, platform: Platform, warn: (message: string) => void, saved?: () => void): Promise<void> {
  await takeBackSteps(active.undo, platform, (what, message) => warn(`deactivating ${active.describe()}: could not ${what}: ${message}`), saved);
}
