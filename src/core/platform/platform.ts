// Platform: the kernel's network state as the core sees it — the links and
// addresses of the daemon's network namespace, and their changes as events.
// An interface, so the core can be driven by a fake in unit tests.
import type { EventEmitter } from 'node:events';

export interface Link {
  readonly ifindex: number;
  readonly name: string;
  /** IFLA_INFO_KIND (veth, bridge, macvlan, vxlan, tun…); null for a link without one (physical, loopback) */
  readonly kind: string | null;
  /** ARPHRD_* hardware type */
  readonly arphrd: number;
  readonly mtu: number;
  /** lower-case colon hex; '' when the link has no hardware address */
  readonly hwAddress: string;
  /** IFF_UP: administratively up */
  readonly up: boolean;
  /** IFF_LOWER_UP: carrier */
  readonly lowerUp: boolean;
  /** ifindex of the bridge (or other master) it is a port of */
  readonly master: number | null;
  /**
   * The flags of the last router advertisement the kernel took on the link (IFLA_INET6_FLAGS):
   * M, addresses from DHCPv6; O, other configuration (DNS) from DHCPv6 (docs/dhcp6.md). Left
   * out: the link has no IPv6 or no advertisement came.
   */
  readonly raManaged?: boolean;
  readonly raOtherConf?: boolean;
  /** IFLA_LINK: a veth's peer, a macvlan's or vlan's parent; left out when the kernel names none */
  readonly parent?: number;
  /** a bridge's STP options, as the kernel announces them; left out for any other link */
  readonly bridge?: BridgeOptions;
  /** a bridge port's options, as the kernel announces them; left out for a link that is no bridge's port */
  readonly port?: BridgePortOptions;
}

export interface Address {
  readonly ifindex: number;
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefix: number;
  /**
   * Seconds the kernel keeps it (IFA_CACHEINFO), for an address with a lifetime of its own: a
   * DHCP lease's, so that a lease the daemon can no longer renew still ends on time. Left out:
   * forever.
   */
  readonly lifetime?: { readonly valid: number; readonly preferred: number };
  /** as the kernel lists it: set when it has a limited lifetime (SLAAC's, a lease's); never sent */
  readonly dynamic?: true;
  /** as the kernel lists it (IFA_PROTO): 2 formed from a router advertisement, 3 the link-local one; never sent */
  readonly proto?: number;
  /** as the kernel lists it: an IPv6 privacy address it made beside a SLAAC one; never sent */
  readonly temporary?: true;
  /** as the kernel lists it: a dynamic address's valid lifetime in seconds when it was announced; never sent */
  readonly validLft?: number;
}

/**
 * DNS that a router advertisement gave a link (docs/dhcp.md): the recursive DNS servers of one of
 * its options, or the search domains of one. The kernel passes these on without acting on them.
 */
export interface RaDnsOption {
  readonly ifindex: number;
  /** the router that sent it (its link-local address); null when unknown */
  readonly router: string | null;
  /** 'servers': IPv6 addresses as text; 'searches': domain names, without a final dot */
  readonly kind: 'servers' | 'searches';
  readonly values: readonly string[];
  /** seconds from now that they may be used; null: for as long as the link lasts; 0: withdrawn */
  readonly lifetime: number | null;
}

export const ARPHRD_ETHER = 1;
export const ARPHRD_LOOPBACK = 772;

export interface PlatformEvents {
  /** a link appeared (created, or moved into the namespace) */
  'link-added': [Link];
  /** a known link changed (name, flags, MTU, address… — the kernel does not say which) */
  'link-changed': [Link];
  /** a link is gone; the last state it was seen in */
  'link-removed': [Link];
  'address-added': [Address];
  'address-removed': [Address];
  /** a unicast route appeared in any table */
  'route-added': [KernelRoute];
  /** a known route is gone (those of a removed link go with it, unannounced) */
  'route-removed': [KernelRoute];
  /** a router advertisement on a link gave DNS servers or search domains (one event per option, each time it comes) */
  'ra-dns': [RaDnsOption];
  /** any change to a link, an address, a unicast route or a rule, with who asked for it (docs/external-changes.md) */
  'kernel-change': [KernelChange];
}

/**
 * Who asked for a change the kernel announced (docs/external-changes.md). `portid` events name
 * the requesting socket; the kernel names none for link events, IPv6 addresses and its own side
 * effects (`unknown`). `own` is the daemon's request, or the kernel's side effect of one.
 */
export type ChangeSender =
  | { readonly kind: 'own' }
  | { readonly kind: 'portid'; readonly portid: number; readonly seq: number }
  | { readonly kind: 'unknown' }
  /** a difference found by listing everything again after the kernel dropped events */
  | { readonly kind: 'relist' }
  /**
   * The kernel on its own account: an address or route whose lifetime ended, SLAAC and routes
   * from a router's advertisements, a link's link-local address, a route an address or link
   * brings (protocol kernel).
   */
  | { readonly kind: 'kernel'; readonly why: 'expired' | 'router-advertisement' | 'link-local' | 'side-effect' };

export type KernelChange =
  | { readonly object: 'link'; readonly action: 'add' | 'delete' | 'change'; readonly before: Link | null; readonly after: Link | null; readonly sender: ChangeSender }
  | { readonly object: 'address'; readonly action: 'add' | 'delete'; readonly address: Address; readonly sender: ChangeSender }
  | { readonly object: 'route'; readonly action: 'add' | 'delete'; readonly route: KernelRoute; readonly sender: ChangeSender }
  | { readonly object: 'rule'; readonly action: 'add' | 'delete'; readonly rule: Rule; readonly sender: ChangeSender };

/** A change the kernel refused: its errno name (ENODEV, EBUSY, EOPNOTSUPP…) and its extended-ack text, when it gave one. */
export class KernelRefusal extends Error {
  constructor(
    readonly operation: string,
    readonly code: string,
    readonly detail: string | null,
  ) {
    super(`${operation}: ${code}${detail ? ` (${detail})` : ''}`);
    this.name = 'KernelRefusal';
  }
}

/** A software link to create (docs/api.md: the types that create their link on activation). */
export type LinkSpec =
  | { readonly kind: 'bridge'; readonly name: string }
  | { readonly kind: 'dummy'; readonly name: string }
  /** both ends in the daemon's namespace */
  | { readonly kind: 'veth'; readonly name: string; readonly peer: string }
  /** mode as the kernel numbers it: 1 private, 2 vepa, 4 bridge, 8 passthru, 16 source */
  /** `tap`: a macvtap link (a character device beside it); `noPromisc`: MACVLAN_FLAG_NOPROMISC */
  | { readonly kind: 'macvlan'; readonly name: string; readonly parent: number; readonly mode: number; readonly tap?: boolean; readonly noPromisc?: boolean }
  /** `flags`: VLAN_FLAG_* (1 reorder headers, 2 GVRP, 4 loose binding, 8 MVRP), all four set as given */
  | { readonly kind: 'vlan'; readonly name: string; readonly parent: number; readonly id: number; readonly flags?: number }
  | {
      readonly kind: 'vxlan';
      readonly name: string;
      readonly id: number;
      /** the underlying link, or null */
      readonly parent: number | null;
      /** IPv4 or IPv6 text, or null */
      readonly local: string | null;
      readonly remote: string | null;
      /** UDP destination port */
      readonly port: number;
    };

/** Changes to one link; what is left out stays as it is. */
export interface LinkChange {
  readonly mtu?: number;
  /** lower-case colon hex */
  readonly hwAddress?: string;
  /** IFF_UP on or off */
  readonly up?: boolean;
  /** the ifindex of the bridge to become a port of; 0 leaves the bridge it is a port of */
  readonly master?: number;
}

export interface Route {
  readonly family: 4 | 6;
  /** destination network address ('0.0.0.0' / '::' with prefix 0 for a default route) */
  readonly dest: string;
  readonly prefix: number;
  /** next hop, or null for a directly connected route */
  readonly gateway: string | null;
  readonly ifindex: number;
  /** RTA_PRIORITY */
  readonly metric: number;
  /** the routing table (RTA_TABLE); the main table (254) when left out */
  readonly table?: number;
  /** a DHCP lease's route, added with rtm_protocol RTPROT_DHCP (`proto dhcp`) rather than RTPROT_STATIC */
  readonly fromDhcp?: boolean;
}

/** A bridge's STP options, in the kernel's units (IFLA_BR_*: timers in centiseconds). */
export interface BridgeOptions {
  readonly stp: boolean;
  readonly priority: number;
  readonly forwardDelay: number;
  readonly helloTime: number;
  readonly maxAge: number;
}

/** A bridge port's options (IFLA_BRPORT_PRIORITY, IFLA_BRPORT_COST). */
export interface BridgePortOptions {
  readonly priority: number;
  readonly cost: number;
}

/** A policy routing rule (RTM_NEWRULE, FRA_*); null fields match anything. */
export interface Rule {
  readonly family: 4 | 6;
  readonly priority: number;
  readonly table: number;
  readonly invert: boolean;
  /** source network, its prefix length in fromLen */
  readonly from: string | null;
  readonly fromLen: number;
  readonly to: string | null;
  readonly toLen: number;
  readonly fwmark: number | null;
  readonly fwmask: number | null;
  readonly iifname: string | null;
  readonly oifname: string | null;
}

/** A route as the kernel lists it: with its table and the protocol that made it (RTPROT_KERNEL 2, RTPROT_STATIC 4, RTPROT_RA 9…). */
export interface KernelRoute extends Route {
  readonly table: number;
  readonly protocol: number;
  /** seconds until the kernel removes it (a router advertisement's route), as of when it was read; left out when it does not expire */
  readonly expires?: number;
}

/** RTPROT_KERNEL: a route the kernel made itself (an address's prefix route). */
export const RTPROT_KERNEL = 2;
/** RTPROT_RA: a route the kernel made from a router advertisement (its default route through the router). */
export const RTPROT_RA = 9;

export interface Platform extends EventEmitter<PlatformEvents> {
  /** the links as of the last event processed; a listener subscribed before calling misses nothing */
  links(): Promise<Link[]>;
  addresses(): Promise<Address[]>;
  /** the addresses of link `ifindex` as of the last event processed, without waiting */
  addressesOf(ifindex: number): Address[];
  /** the unicast routes of every table, as the kernel lists them now */
  routes(): Promise<KernelRoute[]>;
  /** the unicast routes of every table through link `ifindex`, as of the last event processed, without waiting */
  routesOf(ifindex: number): KernelRoute[];
  /**
   * Deletes the link (a veth's peer goes with it); resolves once the kernel
   * acknowledged, rejects with a KernelRefusal. The removal itself is then
   * announced as 'link-removed', like any other.
   */
  deleteLink(ifindex: number): Promise<void>;
  /**
   * Creates a software link (NLM_F_CREATE|NLM_F_EXCL: an existing name is
   * EEXIST) and resolves with it as the kernel then lists it; the link is
   * known to links() and announced as 'link-added' before this resolves.
   * A kernel without the driver refuses with EOPNOTSUPP. With `ifindex`
   * the link gets that index (one in use is EBUSY), so the attempt's record
   * can name it before the link exists.
   */
  createLink(spec: LinkSpec & { readonly ifindex?: number }): Promise<Link>;
  /** Changes MTU, address, up/down or master of a link (one request); rejects with a KernelRefusal. */
  setLink(ifindex: number, change: LinkChange): Promise<void>;
  /** Adds an address (an existing one is EEXIST); rejects with a KernelRefusal. */
  addAddress(address: Address): Promise<void>;
  /** Adds an address or updates the one the link has (its lifetime: a renewed lease); rejects with a KernelRefusal. */
  replaceAddress(address: Address): Promise<void>;
  /** Removes an address (a missing one is EADDRNOTAVAIL); rejects with a KernelRefusal. */
  deleteAddress(address: Address): Promise<void>;
  /** Adds a route to its table (main by default), protocol static (an existing one is EEXIST); rejects with a KernelRefusal. */
  addRoute(route: Route): Promise<void>;
  /** Removes that route (a missing one is ESRCH); rejects with a KernelRefusal. */
  deleteRoute(route: Route): Promise<void>;
  /** The STP options of the bridge `ifindex`, as the kernel has them now. */
  bridgeOptions(ifindex: number): Promise<BridgeOptions>;
  /** Changes the options given of the bridge `ifindex`; rejects with a KernelRefusal. */
  setBridgeOptions(ifindex: number, change: Partial<BridgeOptions>): Promise<void>;
  /** The options of the bridge port `ifindex`, as the kernel has them now. */
  bridgePortOptions(ifindex: number): Promise<BridgePortOptions>;
  /** Changes the options given of the bridge port `ifindex`; rejects with a KernelRefusal. */
  setBridgePortOptions(ifindex: number, change: Partial<BridgePortOptions>): Promise<void>;
  /** Adds a rule, protocol static (an identical one is EEXIST); rejects with a KernelRefusal. */
  addRule(rule: Rule): Promise<void>;
  /** Removes that rule (a missing one is ENOENT); rejects with a KernelRefusal. */
  deleteRule(rule: Rule): Promise<void>;
  /** Lists links and addresses again and reports what differs from what was known (Reload). */
  refresh(): Promise<void>;
  /**
   * Runs `change`, a change the daemon makes to link `ifindex` outside rtnetlink (a sysctl), so
   * that what the kernel announces of it there (addresses and routes it removes or adds) counts
   * as the daemon's own.
   */
  ownChange<T>(ifindex: number, change: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
