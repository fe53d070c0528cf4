// Dhcp4Lease: what a server's ACK gives a link — the address and what goes
// with it — and when it must be renewed and when it ends. docs/dhcp4.md.
import { INFINITE_LEASE, ipNumber, maskPrefix, optionsText, readParameters, type Dhcp4Message } from './dhcp4-message.js';

export interface Dhcp4Route {
  dest: string;
  prefix: number;
  /** '0.0.0.0': the destination is on the link */
  gateway: string;
}

export interface Dhcp4Lease {
  /** from yiaddr and option 1 */
  address: string;
  prefix: number;
  /** first of option 3; null when option 121 is present or no router was given */
  router: string | null;
  /** option 121 (gateway '0.0.0.0' means on-link) */
  routes: Dhcp4Route[];
  /** option 6 */
  dns: string[];
  /** option 119 (search) */
  domains: string[];
  /** option 15 */
  domainName: string | null;
  /** option 26 */
  mtu: number | null;
  /** option 54 server identifier */
  server: string;
  /** source MAC of the ACK, for unicast renewal */
  serverMac: string | null;
  /** seconds; 4294967295 (all ones) is a lease that does not end, and then t1 and t2 are too */
  leaseTime: number;
  t1: number;
  t2: number;
  /** epoch ms when the ACK arrived */
  obtainedAt: number;
  /** optionsText(), for display */
  options: Record<string, string>;
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

const routeKey = (r: Dhcp4Route): string => `${r.dest}/${r.prefix} ${r.gateway}`;

/**
 * Whether applying `b` in place of `a` changes what the network sees:
 * address, prefix, router, routes, DNS servers, domains, MTU. Times and the
 * server are not compared: a renewal from another server with the same
 * values changes nothing on the link.
 */
export function leaseChanged(a: Dhcp4Lease | null, b: Dhcp4Lease | null): boolean {
  if (a === null || b === null) return a !== b;
  return (
    a.address !== b.address ||
    a.prefix !== b.prefix ||
    a.router !== b.router ||
    !sameList(a.routes.map(routeKey).sort(), b.routes.map(routeKey).sort()) ||
    !sameList(a.dns, b.dns) ||
    !sameList(a.domains, b.domains) ||
    a.domainName !== b.domainName ||
    a.mtu !== b.mtu
  );
}

export function isInfinite(l: Dhcp4Lease): boolean {
  return l.leaseTime >= INFINITE_LEASE;
}

/** Epoch ms when the lease ends; Infinity for one that does not. */
export function leaseExpiresAt(l: Dhcp4Lease): number {
  return isInfinite(l) ? Number.POSITIVE_INFINITY : l.obtainedAt + l.leaseTime * 1000;
}

/** Epoch ms of T1 (renewing) and T2 (rebinding). */
export function leaseRenewsAt(l: Dhcp4Lease): { t1: number; t2: number } {
  if (isInfinite(l)) return { t1: Number.POSITIVE_INFINITY, t2: Number.POSITIVE_INFINITY };
  return { t1: l.obtainedAt + l.t1 * 1000, t2: l.obtainedAt + l.t2 * 1000 };
}

/** The prefix of a network of the old address classes, for a server that sends no netmask. */
function classfulPrefix(address: string): number {
  const first = ipNumber(address) >>> 24;
  if (first < 128) return 8;
  if (first < 192) return 16;
  return 24;
}

/** An address a host may take: not 0.0.0.0, loopback, multicast, class E or the broadcast address. */
export function isUsableAddress(address: string): boolean {
  const first = ipNumber(address) >>> 24;
  return first !== 0 && first !== 127 && first < 224;
}

/**
 * The lease an ACK gives, or why it cannot be taken. `serverMac` is the
 * source of the ACK's frame; `fallbackServer` the server to renew from when
 * the ACK does not name one (option 54 is required in an ACK, but an
 * INIT-REBOOT's ACK has no selected server to fall back on).
 */
export function leaseFromAck(
  ack: Dhcp4Message,
  o: { obtainedAt: number; serverMac: string | null; fallbackServer: string | null },
): Dhcp4Lease | { refused: string } {
  const p = readParameters(ack);
  if (!isUsableAddress(ack.yiaddr)) return { refused: `it offers ${ack.yiaddr}, which is not an address a host can take` };
  const server = p.serverId ?? o.fallbackServer;
  if (server === null) return { refused: 'it names no server (option 54)' };
  if (p.leaseTime === null) return { refused: 'it has no lease time (option 51), which a server must send' };
  if (p.leaseTime === 0) return { refused: 'its lease time (option 51) is 0 seconds' };
  const leaseTime = p.leaseTime;
  let t1: number;
  let t2: number;
  if (leaseTime === INFINITE_LEASE) {
    t1 = t2 = INFINITE_LEASE;
  } else {
    // A T2 past the lease's end, or a T1 past T2, is ignored for the usual fractions of the lease:
    // 0.875 and 0.5, and T1 stays before a T2 the server set early (at 4/7 of it, their ratio).
    t2 = p.rebindingTime !== null && p.rebindingTime < leaseTime ? p.rebindingTime : leaseTime * 0.875;
    t1 = p.renewalTime !== null && p.renewalTime < t2 ? p.renewalTime : Math.min(leaseTime * 0.5, (t2 * 4) / 7);
  }
  const classless = p.classlessRoutes;
  return {
    address: ack.yiaddr,
    prefix: p.subnetMask !== null ? maskPrefix(p.subnetMask)! : classfulPrefix(ack.yiaddr),
    router: classless === null ? (p.routers[0] ?? null) : null,
    routes: classless ?? [],
    dns: p.dns,
    domains: p.domainSearch,
    domainName: p.domainName,
    mtu: p.mtu,
    server,
    serverMac: o.serverMac,
    leaseTime,
    t1,
    t2,
    obtainedAt: o.obtainedAt,
    options: optionsText(ack, o.obtainedAt),
  };
}
