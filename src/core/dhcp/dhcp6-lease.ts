// Dhcp6Lease: what a server's Reply gives a link — an address of an IA_NA
// (stateful) or only DNS (stateless, an Information-request's Reply) — and
// when it must be renewed and when it ends. docs/dhcp6.md.
import { duidText, INFINITE_LIFETIME, type Dhcp6Message } from './dhcp6-message.js';

export interface Dhcp6Lease {
  /** the IA_NA's address; null for a stateless lease (DNS only) */
  address: string | null;
  /** seconds (all ones: for ever) */
  preferred: number;
  valid: number;
  /** seconds from obtainedAt: renewing and rebinding (stateless: when to ask again) */
  t1: number;
  t2: number;
  iaid: number;
  /** option 23 */
  dns: string[];
  /** option 24 */
  domains: string[];
  /** the server's DUID (colon hex) */
  server: string;
  /** the address the Reply came from */
  serverAddress: string;
  /** epoch ms when the Reply arrived */
  obtainedAt: number;
  /** for display (Dhcp6Config.Options) */
  options: Record<string, string>;
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Whether applying `b` in place of `a` changes what the network sees: address, DNS servers, domains. */
export function lease6Changed(a: Dhcp6Lease | null, b: Dhcp6Lease | null): boolean {
  if (a === null || b === null) return a !== b;
  return a.address !== b.address || !sameList(a.dns, b.dns) || !sameList(a.domains, b.domains);
}

/** Epoch ms when the lease ends (its address's valid lifetime); Infinity for one that does not. */
export function lease6ExpiresAt(l: Dhcp6Lease): number {
  return l.valid === INFINITE_LIFETIME ? Number.POSITIVE_INFINITY : l.obtainedAt + l.valid * 1000;
}

/** Epoch ms of T1 (renewing) and T2 (rebinding); Infinity for a lease that is never renewed. */
export function lease6RenewsAt(l: Dhcp6Lease): { t1: number; t2: number } {
  const at = (s: number): number => (s === INFINITE_LIFETIME ? Number.POSITIVE_INFINITY : l.obtainedAt + s * 1000);
  return { t1: at(l.t1), t2: at(l.t2) };
}

/** RFC 8415 §18.2.6: without a refresh time, stateless information is asked for again after a day, never sooner than 10 minutes. */
export const IRT_DEFAULT = 86_400;
const IRT_MINIMUM = 600;

/**
 * The lease a Reply gives, or why it cannot be taken. `iaid` is the client's
 * IA_NA; null for a stateless Reply (an Information-request's), which gives
 * DNS only.
 */
export function lease6FromReply(m: Dhcp6Message, o: { iaid: number | null; obtainedAt: number; serverAddress: string }): Dhcp6Lease | { refused: string } {
  if (!m.serverId) return { refused: 'it names no server (SERVERID)' };
  if (m.status && m.status.code !== 0) return { refused: `its status is ${m.status.code} (${m.status.message})` };
  const server = duidText(m.serverId);
  const common = { dns: [...m.dns], domains: [...m.domains], server, serverAddress: o.serverAddress, obtainedAt: o.obtainedAt };
  if (o.iaid === null) {
    const refresh = Math.max(m.informationRefresh ?? IRT_DEFAULT, IRT_MINIMUM);
    return { ...common, address: null, preferred: INFINITE_LIFETIME, valid: INFINITE_LIFETIME, t1: refresh, t2: refresh, iaid: 0, options: optionsText6(m, null, o.obtainedAt) };
  }
  const ia = m.iaNa.find((i) => i.iaid === o.iaid);
  if (!ia) return { refused: 'it has no IA_NA of ours' };
  if (ia.status && ia.status.code !== 0) return { refused: `its IA_NA's status is ${ia.status.code} (${ia.status.message})` };
  // RFC 8415 §21.4 and §21.6: an IA_NA with T1 past T2, or an address preferred longer than valid, is discarded.
  if (ia.t1 > ia.t2 && ia.t2 !== 0) return { refused: `its T1 (${ia.t1} s) is past its T2 (${ia.t2} s)` };
  const address = ia.addresses.find((a) => a.valid > 0 && a.preferred <= a.valid);
  if (!address) return { refused: 'its IA_NA has no address with a lifetime' };
  const { valid, preferred } = address;
  let t1 = ia.t1;
  let t2 = ia.t2;
  if (t1 === 0 || t2 === 0) {
    // Left to the client: 0.5 and 0.8 of the preferred lifetime (RFC 8415 §21.4's suggestion).
    const base = preferred === INFINITE_LIFETIME ? INFINITE_LIFETIME : preferred;
    t1 = base === INFINITE_LIFETIME ? INFINITE_LIFETIME : Math.floor(base * 0.5);
    t2 = base === INFINITE_LIFETIME ? INFINITE_LIFETIME : Math.floor(base * 0.8);
  }
  return { ...common, address: address.address, preferred, valid, t1, t2, iaid: ia.iaid, options: optionsText6(m, address.address, o.obtainedAt) };
}

/** The Reply's options as text, under the names NetworkManager shows for DHCP6 (docs/dhcp6.md). */
function optionsText6(m: Dhcp6Message, address: string | null, obtainedAt: number): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (name: string, value: string | number | null | undefined): void => {
    if (value !== null && value !== undefined && value !== '') out[name] = String(value);
  };
  put('ip6_address', address);
  put('dhcp6_name_servers', m.dns.join(' '));
  put('dhcp6_domain_search', m.domains.join(' '));
  put('dhcp6_server_id', m.serverId ? duidText(m.serverId) : null);
  const ia = address ? m.iaNa.find((i) => i.addresses.some((a) => a.address === address)) : undefined;
  const a = ia?.addresses.find((x) => x.address === address);
  if (ia && a) {
    put('iaid', ia.iaid.toString(16).padStart(8, '0'));
    put('preferred_lifetime', a.preferred);
    put('valid_lifetime', a.valid);
    put('renewal_time', ia.t1);
    put('rebinding_time', ia.t2);
    if (a.valid !== INFINITE_LIFETIME) put('expiry', Math.floor(obtainedAt / 1000) + a.valid);
  }
  return out;
}
