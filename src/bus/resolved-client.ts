// BusResolvedClient: the core's ResolvedLinks as calls to systemd-resolved
// (org.freedesktop.resolve1.Manager at /org/freedesktop/resolve1) over the
// daemon's own bus connection, and whether resolved is on the bus at all.
// Addresses go as resolved takes them: (family, bytes in network order).
// An error reply rejects with its name and text.
import { isIPv4 } from 'node:net';
import dbus from 'dbus-next';
import type { ResolvedDomain, ResolvedLinks } from '../core/dns/resolved-links.js';
import { ipv6ToBytes } from '../core/settings/keyfile-values.js';

const { Message } = dbus;

export const RESOLVED_NAME = 'org.freedesktop.resolve1';
const RESOLVED_PATH = '/org/freedesktop/resolve1';
const RESOLVED_IFACE = 'org.freedesktop.resolve1.Manager';
/** AF_INET and AF_INET6 */
const AF_INET = 2;
const AF_INET6 = 10;

function addressOf(server: string): [number, Buffer] {
  if (isIPv4(server)) return [AF_INET, Buffer.from(server.split('.').map(Number))];
  return [AF_INET6, Buffer.from(ipv6ToBytes(server))];
}

export class BusResolvedClient implements ResolvedLinks {
  constructor(private readonly bus: dbus.MessageBus) {}

  /** True when something owns org.freedesktop.resolve1 on the bus now. */
  static async present(bus: dbus.MessageBus): Promise<boolean> {
    const reply = await bus.call(
      new Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'NameHasOwner', signature: 's', body: [RESOLVED_NAME] }),
    );
    return reply?.body[0] === true;
  }

  setLinkDns(ifindex: number, servers: readonly string[]): Promise<void> {
    return this.call('SetLinkDNS', 'ia(iay)', [ifindex, servers.map(addressOf)]);
  }

  setLinkDomains(ifindex: number, domains: readonly ResolvedDomain[]): Promise<void> {
    return this.call('SetLinkDomains', 'ia(sb)', [ifindex, domains.map((d) => [d.domain, d.routeOnly])]);
  }

  setLinkDefaultRoute(ifindex: number, defaultRoute: boolean): Promise<void> {
    return this.call('SetLinkDefaultRoute', 'ib', [ifindex, defaultRoute]);
  }

  revertLink(ifindex: number): Promise<void> {
    return this.call('RevertLink', 'i', [ifindex]);
  }

  private async call(member: string, signature: string, body: unknown[]): Promise<void> {
    try {
      await this.bus.call(new Message({ destination: RESOLVED_NAME, path: RESOLVED_PATH, interface: RESOLVED_IFACE, member, signature, body }));
    } catch (e) {
      // DBusError: its type is the error name, its text the message.
      const err = e as { type?: unknown; text?: unknown };
      if (typeof err.type === 'string') throw new Error(`${member}: ${err.type}: ${typeof err.text === 'string' ? err.text : ''}`);
      throw e;
    }
  }
}
