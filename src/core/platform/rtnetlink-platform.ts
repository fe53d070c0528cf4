// RtnetlinkPlatform: the Platform over rtnetlink (src/native/rtnetlink.ts, rtnetlink-codec.ts).
// It subscribes to link, address and route events before listing, keeps the links
// addresses and routes it has seen, and turns the kernel's messages into added /
// changed / removed events. When the event socket overflows (ENOBUFS) events
// were lost: it lists everything again and reports the difference. It also
// passes on the DNS options of router advertisements that the kernel hands
// to user space (RTM_NEWNDUSEROPT), as 'ra-dns' events; these are not state,
// and one lost to an overflow comes again with the router's next advertisement.
import { EventEmitter } from 'node:events';
import type { DomainLogger } from '../../log/logger.js';
import {
  AF_INET6,
  IF_RA_MANAGED,
  IF_RA_OTHERCONF,
  addressDumpRequest,
  decodeAddress,
  decodeInet6Link,
  decodeLink,
  deleteLinkRequest,
  IFF_LOWER_UP,
  IFF_UP,
  linkDumpRequest,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTMGRP_IPV4_IFADDR,
  RTMGRP_IPV4_ROUTE,
  RTMGRP_IPV6_IFADDR,
  RTMGRP_IPV6_IFINFO,
  RTMGRP_IPV6_ROUTE,
  RTMGRP_LINK,
  type LinkMessage,
  type NetlinkMessage,
} from '../../native/rtnetlink-codec.js';
import {
  addAddressRequest,
  addRouteRequest,
  createLinkRequest,
  deleteAddressRequest,
  replaceAddressRequest,
  deleteRouteRequest,
  getLinkByNameRequest,
  getLinkRequest,
  NLM_F_REPLACE,
  RTM_DELROUTE,
  RTM_NEWROUTE,
  setLinkRequest,
} from '../../native/rtnetlink-requests.js';
import { decodeRoute, routeDumpRequest } from '../../native/rtnetlink-routes.js';
import { decodeBridgeOptions, decodeBridgePortInfo, decodeBridgePortOptions, setBridgePortRequest, setBridgeRequest } from '../../native/rtnetlink-bridge.js';
import { addRuleRequest, decodeRule, deleteRuleRequest, ruleDumpRequest, RTM_DELRULE, RTM_NEWRULE, RTMGRP_IPV4_RULE, RTMGRP_IPV6_RULE } from '../../native/rtnetlink-rules.js';
import { ChangeSenders, changedLinkFields, type UnsentChange } from './change-sender.js';
import { NetlinkError, RtnetlinkMonitor, RtnetlinkSocket } from '../../native/rtnetlink.js';
import { decodeNdUserOpt, ND_ROUTER_ADVERT, RTM_NEWNDUSEROPT, RTMGRP_ND_USEROPT } from '../../native/rtnetlink-nduseropt.js';
import { decodeRaDnsOptions } from '../../native/ra-dns-option.js';
import { quotePath } from '../errors.js';
import {
  KernelRefusal,
  RTPROT_KERNEL,
  type Address,
  type BridgeOptions,
  type BridgePortOptions,
  type KernelChange,
  type KernelRoute,
  type Rule,
  type Link,
  type LinkChange,
  type LinkSpec,
  type Platform,
  type PlatformEvents,
  type Route,
} from './platform.js';

/** Room for a burst of about 10,000 link events before the kernel drops any (then: a full re-list). */
const EVENT_BUFFER = 4 * 1024 * 1024;

/**
 * Under a storm of changes a re-list is always overtaken by events: after this many rounds the
 * events alone (which are being read again) keep the state.
 */
const MAX_RELIST_ROUNDS = 8;

export interface RtnetlinkPlatformOptions {
  readonly log: DomainLogger;
}

/** A link from its RTM_NEWLINK, decoded, and the body it came in (for a bridge's or a port's options). */
function toLink(m: LinkMessage, previous: Link | undefined, body: Buffer | null): Link | null {
  // A RTM_NEWLINK without a name is not a full description: keep what was known.
  const name = m.name ?? previous?.name;
  if (name === undefined || m.ifindex <= 0) return null;
  return Object.freeze({
    ifindex: m.ifindex,
    name,
    kind: m.kind ?? previous?.kind ?? null,
    arphrd: m.arphrd,
    mtu: m.mtu ?? previous?.mtu ?? 0,
    hwAddress: m.address ?? previous?.hwAddress ?? '',
    up: (m.flags & IFF_UP) !== 0,
    lowerUp: (m.flags & IFF_LOWER_UP) !== 0,
    master: m.master !== null && m.master > 0 ? m.master : null,
    // Always both keys, so that sameLink() sees a flag that went away.
    raManaged: ((m.inet6Flags ?? (previous?.raManaged ? IF_RA_MANAGED : 0)) & IF_RA_MANAGED) !== 0,
    raOtherConf: ((m.inet6Flags ?? (previous?.raOtherConf ? IF_RA_OTHERCONF : 0)) & IF_RA_OTHERCONF) !== 0,
    // A peer or parent in another namespace is no link of this one: its ifindex means nothing here.
    ...(m.link !== null && m.link > 0 && m.link !== m.ifindex && m.linkNetnsid === null ? { parent: m.link } : m.link === null && previous?.parent !== undefined ? { parent: previous.parent } : {}),
    ...bridgeAndPort(body, previous),
  });
}

/** A bridge's and a port's options from a link's RTM_NEWLINK; without the body, those known before. */
function bridgeAndPort(body: Buffer | null, previous: Link | undefined): Pick<Link, 'bridge' | 'port'> {
  const bridge = body ? decodeBridgeOptions(body) : (previous?.bridge ?? null);
  const port = body ? decodeBridgePortOptions(body) : (previous?.port ?? null);
  return { ...(bridge ? { bridge: Object.freeze(bridge) } : {}), ...(port ? { port: Object.freeze(port) } : {}) };
}

/** The netlink header of the event a change came in: who sent the request, and its sequence number. */
type Header = { readonly pid: number; readonly seq: number } | null;

const addressKey = (a: Address): string => `${a.ifindex}/${a.address}/${a.prefix}`;
/** What the kernel tells routes apart by: table, destination and metric (a replace swaps the one there), then the next hop. */
const routeSlot = (r: KernelRoute): string => `${r.family}/${r.table}/${r.dest}/${r.prefix}/${r.metric}`;
const routeKey = (r: KernelRoute): string => `${routeSlot(r)}/${r.ifindex}/${r.gateway ?? ''}`;
const ruleKey = (r: Rule): string => JSON.stringify(r);

export class RtnetlinkPlatform extends EventEmitter<PlatformEvents> implements Platform {
  private readonly known = new Map<number, Link>();
  private readonly knownAddresses = new Map<string, Address>();
  private readonly knownRoutes = new Map<string, KernelRoute>();
  private readonly knownRules = new Map<string, Rule>();
  private readonly senders: ChangeSenders;
  private readonly portId: number;
  private resyncing: Promise<void> | null = null;
  private resyncAgain = false;
  private closed = false;

  private constructor(
    private readonly requests: RtnetlinkSocket,
    private readonly monitor: RtnetlinkMonitor,
    private readonly log: DomainLogger,
  ) {
    super();
    this.portId = requests.portId;
    this.senders = new ChangeSenders(this.portId);
  }

  /** Subscribes, lists the links and addresses, then follows the events. */
  static async open(options: RtnetlinkPlatformOptions): Promise<RtnetlinkPlatform> {
    const requests = RtnetlinkSocket.open();
    let monitor: RtnetlinkMonitor;
    try {
      monitor = RtnetlinkMonitor.open(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_RULE | RTMGRP_IPV6_RULE | RTMGRP_IPV6_IFINFO | RTMGRP_ND_USEROPT, EVENT_BUFFER);
    } catch (e) {
      requests.close();
      throw e;
    }
    const platform = new RtnetlinkPlatform(requests, monitor, options.log);
    try {
      await platform.resync();
    } catch (e) {
      await platform.close();
      throw e;
    }
    // Events queued since the subscription are applied in order after the listing: the last one wins.
    monitor.start({
      message: (m) => platform.onMessage(m),
      overrun: () => platform.overrun(),
      error: (e) => options.log.warn(`rtnetlink events: ${e.message}, ignoring`),
    });
    return platform;
  }

  async links(): Promise<Link[]> {
    return [...this.known.values()];
  }

  async addresses(): Promise<Address[]> {
    return [...this.knownAddresses.values()];
  }

  addressesOf(ifindex: number): Address[] {
    return [...this.knownAddresses.values()].filter((a) => a.ifindex === ifindex);
  }

  routesOf(ifindex: number): KernelRoute[] {
    return [...this.knownRoutes.values()].filter((r) => r.ifindex === ifindex);
  }

  async routes(): Promise<KernelRoute[]> {
    const out: KernelRoute[] = [];
    for (const family of [4, 6] as const) {
      const messages = await this.requests.dump('list routes', (seq) => routeDumpRequest(seq, family)).catch((e: unknown) => {
        // A kernel without IPv6 has no IPv6 routes to list.
        if (family === 6 && e instanceof NetlinkError && e.code === 'EAFNOSUPPORT') return [];
        throw refusal('list routes', e);
      });
      for (const m of messages) {
        const route = m.type === RTM_NEWROUTE ? decodeRoute(m.body) : null;
        if (route) out.push(route);
      }
    }
    return out;
  }

  async deleteLink(ifindex: number): Promise<void> {
    const expects = this.senders.deleting(this.known.get(ifindex), ifindex, (i) => this.known.get(i));
    await this.change(`delete link ${ifindex}`, (seq) => deleteLinkRequest(seq, ifindex), expects);
  }

  async createLink(spec: LinkSpec & { readonly ifindex?: number }): Promise<Link> {
    const expects = this.senders.creating(spec.kind === 'veth' ? [spec.name, spec.peer] : [spec.name]);
    await this.change(`create ${spec.kind} link ${quotePath(spec.name)}`, (seq) => createLinkRequest(seq, spec), expects);
    // Both ends of a veth are known before this resolves; the created link is the one asked for.
    if (spec.kind === 'veth') await this.learnLink(spec.peer);
    return this.learnLink(spec.name);
  }

  async setLink(ifindex: number, change: LinkChange): Promise<void> {
    const what = Object.entries(change)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k} ${String(v)}`)
      .join(', ');
    const expects = this.senders.setting(ifindex, change, (i) => this.known.get(i));
    await this.change(`set link ${ifindex}${what ? ` ${what}` : ''}`, (seq) => setLinkRequest(seq, ifindex, change), expects);
    // Known at once, not when the event comes: the next step may ask whether the link is up.
    await this.learnOwnChange(ifindex);
  }

  async addAddress(address: Address): Promise<void> {
    await this.change(`add address ${address.address}/${address.prefix} to link ${address.ifindex}`, (seq) => addAddressRequest(seq, address), this.senders.addressing(address, 'add'));
  }

  async replaceAddress(address: Address): Promise<void> {
    await this.change(`set address ${address.address}/${address.prefix} on link ${address.ifindex}`, (seq) => replaceAddressRequest(seq, address), this.senders.addressing(address, 'add'));
  }

  async deleteAddress(address: Address): Promise<void> {
    await this.change(`delete address ${address.address}/${address.prefix} of link ${address.ifindex}`, (seq) => deleteAddressRequest(seq, address), this.senders.addressing(address, 'delete'));
  }

  async addRoute(route: Route): Promise<void> {
    await this.change(`add route ${routeText(route)}`, (seq) => addRouteRequest(seq, route));
  }

  async deleteRoute(route: Route): Promise<void> {
    await this.change(`delete route ${routeText(route)}`, (seq) => deleteRouteRequest(seq, route));
  }

  async bridgeOptions(ifindex: number): Promise<BridgeOptions> {
    const operation = `get the bridge options of link ${ifindex}`;
    const options = decodeBridgeOptions(await this.linkBody(operation, ifindex));
    if (!options) throw new KernelRefusal(operation, 'EOPNOTSUPP', 'the link is not a bridge');
    return options;
  }

  async setBridgeOptions(ifindex: number, change: Partial<BridgeOptions>): Promise<void> {
    await this.change(`set the bridge options of link ${ifindex} ${JSON.stringify(change)}`, (seq) => setBridgeRequest(seq, ifindex, change), this.senders.options(ifindex, 'bridge', change));
    await this.learnOwnChange(ifindex);
  }

  async bridgePortOptions(ifindex: number): Promise<BridgePortOptions> {
    const operation = `get the bridge port options of link ${ifindex}`;
    const options = decodeBridgePortOptions(await this.linkBody(operation, ifindex));
    if (!options) throw new KernelRefusal(operation, 'EOPNOTSUPP', 'the link is no bridge port');
    return options;
  }

  async setBridgePortOptions(ifindex: number, change: Partial<BridgePortOptions>): Promise<void> {
    await this.change(`set the bridge port options of link ${ifindex} ${JSON.stringify(change)}`, (seq) => setBridgePortRequest(seq, ifindex, change), this.senders.options(ifindex, 'port', change));
    await this.learnOwnChange(ifindex);
  }

  /**
   * Reads link `ifindex` back after the daemon changed it. Its event is read on another socket and
   * may come later, while the next step already asks what the link is like (up or not, after a
   * teardown that took it down); and the kernel announces a change of a link's options only while
   * it is up, so one made while it is down would show in its next announcement (coming up) as if
   * someone else had made it.
   */
  private async learnOwnChange(ifindex: number): Promise<void> {
    const body = await this.linkBody(`get link ${ifindex}`, ifindex).catch(() => null);
    const decoded = body ? decodeLink(body) : null;
    const link = decoded ? toLink(decoded, this.known.get(ifindex), body) : null;
    if (decoded && link && !sameLink(this.known.get(ifindex), link)) this.putLink(decoded, { pid: this.portId, seq: 0 }, body);
  }

  async addRule(rule: Rule): Promise<void> {
    await this.change(`add rule ${ruleText(rule)}`, (seq) => addRuleRequest(seq, rule));
  }

  async deleteRule(rule: Rule): Promise<void> {
    await this.change(`delete rule ${ruleText(rule)}`, (seq) => deleteRuleRequest(seq, rule));
  }

  refresh(): Promise<void> {
    return this.resync();
  }

  ownChange<T>(ifindex: number, change: () => Promise<T>): Promise<T> {
    return this.senders.around(this.senders.outside(ifindex), change);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.monitor.close();
    await this.resyncing?.catch(() => undefined);
    this.requests.close();
  }

  /**
   * A change request; the kernel's refusal becomes a KernelRefusal. `expects` names what the
   * kernel announces of it without the request's port id (change-sender.ts).
   */
  private async change(operation: string, request: (seq: number) => Buffer, expects?: (c: UnsentChange) => boolean): Promise<void> {
    try {
      await (expects ? this.senders.around(expects, () => this.requests.request(operation, request)) : this.requests.request(operation, request));
    } catch (e) {
      throw refusal(operation, e);
    }
  }

  /** The RTM_NEWLINK body the kernel answers for link `ifindex`. */
  private async linkBody(operation: string, ifindex: number): Promise<Buffer> {
    let messages: NetlinkMessage[];
    try {
      messages = await this.requests.query(operation, (seq) => getLinkRequest(seq, ifindex));
    } catch (e) {
      throw refusal(operation, e);
    }
    const body = messages.find((m) => m.type === RTM_NEWLINK)?.body;
    if (!body) throw new KernelRefusal(operation, 'EPROTO', 'no link in the reply');
    return body;
  }

  /** Asks the kernel for the link called `name` and makes it known (announced if new or changed). */
  private async learnLink(name: string): Promise<Link> {
    const operation = `get link ${quotePath(name)}`;
    let messages: NetlinkMessage[];
    try {
      messages = await this.requests.query(operation, (seq) => getLinkByNameRequest(seq, name));
    } catch (e) {
      throw refusal(operation, e);
    }
    const decoded = messages.map((m) => (m.type === RTM_NEWLINK ? decodeLink(m.body) : null)).find((d) => d !== null);
    const body = messages.find((m) => m.type === RTM_NEWLINK)?.body ?? null;
    const link = decoded ? toLink(decoded, this.known.get(decoded.ifindex), body) : null;
    if (!decoded || !link) throw new KernelRefusal(operation, 'EPROTO', 'no link in the reply');
    // The event of its creation may have come first: announce it only if it says something new.
    // Learned from the answer to the daemon's own request: its own change, whatever the event says later.
    if (!sameLink(this.known.get(link.ifindex), link)) this.putLink(decoded, { pid: this.portId, seq: 0 }, body);
    return this.known.get(link.ifindex) ?? link;
  }

  private onMessage(m: NetlinkMessage): void {
    if (m.type === RTM_NEWNDUSEROPT) return this.ndUserOption(m.body);
    // An event read while a re-list is under way may be newer than its dump: list once more after it.
    if (this.resyncing) this.resyncAgain = true;
    if (m.type === RTM_NEWLINK && m.body.length > 0 && m.body.readUInt8(0) === AF_INET6) {
      // The link's IPv6 part changed: a router advertisement's M and O flags (docs/dhcp6.md). They
      // are nobody's change to record (change-sender.ts counts other fields), only the link's news.
      const inet6 = decodeInet6Link(m.body);
      const known = inet6 ? this.known.get(inet6.ifindex) : undefined;
      if (!inet6 || !known) return;
      const changed = { ...known, raManaged: (inet6.inet6Flags & IF_RA_MANAGED) !== 0, raOtherConf: (inet6.inet6Flags & IF_RA_OTHERCONF) !== 0 };
      if (sameLink(known, changed)) return;
      this.known.set(known.ifindex, Object.freeze(changed));
      this.notify('link-changed', changed);
      return;
    }
    const header = { pid: m.pid, seq: m.seq };
    if (m.type === RTM_NEWLINK || m.type === RTM_DELLINK) {
      const decoded = decodeLink(m.body);
      if (!decoded) {
        if (m.type === RTM_NEWLINK) this.portInfo(m.body, header);
        return;
      }
      if (m.type === RTM_DELLINK) this.removeLink(decoded.ifindex, header);
      else this.putLink(decoded, header, m.body);
    } else if (m.type === RTM_NEWADDR || m.type === RTM_DELADDR) {
      const decoded = decodeAddress(m.body);
      if (!decoded) return;
      if (m.type === RTM_DELADDR) this.removeAddress(decoded, header);
      else this.putAddress(decoded, header);
    } else if (m.type === RTM_NEWROUTE || m.type === RTM_DELROUTE) {
      const decoded = decodeRoute(m.body);
      if (!decoded || !this.known.has(decoded.ifindex)) return;
      if (m.type === RTM_DELROUTE) this.removeRoute(decoded, header);
      else this.putRoute(decoded, (m.flags & NLM_F_REPLACE) !== 0, header);
    } else if (m.type === RTM_NEWRULE || m.type === RTM_DELRULE) {
      const decoded = decodeRule(m.body);
      if (!decoded || decoded.protocol === RTPROT_KERNEL) return;
      if (m.type === RTM_DELRULE) this.removeRule(decoded.rule, header);
      else this.putRule(decoded.rule, header);
    }
  }

  /** Announces `change` with who asked for it. */
  private changed(change: UnsentChange, header: Header): void {
    this.senders.noteLifetime(change);
    this.notify('kernel-change', { ...change, sender: this.senders.senderOf(change, header) } as KernelChange);
  }

  /** The DNS servers and search domains of a router advertisement's option, for a link known here. */
  private ndUserOption(body: Buffer): void {
    const m = decodeNdUserOpt(body);
    if (!m || m.family !== AF_INET6 || m.icmpType !== ND_ROUTER_ADVERT || m.icmpCode !== 0 || !this.known.has(m.ifindex)) return;
    for (const option of decodeRaDnsOptions(m.options)) this.notify('ra-dns', { ifindex: m.ifindex, router: m.source, ...option });
  }

  /** A listener's failure must not end the reader (it runs in a native callback) nor a re-list. */
  private notify<K extends keyof PlatformEvents>(event: K, ...args: PlatformEvents[K]): void {
    try {
      (this as EventEmitter).emit(event, ...args);
    } catch (e) {
      this.log.err(`a listener of ${event} failed: ${(e as Error).stack ?? String(e)}`);
    }
  }

  /** A bridge port's options as `bridge link set` (AF_BRIDGE) announces them: a change of the known port when they differ. */
  private portInfo(body: Buffer, header: Header): void {
    const info = decodeBridgePortInfo(body);
    const previous = info ? this.known.get(info.ifindex) : undefined;
    if (!info || !previous?.port) return;
    const link: Link = Object.freeze({ ...previous, port: Object.freeze(info.options) });
    if (changedLinkFields(previous, link).length === 0) return;
    this.known.set(link.ifindex, link);
    this.notify('link-changed', link);
    this.changed({ object: 'link', action: 'change', before: previous, after: link }, header);
  }

  private putLink(m: LinkMessage, header: Header, body: Buffer | null): void {
    const previous = this.known.get(m.ifindex);
    const link = toLink(m, previous, body);
    if (!link) return;
    this.known.set(link.ifindex, link);
    this.notify(previous ? 'link-changed' : 'link-added', link);
    if (!previous) this.changed({ object: 'link', action: 'add', before: null, after: link }, header);
    else if (changedLinkFields(previous, link).length > 0) this.changed({ object: 'link', action: 'change', before: previous, after: link }, header);
    // A link taken down loses its IPv4 routes without a word from the kernel: they go with it.
    if (previous?.up && !link.up) {
      for (const r of [...this.knownRoutes.values()]) {
        if (r.ifindex !== link.ifindex || r.family !== 4) continue;
        this.knownRoutes.delete(routeKey(r));
        this.notify('route-removed', r);
        this.notify('kernel-change', { object: 'route', action: 'delete', route: r, sender: { kind: 'kernel', why: 'side-effect' } });
      }
    }
  }

  private removeLink(ifindex: number, header: Header): void {
    const link = this.known.get(ifindex);
    if (!link) return;
    this.known.delete(ifindex);
    for (const [key, a] of this.knownAddresses) if (a.ifindex === ifindex) this.knownAddresses.delete(key);
    for (const [key, r] of this.knownRoutes) if (r.ifindex === ifindex) this.knownRoutes.delete(key);
    this.notify('link-removed', link);
    this.changed({ object: 'link', action: 'delete', before: link, after: null }, header);
  }

  private putAddress(a: Address, header: Header): void {
    const key = addressKey(a);
    const known = this.knownAddresses.has(key);
    this.knownAddresses.set(key, Object.freeze(a));
    if (known) {
      // A lifetime renewed: nobody's change, but when it ends is new.
      this.senders.noteLifetime({ object: 'address', action: 'add', address: a });
      return;
    }
    this.notify('address-added', a);
    this.changed({ object: 'address', action: 'add', address: a }, header);
  }

  private removeAddress(a: Address, header: Header): void {
    const key = addressKey(a);
    const known = this.knownAddresses.get(key);
    if (!known) return;
    this.knownAddresses.delete(key);
    this.notify('address-removed', known);
    this.changed({ object: 'address', action: 'delete', address: known }, header);
  }

  private putRule(r: Rule, header: Header): void {
    const key = ruleKey(r);
    if (this.knownRules.has(key)) return;
    this.knownRules.set(key, Object.freeze(r));
    this.changed({ object: 'rule', action: 'add', rule: r }, header);
  }

  private removeRule(r: Rule, header: Header): void {
    const key = ruleKey(r);
    const known = this.knownRules.get(key);
    if (!known) return;
    this.knownRules.delete(key);
    this.changed({ object: 'rule', action: 'delete', rule: known }, header);
  }

  /** A route added, or `replace`d in its slot (the one that was there is gone, unannounced by the kernel). */
  private putRoute(r: KernelRoute, replace: boolean, header: Header): void {
    const key = routeKey(r);
    if (replace) {
      const slot = routeSlot(r);
      for (const [k, old] of this.knownRoutes) if (k !== key && routeSlot(old) === slot) this.removeRoute(old, header);
    }
    const known = this.knownRoutes.get(key);
    this.knownRoutes.set(key, Object.freeze(r));
    if (known) return;
    this.notify('route-added', r);
    this.changed({ object: 'route', action: 'add', route: r }, header);
  }

  private removeRoute(r: KernelRoute, header: Header): void {
    const key = routeKey(r);
    const known = this.knownRoutes.get(key);
    if (!known) return;
    this.knownRoutes.delete(key);
    this.notify('route-removed', known);
    this.changed({ object: 'route', action: 'delete', route: known }, header);
  }

  private overrun(): void {
    this.log.warn('the kernel dropped link, address or route events (ENOBUFS): listing them all again');
    this.resync().catch((e: Error) => this.log.err(`listing links, addresses and routes again failed: ${e.message}`));
  }

  /** Lists links and addresses and reports what differs from what is known; one at a time, again while events overtake it. */
  private resync(): Promise<void> {
    if (this.resyncing) {
      this.resyncAgain = true;
      return this.resyncing;
    }
    const run = async (): Promise<void> => {
      let rounds = 0;
      do {
        this.resyncAgain = false;
        await this.listOnce(rounds + 1 >= MAX_RELIST_ROUNDS);
      } while (this.resyncAgain && !this.closed && ++rounds < MAX_RELIST_ROUNDS);
    };
    this.resyncing = run().finally(() => {
      this.resyncing = null;
    });
    return this.resyncing;
  }

  /**
   * One listing, applied unless events came while it was taken (`last` applies it all the same):
   * a listing older than an event would undo what the event said, and announce a change that
   * never was.
   */
  private async listOnce(last: boolean): Promise<void> {
    const linkMessages = await this.requests.dump('list links', linkDumpRequest);
    const addressMessages = await this.requests.dump('list addresses', addressDumpRequest);
    const routes = await this.routes();
    const rules = await this.rules();
    if (this.closed || (this.resyncAgain && !last)) return;
    const seen = new Set<number>();
    for (const m of linkMessages) {
      const decoded = m.type === RTM_NEWLINK ? decodeLink(m.body) : null;
      if (!decoded) continue;
      seen.add(decoded.ifindex);
      const before = this.known.get(decoded.ifindex);
      const after = toLink(decoded, before, m.body);
      if (after && !sameLink(before, after)) this.putLink(decoded, null, m.body);
    }
    for (const ifindex of [...this.known.keys()]) if (!seen.has(ifindex)) this.removeLink(ifindex, null);
    const seenAddresses = new Set<string>();
    for (const m of addressMessages) {
      const decoded = m.type === RTM_NEWADDR ? decodeAddress(m.body) : null;
      if (!decoded || !this.known.has(decoded.ifindex)) continue;
      seenAddresses.add(addressKey(decoded));
      this.putAddress(decoded, null);
    }
    for (const a of [...this.knownAddresses.values()]) if (!seenAddresses.has(addressKey(a))) this.removeAddress(a, null);
    const seenRoutes = new Set<string>();
    for (const r of routes) {
      if (!this.known.has(r.ifindex)) continue;
      seenRoutes.add(routeKey(r));
      this.putRoute(r, false, null);
    }
    for (const r of [...this.knownRoutes.values()]) if (!seenRoutes.has(routeKey(r))) this.removeRoute(r, null);
    const seenRules = new Set(rules.map(ruleKey));
    for (const r of rules) this.putRule(r, null);
    for (const r of [...this.knownRules.values()]) if (!seenRules.has(ruleKey(r))) this.removeRule(r, null);
  }

  /** The rules of both families, but the kernel's own (the local, main and default lookups). */
  private async rules(): Promise<Rule[]> {
    const out: Rule[] = [];
    for (const family of [4, 6] as const) {
      const messages = await this.requests.dump('list rules', (seq) => ruleDumpRequest(seq, family)).catch((e: unknown) => {
        if (family === 6 && e instanceof NetlinkError && e.code === 'EAFNOSUPPORT') return [];
        throw refusal('list rules', e);
      });
      for (const m of messages) {
        const decoded = m.type === RTM_NEWRULE ? decodeRule(m.body) : null;
        if (decoded && decoded.protocol !== RTPROT_KERNEL) out.push(decoded.rule);
      }
    }
    return out;
  }
}

function refusal(operation: string, e: unknown): unknown {
  return e instanceof NetlinkError ? new KernelRefusal(operation, e.code, e.extAck) : e;
}

function routeText(r: Route): string {
  return `${r.dest}/${r.prefix}${r.gateway !== null ? ` via ${r.gateway}` : ''} dev ${r.ifindex} metric ${r.metric}${r.table !== undefined ? ` table ${r.table}` : ''}`;
}

function ruleText(r: Rule): string {
  return `priority ${r.priority}${r.invert ? ' not' : ''} from ${r.from === null ? 'all' : `${r.from}/${r.fromLen}`}${r.to === null ? '' : ` to ${r.to}/${r.toLen}`} table ${r.table}`;
}

function sameLink(a: Link | undefined, b: Link): boolean {
  if (!a) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as Array<keyof Link>);
  return [...keys].every((k) => a[k] === b[k] || JSON.stringify(a[k]) === JSON.stringify(b[k]));
}
