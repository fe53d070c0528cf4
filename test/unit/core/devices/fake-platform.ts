// FakePlatform: a Platform whose links the test sets and whose kernel events the test emits, for the
// device unit tests. It also keeps links, addresses and routes in memory the way the kernel answers
// the changes of the Platform contract (events, EEXIST, EADDRNOTAVAIL, ESRCH…), and a test can make
// the next call of a method fail with a refusal of its choosing (failNext).
import { EventEmitter } from 'node:events';
import {
  KernelRefusal,
  type Address,
  type BridgeOptions,
  type BridgePortOptions,
  type KernelRoute,
  type Link,
  type LinkChange,
  type LinkSpec,
  type Platform,
  type PlatformEvents,
  type Route,
  type Rule,
} from '../../../../src/core/platform/platform.js';

/** The Platform methods that change the kernel's state. */
export type FakeMethod =
  | 'deleteLink' | 'createLink' | 'setLink' | 'addAddress' | 'deleteAddress' | 'addRoute' | 'deleteRoute'
  | 'setBridgeOptions' | 'setBridgePortOptions' | 'addRule' | 'deleteRule';

/** A bridge as the kernel makes it: no STP, priority 32768, timers 15 s, 2 s, 20 s in centiseconds. */
export const KERNEL_BRIDGE: BridgeOptions = { stp: false, priority: 32768, forwardDelay: 1500, helloTime: 200, maxAge: 2000 };

const sameAddress = (a: Address, b: Address): boolean =>
  a.ifindex === b.ifindex && a.family === b.family && a.address === b.address && a.prefix === b.prefix;

const sameRoute = (a: Route, b: Route): boolean =>
  a.family === b.family && a.dest === b.dest && a.prefix === b.prefix && a.gateway === b.gateway && a.ifindex === b.ifindex && a.metric === b.metric &&
  (a.table ?? 254) === (b.table ?? 254);

const sameRule = (a: Rule, b: Rule): boolean => JSON.stringify(a) === JSON.stringify(b);

export class FakePlatform extends EventEmitter<PlatformEvents> implements Platform {
  /** what the kernel answers the next deleteLink with: null deletes the link (kept for the older tests; failNext is the general form) */
  refusal: KernelRefusal | null = null;
  deleted: number[] = [];
  /** the addresses, as the kernel lists them */
  currentAddresses: Address[] = [];
  /** the routes of the main table that were added */
  routeList: Route[] = [];
  /** the rules that were added */
  rules: Rule[] = [];
  /** the options of each bridge and bridge port, by ifindex (kernel defaults until set) */
  bridges = new Map<number, BridgeOptions>();
  ports = new Map<number, BridgePortOptions>();
  /** every change asked for, in order: the method and its arguments */
  calls: Array<{ method: FakeMethod; args: unknown[] }> = [];
  private readonly failures = new Map<FakeMethod, KernelRefusal[]>();
  private nextIfindex = 2;

  constructor(public current: Link[] = []) {
    super();
  }

  /** The next call of `method` (one more for each call of this) rejects with `refusal`, changing nothing. */
  failNext(method: FakeMethod, refusal: KernelRefusal): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), refusal]);
  }

  async links(): Promise<Link[]> {
    return this.current;
  }
  async addresses(): Promise<Address[]> {
    return this.currentAddresses;
  }
  ownChange<T>(_ifindex: number, change: () => Promise<T>): Promise<T> {
    return change();
  }

  addressesOf(ifindex: number): Address[] {
    return this.currentAddresses.filter((a) => a.ifindex === ifindex);
  }

  async routes(): Promise<KernelRoute[]> {
    return this.routeList.map((r) => ({ ...r, table: r.table ?? 254, protocol: 4 }));
  }

  routesOf(ifindex: number): KernelRoute[] {
    return this.routeList.filter((r) => r.ifindex === ifindex).map((r) => ({ ...r, table: r.table ?? 254, protocol: 4 }));
  }

  async deleteLink(ifindex: number): Promise<void> {
    this.enter('deleteLink', ifindex);
    if (this.refusal) throw this.refusal;
    const gone = this.current.find((l) => l.ifindex === ifindex);
    this.deleted.push(ifindex);
    this.current = this.current.filter((l) => l.ifindex !== ifindex);
    this.currentAddresses = this.currentAddresses.filter((a) => a.ifindex !== ifindex);
    this.routeList = this.routeList.filter((r) => r.ifindex !== ifindex);
    if (gone) this.emit('link-removed', gone);
  }

  async refresh(): Promise<void> {}

  async createLink(spec: LinkSpec): Promise<Link> {
    this.enter('createLink', spec);
    const names = spec.kind === 'veth' ? [spec.name, spec.peer] : [spec.name];
    if (names.some((n) => this.current.some((l) => l.name === n))) throw new KernelRefusal(`create ${spec.kind} link ${JSON.stringify(spec.name)}`, 'EEXIST', null);
    if ('parent' in spec && spec.parent !== null && !this.current.some((l) => l.ifindex === spec.parent)) {
      throw new KernelRefusal(`create ${spec.kind} link ${JSON.stringify(spec.name)}`, 'ENODEV', null);
    }
    const made = names.map((name) => this.add(spec.kind, name));
    // the peer first, as the kernel announces a veth pair
    for (const link of [...made].reverse()) this.emit('link-added', link);
    return made[0]!;
  }

  async setLink(ifindex: number, change: LinkChange): Promise<void> {
    this.enter('setLink', ifindex, change);
    const link = this.linkOrRefuse(`set link ${ifindex}`, ifindex);
    if (change.master !== undefined && change.master !== 0 && !this.current.some((l) => l.ifindex === change.master)) {
      // what the kernel answers for a master that does not exist
      throw new KernelRefusal(`set link ${ifindex}`, 'EINVAL', null);
    }
    const changed: Link = Object.freeze({
      ...link,
      ...(change.mtu !== undefined ? { mtu: change.mtu } : {}),
      ...(change.hwAddress !== undefined ? { hwAddress: change.hwAddress.toLowerCase() } : {}),
      ...(change.up !== undefined ? { up: change.up } : {}),
      ...(change.master !== undefined ? { master: change.master === 0 ? null : change.master } : {}),
    });
    this.current = this.current.map((l) => (l.ifindex === ifindex ? changed : l));
    this.emit('link-changed', changed);
  }

  async addAddress(address: Address): Promise<void> {
    this.enter('addAddress', address);
    const operation = `add address ${address.address}/${address.prefix} to link ${address.ifindex}`;
    this.linkOrRefuse(operation, address.ifindex);
    if (this.currentAddresses.some((a) => sameAddress(a, address))) throw new KernelRefusal(operation, 'EEXIST', null);
    this.currentAddresses = [...this.currentAddresses, Object.freeze({ ...address })];
    this.emit('address-added', address);
  }

  async deleteAddress(address: Address): Promise<void> {
    this.enter('deleteAddress', address);
    const known = this.currentAddresses.find((a) => sameAddress(a, address));
    if (!known) throw new KernelRefusal(`delete address ${address.address}/${address.prefix} of link ${address.ifindex}`, 'EADDRNOTAVAIL', null);
    this.currentAddresses = this.currentAddresses.filter((a) => a !== known);
    this.emit('address-removed', known);
  }

  async addRoute(route: Route): Promise<void> {
    this.enter('addRoute', route);
    const operation = `add route ${route.dest}/${route.prefix}`;
    this.linkOrRefuse(operation, route.ifindex);
    if (this.routeList.some((r) => sameRoute(r, route))) throw new KernelRefusal(operation, 'EEXIST', null);
    this.routeList = [...this.routeList, Object.freeze({ ...route })];
  }

  async deleteRoute(route: Route): Promise<void> {
    this.enter('deleteRoute', route);
    if (!this.routeList.some((r) => sameRoute(r, route))) throw new KernelRefusal(`delete route ${route.dest}/${route.prefix}`, 'ESRCH', null);
    this.routeList = this.routeList.filter((r) => !sameRoute(r, route));
  }

  async bridgeOptions(ifindex: number): Promise<BridgeOptions> {
    this.linkOrRefuse(`get the bridge options of link ${ifindex}`, ifindex);
    return this.bridges.get(ifindex) ?? KERNEL_BRIDGE;
  }

  async setBridgeOptions(ifindex: number, change: Partial<BridgeOptions>): Promise<void> {
    this.enter('setBridgeOptions', ifindex, change);
    this.bridges.set(ifindex, { ...(await this.bridgeOptions(ifindex)), ...change });
  }

  async bridgePortOptions(ifindex: number): Promise<BridgePortOptions> {
    this.linkOrRefuse(`get the bridge port options of link ${ifindex}`, ifindex);
    return this.ports.get(ifindex) ?? { priority: 32, cost: 2 };
  }

  async setBridgePortOptions(ifindex: number, change: Partial<BridgePortOptions>): Promise<void> {
    this.enter('setBridgePortOptions', ifindex, change);
    this.ports.set(ifindex, { ...(await this.bridgePortOptions(ifindex)), ...change });
  }

  async addRule(rule: Rule): Promise<void> {
    this.enter('addRule', rule);
    if (this.rules.some((r) => sameRule(r, rule))) throw new KernelRefusal(`add rule priority ${rule.priority}`, 'EEXIST', null);
    this.rules = [...this.rules, Object.freeze({ ...rule })];
  }

  async deleteRule(rule: Rule): Promise<void> {
    this.enter('deleteRule', rule);
    if (!this.rules.some((r) => sameRule(r, rule))) throw new KernelRefusal(`delete rule priority ${rule.priority}`, 'ENOENT', null);
    this.rules = this.rules.filter((r) => !sameRule(r, rule));
  }

  async close(): Promise<void> {}

  /** Records the call, and throws the refusal queued for it by failNext, if any. */
  private enter(method: FakeMethod, ...args: unknown[]): void {
    this.calls.push({ method, args });
    const queued = this.failures.get(method);
    const refusal = queued?.shift();
    if (queued && queued.length === 0) this.failures.delete(method);
    if (refusal) throw refusal;
  }

  private linkOrRefuse(operation: string, ifindex: number): Link {
    const link = this.current.find((l) => l.ifindex === ifindex);
    if (!link) throw new KernelRefusal(operation, 'ENODEV', null);
    return link;
  }

  private add(kind: string, name: string): Link {
    // fresh even when the test replaced `current` meanwhile
    const ifindex = Math.max(this.nextIfindex, ...this.current.map((l) => l.ifindex + 1));
    this.nextIfindex = ifindex + 1;
    const link = fakeLink({ ifindex, name, kind, hwAddress: `02:00:5e:00:${(ifindex >> 8).toString(16).padStart(2, '0')}:${(ifindex & 0xff).toString(16).padStart(2, '0')}` });
    this.current = [...this.current, link];
    return link;
  }
}

/** A veth v0 at ifindex 2, down and without carrier, with `over` in place of its fields. */
export const fakeLink = (over: Partial<Link> = {}): Link => ({
  ifindex: 2, name: 'v0', kind: 'veth', arphrd: 1, mtu: 1500, hwAddress: '02:00:5e:00:00:01', up: false, lowerUp: false, master: null, ...over,
});
