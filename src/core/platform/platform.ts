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
}

export interface Address {
  readonly ifindex: number;
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefix: number;
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
}

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

export interface Platform extends EventEmitter<PlatformEvents> {
  /** the links as of the last event processed; a listener subscribed before calling misses nothing */
  links(): Promise<Link[]>;
  addresses(): Promise<Address[]>;
  /**
   * Deletes the link (a veth's peer goes with it); resolves once the kernel
   * acknowledged, rejects with a KernelRefusal. The removal itself is then
   * announced as 'link-removed', like any other.
   */
  deleteLink(ifindex: number): Promise<void>;
  close(): Promise<void>;
}
